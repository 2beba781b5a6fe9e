/**
 * What we keep in `space.metadata` under one key: the ids of what configure made, the working set
 * of sheets, the locked snapshots and the guide's state, so later handlers find ours by id, never
 * by name. Pure and bounded; the reads and writes are shared/flatfile/space-state.ts. Working
 * sheets and snapshots: docs/design.md#our-state-in-spacemetadata.
 *
 * Input, not truth: anyone who can write the Space's metadata can write this key. Its shape is the
 * blueprint's (only its roles), every id passes the event ids' check, and `confineToWorkbook` keeps
 * only what the workbook the event names holds; a state that fails is treated as absent.
 *
 * Objects are loose: fields another version of this code wrote survive our read-modify-write, so a
 * rollback or the mixed-version minutes of a deploy lose nothing. They are carried, never followed.
 */
import type { Flatfile } from "@flatfile/api";
import * as z from "zod/mini";
import "../core/zod-locale";
import { jsonExceeds, MAX_SPACE_STATE_CHARS } from "../core/bounds";
import { ids } from "../core/envelope";
import type { Audience } from "./audience";
import { SHEET_SLUGS, WORKBOOK_NAME } from "./blueprint";
import { resolveCurrency } from "./currency";
import {
  initialGuideState,
  MAX_HISTORY_ENTRIES,
  MAX_NAME_CHARS,
  withHistory,
  withProgress,
  type GuideState,
  type SheetProgress,
} from "./guide";
import { plainText } from "./text";

export const SPACE_STATE_KEY = "spaceConfigurator";
export const MAX_ARCHIVED = 50;
/** The sheet roles the blueprint defines: the only keys `sheets` may have. */
/**
 * An object schema that keeps the fields it does not know (`z.looseObject`) while its type names
 * only those it does, so our code can neither read nor forget another version's fields.
 */
const knownFields = z.looseObject as unknown as typeof z.object;

export const SHEET_ROLES: readonly string[] = Object.freeze(Object.values(SHEET_SLUGS));

const Role = z.string().check(z.refine((role) => SHEET_ROLES.includes(role), "must be a sheet role of the blueprint"));
const Count = z.number().check(z.nonnegative());
const Progress = knownFields({ role: Role, sheetName: z.string(), total: Count, valid: Count, error: Count });
const History = z.union([
  knownFields({ id: ids.job, kind: z.literal("locked"), at: z.string(), sheetName: z.string(), continueSheetName: z.string() }),
  knownFields({ id: ids.job, kind: z.literal("submitted"), at: z.string(), actorName: z.optional(z.string()), records: Count }),
]);
/** The one submission of the workbook: a later Submit changes nothing and says when this was. */
const Submitted = knownFields({
  jobId: ids.job,
  at: z.string().check(z.maxLength(40)),
  actorName: z.optional(z.string().check(z.maxLength(MAX_NAME_CHARS))),
  records: Count,
});
const Guide = knownFields({
  audience: z.enum(["internal", "member", "guest", "default"]),
  actorName: z.optional(z.string()),
  workbookName: z.string(),
  currency: knownFields({
    code: z.string(),
    decimals: z.number(),
    locale: z.string(),
    source: z.enum(["metadata.currency", "metadata.locale", "metadata.country", "default"]),
    notUnderstood: z.optional(z.array(z.string().check(z.maxLength(200))).check(z.maxLength(3))),
  }),
  referenceData: z.optional(
    knownFields({
      source: z.enum(["remote", "bundled"]),
      detail: z.string(),
      total: Count,
      offered: Count,
      capReason: z.optional(z.string()),
    }),
  ),
  progress: z.array(Progress).check(z.maxLength(SHEET_ROLES.length)),
  history: z.array(History).check(z.maxLength(MAX_HISTORY_ENTRIES)),
  submitted: z.optional(Submitted),
  countedAt: z.optional(z.string().check(z.maxLength(40))),
});

