/**
 * `commit:created`: bring the guide's progress and the category options in line with the data, at
 * any sheet size. Each round reconciles (reads, computes, writes only what differs), so a burst
 * of deliveries ends in the state of the last commit; nothing here writes records, so no commit
 * loop can start from us. Why, and the calls: docs/design.md#reshaping-a-space-on-commitcreated.
 */
import type { Flatfile } from "@flatfile/api";
import { BadRequestError } from "../../shared/core/errors";
import { requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import { asRouteError, judge } from "../../shared/core/failures";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { logger } from "../../shared/core/logger";
import { claimAsDeclared, type RouteDeps, type RouteSpec } from "../../shared/core/route";
import { declaredRoute } from "../../shared/routes";
import { FINALIZE_RESERVE_MS } from "../../shared/core/route";
import {
  collectUnknownEnumValues,
  isLocked,
  planEnumExtension,
  UNKNOWN_CATEGORY_RULE,
  withSubmitConstraints,
  type UnknownEnumScan,
} from "../../shared/domain/blueprint";
import type { SheetProgress } from "../../shared/domain/guide";
import { archivedEntry, guideStateOf, readSpaceState, recordProgress, roleOf, type SpaceState } from "../../shared/domain/space-state";
import { same } from "../../shared/core/canonical";
import { scanCommitRecords, type ScanResult } from "./commit-records";
import { changeWorkbook } from "../../shared/flatfile/writes";
import { changeSpaceState, spaceMetadataTooLarge } from "../../shared/flatfile/space-state";
import { workbookUpdate } from "../../shared/domain/workbook-update";

const ROUTE = declaredRoute("commit-created");
/** Rounds of read → compare → write; a round that writes nothing ends the delivery. */
export const MAX_ROUNDS = 3;
/** A round does not start with less than this left before the work deadline. */
const ROUND_BUDGET_MS = 2_500;
/** Comma-separated actor ids that are us (the API key's or agent's actor), whose commits we skip. */
export const SELF_ACTOR_ENV = "COMMIT_SELF_ACTOR_IDS";

interface CommitContext {
  spaceId: string;
  workbookId: string;
  sheetId: string;
  commitId: string;
  actorId?: string;
}

export interface SheetCounts {
  sheetId: string;
  sheetSlug: string;
  sheetName: string;
  total: number;
  valid: number;
  error: number;
}

function commitIdOf(event: FlatfileEvent): string | undefined {
  return event.context.commitId ?? event.context.versionId;
}

function contextOf(event: FlatfileEvent): CommitContext {
  const commitId = commitIdOf(event);
  if (!commitId) throw new BadRequestError("event context.commitId (or versionId) is missing");
  return {
    spaceId: requireContext(event, "spaceId"),
    workbookId: requireContext(event, "workbookId"),
    sheetId: requireContext(event, "sheetId"),
    commitId,
    actorId: event.context.actorId,
  };
}

function selfActorIds(): Set<string> {
  const raw = process.env[SELF_ACTOR_ENV] ?? "";
  return new Set(
    raw
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

const isNotFound = (error: unknown) => judge(error).kind === "not-found";

/** Why a commit is not ours to act on, or undefined when it is. */
function foreignReason(state: SpaceState | undefined, ctx: CommitContext): string | undefined {
  if (!state) return "the space was not configured by this blueprint";
  if (state.workbookId !== ctx.workbookId) return `workbook ${ctx.workbookId} is not the one this blueprint made`;
  if (archivedEntry(state, ctx.sheetId)) return `sheet ${ctx.sheetId} is a locked snapshot, not a working sheet`;
  if (!roleOf(state, ctx.sheetId)) return `sheet ${ctx.sheetId} is not one of this space's working sheets`;
  return undefined;
}

/** Fresh counts for our sheets, in parallel. A sheet other than the commit's that is gone is left out. */
async function readCounts(api: FlatfileApi, state: SpaceState, ctx: CommitContext): Promise<SheetCounts[]> {
  const results = await Promise.all(
    Object.entries(state.sheets).map(async ([slug, sheetId]) => {
      try {
        const { data } = await api.sheets.getRecordCounts(sheetId);
        const c = data.counts;
        return { sheetId, sheetSlug: slug, sheetName: slug, total: c.total, valid: c.valid, error: c.error };
      } catch (error) {
        if (sheetId !== ctx.sheetId && isNotFound(error)) return undefined;
        throw asRouteError(error, `counting the records of sheet ${sheetId}`);
      }
    }),
  );
  return results.filter((r): r is SheetCounts => r !== undefined);
}

/**
 * Display names from the workbook. The order stays the roles' order in our state (Promise.all
 * keeps it), not the workbook's, where a copy is appended at the end: the guide lists Contacts
 * before Orders whichever sheet plays each role.
 */
function named(counts: SheetCounts[], workbook: Flatfile.Workbook): SheetCounts[] {
  const sheets = workbook.sheets ?? [];
  return counts.map((c) => ({ ...c, sheetName: sheets.find((s) => s.id === c.sheetId)?.name ?? c.sheetName }));
}

async function readState(api: FlatfileApi, spaceId: string): Promise<SpaceState | undefined> {
  try {
    return readSpaceState((await api.spaces.get(spaceId)).data.metadata);
  } catch (error) {
    throw asRouteError(error, `reading space ${spaceId}`);
  }
}

async function readWorkbook(api: FlatfileApi, workbookId: string): Promise<Flatfile.Workbook> {
  try {
    return (await api.workbooks.get(workbookId)).data;
  } catch (error) {
    throw asRouteError(error, `reading workbook ${workbookId}`);
  }
}

type Unknowns = UnknownEnumScan | undefined;

interface DesiredWorkbook {
  /** The whole update to send, or undefined when nothing differs. */
  update?: Flatfile.WorkbookUpdate;
  /** What differs: "actions", "sheet:<slug>". */
  changed: string[];
  /** Categories added as options, and those only reported (flag mode, or past the cap). */
  added: string[];
  flagged: string[];
}

/**
 * The workbook as the rules want it: on the rule's sheet, the enum options extended with the
 * commit's unknown values; and Submit's constraints as the blueprint wants them for the locks
 * the workbook has (a no-op except for workbooks made by an earlier version).
 */
function desiredWorkbook(workbook: Flatfile.Workbook, ruleSheetId: string | undefined, unknowns: Unknowns | undefined): DesiredWorkbook {
  const changed: string[] = [];
  const out: DesiredWorkbook = { changed, added: [], flagged: [] };
  const current = workbook.actions ?? [];
  const actions = withSubmitConstraints(
    current,
    (workbook.sheets ?? []).some((s) => isLocked(s.config)),
  );
  if (!same(actions, current)) changed.push("actions");
  const replaced = new Map<string, Flatfile.SheetConfig>();
  if (ruleSheetId && unknowns !== undefined) {
    const sheet = (workbook.sheets ?? []).find((s) => s.id === ruleSheetId);
    if (sheet) {
      const plan = planEnumExtension(sheet.config, unknowns, UNKNOWN_CATEGORY_RULE);
      out.added = plan.added;
      out.flagged = plan.flagged;
      if (plan.changed && !same(plan.sheet, sheet.config)) {
        replaced.set(sheet.id, plan.sheet);
        changed.push(`sheet:${sheet.slug}`);
      }
    }
  }
  if (changed.length > 0) out.update = workbookUpdate(workbook, actions, replaced);
  return out;
}

/** The guide's progress from fresh counts: display names, the workbook's sheet order. */
function progressOf(counts: SheetCounts[]): SheetProgress[] {
  return counts.map(({ sheetSlug, sheetName, total, valid, error }) => ({ role: sheetSlug, sheetName, total, valid, error }));
}

interface RoundResult {
  counts: SheetCounts[];
  guide: "updated" | "unchanged" | "missing";
  workbook: string[];
  added: string[];
  flagged: string[];
  wrote: boolean;
}

async function reconcileRound(
  api: FlatfileApi,
  ctx: CommitContext,
  state: SpaceState,
  ruleSheetId: string | undefined,
  unknowns: Promise<Unknowns | undefined>,
  leaseTable: string | undefined,
): Promise<RoundResult> {
  // Every read (and the changed-records scan) settles before any write starts, so a failed read
  // never leaves a write in flight behind a 5xx answer.
  const [workbook, fresh, scanned] = await Promise.all([readWorkbook(api, ctx.workbookId), readCounts(api, state, ctx), unknowns]);
  const counts = named(fresh, workbook);
  const progress = progressOf(counts);

  const writes: Promise<unknown>[] = [];
  let guideOutcome: RoundResult["guide"] = "unchanged";
  if (!same(guideStateOf(state).progress, progress)) {
    // Recorded under the space's lease from a fresh read of our state, so a duplicate's or a
    // submit's change made since this round's read is kept. Counts taken for another working set
    // (a duplicate replaced a sheet meanwhile) are not written: the next round counts again.
    writes.push(
      changeSpaceState(api, ctx.spaceId, leaseTable, async (_space, now) => {
        if (!now || !same(now.sheets, state.sheets)) return { value: undefined };
        return { state: recordProgress(now, progress), value: undefined };
      })
        .then((outcome) => {
          guideOutcome = outcome.guide;
        })
        .catch((error: unknown) => {
          throw asRouteError(error, `recording the progress in space ${ctx.spaceId}`);
        }),
    );
  }
  let desired = desiredWorkbook(workbook, ruleSheetId, scanned);
  if (desired.update) {
    // Recomputed on a fresh read under the workbook's lease, so an action job's change made
    // since this round's read (a submit's locks, say) is kept.
    writes.push(
      changeWorkbook(api, ctx.workbookId, leaseTable, (latest) => {
        desired = desiredWorkbook(latest, ruleSheetId, scanned);
        return desired.update;
      }).catch((error: unknown) => {
        throw asRouteError(error, `updating workbook ${ctx.workbookId}`);
      }),
    );
  }
  await Promise.all(writes);
  return {
    counts,
    guide: guideOutcome,
    workbook: desired.changed,
    added: desired.added,
    flagged: desired.flagged,
    wrote: writes.length > 0,
  };
}

/** The sheet whose enum the category rule extends, if this commit is on it. */
function ruleSheetFor(state: SpaceState, ctx: CommitContext): string | undefined {
  return state.sheets[UNKNOWN_CATEGORY_RULE.sheetSlug] === ctx.sheetId ? ctx.sheetId : undefined;
}

async function handleCommit(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>> {
  const { api } = deps;
  const ctx = contextOf(event);
  if (ctx.actorId && selfActorIds().has(ctx.actorId)) {
    return { ignored: true, reason: `commit ${ctx.commitId} was made by this configurator (${ctx.actorId})` };
  }

  let space: Flatfile.Space;
  try {
    space = (await api.spaces.get(ctx.spaceId)).data;
  } catch (error) {
    throw asRouteError(error, `reading space ${ctx.spaceId}`);
  }
  const state = readSpaceState(space.metadata);
  const foreign = foreignReason(state, ctx);
  if (foreign || !state) {
    logger.info("commit on a sheet we did not make", { sheetId: ctx.sheetId, reason: foreign });
    return { ignored: true, reason: foreign ?? "not ours" };
  }
  if (spaceMetadataTooLarge(space)) {
    // Every write of our state sends it all back; nothing to fail here, so nothing is changed.
    logger.warn("space metadata over the bound: commit not reconciled", { spaceId: ctx.spaceId });
    return { ignored: true, reason: "the space's metadata is too large to rewrite" };
  }

  const sheetSlug = Object.entries(state.sheets).find(([, id]) => id === ctx.sheetId)?.[0];
  const ruleSheetId = ruleSheetFor(state, ctx);
  const workDeadline = deps.deadline - FINALIZE_RESERVE_MS;
  // Started now, read while the first round reads; only the first round's workbook write waits on it.
  const scan: Promise<ScanResult<Unknowns> | undefined> = ruleSheetId
    ? scanCommitRecords<Unknowns>(
        api,
        ctx.sheetId,
        ctx.commitId,
        undefined,
        (acc, page) => collectUnknownEnumValues(acc, page, UNKNOWN_CATEGORY_RULE),
        {
          fields: [UNKNOWN_CATEGORY_RULE.fieldKey],
          canContinue: () => workDeadline - Date.now() > ROUND_BUDGET_MS,
        },
      ).catch((error: unknown) => {
        throw asRouteError(error, `reading the records of commit ${ctx.commitId}`);
      })
    : Promise.resolve(undefined);
  const unknowns = scan.then((s) => s?.acc);
  // Both are awaited later; a rejection before then must not count as unhandled.
  scan.catch(() => undefined);
  unknowns.catch(() => undefined);

  const rounds: RoundResult[] = [];
  let current: SpaceState = state;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (round > 0) {
      if (workDeadline - Date.now() < ROUND_BUDGET_MS) break;
      const again = await readState(api, ctx.spaceId);
      // The sheet stopped being a working sheet (duplicated meanwhile): the duplicate keeps the guide.
      if (!again || foreignReason(again, ctx)) break;
      current = again;
    }
    const result = await reconcileRound(api, ctx, current, ruleSheetFor(current, ctx), unknowns, deps.settings.idempotencyTable);
    rounds.push(result);
    if (!result.wrote) break;
  }
  const scanned = await scan;
  const last = rounds.at(-1);
  return {
    commitId: ctx.commitId,
    sheet: sheetSlug,
    counts: last?.counts.map(({ sheetSlug: slug, total, valid, error }) => ({ sheet: slug, total, valid, error })),
    guide: rounds.some((r) => r.guide === "updated") ? "updated" : (last?.guide ?? "unchanged"),
    workbook: [...new Set(rounds.flatMap((r) => r.workbook))],
    rounds: rounds.length,
    ...(scanned
      ? {
          categories: {
            recordsRead: scanned.records,
            pages: scanned.pages,
            truncated: scanned.truncated,
            // Added by this delivery's writes, and those left as they are (flag mode, or over the cap).
            added: [...new Set(rounds.filter((r) => r.workbook.some((w) => w.startsWith("sheet:"))).flatMap((r) => r.added))],
            flagged: last?.flagged ?? [],
            skipped: scanned.acc?.skipped ?? 0,
          },
        }
      : {}),
  };
}

export const commitCreatedRoute: RouteSpec = {
  name: ROUTE.name,
  claim: (event) => claimAsDeclared(ROUTE, event, () => commitIdOf(event) ?? event.id),
  validate(event) {
    contextOf(event);
  },
  handle: handleCommit,
};
