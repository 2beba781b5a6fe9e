/**
 * The job lifecycle every job route shares: look the job up, ack it with progress, run the work,
 * then complete it with an outcome, or fail it with a message a person can act on.
 *
 * An acknowledged job never stays open. It is recorded as open (shared/core/open-jobs.ts) before
 * the ack and forgotten once it ends. A failure a person must act on, a defect or a missing
 * resource fails it. A temporary failure (Flatfile 429/5xx, a timeout, an unreachable network
 * after the client's retries) leaves it executing, says so in its `info`, and answers 5xx: the
 * relay redelivers, and the redelivery resumes the job (`Attempt.resumed`). If no redelivery
 * finishes it, the relay fails it when it gives up, and the sweep fails it past the bound.
 * `jobs.retry` is never called: what it does to a job's status and events is undocumented.
 */
import type { Flatfile } from "@flatfile/api";
import { ContinuesElsewhere, HttpError, NotFoundError, RetryableError } from "./errors";
import { judge, messageFor, retryingInfo } from "./failures";
import type { FlatfileApi } from "./flatfile-client";
import { endedByOthers } from "./job-outcomes";
import { logger } from "./logger";
import { OPEN_JOB_REFRESH_MS, type OpenJob, type OpenJobStore } from "./open-jobs";
import { count, METRIC } from "./observability";

export interface JobResult {
  outcome: Flatfile.JobOutcome;
  /** Returned to the sender as the JSON summary. */
  summary: Record<string, unknown>;
  /**
   * A last write that may run beside `jobs.complete` to save a round trip. If it fails, the job
   * is already complete, so the error is raised as retryable and the redelivery's
   * `onAlreadyComplete` must finish it. An object it answers is added to the summary.
   */
  alongsideComplete?: () => Promise<unknown>;
}

export interface JobRun<P> {
  /** Flatfile client for the work, whose deadline keeps a reserve for the final call. */
  api: FlatfileApi;
  /** Flatfile client for complete/fail, allowed to use that reserve. */
  finalApi: FlatfileApi;
  jobId: string;
  /** "Setting up this Space": how the job is named in a failure message. */
  what: string;
  ackInfo: string;
  /** Where the job is recorded as open between the ack and its end (the sweep reads it). */
  openJobs: OpenJobStore;
  /** For the open-job record and its logs. */
  spaceId?: string;
  /** Reads that run beside the job lookup. They must not write. */
  prepare?: () => Promise<P>;
  /**
   * After the reads, before the ack: a reason when the job turns out not to be ours (an action on
   * a workbook another listener made). The job is then left untouched for its owner.
   */
  decline?: (prepared: P) => string | undefined;
  work: (prepared: P, progress: (percent: number, info: string) => void, attempt: Attempt) => Promise<JobResult>;
  /**
   * For a job found already complete: repair what a crashed earlier delivery left unfinished
   * (given `prepare`'s reads, which it must judge itself: `decline` has not run).
   */
  onAlreadyComplete?: (job: Flatfile.Job, prepared: PromiseSettledResult<P>) => Promise<Record<string, unknown> | undefined>;
}

export interface Attempt {
  /**
   * An earlier attempt got as far as the ack (the job is executing: that attempt crashed, timed
   * out or met a temporary failure), so it may have left work behind to reuse. A job still
   * `ready` was never started.
   */
  resumed: boolean;
}

export type JobSummary = Record<string, unknown> & {
  jobId: string;
  /** "continuing": handed to the worker, still executing (ContinuesElsewhere). */
  status: "complete" | "failed" | "skipped" | "declined" | "continuing";
};

const FINISHED = new Set(["complete", "failed", "canceled"]);