const Archived = knownFields({
  /** The locked original. */
  sheetId: ids.sheet,
  role: Role,
  name: z.string(),
  /** The copy that replaced it as the role's working sheet. */
  replacedBy: ids.sheet,
  jobId: ids.job,
  lockedAt: z.string(),
});
export type ArchivedSheet = z.infer<typeof Archived>;

export const SpaceState = knownFields({
  version: z.literal(1),
  workbookId: ids.workbook,
  guideDocumentId: ids.document,
  /** Role (the blueprint's sheet slug) → the working sheet's id. */
  sheets: z.record(Role, ids.sheet),
  currency: z.string(),
  audience: z.string(),
  configuredAt: z.string(),
  configureJobId: ids.job,
  /** Locked snapshots, oldest first. Absent in spaces configured before duplicates were recorded. */
  archived: z.optional(z.array(Archived).check(z.maxLength(MAX_ARCHIVED))),
  /** What the guide shows. Absent in spaces configured before the guide was rendered from state. */
  guide: z.optional(Guide),
  /** The workbook's submission, once there is one (the job that made it, when, by whom, how many). */
  submitted: z.optional(Submitted),
});
export type SpaceState = z.infer<typeof SpaceState>;

export function readSpaceState(metadata: unknown): SpaceState | undefined {
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const raw = (metadata as Record<string, unknown>)[SPACE_STATE_KEY];
  // Bounded before it is parsed and rendered into the guide (anyone with access can write it): as if it were invalid.
  if (jsonExceeds(raw, MAX_SPACE_STATE_CHARS)) return undefined;
  const parsed = SpaceState.safeParse(raw);
  return parsed.success ? (parsed.data as SpaceState) : undefined;
}

/**
 * The state as far as the workbook the event names bears it out: that workbook is the state's and
 * lives in the event's space (both as Flatfile answered, not as the state says), and only the
 * working sheets and snapshots that are sheets of it are kept. Undefined when the workbook is not
 * the state's or not in this space: a state copied from elsewhere is as good as none.
 */
export function confineToWorkbook(
  state: SpaceState | undefined,
  workbook: Pick<Flatfile.Workbook, "id" | "spaceId" | "sheets">,
  spaceId: string,
): SpaceState | undefined {
  if (!state || workbook.id !== state.workbookId || workbook.spaceId !== spaceId) return undefined;
  const held = new Set((workbook.sheets ?? []).map((sheet) => sheet.id));
  const sheets = Object.fromEntries(Object.entries(state.sheets).filter(([, id]) => held.has(id)));
  if (!state.archived) return { ...state, sheets };
  return { ...state, sheets, archived: state.archived.filter((entry) => held.has(entry.sheetId)) };
}

/** Working sheets the state names that the workbook does not hold (a copy made after it was read, or a forgery). */
export function sheetsOutside(state: SpaceState, workbook: Pick<Flatfile.Workbook, "sheets">): string[] {
  const held = new Set((workbook.sheets ?? []).map((sheet) => sheet.id));
  return Object.values(state.sheets).filter((id) => !held.has(id));
}

/** Our state in the space's metadata, every other key as it was. */
export function withSpaceState(metadata: unknown, state: SpaceState): Record<string, unknown> {
  const base = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {};
  return { ...base, [SPACE_STATE_KEY]: state };
}

/** Sheet slug → id for a workbook's sheets. */
export function sheetIdsOf(workbook: Flatfile.Workbook): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sheet of workbook.sheets ?? []) if (sheet.slug) out[sheet.slug] = sheet.id;
  return out;
}

/** The guide's state, or for a space configured before it was kept, one built from what is known. */
export function guideStateOf(state: SpaceState): GuideState {
  if (state.guide) return state.guide as GuideState;
  return initialGuideState({
    audience: (["internal", "member", "guest", "default"].includes(state.audience) ? state.audience : "default") as Audience,
    currency: resolveCurrency({ currency: state.currency }),
    workbookName: WORKBOOK_NAME,
    sheets: Object.keys(state.sheets).map((role) => ({ slug: role, name: role.charAt(0).toUpperCase() + role.slice(1) })),
  });
}

