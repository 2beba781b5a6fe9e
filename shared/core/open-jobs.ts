/**
 * The jobs our code acknowledged and has not yet seen end: the sweep's to-do list.
 *
 * A job is tracked just before its ack and forgotten once it is complete or failed. A temporary
 * failure keeps it tracked (the job stays executing for the relay's retry). The scheduled sweep
 * (functions/job-sweep/sweep.ts) fails whatever is still tracked past OPEN_JOB_BOUND_MS.
 *
 * In AWS the items live in the idempotency table under their own key prefix, expiring through
 * its TTL. Each carries a fixed `openJobs` attribute and its ack time, which a sparse index
 * (OPEN_JOBS_INDEX: partition `openJobs`, sort `ackedAt`) lists oldest first: the sweep queries
 * one partition up to a cut-off time and never scans, however many deliveries the table holds.
 * Locally, without a table, an in-process map (npm start runs the sweep in the same process).
 */
import { DeleteItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "./dynamo-client";
import { RetryableError } from "./errors";

/**
 * How long an acknowledged job may stay executing before the sweep fails it: 10 minutes.
 *
 * It must exceed the longest time a live delivery can still be working on the job. The relay
 * starts delivery attempts for 55 s and fails the job itself when it gives up at 60 s
 * (infra/relay/forward.ts, RELAY_BOUND); the last attempt's invocation runs at most the function
 * timeout (25 s) after it starts. So 55 s + 25 s = 80 s after the first ack no delivery can still
 * act, and 10 minutes leaves a wide margin (clock skew, a slow agent start, a later relay window)
 * while a person left with a spinner waits at most the bound plus one sweep interval.
 */
export const OPEN_JOB_BOUND_MS = 10 * 60_000;
/**
 * How often the sweep runs (the stack's schedule; `npm start`'s timer). A job left open is
 * failed between OPEN_JOB_BOUND_MS and OPEN_JOB_BOUND_MS plus this after its ack.
 */
export const OPEN_JOB_SWEEP_INTERVAL_MS = 5 * 60_000;
/** The sparse index the sweep queries (see the file comment). */
export const OPEN_JOBS_INDEX = "OpenJobsByAckTime";
/** The index's partition attribute and its one value; its sort attribute. */
export const OPEN_JOBS_PARTITION_ATTRIBUTE = "openJobs";
export const OPEN_JOBS_PARTITION = "open";
export const OPEN_JOBS_SORT_ATTRIBUTE = "ackedAt";
/** The log message of each job the sweep fails (the stack's metric filter counts these lines). */
export const SWEPT_LOG_MESSAGE = "open job swept";
/** Key prefix of the tracking items (the sweep's delete grant is limited to it). */
export const OPEN_JOB_KEY_PREFIX = "open-job#";
/** A tracking item expires (TTL) a day after the ack, long after the sweep should have acted. */
const TRACKING_TTL_SECONDS = 24 * 60 * 60;

export interface OpenJob {
  jobId: string;
  /** "Setting up this Space": how the sweep names the job in the message a person reads. */
  what: string;
  spaceId?: string;
  /** Epoch ms of the first ack. */
  ackedAt: number;
}

export interface OpenJobStore {
  /** Records the job as acknowledged; a later delivery keeps the first ack time. */
  track(job: Omit<OpenJob, "ackedAt">, now?: number): Promise<void>;
  /** The job ended: nothing for the sweep to do. */
  forget(jobId: string): Promise<void>;
  /** Jobs acknowledged before `cutoff` (epoch ms), oldest first, at most `limit`. */
  ackedBefore(cutoff: number, limit: number): Promise<OpenJob[]>;
}

function storeError(action: string, error: unknown): RetryableError {
  return new RetryableError(`the open-job store could not ${action} (${error instanceof Error ? error.name : "unknown error"})`);
}

function dynamoStore(table: string): OpenJobStore {
  const keyOf = (jobId: string) => ({ id: { S: `${OPEN_JOB_KEY_PREFIX}${jobId}` } });
  return {
    async track(job, now = Date.now()) {
      try {
        await dynamoClient().send(
          new UpdateItemCommand({
            TableName: table,
            Key: keyOf(job.jobId),
            UpdateExpression:
              "SET #partition = :partition, #ackedAt = if_not_exists(#ackedAt, :now), jobId = :jobId, what = :what, expiration = if_not_exists(expiration, :expiration)" +
              (job.spaceId ? ", spaceId = :spaceId" : ""),
            ExpressionAttributeNames: { "#partition": OPEN_JOBS_PARTITION_ATTRIBUTE, "#ackedAt": OPEN_JOBS_SORT_ATTRIBUTE },
            ExpressionAttributeValues: {
              ":partition": { S: OPEN_JOBS_PARTITION },
              ":now": { N: String(now) },
              ":jobId": { S: job.jobId },
              ":what": { S: job.what },
              ":expiration": { N: String(Math.ceil(now / 1000) + TRACKING_TTL_SECONDS) },
              ...(job.spaceId ? { ":spaceId": { S: job.spaceId } } : {}),
            },
          }),
        );
      } catch (error) {
        throw storeError("record the job", error);
      }
    },
    async forget(jobId) {
      try {
        await dynamoClient().send(new DeleteItemCommand({ TableName: table, Key: keyOf(jobId) }));
      } catch (error) {
        throw storeError("forget the job", error);
      }
    },
    async ackedBefore(cutoff, limit) {
      const found: OpenJob[] = [];
      let start: Record<string, import("@aws-sdk/client-dynamodb").AttributeValue> | undefined;
      try {
        do {
          const page = await dynamoClient().send(
            new QueryCommand({
              TableName: table,
              IndexName: OPEN_JOBS_INDEX,
              KeyConditionExpression: "#partition = :partition AND #ackedAt < :cutoff",
              ExpressionAttributeNames: { "#partition": OPEN_JOBS_PARTITION_ATTRIBUTE, "#ackedAt": OPEN_JOBS_SORT_ATTRIBUTE },
              ExpressionAttributeValues: { ":partition": { S: OPEN_JOBS_PARTITION }, ":cutoff": { N: String(cutoff) } },
              ScanIndexForward: true,
              Limit: limit - found.length,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? []) {
            const jobId = item.jobId?.S;
            const ackedAt = Number(item[OPEN_JOBS_SORT_ATTRIBUTE]?.N);
            if (!jobId || !Number.isFinite(ackedAt)) continue;
            found.push({ jobId, what: item.what?.S ?? "This job", spaceId: item.spaceId?.S, ackedAt });
          }
          start = page.LastEvaluatedKey;
        } while (start && found.length < limit);
      } catch (error) {
        throw storeError("list open jobs", error);
      }
      return found;
    },
  };
}

/** One per process, so that `npm start`'s sweep sees what its routes tracked. */
const inProcess = new Map<string, OpenJob>();

const inProcessStore: OpenJobStore = {
  async track(job, now = Date.now()) {
    inProcess.set(job.jobId, { ...job, ackedAt: inProcess.get(job.jobId)?.ackedAt ?? now });
  },
  async forget(jobId) {
    inProcess.delete(jobId);
  },
  async ackedBefore(cutoff, limit) {
    return [...inProcess.values()]
      .filter((job) => job.ackedAt < cutoff)
      .sort((a, b) => a.ackedAt - b.ackedAt)
      .slice(0, limit);
  },
};

/** Local runs and tests start each scenario with no open jobs tracked in process. */
export function resetInProcessOpenJobs(): void {
  inProcess.clear();
}

export function openJobStore(table: string | undefined): OpenJobStore {
  return table ? dynamoStore(table) : inProcessStore;
}
