/**
 * `sheet:duplicate`: "Duplicate this Sheet and lock down the original". Flatfile copies the sheet
 * on its side; the copy becomes the working sheet and the original a read-only snapshot, all in
 * one leased section so concurrent jobs cannot lose each other's copy or lock. The copy's slug comes
 * from the job id, so a retry finds its copy, or is refused it when an earlier request lands late,
 * and then finds it. Why, and the calls: docs/design.md#duplicating-a-sheet.
 */
import type { Flatfile } from "@flatfile/api";
import { requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import { ContinuesElsewhere, JobFailure, NotFoundError } from "../../shared/core/errors";
import { FlatfileApiError, type FlatfileApi } from "../../shared/core/flatfile-client";
import { logger } from "../../shared/core/logger";
import type { Attempt, JobResult, JobSummary } from "../../shared/core/job-lifecycle";
import type { RouteDeps } from "../../shared/core/route";
import type { Audience } from "../../shared/domain/audience";
import {
  archivedConfig,
  DUPLICATE_JOB,
  differsAsWorkingSheet,
  isLocked,
  SHEET_ACTIONS,
  workingSheetConfig,
} from "../../shared/domain/blueprint";
import { archivedEntry, isoTime, recordDuplicate, roleOf, type SpaceState } from "../../shared/domain/space-state";
import { plainText } from "../../shared/domain/text";
import { runActionJob, thenReleaseWorkbook, type ActionContext, type ActionIds } from "./action-context";
import { changeHeldSpaceState } from "../../shared/flatfile/space-state";
import { withSheetsAndSubmit } from "../../shared/domain/workbook-update";
import { confirmWorkbook, withWorkbookLease } from "../../shared/flatfile/writes";

export { DUPLICATE_JOB };

/** Unique per job, and the same for every attempt at that job. */
export function copySlugFor(role: string, jobId: string): string {
  return `${role}-copy-${jobId.replace(/^[a-z0-9]+_jb_/, "").toLowerCase()}`;
}

/** "Contacts (copy)", and for a copy of a copy "Contacts (copy 2)", "Contacts (copy 3)"… */
export function copyNameFor(name: string, taken: readonly string[] = []): string {
  const base = name.replace(/ \(copy(?: \d+)?\)$/, "");
  const names = new Set(taken);
  if (!names.has(`${base} (copy)`)) return `${base} (copy)`;
  for (let n = 2; ; n++) if (!names.has(`${base} (copy ${n})`)) return `${base} (copy ${n})`;
}

interface Made {
  workbook: Flatfile.Workbook;
  copy: Flatfile.Sheet;
  reused: boolean;
}

interface Copied {
  original: Flatfile.Sheet;
  copy: Flatfile.Sheet;
  reused: boolean;
}

/**
 * From a workbook read under the workbook's lease: the copy (found from an earlier attempt, or
 * made now) and that workbook with it. The copy comes as Flatfile answers `sheets.duplicate`,
 * so nothing is read again before the lock is written.
 */
async function makeCopy(api: FlatfileApi, workbook: Flatfile.Workbook, sheetId: string, role: string, jobId: string): Promise<Made> {
  const original = workbook.sheets?.find((sheet) => sheet.id === sheetId);
  if (!original) throw new NotFoundError(`sheet ${sheetId} is not in workbook ${workbook.id}`);
  const slug = copySlugFor(role, jobId);
  const leftover = workbook.sheets?.find((sheet) => sheet.slug === slug);
  if (leftover) return { workbook, copy: leftover, reused: true };
  const name = copyNameFor(
    original.name,
    (workbook.sheets ?? []).map((s) => s.name),
  );
  const requestedAt = Date.now();
  try {
    const { data: copy } = await api.sheets.duplicateSheet(sheetId, { name, slug });
    return { workbook: { ...workbook, sheets: [...(workbook.sheets ?? []), copy] }, copy, reused: false };
  } catch (error) {
    // Not answered: the copy may still be made, so it is waited for (by the worker), never asked for blindly.
    if (unanswered(error)) throw new CopyUnanswered(slug, requestedAt, error);
    // An earlier attempt's request (timed out on our side) may have landed since that read:
    // Flatfile refuses the slug again, so the copy is looked for, never asked for under a new slug.
    if (!refusedAnswer(error)) throw error;
    const fresh = (await api.workbooks.get(workbook.id)).data;
    const landed = fresh.sheets?.find((sheet) => sheet.slug === slug);
    if (!landed) throw error;
    logger.warn("the copy an earlier attempt asked for landed late; carrying on with it", { workbookId: workbook.id, slug });
    return { workbook: fresh, copy: landed, reused: true };
  }
}

/** A request Flatfile did not answer (timed out, or the connection dropped): it may still land. */
function unanswered(error: unknown): boolean {
  return error instanceof FlatfileApiError && (error.reason === "timeout" || error.reason === "network");
}

/** `sheets.duplicate` was not answered: the copy under `slug` may land later. */
class CopyUnanswered extends Error {
  constructor(
    readonly slug: string,
    readonly requestedAt: number,
    cause: unknown,
  ) {
    super(`the copy ${slug} was asked for and not answered`, { cause });
    this.name = "CopyUnanswered";
  }
}

/** How the job reads while the copy is awaited (its `info`). */
export const AWAITING_COPY_INFO =
  "Flatfile is still making the copy (a large sheet can take a few minutes). This finishes on its own once the copy is there.";

/**
 * A copy not answered within the delivery is handed to the worker, which waits for it and then
 * finishes the job; with no worker deployed, the original failure stands (a temporary one).
 */
function carriedOn(error: unknown, event: FlatfileEvent, deps: RouteDeps): unknown {
  if (!(error instanceof CopyUnanswered)) return error;
  const { handOff } = deps;
  if (!handOff) return error.cause;
  const { slug: copySlug, requestedAt } = error;
  return new ContinuesElsewhere(
    AWAITING_COPY_INFO,
    () => handOff({ kind: "pending-copy", event, copySlug, requestedAt }),
    { operation: DUPLICATE_JOB, copySlug },
    { cause: error },
  );
}

/**
 * A refusal Flatfile answered (the status for a slug already taken is undocumented): not a
 * missing sheet, nor a status the client retries.
 */
function refusedAnswer(error: unknown): boolean {
  if (!(error instanceof FlatfileApiError) || error.reason !== "status" || error.statusCode === undefined) return false;
  const status = error.statusCode;
  return status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429;
}

/**
 * Still under the workbook's lease: the workbook written with the original locked down, the copy
 * open, and Submit's constraints.
 */
async function lockOriginal(api: FlatfileApi, made: Made, sheetId: string, role: string, audience: Audience): Promise<Copied> {
  const { workbook, copy } = made;
  const lockedNow = workbook.sheets?.find((sheet) => sheet.id === sheetId);
  if (!lockedNow) throw new NotFoundError(`sheet ${sheetId} is not in workbook ${workbook.id}`);
  const replaced = new Map<string, Flatfile.SheetConfig>();
  const archived = archivedConfig(lockedNow.config);
  if (!isLocked(lockedNow.config) || (lockedNow.config.actions ?? []).length > 0) replaced.set(lockedNow.id, archived);
  // The copy inherits whatever the original was (locked, read-only, its access changed, an
  // earlier version's actions): it is where work goes on, so it gets the working sheet's config.
  const working = workingSheetConfig(copy.config, audience, role);
  if (differsAsWorkingSheet(copy.config, working)) replaced.set(copy.id, { ...working, name: copy.name, slug: copy.slug });
  const update = withSheetsAndSubmit(workbook, replaced);
  if (update) await api.workbooks.update(workbook.id, update);
  return { original: lockedNow, copy, reused: made.reused };
}

/**
 * The copy and the lock written again under the workbook's lease taken now, from a fresh read:
 * for a lock found undone when read back. A section lease, as it may be held across
 * `sheets.duplicate`, whose duration is undocumented.
 */
function copyAndLock(
  api: FlatfileApi,
  workbookId: string,
  sheetId: string,
  role: string,
  audience: Audience,
  jobId: string,
  leaseTable: string | undefined,
): Promise<Copied> {
  return withWorkbookLease(
    workbookId,
    leaseTable,
    async () => {
      const workbook = (await api.workbooks.get(workbookId)).data;
      return lockOriginal(api, await makeCopy(api, workbook, sheetId, role, jobId), sheetId, role, audience);
    },
    true,
  );
}

/** A sheet name in a job's message: one line, no control characters, capped (names can be edited by anyone). */
const shown = (name: string) => plainText(name, 100);

function openCopy(copy: { id: string; name: string }, heading: string, message: string): Flatfile.JobOutcome {
  // `next` links are shown in the outcome dialog (acknowledge: true), not in a toast.
  return { heading, message, acknowledge: true, next: { type: "id", id: copy.id, label: "Open the copy" } };
}

/** The job when its sheet was already locked down by another duplicate: point at the working copy. */
function alreadyDone(state: SpaceState, sheetId: string, names: Map<string, string>): JobResult | undefined {
  const entry = archivedEntry(state, sheetId);
  if (!entry) return undefined;
  const workingId = state.sheets[entry.role] ?? entry.replacedBy;
  const workingName = shown(names.get(workingId) ?? "the copy");
  return {
    outcome: openCopy(
      { id: workingId, name: workingName },
      "Already locked",
      `${shown(entry.name)} was already locked. Keep working in ${workingName}.`,
    ),
    summary: { operation: DUPLICATE_JOB, lockedSheetId: sheetId, copySheetId: workingId, already: true },
  };
}

/** How a duplicate job is named in its messages and its open-job record. */
export const DUPLICATE_WHAT = "Duplicating this sheet";

export async function duplicateAndLock(event: FlatfileEvent, deps: RouteDeps): Promise<JobSummary> {
  return runActionJob(event, deps, {
    operation: SHEET_ACTIONS.duplicate.operation,
    place: { domain: "sheet", sheetId: requireContext(event, "sheetId") },
    notOffered: (name) => `${name} cannot be duplicated in this Space: that action is not offered here. Nothing was changed.`,
    what: DUPLICATE_WHAT,
    ackInfo: "Copying the sheet with its records",
    work: (context, ids, progress, attempt) =>
      duplicateWork(event, deps, context, ids, progress, attempt).catch((error: unknown) => {
        throw carriedOn(error, event, deps);
      }),
  });
}

async function duplicateWork(
  event: FlatfileEvent,
  deps: RouteDeps,
  context: ActionContext,
  { jobId, workbookId }: ActionIds,
  progress: (percent: number, info: string) => void,
  attempt: Attempt,
): Promise<JobResult> {
  const { api } = deps;
  const sheetId = requireContext(event, "sheetId");
  const leaseTable = deps.settings.idempotencyTable;
  const names = new Map((context.workbook.sheets ?? []).map((s) => [s.id, s.name]));
  let reassert: (() => Promise<Copied>) | undefined;
  const changed = await changeHeldSpaceState(
    api,
    context.space,
    async (state) => {
      if (!state)
        throw new JobFailure(
          "This Space's setup record is missing, so its sheets cannot be duplicated. Ask your admin to set the Space up again.",
        );
      // The sheet's role: as a working sheet, or (an earlier attempt at this job recorded the copy) as the snapshot this job made.
      const mine = archivedEntry(state, sheetId);
      const role = roleOf(state, sheetId) ?? (mine?.jobId === jobId ? mine.role : undefined);
      if (!role) {
        const done = alreadyDone(state, sheetId, names);
        if (done) return { value: done };
        throw new JobFailure(
          `${shown(names.get(sheetId) ?? "This sheet")} is not one of the sheets this Space works in, so it was not duplicated.`,
        );
      }
      reassert = () => copyAndLock(api, workbookId, sheetId, role, context.audience, jobId, leaseTable);
      // The workbook was read under its lease, held since: the copy and the lock need no read of their own.
      const made = await makeCopy(api, context.workbook, sheetId, role, jobId);
      const [copied, counts] = await Promise.all([
        thenReleaseWorkbook(context.leases, lockOriginal(api, made, sheetId, role, context.audience)),
        // Counted beside the lock: the copy's records do not depend on it.
        api.sheets.getRecordCounts(made.copy.id).then((r) => r.data.counts),
      ]);
      progress(70, `Locked ${shown(copied.original.name)}`);
      const next = recordDuplicate(state, {
        role,
        original: { id: copied.original.id, name: copied.original.name },
        copy: { id: copied.copy.id, name: copied.copy.name },
        jobId,
        // The copy's creation time, not now: a retry writes the same line.
        at: isoTime(copied.copy.createdAt, event.createdAt),
        counts: { total: counts.total, valid: counts.valid, error: counts.error },
      });
      const result: JobResult = {
        outcome: openCopy(
          copied.copy,
          "Sheet duplicated",
          `${shown(copied.original.name)} is now locked and kept as it was. Keep working in ${shown(copied.copy.name)}, which has all its records.`,
        ),
        summary: {
          operation: DUPLICATE_JOB,
          lockedSheetId: copied.original.id,
          copySheetId: copied.copy.id,
          copySlug: copied.copy.slug,
          reusedCopy: copied.reused,
        },
      };
      return { state: next, value: result };
    },
    { workbook: context.workbook, rewriteGuide: attempt.resumed },
  );
  const { summary } = changed.value;
  // The lock and the open copy the message promises, read back beside the guide and the state (no extra round).
  const [written] = await Promise.all([
    changed.write(),
    reassert && typeof summary.copySheetId === "string"
      ? confirmWorkbook(
          api,
          workbookId,
          "The lock on the duplicated sheet",
          (workbook) => {
            const config = (id: unknown) => workbook.sheets?.find((sheet) => sheet.id === id)?.config;
            const original = config(summary.lockedSheetId);
            const working = config(summary.copySheetId);
            return original !== undefined && isLocked(original) && working !== undefined && working.readonly !== true;
          },
          reassert,
        )
      : undefined,
  ]);
  await context.leases.release();
  return { ...changed.value, summary: { ...summary, guide: written.guide } };
}
