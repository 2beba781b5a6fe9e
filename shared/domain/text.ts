/**
 * Text that came from outside (a person's name or e-mail, a sheet name, reference data, a URL),
 * made safe for where we show it. Pure.
 *
 * The guide's body is Markdown that allows HTML. We write it as one HTML block (every line starts
 * with a tag, no blank line anywhere), inside which a Markdown renderer does not parse Markdown.
 * Outside text could leave that block with a blank line and become live Markdown (a link, a
 * remote image), so `guideText` collapses every line break, and also writes each character that
 * means something to Markdown or HTML as a numeric character reference: Markdown treats a
 * character reference as literal text, never as markup, and HTML shows the character, so the text
 * reads the same and is inert in either reading, whatever the renderer does with the block.
 */

/** C0/C1 controls, zero-width and bidirectional formatting characters, line/paragraph separators. */
const INVISIBLE = /[\u0000-\u001F\u007F-\u009F\u00AD\u200B-\u200F\u2028\u2029\u202A-\u202E\u2060-\u2069\uFEFF]/g;
const LINE_BREAKS = /[\t\r\n\u000B\u000C\u0085\u2028\u2029]+/g;

/** Characters written as `&#N;`: HTML's specials, and Markdown's link, image, emphasis, code,
 * heading, table, strikethrough and autolink characters (`:` `.` `@` break `https://`, `www.` and
 * e-mail autolinks). */
const SPECIAL = /[&<>"'\\`*_[\]()#!~|:.@{}]/g;

/** At most `max` characters (code points), with "…" when cut. */
export function clip(text: string, max: number): string {
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return `${chars
    .slice(0, Math.max(0, max - 1))
    .join("")
    .trimEnd()}…`;
}

/**
 * One line of plain text: line breaks and runs of whitespace become one space, control and
 * invisible formatting characters go, and the result is at most `max` characters.
 */
export function plainText(value: unknown, max: number): string {
  const text = String(value ?? "")
    .replace(LINE_BREAKS, " ")
    .replace(INVISIBLE, "")
    .replace(/\s+/g, " ")
    .trim();
  return clip(text, max);
}

/** Interpolated text in the guide: `plainText`, then every special character as `&#N;`. */
export function guideText(value: unknown, max = 200): string {
  return plainText(value, max).replace(SPECIAL, (c) => `&#${c.charCodeAt(0)};`);
}

/** The most characters an enum option's label keeps. */
export const MAX_OPTION_LABEL = 100;

/** An enum option's label from outside (the reference API, or a value found in the data). */
export function optionLabel(value: unknown): string {
  return plainText(value, MAX_OPTION_LABEL);
}
