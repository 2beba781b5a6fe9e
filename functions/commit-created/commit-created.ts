/**
 * `commit:created`: bring the guide's progress and the category options in line with the data, at
 * any sheet size. Our state is followed only as far as the workbook the event names (read beside
 * the space) bears it out. The counts that decide the guide are read under the space's lease and
 * written under it, so a burst of deliveries ends in the state of the last commit without a second
 * round; nothing here writes records, so no commit loop can start from us. Round trips:
 * (spaces.get ∥ workbooks.get) → [space lease: spaces.get ∥ counts ∥ documents.get] ∥ records →
 * documents.update ∥ [workbook lease: workbooks.get] → spaces.update ∥ workbooks.update.
 * Why, and the calls: docs/design.md#reshaping-a-space-on-commitcreated.
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
import {
  archivedEntry,
  confineToWorkbook,
  guideStateOf,
  readSpaceState,
  recordProgress,
  roleOf,
  type SpaceState,
} from "../../shared/domain/space-state";
import { same } from "../../shared/core/canonical";
import { scanCommitRecords, type ScanResult } from "./commit-records";
import { changeWorkbook } from "../../shared/flatfile/writes";
import { changeSpaceState, spaceMetadataTooLarge } from "../../shared/flatfile/space-state";
import { workbookUpdate } from "../../shared/domain/workbook-update";

const ROUTE = declaredRoute("commit-created");
/** A page of the commit's records is not started with less than this left before the work deadline. */
const PAGE_BUDGET_MS = 2_500;
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

/** The sheet whose enum the category rule extends, if this commit is on it. */
function ruleSheetFor(state: SpaceState, ctx: CommitContext): string | undefined {
  return state.sheets[UNKNOWN_CATEGORY_RULE.sheetSlug] === ctx.sheetId ? ctx.sheetId : undefined;
}

type Read<T> = { ok: true; value: T } | { ok: false; error: unknown };
const settle = <T>(promise: Promise<T>): Promise<Read<T>> =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** Under the space's lease: what the guide shows now, from counts read under the same lease. */
interface ProgressWrite {
  counts?: SheetCounts[];
  /** Why nothing was recorded although the counts differed, if so. */
  skipped?: string;
}

