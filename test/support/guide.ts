/**
 * Reading the guide the way a person sees it, for assertions: sections found by their headings
 * (the body has no markers: it is rendered whole from our state), character references decoded.
 */
import MarkdownIt from "markdown-it";
import { expect } from "vitest";
import { readSpaceState } from "../../shared/domain/space-state";

const SECTIONS = {
  intro: "<h1>Getting started</h1>",
  currency: "<h2>Currency</h2>",
  "reference-data": "<h2>Reference data</h2>",
  progress: "<h2>Progress</h2>",
  history: "<h2>History</h2>",
} as const;
export type GuideSectionName = keyof typeof SECTIONS;

/** `&#N;`, `&#xN;` and the five named references HTML escaping uses, decoded. */
export function decodeReferences(html: string): string {
  return html
    .replace(/&#(\d+);/g, (_m, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&(lt|gt|quot|#39|amp);/g, (_m, name: string) => ({ lt: "<", gt: ">", quot: '"', "#39": "'", amp: "&" })[name] ?? _m);
}

/** The section's HTML with references decoded, or undefined when the body has no such section. */
export function guideSection(body: string, name: GuideSectionName): string | undefined {
  const start = body.indexOf(SECTIONS[name]);
  if (start < 0) return undefined;
  const ends = Object.values(SECTIONS)
    .map((heading) => body.indexOf(heading, start + 1))
    .filter((i) => i > start);
  return decodeReferences(body.slice(start, ends.length ? Math.min(...ends) : body.length));
}

/** How many times a section's heading appears (one guide, one of each). */
export function sectionCount(body: string, name: GuideSectionName): number {
  return body.split(SECTIONS[name]).length - 1;
}

/** A real Markdown renderer at its most permissive: raw HTML on, bare URLs and e-mails linked. */
const markdown = new MarkdownIt({ html: true, linkify: true });

/** The body as a Markdown renderer (markdown-it, CommonMark) turns it into HTML. */
export function renderMarkdown(body: string): string {
  return markdown.render(body);
}

/**
 * The body is inert as Markdown: rendered by markdown-it with raw HTML and linkify on, it has no
 * link and no image. And structurally, for any CommonMark renderer: every line starts with an
 * HTML block-level tag and none is blank, so the body is one HTML block (CommonMark §4.6, type 6)
 * passed through without Markdown parsing; inside it, the only markup is the HTML we wrote.
 */
export function expectOneInertHtmlBlock(body: string): void {
  const lines = body.trimEnd().split("\n");
  expect(lines[0]).toMatch(/^<h1>/);
  for (const line of lines) {
    expect(line.trim(), `line ${JSON.stringify(line)}`).not.toBe("");
    expect(line, `line ${JSON.stringify(line)}`).toMatch(/^<\/?(h1|h2|p|ol|ul|li)>/);
  }
  // No Markdown link, image or autolink syntax, and no HTML we did not write.
  expect(body).not.toMatch(/\]\(|!\[|<a[\s>]|<img[\s>]|https?:\/\/|www\.|\[[^\]]*\]/);
  expect(
    [...body.matchAll(/<([a-z0-9]+)[\s>]/g)]
      .map((m) => m[1])
      .every((tag) => ["h1", "h2", "p", "ol", "ul", "li", "strong", "time"].includes(tag!)),
  ).toBe(true);
  const rendered = renderMarkdown(body);
  expect(rendered).not.toMatch(/<a[\s>]|<img[\s>]/);
  expect(rendered).toContain("<h1>Getting started</h1>");
}

/** When our state says the guide's progress was counted (the time the progress section shows). */
export function countedAtOf(spaceMetadata: unknown): string | undefined {
  const guide = readSpaceState(spaceMetadata)?.guide as { countedAt?: string } | undefined;
  return guide?.countedAt;
}
