/**
 * The "Getting started" guide document. Pure. The body is HTML made of marked sections,
 *
 *   <!-- section:NAME -->…<!-- /section:NAME -->
 *
 * for NAME in intro, currency, reference-data, progress, history, so later handlers replace one
 * section (`replaceSection`) and leave every other byte as it was. All interpolated text is
 * HTML-escaped; the `html` given to `replaceSection` / `appendHistory` is trusted (use the
 * `render*` helpers, which escape).
 */
import type { Audience } from "./audience";
import type { CurrencyChoice } from "./currency";
import type { ReferenceData } from "./reference-data";

export const GUIDE_SECTIONS = ["intro", "currency", "reference-data", "progress", "history"] as const;
export type GuideSection = (typeof GUIDE_SECTIONS)[number];
export const DEFAULT_GUIDE_TITLE = "Getting started";
/** History keeps the newest entries only, so the document cannot grow without bound. */
export const MAX_HISTORY_ENTRIES = 100;
const NO_HISTORY = "<p>Nothing has been locked or submitted yet.</p>";

export interface GuideInput {
  audience: Audience;
  actorName?: string;
  currency: CurrencyChoice;
  referenceData: ReferenceData;
  workbookName: string;
  sheets: { name: string; slug: string }[];
}

export interface SheetProgress {
  sheetName: string;
  total: number;
  valid: number;
  error: number;
}

export function escapeHtml(text: unknown): string {
  return String(text ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const open = (name: string) => `<!-- section:${name} -->`;
const close = (name: string) => `<!-- /section:${name} -->`;

function assertName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`invalid guide section name: ${JSON.stringify(name)}`);
}

function section(name: string, html: string): string {
  return `${open(name)}\n${html.trim()}\n${close(name)}`;
}

/** The inner HTML of a section, or undefined when the body has no such section. */
export function readSection(body: string, name: string): string | undefined {
  assertName(name);
  const start = body.indexOf(open(name));
  if (start < 0) return undefined;
  const from = start + open(name).length;
  const end = body.indexOf(close(name), from);
  if (end < 0) return undefined;
  return body.slice(from, end);
}

/**
 * The body with section `name` holding `html` (trusted HTML). Everything outside the section is
 * kept byte for byte. A body without the section gets it appended at the end. Returns the body
 * itself when the section already holds exactly that.
 */
export function replaceSection(body: string, name: string, html: string): string {
  assertName(name);
  const start = body.indexOf(open(name));
  const from = start + open(name).length;
  const end = start < 0 ? -1 : body.indexOf(close(name), from);
  const inner = `\n${html.trim()}\n`;
  if (start < 0 || end < 0) return `${body}${body === "" || body.endsWith("\n") ? "" : "\n"}${section(name, html)}\n`;
  if (body.slice(from, end) === inner) return body;
  return body.slice(0, from) + inner + body.slice(end);
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? Math.trunc(n).toLocaleString("en-US") : "0";
}

export function plural(n: number, one: string, many: string): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

