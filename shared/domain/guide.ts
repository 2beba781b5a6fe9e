/**
 * The "Getting started" guide document. Pure.
 *
 * The guide is a view of `GuideState`, which we keep in our own state (the space's metadata),
 * never parsed back out of the document: every write renders the whole body from the state. What
 * Flatfile's renderer keeps of a body (HTML comments, say, which it may drop) therefore does not
 * matter, and the body is the same for the same state.
 *
 * The body is one HTML block: every line starts with a tag and no line is blank, so a Markdown
 * renderer passes it through as HTML. Every interpolated piece of outside text goes through
 * `guideText` (./text), which keeps it one line and inert as both HTML and Markdown. The text about
 * the blueprint's own sheets (its notes, where the categories are) is the blueprint's GUIDE_TEXT.
 */
import { GUIDE_TEXT } from "../../blueprint";
import type { Audience } from "./audience";
import type { CurrencyChoice } from "./currency";
import { clip, guideText, plainText } from "./text";

export const DEFAULT_GUIDE_TITLE = "Getting started";
/** History keeps the newest entries only, so our state and the document stay small. */
export const MAX_HISTORY_ENTRIES = 30;
/** The most characters a name kept in the guide's state has (names are shown, not trusted). */
export const MAX_NAME_CHARS = 100;
const MAX_DETAIL_CHARS = 300;

export interface SheetProgress {
  /** The blueprint's slug for the sheet's role ("contacts"), whichever sheet plays it now. */
  role: string;
  sheetName: string;
  total: number;
  valid: number;
  error: number;
}

export type HistoryEntry =
  | { id: string; kind: "locked"; at: string; sheetName: string; continueSheetName: string }
  | { id: string; kind: "submitted"; at: string; actorName?: string; records: number };

export interface GuideReferenceData {
  source: "remote" | "bundled";
  /** Where and when it came from, or why the bundled list is in use. */
  detail: string;
  /** Categories the source listed. */
  total: number;
  /** Of those, the options the category field offers (fewer when the list was capped). */
  offered: number;
  /** Why fewer are offered than listed. */
  capReason?: string;
}

/** Everything the guide shows: small and bounded (names clipped, history capped). */
export interface GuideState {
  audience: Audience;
  actorName?: string;
  workbookName: string;
  currency: CurrencyChoice;
  referenceData?: GuideReferenceData;
  /** The working sheets, in the workbook's order. */
  progress: SheetProgress[];
  /** Oldest first; at most MAX_HISTORY_ENTRIES. */
  history: HistoryEntry[];
  /** Set once the workbook is submitted: the guide then says so instead of "you can submit". */
  submitted?: SubmittedMark;
  /**
   * When the progress was last counted (ISO time). Writes made through the API need not raise the
   * commit that recounts (the SDK sends X-Disable-Hooks), so the guide says how fresh it is.
   */
  countedAt?: string;
}

export interface SubmittedMark {
  jobId: string;
  at: string;
  actorName?: string;
  records: number;
}

export interface GuideInput {
  audience: Audience;
  actorName?: string;
  currency: CurrencyChoice;
  referenceData?: GuideReferenceData;
  workbookName: string;
  sheets: { name: string; slug: string }[];
}

const name = (text: unknown) => plainText(text, MAX_NAME_CHARS);

/** The guide's state for a new Space: no records, no history. */
export function initialGuideState(input: GuideInput): GuideState {
  const state: GuideState = {
    audience: input.audience,
    workbookName: name(input.workbookName),
    currency: { ...input.currency },
    progress: input.sheets.map((s) => ({ role: s.slug, sheetName: name(s.name), total: 0, valid: 0, error: 0 })),
    history: [],
  };
  const actorName = name(input.actorName);
  if (actorName) state.actorName = actorName;
  if (input.referenceData) state.referenceData = { ...input.referenceData, detail: clip(input.referenceData.detail, MAX_DETAIL_CHARS) };
  return state;
}

/** The state with the working sheets' progress replaced (names clipped). */
export function withProgress(state: GuideState, progress: readonly SheetProgress[], countedAt?: string): GuideState {
  return {
    ...state,
    ...(countedAt !== undefined ? { countedAt } : {}),
    // An entry keeps the fields another version wrote on it (see SpaceState): only ours are replaced.
    progress: progress.map((p) => ({
      ...state.progress.find((previous) => previous.role === p.role),
      role: p.role,
      sheetName: name(p.sheetName),
      total: p.total,
      valid: p.valid,
      error: p.error,
    })),
  };
}