async function handleCommit(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>> {
  const { api } = deps;
  const ctx = contextOf(event);
  if (ctx.actorId && selfActorIds().has(ctx.actorId)) {
    return { ignored: true, reason: `commit ${ctx.commitId} was made by this configurator (${ctx.actorId})` };
  }

  // The workbook is read beside the space: whether the state's workbook, sheets and guide are
  // this space's is decided from what Flatfile answers, and the flow uses that one read.
  const [spaceRead, workbookRead] = await Promise.all([
    settle(api.spaces.get(ctx.spaceId).then((r) => r.data)),
    settle(readWorkbook(api, ctx.workbookId)),
  ]);
  if (!spaceRead.ok) throw asRouteError(spaceRead.error, `reading space ${ctx.spaceId}`);
  const space = spaceRead.value;
  // The pipeline left the ownedSpaces rule to this read: the Space is read once per delivery.
  const notOwned = deps.foreignSpace ? await deps.foreignSpace(space) : undefined;
  if (notOwned) {
    logger.info("event ignored: not one of our Spaces", { reason: notOwned });
    return { ignored: true, reason: notOwned };
  }
  const claimed = readSpaceState(space.metadata);
  const foreign = foreignReason(claimed, ctx);
  if (foreign || !claimed) return ignore(ctx, foreign ?? "not ours");
  if (!workbookRead.ok) throw workbookRead.error;
  const workbook = workbookRead.value;
  const state = confineToWorkbook(claimed, workbook, ctx.spaceId);
  const unconfirmed = state ? foreignReason(state, ctx) : `workbook ${ctx.workbookId} is not in space ${ctx.spaceId}`;
  if (unconfirmed || !state) return ignore(ctx, unconfirmed ?? "not ours");
  if (spaceMetadataTooLarge(space)) {
    // Every write of our state sends it all back; nothing to fail here, so nothing is changed.
    logger.warn("space metadata over the bound: commit not reconciled", { spaceId: ctx.spaceId });
    return { ignored: true, reason: "the space's metadata is too large to rewrite" };
  }

  const sheetSlug = roleOf(state, ctx.sheetId);
  const ruleSheetId = ruleSheetFor(state, ctx);
  const workDeadline = deps.deadline - FINALIZE_RESERVE_MS;
  // Started now, read while the space's lease is taken and the counts are read.
  const scan: Promise<ScanResult<Unknowns> | undefined> = ruleSheetId
    ? scanCommitRecords<Unknowns>(
        api,
        ctx.sheetId,
        ctx.commitId,
        undefined,
        (acc, page) => collectUnknownEnumValues(acc, page, UNKNOWN_CATEGORY_RULE),
        {
          fields: [UNKNOWN_CATEGORY_RULE.fieldKey],
          canContinue: () => workDeadline - Date.now() > PAGE_BUDGET_MS,
        },
      ).catch((error: unknown) => {
        throw asRouteError(error, `reading the records of commit ${ctx.commitId}`);
      })
    : Promise.resolve(undefined);
  // Awaited later; a rejection before then must not count as unhandled.
  scan.catch(() => undefined);

  // Every read (the counts, the guide's check and the changed-records scan) settles before any
  // write starts, so a failed read never leaves a write in flight behind a 5xx answer.
  let readsSettled!: (settled: boolean) => void;
  const reads = new Promise<boolean>((resolve) => {
    readsSettled = resolve;
  });
  const progress = changeSpaceState<ProgressWrite, SheetCounts[]>(
    api,
    ctx.spaceId,
    deps.settings.idempotencyTable,
    async (_space, now, fresh) => {
      await scan;
      readsSettled(true);
      // Counts taken for another working set (a duplicate replaced a sheet meanwhile) are not
      // written: the duplicate records its copy's counts itself.
      if (!now || !same(now.sheets, state.sheets))
        return { value: { counts: named(fresh, workbook), skipped: "the working sheets changed" } };
      const counts = named(fresh, workbook);
      const next = progressOf(counts);
      if (same(guideStateOf(now).progress, next)) return { value: { counts } };
      return { state: recordProgress(now, next, new Date().toISOString()), value: { counts } };
    },
    { workbook, expected: state, readAlongside: () => readCounts(api, state, ctx) },
  ).catch((error: unknown) => {
    readsSettled(false);
    throw asRouteError(error, `recording the progress in space ${ctx.spaceId}`);
  });

  let desired: DesiredWorkbook = { changed: [], added: [], flagged: [] };
  const workbookWrite = reads.then(async (settled) => {
    if (!settled) return;
    const unknowns = (await scan)?.acc;
    desired = desiredWorkbook(workbook, ruleSheetId, unknowns);
    if (!desired.update) return;
    // Recomputed on a fresh read under the workbook's lease, so an action job's change made
    // since the read above (a submit's locks, say) is kept.
    await changeWorkbook(api, ctx.workbookId, deps.settings.idempotencyTable, (latest) => {
      desired = desiredWorkbook(latest, ruleSheetId, unknowns);
      return desired.update;
    }).catch((error: unknown) => {
      throw asRouteError(error, `updating workbook ${ctx.workbookId}`);
    });
  });
  const [written] = await Promise.all([progress, workbookWrite]);
  const scanned = await scan;
  return {
    commitId: ctx.commitId,
    sheet: sheetSlug,
    counts: written.value.counts?.map(({ sheetSlug: slug, total, valid, error }) => ({ sheet: slug, total, valid, error })),
    guide: written.guide,
    workbook: desired.changed,
    ...(written.value.skipped ? { progressSkipped: written.value.skipped } : {}),
    ...(scanned
      ? {
          categories: {
            recordsRead: scanned.records,
            pages: scanned.pages,
            truncated: scanned.truncated,
            // Added by this delivery's write, and those left as they are (flag mode, or over the cap).
            added: desired.changed.some((w) => w.startsWith("sheet:")) ? desired.added : [],
            flagged: desired.flagged,
            skipped: scanned.acc?.skipped ?? 0,
          },
        }
      : {}),
  };
}

function ignore(ctx: CommitContext, reason: string): Record<string, unknown> {
  logger.info("commit on a sheet we did not make", { sheetId: ctx.sheetId, reason });
  return { ignored: true, reason };
}

export const commitCreatedRoute: RouteSpec = {
  name: ROUTE.name,
  claim: (event) => claimAsDeclared(ROUTE, event, () => commitIdOf(event) ?? event.id),
  validate(event) {
    contextOf(event);
  },
  // Its first round reads the Space before any write (handleCommit).
  decidesOwnedSpace: true,
  handle: handleCommit,
};
