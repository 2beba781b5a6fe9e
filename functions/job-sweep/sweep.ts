/**
 * The sweep: the last line behind "an acknowledged job ends complete or failed".
 *
 * Every minute (an EventBridge schedule in AWS, a timer under `npm start`) it lists the jobs our
 * routes acknowledged and never saw end (shared/core/open-jobs.ts), last acknowledged more than
 * OPEN_JOB_BOUND_MS ago, and fails each one that Flatfile still shows open, with a message a
 * person can act on, before the platform's own 5-minute timer would (the numbers and why: beside
 * OPEN_JOB_BOUND_MS). No delivery can still be working on such a job, so failing it races
 * nobody. A job that ended meanwhile (complete, failed, canceled, deleted) is only forgotten; if
 * it ends between the read and the fail, Flatfile answers 400 and that is fine too. Every job the
 * sweep fails is logged as "open job swept" and counted: each one means a delivery died or the
 * relay could not fail it, which is what the alarm is for. A job someone else failed or canceled
 * first is logged with its id and counted apart (METRIC.jobEndedByOthers): our guarantee failed.
 */
import { FlatfileApiError } from "../../shared/core/flatfile-http";
import type { Context } from "aws-lambda";
import { loadSettings } from "../../shared/core/config";
import { createFlatfileClient, type FlatfileApi } from "../../shared/core/flatfile-client";
import { judge } from "../../shared/core/failures";
import { noteIfEndedByOthers } from "../../shared/core/job-lifecycle";
import { FAILED_HEADINGS } from "../../shared/core/job-outcomes";
import { observeInvocation } from "../../shared/core/observability";
import { SHEET_ACTIONS, WORKBOOK_ACTIONS } from "../../shared/domain/blueprint";
import { addLambdaContext, logger, setCorrelation } from "../../shared/core/logger";
import { OPEN_JOB_BOUND_MS, openJobStore, SWEPT_LOG_MESSAGE, type OpenJob, type OpenJobStore } from "../../shared/core/open-jobs";

/** `"<domain>:<operation>"` of each of our action jobs → the label of the button that starts it. */
const ACTION_LABELS: ReadonlyMap<string, string> = new Map([
  ...Object.values(SHEET_ACTIONS).map((action) => [`sheet:${action.operation}`, action.label] as const),
  ...Object.values(WORKBOOK_ACTIONS).map((action) => [`workbook:${action.operation}`, action.label] as const),
]);

/** Jobs handled per run; the rest wait for the next run (oldest first). */
export const SWEEP_BATCH = 50;

const FINISHED = new Set(["complete", "failed", "canceled"]);

export interface SweepReport {
  /** Failed by this run. */
  swept: string[];
  /** Found finished already (or gone): only forgotten. */
  finished: string[];
  /** Of `finished`: failed or canceled by someone else before we could (set only when any). */
  endedByOthers?: string[];
  /** Could not be read or failed now; left for the next run. */
  deferred: string[];
}

/**
 * What a person can do about a job the sweep stopped depends on how the job was started.
 * - `space:configure` runs once, when the Space is created; nothing in Flatfile starts it again,
 *   so "run it again" would send them looking for a button that does not exist.
 * - One of our action jobs comes from a button (its label is ours) they can press again, which
 *   starts a new job.
 * - Anything else: only the administrator can act.
 */
export function sweptMessage(job: Pick<OpenJob, "what" | "jobId"> & { kind?: string }, boundMs = OPEN_JOB_BOUND_MS): string {
  const minutes = Math.round(boundMs / 60_000);
  const stopped =
    `${job.what} was stopped: the configuration service started it but has not finished it for ${minutes} minutes, ` +
    "and nothing is working on it any more.";
  const logs = `the configurator's alarms and logs for job ${job.jobId}.`;
  if (job.kind === "space:configure") {
    return (
      `${stopped} This Space may be missing its workbook or guide, and it cannot be set up again from here: ` +
      `create a new Space to start over, or ask your administrator to check ${logs}`
    );
  }
  const button = job.kind ? ACTION_LABELS.get(job.kind) : undefined;
  if (button) {
    return `${stopped} Press "${button}" again. If it stops again, ask your administrator to check ${logs}`;
  }
  return `${stopped} Ask your administrator to check ${logs}`;
}

