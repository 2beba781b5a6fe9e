/**
 * Work that outlasts one delivery is handed to the action-job worker (functions/action-job-worker)
 * as an asynchronous Lambda invocation (`InvocationType: "Event"`): Lambda queues it and answers
 * 202 at once, so the delivery can answer 200 within API Gateway's 29 s while the worker, whose
 * timeout is minutes, carries the job on and acknowledges it as it waits. The numbers and why:
 * beside WORKER_TIMING.
 *
 * Two kinds of work need it: a duplicate (`sheets.duplicate` can take longer than an invocation,
 * its duration is undocumented, and its outcome is then unknown, so the copy is waited for, never
 * asked for again under a new slug), and a submission too large to write in one delivery (its
 * upload resumes where it stopped).
 */
import type { FlatfileEvent } from "./envelope";
import { RetryableError } from "./errors";
import { traceAwsClient } from "./observability";

/** The worker's function name, set by the stack on action-job; unset, nothing is handed off. */
export { ACTION_JOB_WORKER_ENV } from "./config";

/**
 * The worker's clock, in one place.
 * - `heartbeatMs`: it acknowledges the job (and refreshes our open-job record) every 30 s, as
 *   `@flatfile/plugin-job-handler`'s tick does at most every 60 s: the platform fails a job left
 *   unacknowledged for 5 minutes, our sweep 3 minutes after the last record (shared/core/open-jobs.ts),
 *   so a live worker is never swept and a dead one is, by our sweep, before the platform.
 * - `pollMs`: it reads the workbook for the copy's slug every 5 s (two reads, no lease).
 * - `reaskMs`: a copy not there 2 minutes after it was asked for is asked for again, under the
 *   same slug (a taken slug is refused, so a late first request and the second make one copy).
 * - `timeoutMs`: the function's timeout, 14 minutes (Lambda allows 15); it stops waiting
 *   `reserveMs` before that and fails the job with its own message.
 */
export const WORKER_TIMING = {
  heartbeatMs: 30_000,
  pollMs: 5_000,
  reaskMs: 2 * 60_000,
  timeoutMs: 14 * 60_000,
  reserveMs: 60_000,
} as const;

export type WorkerTiming = { readonly [K in keyof typeof WORKER_TIMING]: number };

/** A copy `sheets.duplicate` was asked for that did not answer in time: it may still land. */
export interface PendingCopy {
  kind: "pending-copy";
  /** The delivery's event, as the route verified and parsed it. */
  event: FlatfileEvent;
  /** The slug the copy was asked for under (the job's, the same for every attempt). */
  copySlug: string;
  /** Epoch ms when the copy was last asked for. */
  requestedAt: number;
}

/** A submission whose upload was still being written when its delivery's time ran out. */
export interface SubmissionUnderWay {
  kind: "submission";
  /** The delivery's event, as the route verified and parsed it. */
  event: FlatfileEvent;
}

/** What the worker is given to carry on. */
export type Continuation = PendingCopy | SubmissionUnderWay;

/** Starts the worker on `continuation`; throws a RetryableError when it could not be started. */
export type HandOff = (continuation: Continuation) => Promise<void>;

type Sdk = typeof import("./worker-client.js");
let loading: Promise<Sdk> | undefined;
const loadSdk = (): Promise<Sdk> =>
  (loading ??= import("./worker-client.js").catch((error: unknown) => {
    loading = undefined;
    throw error;
  }));

/** Hands off to the named function through Lambda's asynchronous invoke. */
export function lambdaHandOff(functionName: string): HandOff {
  return async (continuation) => {
    let status: number | undefined;
    try {
      const sdk = await loadSdk();
      const answer = await sdk.lambdaClient(traceAwsClient).send(
        new sdk.InvokeCommand({
          FunctionName: functionName,
          InvocationType: "Event",
          Payload: new TextEncoder().encode(JSON.stringify(continuation)),
        }),
      );
      status = answer.StatusCode;
    } catch (error) {
      throw new RetryableError(`the action-job worker could not be started (${error instanceof Error ? error.name : "unknown error"})`);
    }
    // Lambda answers 202 when it has queued an asynchronous invocation.
    if (status !== 202) throw new RetryableError(`the action-job worker could not be started (Lambda answered ${status})`);
  };
}
