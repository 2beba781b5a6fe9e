/**
 * "Delivering the same event twice, or two copies at once, changes nothing more than one
 * delivery does." Powertools Idempotency gives that with a conditional write: DynamoDB in AWS,
 * an in-process store when IDEMPOTENCY_TABLE is unset (local runs only: it is per process).
 */
import { IdempotencyConfig, makeIdempotent, IdempotencyAlreadyInProgressError } from "@aws-lambda-powertools/idempotency";
import { BasePersistenceLayer, type IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import { DynamoDBPersistenceLayer } from "@aws-lambda-powertools/idempotency/dynamodb";
import { IdempotencyItemAlreadyExistsError, IdempotencyItemNotFoundError } from "@aws-lambda-powertools/idempotency";
import type { Context } from "aws-lambda";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { traceAwsClient } from "./observability";

/** A finished delivery is remembered for a day: far longer than any sender's retry window. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

class InProcessPersistenceLayer extends BasePersistenceLayer {
  private readonly records = new Map<string, IdempotencyRecord>();

  protected async _getRecord(key: string): Promise<IdempotencyRecord> {
    const record = this.records.get(key);
    if (!record) throw new IdempotencyItemNotFoundError(`no record for ${key}`);
    return record;
  }

  // The same conditions as the DynamoDB layer's conditional put.
  protected async _putRecord(record: IdempotencyRecord): Promise<void> {
    const existing = this.records.get(record.idempotencyKey);
    const now = Date.now();
    if (existing) {
      const expired = existing.expiryTimestamp !== undefined && existing.expiryTimestamp < now / 1000;
      const inProgressExpired =
        existing.getStatus() === "INPROGRESS" &&
        existing.inProgressExpiryTimestamp !== undefined &&
        existing.inProgressExpiryTimestamp < now;
      if (!expired && !inProgressExpired) {
        throw new IdempotencyItemAlreadyExistsError(`record for ${record.idempotencyKey} exists`, existing);
      }
    }
    this.records.set(record.idempotencyKey, record);
  }

  protected async _updateRecord(record: IdempotencyRecord): Promise<void> {
    this.records.set(record.idempotencyKey, record);
  }

  protected async _deleteRecord(record: IdempotencyRecord): Promise<void> {
    this.records.delete(record.idempotencyKey);
  }
}

let store: { table: string | undefined; layer: BasePersistenceLayer } | undefined;

function persistenceFor(table: string | undefined): BasePersistenceLayer {
  if (store && store.table === table) return store.layer;
  const layer = table
    ? new DynamoDBPersistenceLayer({
        tableName: table,
        // A DynamoDB outage must become a 5xx quickly, before anything is written to Flatfile.
        // Without throwOnRequestTimeout, smithy only logs a warning when requestTimeout passes.
        // Our own client (not clientConfig) so that X-Ray can capture it; one per table, as the
        // layer itself is.
        awsSdkV3Client: traceAwsClient(
          new DynamoDBClient({
            maxAttempts: 2,
            requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
          }),
        ),
      })
    : new InProcessPersistenceLayer();
  store = { table, layer };
  return layer;
}

/** Local runs and tests start each scenario with an empty in-process store. */
export function resetInProcessIdempotency(): void {
  if (store && store.table === undefined) store = undefined;
}

export type OnceResult<T> =
  | { kind: "ran"; result: T }
  | { kind: "replayed"; result: T }
  /** `lapsesAt`: epoch ms when the first's in-progress lock lapses, when it could be read. */
  | { kind: "in-progress"; lapsesAt?: number };

/** When the in-progress lock on `key` lapses; undefined if that cannot be read (the answer is still 503). */
async function lockLapse(table: string | undefined, key: string): Promise<number | undefined> {
  try {
    const record = await persistenceFor(table).getRecord({ key });
    return record.getStatus() === "INPROGRESS" ? record.inProgressExpiryTimestamp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `work` at most once per key. A throw releases the key (so a redelivery retries); a result
 * is stored and replayed to later deliveries; a concurrent copy learns that one is in progress.
 * `remainingMs` bounds how long an in-progress lock outlives a crashed invocation.
 */
export async function once<T extends Record<string, unknown>>(
  key: string,
  work: () => Promise<T>,
  options: { table: string | undefined; remainingMs: () => number },
): Promise<OnceResult<T>> {
  const config = new IdempotencyConfig({ eventKeyJmesPath: "key", expiresAfterSeconds: IDEMPOTENCY_TTL_SECONDS });
  config.registerLambdaContext({ getRemainingTimeInMillis: options.remainingMs } as unknown as Context);
  let ran = false;
  const guarded = makeIdempotent(
    async (_payload: { key: string }) => {
      ran = true;
      return work();
    },
    { persistenceStore: persistenceFor(options.table), config },
  );
  try {
    const result = (await guarded({ key })) as T;
    return ran ? { kind: "ran", result } : { kind: "replayed", result };
  } catch (error) {
    if (error instanceof IdempotencyAlreadyInProgressError) return { kind: "in-progress", lapsesAt: await lockLapse(options.table, key) };
    throw error;
  }
}
