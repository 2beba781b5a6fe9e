/**
 * The worker's flow: a duplicate whose `sheets.duplicate` Flatfile did not answer within its
 * delivery (shared/core/hand-off.ts). The copy may still be made, so it is waited for under the
 * job's slug, never asked for under a new one. While it waits the worker acknowledges the job
 * every WORKER_TIMING.heartbeatMs, so that neither the platform's timer nor our sweep takes it for
 * abandoned; once the copy is there it finishes the duplicate as its delivery would have: the same
 * flow, which finds the copy by its slug and reuses it. A copy still missing WORKER_TIMING.reaskMs
 * after it was asked for is asked for again under the same slug; one missing at the worker's end
 * fails the job with a message that says so.
 */
import type { Flatfile } from "@flatfile/api";
import { requireContext } from "../../shared/core/envelope";
import { judge, messageFor } from "../../shared/core/failures";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { FlatfileApiError } from "../../shared/core/flatfile-http";
import { WORKER_TIMING, type HandOff, type PendingCopy, type WorkerTiming } from "../../shared/core/hand-off";
import { noteIfEndedByOthers, type JobSummary } from "../../shared/core/job-lifecycle";
import { FAILED_HEADINGS } from "../../shared/core/job-outcomes";
import { logger } from "../../shared/core/logger";
import { count, METRIC } from "../../shared/core/observability";
import type { OpenJobStore } from "../../shared/core/open-jobs";
import { INVOCATION_BUDGET_MS, type RouteDeps } from "../../shared/core/route";
import { SHEET_ACTIONS } from "../../shared/domain/blueprint";
import { plainText } from "../../shared/domain/text";
import { AWAITING_COPY_INFO, copyNameFor, DUPLICATE_WHAT, duplicateAndLock } from "../action-job/duplicate-sheet";

export interface CarryOnDeps {
  /** For the waiting's own reads and acks; bounded by the worker's end. */
  api: FlatfileApi;
  openJobs: OpenJobStore;
  /** Epoch ms at which the Lambda stops the worker. */
  endsAt: number;
  /** The route's dependencies for one attempt at the duplicate, bounded by `until`, handing off to `handOff`. */
  depsUntil: (until: number, handOff: HandOff) => RouteDeps;
  timing?: WorkerTiming;
}

const ENDED = new Set(["complete", "failed", "canceled"]);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Acks the job every `everyMs` and moves its open-job record on, until stopped. */
function heartbeat(api: FlatfileApi, openJobs: OpenJobStore, job: { jobId: string; spaceId?: string }, everyMs: number, since: number) {
  let beating: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    const minutes = Math.max(1, Math.round((Date.now() - since) / 60_000));
    beating = Promise.all([
      api.jobs
        .ack(job.jobId, { info: `${AWAITING_COPY_INFO} Waiting for ${minutes} min.`, progress: 20 })
        .catch((error: unknown) => logger.warn("the worker could not acknowledge the job", { failure: judge(error).detail })),
      openJobs
        .track({ jobId: job.jobId, what: DUPLICATE_WHAT, spaceId: job.spaceId })
        .catch((error: unknown) => logger.warn("the worker could not refresh the open-job record", { failure: judge(error).detail })),
    ]);
  }, everyMs);
  return {
    async stop(): Promise<void> {
      clearInterval(timer);
      await beating;
    },
  };
}

