/**
 * `workbook:submitActionFg`: submit the working sheets once every record in them is valid, under
 * the space's lease so the working set cannot change between the check and the lock. Locked
 * snapshots neither count nor block. Why, and the calls: docs/design.md#submitting-a-workbook.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileEvent } from "../../shared/core/envelope";
import { ContinuesElsewhere, JobFailure, WorkInProgress } from "../../shared/core/errors";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import type { Attempt, JobResult, JobSummary } from "../../shared/core/job-lifecycle";
import { FINALIZE_RESERVE_MS, type RouteDeps } from "../../shared/core/route";
import { isLocked, lockedConfig, SUBMIT_JOB, WORKBOOK_ACTIONS } from "../../shared/domain/blueprint";
import { plural, type SheetProgress } from "../../shared/domain/guide";
import { guideStateOf, isoTime, recordSubmit, submittedBefore, type SpaceState } from "../../shared/domain/space-state";
import { plainText } from "../../shared/domain/text";
import { runActionJob, thenReleaseWorkbook, type ActionContext, type ActionIds } from "./action-context";
import { changeHeldSpaceState } from "../../shared/flatfile/space-state";
import { withSheetsAndSubmit } from "../../shared/domain/workbook-update";
import { confirmWorkbook, withWorkbookLease } from "../../shared/flatfile/writes";

/**
 * Imported on the first submission: the S3 and EventBridge clients stay out of the function's
 * cold start (the bundle evaluates the module only when this runs).
 */
const submissionDelivery = () => import("./submission.js");

export { SUBMIT_JOB };

export interface SheetTally {
  role: string;
  sheetId: string;
  name: string;
  total: number;
  valid: number;
  error: number;
}

/** The message for working sheets with records still in error, or undefined when there are none. Pure. */
export function blockingErrors(tallies: readonly SheetTally[]): string | undefined {
  const blocking = tallies.filter((t) => t.error > 0);
  if (blocking.length === 0) return undefined;
  const list = blocking.map((t) => `${plainText(t.name, 100)} has ${plural(t.error, "record", "records")} with errors`).join("; ");
  return `Nothing was submitted: ${list}. Filter the sheet by errors, fix them, then submit again.`;
}

/** Under the workbook's lease, from `fresh` read under it: the working sheets locked, Submit's constraints to match. */
async function lockSheetsOf(api: FlatfileApi, fresh: Flatfile.Workbook, sheetIds: readonly string[]): Promise<Flatfile.Sheet[]> {
  const working = (fresh.sheets ?? []).filter((sheet) => sheetIds.includes(sheet.id));
  const replaced = new Map(working.filter((sheet) => !isLocked(sheet.config)).map((sheet) => [sheet.id, lockedConfig(sheet.config)]));
  const update = withSheetsAndSubmit(fresh, replaced);
  if (update) await api.workbooks.update(fresh.id, update);
  return working;
}

/** The lock written again under the workbook's lease taken now, from a fresh read (a lock found undone). */
function lockWorkingSheets(
  api: FlatfileApi,
  workbookId: string,
  sheetIds: readonly string[],
  leaseTable: string | undefined,
): Promise<Flatfile.Sheet[]> {
  return withWorkbookLease(workbookId, leaseTable, async () => lockSheetsOf(api, (await api.workbooks.get(workbookId)).data, sheetIds));
}

/** A second press: nothing is checked, locked, delivered or recorded again; the person is told when it was. */
function alreadySubmitted(earlier: NonNullable<SpaceState["submitted"]>, workbookName: string | undefined): JobResult {
  const at = isoTime(earlier.at);
  const when = `${at.slice(0, 10)} ${at.slice(11, 16)} UTC`;
  const who = earlier.actorName ? ` by ${plainText(earlier.actorName, 100)}` : "";
  const what = plainText(workbookName ?? "This workbook", 100);
  return {
    outcome: {
      heading: "Already submitted",
      message: `${what} was already submitted on ${when}${who} (${plural(earlier.records, "record", "records")}). Nothing was submitted again.`,
      acknowledge: true,
    },
    summary: { operation: SUBMIT_JOB, alreadySubmitted: { jobId: earlier.jobId, at: earlier.at }, records: 0 },
  };
}

/** How a Submit job is named in its messages and its open-job record. */
export const SUBMIT_WHAT = "Submitting this workbook";