function timeHtml(at: Date | string | number): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return escapeHtml(String(at));
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`;
}

/** The progress section's HTML: total, valid and error records per sheet. */
export function renderProgress(counts: readonly SheetProgress[]): string {
  const rows = counts.map((c) => {
    const status =
      c.total > 0
        ? `${plural(c.total, "record", "records")}: ${formatNumber(c.valid)} valid, ${formatNumber(c.error)} with errors`
        : "no records yet";
    return `<li><strong>${escapeHtml(c.sheetName)}</strong>: ${status}</li>`;
  });
  const empty = counts.every((c) => !(c.total > 0));
  const lead = empty
    ? "<p>No records yet. Submit becomes available once you have added some.</p>"
    : counts.some((c) => c.error > 0)
      ? "<p>Fix the records with errors before you submit.</p>"
      : "<p>Every record is valid: you can submit.</p>";
  return `<h2>Progress</h2>\n${lead}\n<ul>\n${rows.join("\n")}\n</ul>`;
}

/** A history line for a sheet that was duplicated and locked. */
export function renderLocked(input: { sheetName: string; at: Date | string | number; continueSheetName: string }): string {
  return `${timeHtml(input.at)}: <strong>${escapeHtml(input.sheetName)}</strong> was locked; keep working in <strong>${escapeHtml(input.continueSheetName)}</strong>.`;
}

/** A history line for a submission. */
export function renderSubmitted(input: { at: Date | string | number; actorName?: string; records: number }): string {
  const who = input.actorName?.trim() ? ` by ${escapeHtml(input.actorName.trim())}` : "";
  return `Submitted on ${timeHtml(input.at)}${who} (${plural(input.records, "record", "records")}).`;
}

/**
 * The body with `line` (trusted HTML, e.g. from `renderLocked`) appended to the history section.
 * Idempotent: a line already in the history is not added again. Keeps the newest
 * MAX_HISTORY_ENTRIES entries.
 */
export function appendHistory(body: string, line: string): string {
  const entry = `<li>${line.trim()}</li>`;
  const inner = readSection(body, "history") ?? "";
  const entries: string[] = inner.match(/<li>[\s\S]*?<\/li>/g) ?? [];
  if (entries.includes(entry)) return body;
  const kept = [...entries, entry].slice(-MAX_HISTORY_ENTRIES);
  return replaceSection(body, "history", `<h2>History</h2>\n<ul>\n${kept.join("\n")}\n</ul>`);
}

function currencyName(code: string): string {
  try {
    return new Intl.DisplayNames(["en"], { type: "currency" }).of(code) ?? code;
  } catch {
    return code;
  }
}

function example(currency: CurrencyChoice): string | undefined {
  try {
    return new Intl.NumberFormat(currency.locale, { style: "currency", currency: currency.code }).format(1234.5);
  } catch {
    return undefined;
  }
}

function renderIntro(input: GuideInput): string {
  const greeting = input.actorName?.trim() ? `Welcome, ${escapeHtml(input.actorName.trim())}!` : "Welcome!";
  const sheetList = input.sheets.map((s) => `<strong>${escapeHtml(s.name)}</strong>`);
  const sheets = sheetList.length > 1 ? `${sheetList.slice(0, -1).join(", ")} and ${sheetList.at(-1)}` : (sheetList[0] ?? "its sheets");
  const steps = [
    `Open the workbook <strong>${escapeHtml(input.workbookName)}</strong>: it has ${sheets}.`,
    "Add your records: upload a file, paste, or type them in. Fields marked required must be filled in.",
    "Fix anything highlighted as an error.",
    "Press <strong>Submit</strong> once every record is valid.",
  ];
  const notes: string[] = [];
  if (input.audience === "guest") notes.push("<p>You can add and edit records; deleting them is not available to guests.</p>");
  else notes.push("<p>Need a frozen copy? <strong>Duplicate this Sheet and lock down the original</strong> (in the Contacts sheet's menu) copies the sheet for you to keep working in and locks the original.</p>");
  if (input.audience === "internal") notes.push("<p>As staff, you also see an <strong>Internal notes</strong> field on every sheet.</p>");
  return `<h1>Getting started</h1>\n<p>${greeting}</p>\n<h2>What to do first</h2>\n<ol>\n${steps.map((s) => `<li>${s}</li>`).join("\n")}\n</ol>\n${notes.join("\n")}`;
}

function renderCurrency(currency: CurrencyChoice): string {
  const code = escapeHtml(currency.code);
  const why: Record<CurrencyChoice["source"], string> = {
    "metadata.currency": "It was set for this Space.",
    "metadata.locale": `It follows this Space's locale (${escapeHtml(currency.locale)}).`,
    "metadata.country": "It follows this Space's country.",
    default: "No currency, locale or country was given for this Space, so the default is used.",
  };
  const sample = example(currency);
  const places = plural(currency.decimals, "decimal place", "decimal places");
  return [
    "<h2>Currency</h2>",
    `<p>Amounts are in <strong>${escapeHtml(currencyName(currency.code))} (${code})</strong>, with ${places}. ${why[currency.source]}</p>`,
    sample ? `<p>For example: ${escapeHtml(sample)}.</p>` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

function renderReferenceData(referenceData: ReferenceData): string {
  const n = plural(referenceData.categories.length, "category", "categories");
  const body =
    referenceData.source === "remote"
      ? `<p>The ${n} in the Orders sheet were loaded from ${escapeHtml(referenceData.detail)}.</p>`
      : `<p><strong>The reference data service was not available, so a bundled default list of ${n} is in use.</strong> Reason: ${escapeHtml(referenceData.detail.replace(/^bundled default:\s*/, ""))}.</p>`;
  return `<h2>Reference data</h2>\n${body}`;
}

export function buildGuide(input: GuideInput): { title: string; body: string } {
  const progress = renderProgress(input.sheets.map((s) => ({ sheetName: s.name, total: 0, valid: 0, error: 0 })));
  const body = [
    section("intro", renderIntro(input)),
    section("currency", renderCurrency(input.currency)),
    section("reference-data", renderReferenceData(input.referenceData)),
    section("progress", progress),
    section("history", `<h2>History</h2>\n${NO_HISTORY}`),
  ].join("\n");
  return { title: DEFAULT_GUIDE_TITLE, body: `${body}\n` };
}
