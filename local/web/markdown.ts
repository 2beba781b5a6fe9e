/**
 * The guide as Flatfile shows it: Markdown with HTML tags allowed. The body comes from events and
 * handlers, so it is rendered defensively: markdown-it (links checked against javascript: and
 * the like), images off (no remote loads from the page), and raw HTML reduced to a short list of
 * formatting tags without attributes; everything else is shown as text, comments are dropped.
 */
import MarkdownIt from "markdown-it";

const ALLOWED_TAGS = new Set([
  "h1",
  "h2",
  "h3",
  "h4",
  "p",
  "ul",
  "ol",
  "li",
  "strong",
  "em",
  "b",
  "i",
  "code",
  "pre",
  "br",
  "hr",
  "blockquote",
  "small",
  "span",
  "div",
  "table",
  "thead",
  "tbody",
  "tr",
  "th",
  "td",
  "time",
]);
/** The one attribute kept, and only when it looks like a timestamp. */
const SAFE_ATTRIBUTES: Record<string, { name: string; pattern: RegExp }> = {
  time: { name: "datetime", pattern: /^[0-9TZ:.+-]{1,40}$/ },
};

/** Text inside raw HTML: entities stay entities, any other `&`, `<`, `>` or quote becomes text. */
function escapeText(text: string): string {
  return text
    .replace(/&(?!(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z][a-z0-9]{1,31});)/gi, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

export function sanitizeHtml(html: string): string {
  const source = html.replace(/<!--[\s\S]*?(-->|$)/g, "");
  let out = "";
  let last = 0;
  for (const match of source.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*"[^"<>]*")?)*)\s*\/?>/g)) {
    out += escapeText(source.slice(last, match.index));
    last = match.index + match[0].length;
    const name = match[2]!.toLowerCase();
    if (!ALLOWED_TAGS.has(name)) {
      out += escapeText(match[0]);
      continue;
    }
    let attributes = "";
    const safe = SAFE_ATTRIBUTES[name];
    if (safe && !match[1]) {
      const value = new RegExp(`\\s${safe.name}\\s*=\\s*"([^"]*)"`, "i").exec(match[3] ?? "")?.[1];
      if (value && safe.pattern.test(value)) attributes = ` ${safe.name}="${value}"`;
    }
    out += `<${match[1]}${name}${attributes}>`;
  }
  return out + escapeText(source.slice(last));
}

const markdown = new MarkdownIt({ html: true, linkify: false });
markdown.disable("image");
markdown.renderer.rules.html_block = (tokens, index) => sanitizeHtml(tokens[index]!.content);
markdown.renderer.rules.html_inline = (tokens, index) => sanitizeHtml(tokens[index]!.content);
const defaultLinkOpen =
  markdown.renderer.rules.link_open ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  tokens[index]!.attrSet("rel", "noopener noreferrer nofollow");
  return defaultLinkOpen(tokens, index, options, env, self);
};

export function renderMarkdown(body: string): string {
  return markdown.render(body);
}