/**
 * The state with `entry` appended to the history, unless an entry with its id is there already
 * (a retry of the same job adds nothing). Keeps the newest MAX_HISTORY_ENTRIES.
 */
export function withHistory(state: GuideState, entry: HistoryEntry): GuideState {
  if (state.history.some((e) => e.id === entry.id)) return state;
  const clipped: HistoryEntry =
    entry.kind === "locked"
      ? { ...entry, sheetName: name(entry.sheetName), continueSheetName: name(entry.continueSheetName) }
      : { ...entry, ...(entry.actorName !== undefined ? { actorName: name(entry.actorName) } : {}) };
  return { ...state, history: [...state.history, clipped].slice(-MAX_HISTORY_ENTRIES) };
}

function formatNumber(n: number): string {
  return Number.isFinite(n) ? Math.trunc(n).toLocaleString("en-US") : "0";
}

export function plural(n: number, one: string, many: string): string {
  return `${formatNumber(n)} ${n === 1 ? one : many}`;
}

function timeHtml(at: string): string {
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return guideText(at, 40);
  const iso = date.toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC</time>`;
}

/** The progress section: total, valid and error records per working sheet. */
export function renderProgress(progress: readonly SheetProgress[], submitted?: SubmittedMark, countedAt?: string): string {
  const rows = progress.map((c) => {
    const status =
      c.total > 0
        ? `${plural(c.total, "record", "records")}: ${formatNumber(c.valid)} valid, ${formatNumber(c.error)} with errors`
        : "no records yet";
    return `<li><strong>${guideText(c.sheetName)}</strong>: ${status}</li>`;
  });
  const empty = progress.every((c) => !(c.total > 0));
  const lead = submitted
    ? `<p>This workbook was submitted on ${timeHtml(submitted.at)}${submitted.actorName ? ` by ${guideText(submitted.actorName)}` : ""}; its sheets are now read-only.</p>`
    : empty
      ? "<p>No records yet. Add some, then submit.</p>"
      : progress.some((c) => c.error > 0)
        ? "<p>Fix the records with errors before you submit.</p>"
        : "<p>Every record is valid: you can submit.</p>";
  // Records another app writes through the API may raise no commit, so no recount follows them.
  const freshness =
    countedAt && !submitted
      ? `\n<p>Counted on ${timeHtml(countedAt)}. Records added through the API by other apps may show here only after the next change in a sheet; Submit counts again before it checks.</p>`
      : "";
  return `<h2>Progress</h2>\n${lead}\n<ul>\n${rows.join("\n")}\n</ul>${freshness}`;
}

function renderEntry(entry: HistoryEntry): string {
  if (entry.kind === "locked") {
    return `${timeHtml(entry.at)}: <strong>${guideText(entry.sheetName)}</strong> was locked; keep working in <strong>${guideText(entry.continueSheetName)}</strong>.`;
  }
  const who = entry.actorName ? ` by ${guideText(entry.actorName)}` : "";
  return `Submitted on ${timeHtml(entry.at)}${who} (${plural(entry.records, "record", "records")}).`;
}

function renderHistory(history: readonly HistoryEntry[]): string {
  if (history.length === 0) return "<h2>History</h2>\n<p>Nothing has been locked or submitted yet.</p>";
  return `<h2>History</h2>\n<ul>\n${history.map((e) => `<li>${renderEntry(e)}</li>`).join("\n")}\n</ul>`;
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

/** "<strong>A</strong>, <strong>B</strong> and <strong>C</strong>"; empty for none. */
function listed(names: readonly string[]): string {
  const strong = names.map((n) => `<strong>${guideText(n)}</strong>`);
  return strong.length > 1 ? `${strong.slice(0, -1).join(", ")} and ${strong.at(-1)}` : (strong[0] ?? "");
}

function renderIntro(state: GuideState): string {
  const greeting = state.actorName ? `Welcome, ${guideText(state.actorName)}!` : "Welcome!";
  const sheets = listed(state.progress.map((s) => s.sheetName)) || "its sheets";
  // After a duplicate the workbook holds locked snapshots too: name the sheets to work in, here
  // where it is always shown (the outcome's link may not reach the person, the history is capped).
  const working = new Set(state.progress.map((s) => s.sheetName));
  const locked = [...new Set(state.history.flatMap((e) => (e.kind === "locked" && !working.has(e.sheetName) ? [e.sheetName] : [])))];
  const open =
    locked.length === 0
      ? `Open the workbook <strong>${guideText(state.workbookName)}</strong>: it has ${sheets}.`
      : `Open the workbook <strong>${guideText(state.workbookName)}</strong> and work in ${sheets}. ${listed(locked)} ${locked.length === 1 ? "is a locked copy, kept as it was" : "are locked copies, kept as they were"}.`;
  const steps = [
    open,
    "Add your records: upload a file, paste, or type them in. Fields marked required must be filled in.",
    "Fix anything highlighted as an error.",
    "Press <strong>Submit</strong> once every record is valid.",
  ];
  const notes = GUIDE_TEXT.notes(state.audience).map((note) => `<p>${note}</p>`);
  return `<h1>Getting started</h1>\n<p>${greeting}</p>\n<h2>What to do first</h2>\n<ol>\n${steps.map((s) => `<li>${s}</li>`).join("\n")}\n</ol>\n${notes.join("\n")}`;
}

function renderCurrency(currency: CurrencyChoice): string {
  const code = guideText(currency.code, 10);
  const why: Record<CurrencyChoice["source"], string> = {
    "metadata.currency": "It was set for this Space.",
    "metadata.locale": `It follows this Space's locale (${guideText(currency.locale, 40)}).`,
    "metadata.country": "It follows this Space's country.",
    default: currency.notUnderstood?.length
      ? "None of the currency, locale or country given for this Space could be used, so the default is used."
      : "No currency, locale or country was given for this Space, so the default is used.",
  };
  const notUnderstood = currency.notUnderstood?.length
    ? `<p>Not understood: ${currency.notUnderstood.map((note) => guideText(note, 120)).join("; ")}. Ask whoever set up this Space to correct it.</p>`
    : "";
  const sample = example(currency);
  const places = plural(currency.decimals, "decimal place", "decimal places");
  return [
    "<h2>Currency</h2>",
    `<p>Amounts are in <strong>${guideText(currencyName(currency.code), 60)} (${code})</strong>, with ${places}. ${why[currency.source] ?? ""}</p>`,
    notUnderstood,
    sample ? `<p>For example: ${guideText(sample, 40)}.</p>` : "",
  ]
    .filter(Boolean)
    .join("\n");
}

