/**
 * The jobs our code acknowledged and has not yet seen end: the sweep's to-do list.
 *
 * A job is tracked just before each delivery's ack and forgotten once it is complete or failed. A
 * temporary failure keeps it tracked (the job stays executing for the relay's retry). The
 * scheduled sweep (functions/job-sweep/sweep.ts) fails whatever is still tracked past
 * OPEN_JOB_BOUND_MS, before the platform's own timer would (see the numbers below).
 *
 * In AWS the items live in the idempotency table under their own key prefix, expiring through
 * its TTL. Each carries a fixed `openJobs` attribute and its ack time, which a sparse index
 * (OPEN_JOBS_INDEX: partition `openJobs`, sort `ackedAt`) lists oldest first: the sweep queries
 * one partition up to a cut-off time and never scans, however many deliveries the table holds.
 * Locally, without a table, an in-process map (npm start runs the sweep in the same process).
 */
import { type AttributeValue, DeleteItemCommand, GetItemCommand, QueryCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient } from "./dynamo-client";
import { RetryableError } from "./errors";

/**
 * The numbers that decide who fails a job we left open: the platform, or our sweep. In one place.
 *
 * Flatfile fails a job that is "still executing but [hasn't] been acknowledged (ack'd)" within 5
 * minutes, found by "a routine check that occurs every 5 minutes" (Guides, changelog platform
 * 2023-11-28). The person then sees the platform's generic timeout, not what to do. So our sweep
 * must fail what we left open first, with our message, and it counts from the same moment the
 * platform does: the last acknowledgement. Every delivery records its time just before it acks
 * (`track`), and an invocation ends within 25 s of that (API Gateway's 29 s), so the record's time
 * is at most 25 s before the job's last ack (a longer piece of work refreshes it through the
 * lifecycle's progress updates, OPEN_JOB_REFRESH_MS).
 *
 * - The sweep fails a job at the first run at least OPEN_JOB_BOUND_MS after the record's time, so
 *   by bound + interval = 3 + 1 = 4 minutes after the last ack at the latest: a minute before the
 *   platform's earliest (5 minutes, if its check happens to run at that very moment), which covers
 *   a sweep run's own length, the schedule's jitter and clock skew.
 * - The bound must exceed the time a live delivery can still act after the record's time: the
 *   relay starts attempts for 55 s and fails the job itself when it gives up at 60 s
 *   (infra/relay/forward.ts, RELAY_BOUND), and the last attempt runs at most 25 s, so 85 s after
 *   the first delivery's ack nothing of ours is working on the job. 3 minutes is twice that.
 * - Hence a sweep every minute (EventBridge's finest rate), not every 5: with a 5-minute interval
 *   no bound above 85 s could stay under the platform's 5 minutes.
 */
/** Flatfile fails a job executing without an acknowledgement for this long (see above). */
export const PLATFORM_ACK_TIMEOUT_MS = 5 * 60_000;
/** How long after its last recorded acknowledgement a job of ours may stay executing: 3 minutes. */
export const OPEN_JOB_BOUND_MS = 3 * 60_000;
/** How often the sweep runs (the stack's schedule; `npm start`'s timer): every minute. */
export const OPEN_JOB_SWEEP_INTERVAL_MS = 60_000;
/**
 * Work that reports progress longer than this after its delivery's record refreshes the record,
 * so a job still acknowledged every minute (a long duplicate's heartbeat) is never swept.
 */
export const OPEN_JOB_REFRESH_MS = 60_000;
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
  /** Epoch ms of the last recorded acknowledgement (each delivery's, and each refresh). */
  ackedAt: number;
}

export interface OpenJobStore {
  /** Records the job as acknowledged now; a later delivery (or a refresh) moves the time on. */
  track(job: Omit<OpenJob, "ackedAt">, now?: number): Promise<void>;
  /** The job ended: nothing for the sweep to do. Answers what was recorded, if anything. */
  forget(jobId: string): Promise<OpenJob | undefined>;
  /** What is recorded for the job: set only when one of our deliveries went as far as its ack. */
  recorded(jobId: string): Promise<OpenJob | undefined>;
  /** Jobs acknowledged before `cutoff` (epoch ms), oldest first, at most `limit`. */
  ackedBefore(cutoff: number, limit: number): Promise<OpenJob[]>;
}

function storeError(action: string, error: unknown): RetryableError {
  return new RetryableError(`the open-job store could not ${action} (${error instanceof Error ? error.name : "unknown error"})`);
}

function itemToOpenJob(item: Record<string, AttributeValue>): OpenJob | undefined {
  const jobId = item.jobId?.S;
  const ackedAt = Number(item[OPEN_JOBS_SORT_ATTRIBUTE]?.N);
  if (!jobId || !Number.isFinite(ackedAt)) return undefined;
  return { jobId, what: item.what?.S ?? "This job", spaceId: item.spaceId?.S, ackedAt };
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
              "SET #partition = :partition, #ackedAt = :now, jobId = :jobId, what = :what, expiration = if_not_exists(expiration, :expiration)" +
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
        const deleted = await dynamoClient().send(new DeleteItemCommand({ TableName: table, Key: keyOf(jobId), ReturnValues: "ALL_OLD" }));
        return deleted.Attributes ? itemToOpenJob(deleted.Attributes) : undefined;
      } catch (error) {
        throw storeError("forget the job", error);
      }
    },
    async recorded(jobId) {
      try {
        const found = await dynamoClient().send(new GetItemCommand({ TableName: table, Key: keyOf(jobId), ConsistentRead: true }));
        return found.Item ? itemToOpenJob(found.Item) : undefined;
      } catch (error) {
        throw storeError("read the job's record", error);
      }
    },
    async ackedBefore(cutoff, limit) {
      const found: OpenJob[] = [];
      let start: Record<string, AttributeValue> | undefined;
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
            const job = itemToOpenJob(item);
            if (job) found.push(job);
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
    inProcess.set(job.jobId, { ...job, ackedAt: now });
  },
  async forget(jobId) {
    const recorded = inProcess.get(jobId);
    inProcess.delete(jobId);
    return recorded;
  },
  async recorded(jobId) {
    return inProcess.get(jobId);
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