export async function sweepOpenJobs(deps: {
  api: FlatfileApi;
  store: OpenJobStore;
  now?: number;
  boundMs?: number;
  batch?: number;
}): Promise<SweepReport> {
  const { api, store } = deps;
  const now = deps.now ?? Date.now();
  const boundMs = deps.boundMs ?? OPEN_JOB_BOUND_MS;
  const report: SweepReport = { swept: [], finished: [], deferred: [] };
  const stale = await store.ackedBefore(now - boundMs, deps.batch ?? SWEEP_BATCH);
  for (const job of stale) {
    const fields = { jobId: job.jobId, spaceId: job.spaceId, ageMs: now - job.ackedAt };
    let status: string | undefined;
    let kind: string | undefined;
    let found: Awaited<ReturnType<FlatfileApi["jobs"]["get"]>>["data"];
    try {
      found = (await api.jobs.get(job.jobId)).data;
      status = found.status;
      // Flatfile's own record of how the job was started ("space" + "configure"), not our guess.
      kind = found.type && found.operation ? `${found.type}:${found.operation}` : undefined;
    } catch (error) {
      const verdict = judge(error);
      if (verdict.kind === "not-found") {
        await store.forget(job.jobId);
        report.finished.push(job.jobId);
        continue;
      }
      logger.warn("sweep could not read the job; next run", { ...fields, failure: verdict.detail });
      report.deferred.push(job.jobId);
      continue;
    }
    if (status && FINISHED.has(status)) {
      await store.forget(job.jobId);
      report.finished.push(job.jobId);
      if (noteIfEndedByOthers(found, job)) (report.endedByOthers ??= []).push(job.jobId);
      continue;
    }
    const message = sweptMessage({ ...job, kind }, boundMs);
    try {
      await api.jobs.fail(job.jobId, { outcome: { heading: FAILED_HEADINGS.swept, message, acknowledge: true }, info: message });
    } catch (error) {
      const verdict = judge(error);
      // Finished (or deleted) between the read and the fail: Flatfile refuses, and it is not open.
      const status = error instanceof FlatfileApiError ? error.statusCode : undefined;
      if (status === 400 || status === 404) {
        await store.forget(job.jobId);
        report.finished.push(job.jobId);
        continue;
      }
      logger.warn("sweep could not fail the job; next run", { ...fields, failure: verdict.detail });
      report.deferred.push(job.jobId);
      continue;
    }
    logger.error(SWEPT_LOG_MESSAGE, { ...fields, status });
    await store.forget(job.jobId);
    report.swept.push(job.jobId);
  }
  logger.info("sweep done", {
    swept: report.swept.length,
    finished: report.finished.length,
    endedByOthers: report.endedByOthers?.length ?? 0,
    deferred: report.deferred.length,
  });
  return report;
}

/** Kept back from the invocation's time so the last Flatfile call ends before the Lambda does. */
const SWEEP_RESERVE_MS = 2_000;

/**
 * One scheduled run, as functions/job-sweep runs it (and `npm start` on its timer): the settings
 * and the table from the environment, like the routes.
 */
export function runScheduledSweep(context?: Partial<Context>): Promise<SweepReport> {
  // Counted like a route (dimension route=job-sweep): JobEndedByOthers has an alarm.
  return observeInvocation("job-sweep", () => scheduledSweep(context));
}

async function scheduledSweep(context?: Partial<Context>): Promise<SweepReport> {
  const started = Date.now();
  const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
  setCorrelation({ route: "job-sweep" });
  addLambdaContext(context);
  const settings = await loadSettings();
  const api = createFlatfileClient({
    token: settings.apiKey,
    baseUrl: settings.apiUrl,
    deadline: () => started + remaining - SWEEP_RESERVE_MS,
  });
  return sweepOpenJobs({ api, store: openJobStore(settings.idempotencyTable) });
}