export async function runJob<P>(run: JobRun<P>): Promise<JobSummary> {
  const { api, finalApi, jobId, openJobs } = run;
  const [lookup, prepared] = await Promise.allSettled([api.jobs.get(jobId), run.prepare ? run.prepare() : Promise.resolve(undefined as P)]);
  if (lookup.status === "rejected") {
    const verdict = judge(lookup.reason);
    if (verdict.kind === "not-found") throw new NotFoundError(`job ${jobId} does not exist`);
    if (verdict.kind === "retryable") throw new RetryableError(`could not look up job ${jobId}: ${verdict.detail}`);
    throw new HttpError(500, `could not look up job ${jobId}: ${verdict.detail}`);
  }
  const job = lookup.value.data;
  if (job.status === "complete") {
    const repaired = run.onAlreadyComplete ? await run.onAlreadyComplete(job, prepared) : undefined;
    await forget(openJobs, jobId);
    return { jobId, status: "skipped", jobStatus: job.status, reason: "job already finished", ...repaired };
  }
  if (job.status && FINISHED.has(job.status)) {
    noteIfEndedByOthers(job, await forget(openJobs, jobId));
    return { jobId, status: "skipped", jobStatus: job.status, reason: "job already finished" };
  }

  // Ownership holds before any write, the ack and the open-job record included.
  const declined = await notOurs(run, job, prepared);
  if (declined) {
    // What an earlier attempt recorded goes too, or the sweep would fail someone else's job.
    await openJobs.forget(jobId);
    logger.info("job declined: not ours", { reason: declined });
    return { jobId, status: "declined", ignored: true, reason: declined };
  }

  // Recorded before the ack, so that no acknowledged job escapes the sweep. If the store is down,
  // this throws a 5xx before anything is written to Flatfile.
  const record = { jobId, what: run.what, spaceId: run.spaceId };
  await openJobs.track(record);
  let trackedAt = Date.now();

  const pending: Promise<unknown>[] = [];
  let acknowledged: Promise<unknown> | undefined;
  try {
    // Sent beside the work, not before it: the ack is a round trip the person need not wait for.
    acknowledged = api.jobs.ack(jobId, { info: run.ackInfo, progress: 10 });
    acknowledged.catch(() => undefined);
    // Only a route that declines nothing gets here with its reads failed (notOurs throws first).
    if (prepared.status === "rejected") throw prepared.reason;
    const progress = (percent: number, info: string) => {
      // Long work keeps its record as fresh as its acks, so the sweep never takes it for abandoned.
      if (Date.now() - trackedAt > OPEN_JOB_REFRESH_MS) {
        trackedAt = Date.now();
        const refresh = openJobs.track(record);
        refresh.catch((error) => logger.warn("could not refresh the open-job record", { error: judge(error).detail }));
        pending.push(refresh.catch(() => undefined));
      }
      const update = acknowledged!.then(() => api.jobs.ack(jobId, { info, progress: percent }));
      update.catch((error) => logger.warn("progress update failed", { error: judge(error).detail }));
      pending.push(update.catch(() => undefined));
    };
    const result = await run.work(prepared.value, progress, { resumed: job.status === "executing" });
    await acknowledged;
    await Promise.all(pending);
    const [completed, alongside] = await Promise.allSettled([
      finalApi.jobs.complete(jobId, { outcome: result.outcome, info: result.outcome.message }),
      result.alongsideComplete ? result.alongsideComplete() : Promise.resolve(),
    ]);
    if (completed.status === "rejected") throw completed.reason;
    await forget(openJobs, jobId);
    if (alongside.status === "rejected") {
      const verdict = judge(alongside.reason);
      logger.error("the job completed but its last write failed", { failure: verdict.detail });
      throw new RetryableError(`the job completed but its last write failed: ${verdict.detail}`);
    }
    logger.info("job complete", { outcome: result.outcome.message });
    count(METRIC.jobCompleted);
    return { jobId, status: "complete", ...result.summary, ...summaryOf(alongside) };
  } catch (thrown) {
    if (thrown instanceof RetryableError && thrown.message.startsWith("the job completed")) throw thrown;
    // The ack may still be in flight; a write before it lands could be overwritten by it.
    if (acknowledged) await acknowledged.catch(() => undefined);
    let error = thrown;
    if (error instanceof ContinuesElsewhere) {
      try {
        return await continueElsewhere(run, record, error);
      } catch (handOffError) {
        // Not handed off: left open for the retry, which hands it off again or finishes it.
        error = handOffError;
      }
    }
    const verdict = judge(error);
    if (verdict.kind === "retryable") {
      // Left executing for the redelivery, which resumes it; the person sees why it is slow.
      logger.warn("job left open for a retry", { failureKind: verdict.kind, failure: verdict.detail });
      await finalApi.jobs
        .ack(jobId, { info: retryingInfo(verdict, run.what) })
        .catch((ackError: unknown) => logger.warn("could not say the job is retrying", { failure: judge(ackError).detail }));
      throw new RetryableError(`job ${jobId} is left open for a retry: ${verdict.detail}`);
    }
    const { heading, message } = messageFor(verdict, run.what);
    // A person's own mistake (records with errors, an action not offered) is theirs to fix, told in
    // the job's message: below ERROR, so ERROR shows only what needs an operator.
    const log = verdict.kind === "action-needed" ? logger.warn.bind(logger) : logger.error.bind(logger);
    log("job failed", { failureKind: verdict.kind, failure: verdict.detail });
    try {
      await finalApi.jobs.fail(jobId, { outcome: { heading, message, acknowledge: true }, info: message });
    } catch (failError) {
      const failVerdict = judge(failError);
      logger.error("could not mark the job failed", { failure: failVerdict.detail });
      throw new RetryableError(`job ${jobId} failed (${verdict.detail}) and could not be marked failed (${failVerdict.detail})`);
    }
    await forget(openJobs, jobId);
    count(verdict.kind === "action-needed" ? METRIC.jobNeedsAction : METRIC.jobFailed);
    switch (verdict.kind) {
      case "action-needed":
        return { jobId, status: "failed", message };
      case "not-found":
        throw new NotFoundError(`job ${jobId} failed: ${verdict.detail}`);
      case "defect":
        throw new HttpError(500, `job ${jobId} failed: ${verdict.detail}`);
    }
  }
}