/** The role a sheet plays in the working set, if it is a working sheet. */
export function roleOf(state: SpaceState, sheetId: string): string | undefined {
  return Object.entries(state.sheets).find(([, id]) => id === sheetId)?.[0];
}

export function isWorkingSheet(state: SpaceState, sheetId: string): boolean {
  return roleOf(state, sheetId) !== undefined;
}

export function archivedEntry(state: SpaceState, sheetId: string): ArchivedSheet | undefined {
  return state.archived?.find((a) => a.sheetId === sheetId);
}

/** The state with the guide's progress replaced. */
export function recordProgress(state: SpaceState, progress: readonly SheetProgress[], countedAt: string): SpaceState {
  return { ...state, guide: withProgress(guideStateOf(state), progress, countedAt) };
}

export interface Duplication {
  role: string;
  original: { id: string; name: string };
  copy: { id: string; name: string };
  jobId: string;
  at: string;
  /** The copy's counts: its records are the original's. */
  counts: { total: number; valid: number; error: number };
}

/**
 * The state after a duplicate: the copy is the role's working sheet, the original a locked
 * snapshot, the guide's progress shows the copy and its history says what happened. Idempotent
 * (a retry of the same job changes nothing more).
 */
export function recordDuplicate(state: SpaceState, d: Duplication): SpaceState {
  const archived = state.archived ?? [];
  const already = archived.some((a) => a.sheetId === d.original.id);
  const nextArchived = already
    ? archived
    : [
        ...archived,
        {
          sheetId: d.original.id,
          role: d.role,
          name: plainText(d.original.name, MAX_NAME_CHARS),
          replacedBy: d.copy.id,
          jobId: d.jobId,
          lockedAt: d.at,
        },
      ].slice(-MAX_ARCHIVED);
  const guide = guideStateOf(state);
  const progress = guide.progress.some((p) => p.role === d.role)
    ? guide.progress.map((p) => (p.role === d.role ? { role: d.role, sheetName: d.copy.name, ...d.counts } : p))
    : [...guide.progress, { role: d.role, sheetName: d.copy.name, ...d.counts }];
  const withLine = withHistory(withProgress(guide, progress, d.at), {
    id: d.jobId,
    kind: "locked",
    at: d.at,
    sheetName: d.original.name,
    continueSheetName: d.copy.name,
  });
  return { ...state, sheets: { ...state.sheets, [d.role]: d.copy.id }, archived: nextArchived, guide: withLine };
}

export interface Submission {
  jobId: string;
  at: string;
  actorName?: string;
  records: number;
  progress: readonly SheetProgress[];
}

/** The state after a submit: the counts it checked, and a history line (once per job). */
export function recordSubmit(state: SpaceState, s: Submission): SpaceState {
  const guide = withProgress(guideStateOf(state), s.progress, s.at);
  const entry = {
    id: s.jobId,
    kind: "submitted" as const,
    at: s.at,
    records: s.records,
    ...(s.actorName ? { actorName: s.actorName } : {}),
  };
  // A redelivery of the same job keeps the mark it wrote first, as the history line does.
  const submitted =
    state.submitted?.jobId === s.jobId
      ? state.submitted
      : {
          jobId: s.jobId,
          at: s.at,
          records: s.records,
          ...(s.actorName ? { actorName: plainText(s.actorName, MAX_NAME_CHARS) } : {}),
        };
  return { ...state, submitted, guide: { ...withHistory(guide, entry), submitted } };
}

/** The earlier submission that makes this Submit job a second press, if any (the same job's redelivery is not one). */
export function submittedBefore(state: SpaceState, jobId: string): SpaceState["submitted"] {
  return state.submitted && state.submitted.jobId !== jobId ? state.submitted : undefined;
}

/** The first of `candidates` that is a valid time, as ISO 8601; else now. */
export function isoTime(...candidates: unknown[]): string {
  for (const candidate of candidates) {
    if (candidate === undefined || candidate === null) continue;
    const date = new Date(candidate as string | number | Date);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  return new Date().toISOString();
}