export async function awaitCopy(pending: PendingCopy, deps: CarryOnDeps): Promise<JobSummary> {
  const { api, openJobs } = deps;
  const timing = deps.timing ?? WORKER_TIMING;
  const { event, copySlug } = pending;
  const jobId = requireContext(event, "jobId");
  const workbookId = requireContext(event, "workbookId");
  const sheetId = requireContext(event, "sheetId");
  let originalName: string | undefined;
  const job = { jobId, spaceId: event.context.spaceId };
  const giveUpAt = deps.endsAt - timing.reserveMs;
  let askedAt = pending.requestedAt;
  // The attempt's hand-off comes back here: the copy was asked for again and not answered.
  const stillAwaited: HandOff = async (again) => {
    if (again.kind === "pending-copy") askedAt = again.requestedAt;
  };

  /** One run of the duplicate's own flow: its summary once the job ended, undefined to wait on. */
  const attempt = async (): Promise<JobSummary | undefined> => {
    try {
      const summary = await duplicateAndLock(event, deps.depsUntil(Math.min(Date.now() + INVOCATION_BUDGET_MS, giveUpAt), stillAwaited));
      return summary.status === "continuing" ? undefined : summary;
    } catch (error) {
      const verdict = judge(error);
      if (verdict.kind === "retryable") {
        logger.warn("the worker's attempt met a temporary failure; waiting on", { failure: verdict.detail });
        return undefined;
      }
      // Gone (the sheet or workbook deleted) or a defect: the job ends as its delivery would have ended it.
      const { heading, message } = messageFor(verdict, DUPLICATE_WHAT);
      return failIfOpen(api, openJobs, jobId, heading, message);
    }
  };

  let beat = heartbeat(api, openJobs, job, timing.heartbeatMs, pending.requestedAt);
  try {
    for (;;) {
      const [found, workbook] = await Promise.allSettled([api.jobs.get(jobId), api.workbooks.get(workbookId)]);
      const status = found.status === "fulfilled" ? found.value.data.status : undefined;
      if (found.status === "fulfilled" && status && ENDED.has(status)) {
        await beat.stop();
        noteIfEndedByOthers(found.value.data, await openJobs.forget(jobId).catch(() => undefined));
        logger.info("the job ended while its copy was awaited", { jobStatus: status });
        return { jobId, status: "skipped", jobStatus: status, reason: "job already finished" };
      }
      if (workbook.status === "fulfilled")
        originalName = workbook.value.data.sheets?.find((sheet) => sheet.id === sheetId)?.name ?? originalName;
      const landed = workbook.status === "fulfilled" && hasSlug(workbook.value.data, copySlug);
      if (landed || Date.now() - askedAt >= timing.reaskMs) {
        await beat.stop();
        if (!landed)
          logger.warn("the copy is still not there; asking again under the same slug", { copySlug, msSinceAsked: Date.now() - askedAt });
        const ended = await attempt();
        if (ended) return ended;
        beat = heartbeat(api, openJobs, job, timing.heartbeatMs, pending.requestedAt);
      }
      if (Date.now() + timing.pollMs >= giveUpAt) break;
      await sleep(timing.pollMs);
    }
    await beat.stop();
    const minutes = Math.round((Date.now() - pending.requestedAt) / 60_000);
    logger.error("the copy never came; the job is failed", { copySlug, minutes });
    return failIfOpen(
      api,
      openJobs,
      jobId,
      FAILED_HEADINGS.swept,
      `${DUPLICATE_WHAT} did not finish: Flatfile had not made the copy ${minutes} minutes after it was asked for, so nothing was locked. ` +
        `Press "${SHEET_ACTIONS.duplicate.label}" again.` +
        (originalName
          ? ` If "${plainText(copyNameFor(originalName), 120)}" appears meanwhile, it is that unfinished copy, not your working sheet.`
          : ""),
    );
  } finally {
    await beat.stop();
  }
}

function hasSlug(workbook: Flatfile.Workbook, slug: string): boolean {
  return (workbook.sheets ?? []).some((sheet) => sheet.slug === slug);
}

/** Fails the job with our message unless it ended meanwhile (Flatfile refuses then), and forgets it. */
export async function failIfOpen(
  api: FlatfileApi,
  openJobs: OpenJobStore,
  jobId: string,
  heading: string,
  message: string,
): Promise<JobSummary> {
  try {
    await api.jobs.fail(jobId, { outcome: { heading, message, acknowledge: true }, info: message });
  } catch (error) {
    const status = error instanceof FlatfileApiError ? error.statusCode : undefined;
    if (status !== 400 && status !== 404) {
      // Left for the sweep, which fails it with its own message once the heartbeat has stopped.
      logger.error("the worker could not fail the job; the sweep will", { failure: judge(error).detail });
      return { jobId, status: "skipped", reason: `could not fail the job: ${judge(error).detail}` };
    }
    await openJobs.forget(jobId).catch(() => undefined);
    return { jobId, status: "skipped", reason: "job already finished" };
  }
  await openJobs.forget(jobId).catch(() => undefined);
  count(METRIC.jobFailed);
  return { jobId, status: "failed", message };
}