/**
 * The work goes on in the worker: the person is told so, and the record's time moves on to now
 * (the worker's heartbeat keeps it fresh from here, so the sweep leaves it alone while it works).
 */
async function continueElsewhere<P>(run: JobRun<P>, record: Omit<OpenJob, "ackedAt">, handed: ContinuesElsewhere): Promise<JobSummary> {
  await handed.handOff();
  await Promise.all([
    run.openJobs
      .track(record)
      .catch((error: unknown) => logger.warn("could not refresh the open-job record", { failure: judge(error).detail })),
    run.finalApi.jobs
      .ack(run.jobId, { info: handed.info })
      .catch((error: unknown) => logger.warn("could not say the job goes on", { failure: judge(error).detail })),
  ]);
  logger.info("job handed to the worker", { info: handed.info });
  count(METRIC.jobHandedOff);
  return { jobId: run.jobId, status: "continuing", ...handed.summary };
}

function summaryOf(settled: PromiseSettledResult<unknown>): Record<string, unknown> | undefined {
  const value = settled.status === "fulfilled" ? settled.value : undefined;
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * Why the job is not ours to run, or undefined when it is; throws (a 5xx, nothing written) when
 * that cannot be decided yet.
 * - A job already executing that no delivery of ours recorded was started by someone else:
 *   each of our deliveries records the job before it acks it.
 * - `decline` judges from the reads; when a read it needs failed, the retry decides.
 */
async function notOurs<P>(run: JobRun<P>, job: Flatfile.Job, prepared: PromiseSettledResult<P>): Promise<string | undefined> {
  if (job.status === "executing" && !(await run.openJobs.recorded(run.jobId))) {
    return `job ${run.jobId} is already executing and this service never acknowledged it: someone else started it`;
  }
  if (!run.decline) return undefined;
  if (prepared.status === "rejected") {
    const verdict = judge(prepared.reason);
    const detail = `could not tell whether job ${run.jobId} is ours: ${verdict.detail}`;
    if (verdict.kind === "not-found") throw new NotFoundError(detail);
    if (verdict.kind === "retryable") throw new RetryableError(detail);
    throw new HttpError(500, detail);
  }
  return run.decline(prepared.value);
}

/**
 * The job ended. If the store cannot be told, the sweep finds the job finished and forgets it then.
 * Answers what was recorded (undefined when nothing was, or the store could not say).
 */
async function forget(openJobs: OpenJobStore, jobId: string): Promise<OpenJob | undefined> {
  return openJobs.forget(jobId).catch((error: unknown) => {
    logger.warn("could not forget the finished job", { failure: judge(error).detail });
    return undefined;
  });
}

/** The log line of each tracked job found ended by someone else (with its jobId and spaceId). */
export const ENDED_BY_OTHERS_LOG_MESSAGE = "a job we acknowledged was ended by someone else first";

/**
 * A job we had recorded as ours and open, found failed or canceled by someone else (the platform's
 * timer, a person, another listener): logged with its id and counted, since it means our
 * guarantee was not kept (shared/core/job-outcomes.ts).
 */
export function noteIfEndedByOthers(job: Pick<Flatfile.Job, "id" | "status" | "outcome">, recorded: OpenJob | undefined): boolean {
  if (!recorded || !endedByOthers(job)) return false;
  logger.error(ENDED_BY_OTHERS_LOG_MESSAGE, {
    jobId: recorded.jobId,
    spaceId: recorded.spaceId,
    jobStatus: job.status,
    msSinceOurLastAck: Date.now() - recorded.ackedAt,
  });
  count(METRIC.jobEndedByOthers);
  return true;
}