function renderReferenceData(reference: GuideReferenceData): string {
  const n = plural(reference.total, "category", "categories");
  const body =
    reference.source === "remote"
      ? `<p>The ${n} in ${GUIDE_TEXT.categoriesIn} were loaded from ${guideText(reference.detail, MAX_DETAIL_CHARS)}.</p>`
      : `<p><strong>The reference data service was not available, so a bundled default list of ${n} is in use.</strong> Reason: ${guideText(reference.detail.replace(/^bundled default:\s*/, ""), MAX_DETAIL_CHARS)}.</p>`;
  const capped =
    reference.offered < reference.total
      ? `\n<p><strong>Only the first ${plural(reference.offered, "category is", "categories are")} offered in ${GUIDE_TEXT.categoriesIn}.</strong> ${guideText(reference.capReason ?? "", MAX_DETAIL_CHARS)}</p>`
      : "";
  return `<h2>Reference data</h2>\n${body}${capped}`;
}

/** The whole document, from the state alone. */
export function renderGuide(state: GuideState): { title: string; body: string } {
  const parts = [
    renderIntro(state),
    renderCurrency(state.currency),
    state.referenceData ? renderReferenceData(state.referenceData) : "",
    renderProgress(state.progress, state.submitted, state.countedAt),
    renderHistory(state.history),
  ].filter(Boolean);
  return { title: DEFAULT_GUIDE_TITLE, body: `${parts.join("\n")}\n` };
}

/** The guide for a new Space. */
export function buildGuide(input: GuideInput): { title: string; body: string } {
  return renderGuide(initialGuideState(input));
}
