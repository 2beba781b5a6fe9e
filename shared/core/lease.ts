/**
 * A short exclusive lease per key, so that read-modify-write sequences on one Flatfile resource
 * (a workbook's whole configuration, which `workbooks.update` replaces) do not overwrite each
 * other when two deliveries touch it at once. Flatfile has no conditional update to do this.
 *
 * In AWS the lease is a conditional put in the idempotency table (the same table, its own key
 * prefix, expiring through the table's TTL); locally, without a table, an in-process queue.
 * A lease outlives a crashed holder by at most LEASE_MS, and never outlives the holder's
 * invocation (a Lambda cannot write after its timeout), so a redelivery after a crash waits no
 * longer than the crashed invocation could have run. The one exception: a holder that gave up on
 * a write to the leased resource (Flatfile did not answer it) keeps the lease for
 * UNKNOWN_WRITE_HOLD_MS, since Flatfile may still apply that write after the invocation ends.
 */
import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, DeleteItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoClient as dynamo } from "./dynamo-client";
import { RetryableError } from "./errors";
import { FlatfileApiError } from "./flatfile-http";
import { logger } from "./logger";
import { invocationEndsAt } from "./invocation";
import { count, METRIC } from "./observability";

/** Longer than one read and one write with their retries (3 × 8 s at worst is cut by the deadline anyway). */
export const LEASE_MS = 15_000;
/**
 * For a leased section that spans several Flatfile calls, one of them slow and of undocumented
 * duration (a duplicate's `sheets.duplicate`): longer than the function's timeout, so in practice
 * the lease is held until the section ends or the invocation does, never lapsing under a live
 * holder.
 */
export const SECTION_LEASE_MS = 30_000;
/** How long a delivery waits for another's lease before answering 5xx to be retried. */
export const LEASE_WAIT_MS = 6_000;
/**
 * How long a lease stays held after its holder gave up on a write to the leased resource whose
 * outcome is unknown (timed out or dropped: Flatfile may still apply it). Released at once, a later
 * writer's change could be undone by it landing late; held, it lands before anyone else writes.
 * Why this bound: docs/design.md#a-write-we-gave-up-on.
 */
export const UNKNOWN_WRITE_HOLD_MS = 30_000;
const POLL_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function tryAcquire(table: string, key: string, owner: string, holdMs: number): Promise<boolean> {
  const now = Date.now();
  const until = Math.min(now + holdMs, invocationEndsAt() ?? Number.POSITIVE_INFINITY);
  try {
    await dynamo().send(
      new PutItemCommand({
        TableName: table,
        Item: {
          id: { S: key },
          owner: { S: owner },
          leaseUntil: { N: String(until) },
          expiration: { N: String(Math.ceil(until / 1000) + 60) },
        },
        ConditionExpression: "attribute_not_exists(id) OR leaseUntil < :now",
        ExpressionAttributeValues: { ":now": { N: String(now) } },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw new RetryableError(`the lease store is unavailable (${(error as Error).name})`);
  }
}

/** Keeps the lease past its holder, until `until`, after a write of unknown outcome (never shortened). */
async function extend(table: string, key: string, owner: string, until: number): Promise<void> {
  await dynamo()
    .send(
      new UpdateItemCommand({
        TableName: table,
        Key: { id: { S: key } },
        UpdateExpression: "SET leaseUntil = :until, expiration = :expiration",
        ConditionExpression: "#owner = :owner AND leaseUntil < :until",
        ExpressionAttributeNames: { "#owner": "owner" },
        ExpressionAttributeValues: {
          ":owner": { S: owner },
          ":until": { N: String(until) },
          ":expiration": { N: String(Math.ceil(until / 1000) + 60) },
        },
      }),
    )
    // Not extended: the lease lapses when it was due to; the holder's error still reaches the caller.
    .catch((error: unknown) =>
      logger.warn("could not keep the lease after a write of unknown outcome", { key, failure: (error as Error).name }),
    );
}

/**
 * Whether `error` (or one it wraps) is a write to the leased resource that Flatfile did not
 * answer: it timed out or the connection dropped, so it may still land. An answered failure did not.
 */
export function unknownWriteTo(key: string, error: unknown): boolean {
  const id = key.slice(key.indexOf("#") + 1);
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 5; depth++) {
    if (
      current instanceof FlatfileApiError &&
      (current.reason === "timeout" || current.reason === "network") &&
      !current.endpoint.startsWith("GET ") &&
      current.path.split("/").includes(id)
    )
      return true;
    current = current.cause;
  }
  return false;
}

async function release(table: string, key: string, owner: string): Promise<void> {
  await dynamo()
    .send(
      new DeleteItemCommand({
        TableName: table,
        Key: { id: { S: key } },
        ConditionExpression: "#owner = :owner",
        ExpressionAttributeNames: { "#owner": "owner" },
        ExpressionAttributeValues: { ":owner": { S: owner } },
      }),
    )
    // A lease that cannot be released lapses after LEASE_MS; the work itself is done.
    .catch(() => undefined);
}

const localTails = new Map<string, Promise<unknown>>();

async function withLocalLease<T>(key: string, work: () => Promise<T>): Promise<T> {
  const held = localTails.get(key);
  if (held) count(METRIC.leaseWaits);
  const previous = held ?? Promise.resolve();
  const run = previous.then(work, work);
  // After a write of unknown outcome the next holder waits as it would for a DynamoDB lease.
  const tail = run.catch((error: unknown) => (unknownWriteTo(key, error) ? sleep(UNKNOWN_WRITE_HOLD_MS) : undefined));
  localTails.set(key, tail);
  try {
    return await run;
  } finally {
    if (localTails.get(key) === tail) localTails.delete(key);
  }
}

/**
 * Runs `work` while holding the lease on `key` for at most `holdMs` (and never past the
 * invocation). Waits up to LEASE_WAIT_MS for it, else 503.
 */
export async function withLease<T>(key: string, table: string | undefined, work: () => Promise<T>, holdMs = LEASE_MS): Promise<T> {
  if (!table) return withLocalLease(key, work);
  const id = `lease#${key}`;
  const owner = randomUUID();
  const giveUpAt = Date.now() + LEASE_WAIT_MS;
  let waited = false;
  while (!(await tryAcquire(table, id, owner, holdMs))) {
    if (!waited) count(METRIC.leaseWaits);
    waited = true;
    if (Date.now() + POLL_MS > giveUpAt) throw new RetryableError(`${key} is being changed by another delivery; retry later`);
    await sleep(POLL_MS * (0.5 + Math.random()));
  }
  let result: T;
  try {
    result = await work();
  } catch (error) {
    if (unknownWriteTo(key, error)) {
      logger.warn("lease kept after a write of unknown outcome", { key, holdMs: UNKNOWN_WRITE_HOLD_MS });
      await extend(table, id, owner, Date.now() + UNKNOWN_WRITE_HOLD_MS);
    } else await release(table, id, owner);
    throw error;
  }
  await release(table, id, owner);
  return result;
}