export async function submitWorkbook(event: FlatfileEvent, deps: RouteDeps): Promise<JobSummary> {
  const { api } = deps;
  const leaseTable = deps.settings.idempotencyTable;

  return runActionJob(event, deps, {
    operation: WORKBOOK_ACTIONS.submit.operation,
    place: { domain: "workbook" },
    notOffered: (name) => `${name} cannot be submitted in this Space: that action is not offered here. Nothing was changed.`,
    what: SUBMIT_WHAT,
    ackInfo: "Checking the records",
    needsActor: true,
    // The guide and the state go beside `jobs.complete`; a redelivery that finds it complete finishes them.
    finishAfterComplete: true,
    work: (context, ids, progress, attempt) =>
      submitWork(context, ids, progress, attempt).catch((error: unknown) => {
        throw carriedOn(error, event, deps);
      }),
  });

  async function submitWork(
    context: ActionContext,
    { jobId, spaceId, workbookId }: ActionIds,
    progress: (percent: number, info: string) => void,
    attempt: Attempt,
  ): Promise<JobResult> {
    const names = new Map((context.workbook.sheets ?? []).map((s) => [s.id, s.name]));
    const changed = await changeHeldSpaceState(
      api,
      context.space,
      async (state) => {
        if (!state)
          throw new JobFailure(
            "This Space's setup record is missing, so there is nothing to submit. Ask your admin to set the Space up again.",
          );
        // Under the space's lease, so of two Submit jobs at once the second sees the first's record.
        const earlier = submittedBefore(state, jobId);
        if (earlier) return { value: alreadySubmitted(earlier, context.workbook.name) };
        const shown = new Map(guideStateOf(state).progress.map((p) => [p.role, p.sheetName]));
        const tallies = await Promise.all(
          Object.entries(state.sheets).map(async ([role, sheetId]): Promise<SheetTally> => {
            const { counts } = (await api.sheets.getRecordCounts(sheetId)).data;
            const name = names.get(sheetId) ?? shown.get(role) ?? role;
            return { role, sheetId, name, total: counts.total, valid: counts.valid, error: counts.error };
          }),
        );
        const errors = blockingErrors(tallies);
        if (errors) throw new JobFailure(errors);
        const records = tallies.reduce((sum, t) => sum + t.total, 0);
        if (records === 0) throw new JobFailure("Nothing was submitted: the workbook has no records yet. Add records, then submit.");
        progress(60, "Locking the sheets");

        const sheetIds = tallies.map((t) => t.sheetId);
        // The workbook was read under its lease, held since: the lock needs no read of its own.
        const locked = await thenReleaseWorkbook(context.leases, lockSheetsOf(api, context.workbook, sheetIds));
        const lockedNames = new Map(locked.map((s) => [s.id, s.name]));
        // Delivered before the submission is recorded: a retry after a failed delivery finds the
        // workbook not yet submitted and delivers again (writing nothing twice).
        const bucket = deps.settings.submissionsBucket;
        const slugs = new Map(locked.map((s) => [s.id, s.slug]));
        // The read-only the message promises, read back before it is reported: beside the
        // delivery's first records page, so it takes no round of its own.
        const confirmLock = () =>
          confirmWorkbook(
            api,
            workbookId,
            "The lock on the submitted sheets",
            (workbook) =>
              sheetIds.every((id) => {
                const sheet = workbook.sheets?.find((s) => s.id === id);
                return sheet !== undefined && isLocked(sheet.config);
              }),
            () => lockWorkingSheets(api, workbookId, sheetIds, leaseTable),
          );
        const delivered = bucket
          ? await (await submissionDelivery()).deliverSubmission(
              api,
              { bucket, eventBus: deps.settings.submissionsEventBus },
              {
                environmentId: event.context.environmentId,
                spaceId,
                workbookId,
                jobId,
                sheets: tallies.map((t) => ({ sheetId: t.sheetId, slug: slugs.get(t.sheetId) ?? t.role, total: t.total })),
                submittedBy: context.actor?.email ?? context.actor?.name ?? event.context.actorId,
                submittedAt: isoTime(event.createdAt),
              },
              { deadline: deps.deadline - FINALIZE_RESERVE_MS, besideFirstRead: confirmLock },
            )
          : await confirmLock().then(() => undefined);
        const sheetProgress: SheetProgress[] = tallies.map((t) => ({
          role: t.role,
          sheetName: lockedNames.get(t.sheetId) ?? t.name,
          total: t.total,
          valid: t.valid,
          error: t.error,
        }));
        const next = recordSubmit(state, {
          jobId,
          // The event's time, not now: a redelivery writes the same line.
          at: isoTime(event.createdAt),
          actorName: context.actor?.name ?? context.actor?.email,
          records,
          progress: sheetProgress,
        });
        const name = context.workbook.name ?? "this workbook";
        const result: JobResult = {
          outcome: {
            heading: "Submitted",
            message: `Submitted ${plural(records, "record", "records")} from ${plainText(name, 100)}. Its sheets are now read-only.`,
            acknowledge: true,
          },
          summary: {
            operation: SUBMIT_JOB,
            records,
            lockedSheets: locked.map((s) => s.slug),
            ...(delivered ? { submission: { bucket: delivered.detail.bucket, key: delivered.detail.key } } : {}),
          },
        };
        return { state: next, value: result };
      },
      { workbook: context.workbook, rewriteGuide: attempt.resumed },
    );
    // Everything the message says is done and read back: the record of it goes beside `complete`.
    return { ...changed.value, alongsideComplete: async () => ({ guide: (await changed.write()).guide }) };
  }
}

/** How the job reads while the worker writes a large submission (its `info`). */
export const WRITING_SUBMISSION_INFO = "Writing the submitted records (a large workbook takes a few minutes). This finishes on its own.";

/**
 * A submission still being written when the delivery's time runs out is handed to the worker,
 * which carries the upload on from where it stopped; with no worker deployed, the relay's next
 * delivery does (a temporary failure, as before).
 */
function carriedOn(error: unknown, event: FlatfileEvent, deps: RouteDeps): unknown {
  const { handOff } = deps;
  if (!handOff || !(error instanceof WorkInProgress)) return error;
  return new ContinuesElsewhere(
    WRITING_SUBMISSION_INFO,
    () => handOff({ kind: "submission", event }),
    { operation: SUBMIT_JOB },
    { cause: error },
  );
}
