/**
 * The per-key lease that serializes read-modify-write on one workbook: on DynamoDB (dynalite) as
 * deployed, and in-process for local runs.
 */
import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RetryableError } from "../../../shared/core/errors";
import { withinInvocation } from "../../../shared/core/invocation";
import { FlatfileApiError } from "../../../shared/core/flatfile-http";
import { LEASE_MS, LEASE_WAIT_MS, SECTION_LEASE_MS, UNKNOWN_WRITE_HOLD_MS, unknownWriteTo, withLease } from "../../../shared/core/lease";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `n` holders of one key at once; returns the most that were inside at the same moment. */
async function maxOverlap(table: string | undefined, key: string, n: number): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: n }, () =>
      withLease(key, table, async () => {
        inside += 1;
        most = Math.max(most, inside);
        await sleep(20);
        inside -= 1;
      }),
    ),
  );
  return most;
}

describe("withLease in-process (no table)", () => {
  it("lets one holder in at a time per key, and different keys run side by side", async () => {
    expect(await maxOverlap(undefined, "workbook#a", 5)).toBe(1);
    let both = false;
    await Promise.all([
      withLease("workbook#x", undefined, () => sleep(30)),
      withLease("workbook#y", undefined, async () => {
        await sleep(5);
        both = true;
      }),
    ]);
    expect(both).toBe(true);
  });

  it("releases the key when the holder throws", async () => {
    await expect(
      withLease("workbook#t", undefined, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(withLease("workbook#t", undefined, async () => "next")).resolves.toBe("next");
  });
});

describe("unknownWriteTo", () => {
  const error = (reason: "timeout" | "network" | "status", endpoint: string, path: string) =>
    new FlatfileApiError({ reason, endpoint, path, ...(reason === "status" ? { statusCode: 503 } : {}) });
  it("names a write to the leased resource that Flatfile did not answer, however wrapped", () => {
    expect(unknownWriteTo("workbook#us_wb_1", error("timeout", "PATCH workbooks/{id}", "/v1/workbooks/us_wb_1"))).toBe(true);
    expect(unknownWriteTo("space#us_sp_1", error("network", "PATCH spaces/{id}", "/v1/spaces/us_sp_1"))).toBe(true);
    expect(
      unknownWriteTo("workbook#us_wb_1", new Error("outer", { cause: error("timeout", "PATCH workbooks/{id}", "/v1/workbooks/us_wb_1") })),
    ).toBe(true);
    expect(unknownWriteTo("workbook#us_wb_1", error("status", "PATCH workbooks/{id}", "/v1/workbooks/us_wb_1"))).toBe(false);
    expect(unknownWriteTo("workbook#us_wb_1", error("timeout", "GET workbooks/{id}", "/v1/workbooks/us_wb_1"))).toBe(false);
    expect(unknownWriteTo("workbook#us_wb_1", error("timeout", "PATCH workbooks/{id}", "/v1/workbooks/us_wb_2"))).toBe(false);
    expect(unknownWriteTo("workbook#us_wb_1", new Error("boom"))).toBe(false);
  });
});

describe("withLease on DynamoDB", () => {
  let dynamo: LocalDynamo;
  const saved = { ...process.env };
  beforeAll(async () => {
    dynamo = await startLocalDynamo("leases");
    Object.assign(process.env, dynamoEnv(dynamo));
  });
  afterAll(async () => {
    process.env = saved;
    await dynamo.close();
  });

  it("lets one holder in at a time across concurrent deliveries", async () => {
    expect(await maxOverlap(dynamo.table, "workbook#us_wb_1", 4)).toBe(1);
  });

  it("answers retryable when another holder keeps the lease past the wait", async () => {
    let release!: () => void;
    const holding = withLease("workbook#us_wb_2", dynamo.table, () => new Promise<void>((resolve) => (release = resolve)));
    await sleep(50);
    const started = Date.now();
    await expect(withLease("workbook#us_wb_2", dynamo.table, async () => "never")).rejects.toBeInstanceOf(RetryableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(LEASE_WAIT_MS - 200);
    release();
    await holding;
    await expect(withLease("workbook#us_wb_2", dynamo.table, async () => "free again")).resolves.toBe("free again");
  }, 20_000);

  it("takes over a lease whose holder crashed once it has lapsed", async () => {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    await client.send(
      new PutItemCommand({
        TableName: dynamo.table,
        Item: { id: { S: "lease#workbook#us_wb_3" }, owner: { S: "crashed" }, leaseUntil: { N: String(Date.now() - 1) } },
      }),
    );
    client.destroy();
    await expect(withLease("workbook#us_wb_3", dynamo.table, async () => "taken over")).resolves.toBe("taken over");
  });

  it("never lets a lease outlive its holder's invocation: a crashed holder's lease lapses when its Lambda would have ended", async () => {
    // The holder's invocation ends in 400 ms; it never releases (as if killed).
    void withinInvocation(Date.now() + 400, () => withLease("workbook#us_wb_5", dynamo.table, () => new Promise<never>(() => undefined)));
    await sleep(50);
    const started = Date.now();
    await expect(withLease("workbook#us_wb_5", dynamo.table, async () => "taken over")).resolves.toBe("taken over");
    expect(Date.now() - started).toBeLessThan(LEASE_MS / 2);
  });

  it("holds a section lease past LEASE_MS, and still never past the invocation", async () => {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const leaseUntil = async (key: string) => {
      const { Item } = await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: `lease#${key}` } } }));
      return Number(Item?.leaseUntil?.N);
    };
    try {
      const started = Date.now();
      const plain = await withLease("space#us_sp_6", dynamo.table, () => leaseUntil("space#us_sp_6"));
      const section = await withLease("space#us_sp_7", dynamo.table, () => leaseUntil("space#us_sp_7"), SECTION_LEASE_MS);
      expect(plain - started).toBeLessThanOrEqual(LEASE_MS + 1_000);
      expect(section - started).toBeGreaterThan(LEASE_MS + 5_000);
      expect(section - started).toBeLessThanOrEqual(SECTION_LEASE_MS + 1_000);
      const endsAt = Date.now() + 20_000;
      const capped = await withinInvocation(endsAt, () =>
        withLease("space#us_sp_8", dynamo.table, () => leaseUntil("space#us_sp_8"), SECTION_LEASE_MS),
      );
      expect(capped).toBe(endsAt);
    } finally {
      client.destroy();
    }
  });

  it("keeps the lease after a write to its resource that timed out, and releases it after any other failure", async () => {
    const client = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const leaseUntil = async (key: string) => {
      const { Item } = await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: `lease#${key}` } } }));
      return Item ? Number(Item.leaseUntil?.N) : undefined;
    };
    const timedOut = (path: string, endpoint: string) => new FlatfileApiError({ reason: "timeout", endpoint, path });
    try {
      const failed = withLease("workbook#us_wb_9", dynamo.table, async () => {
        throw new RetryableError("left open", { cause: timedOut("/v1/workbooks/us_wb_9", "PATCH workbooks/{id}") });
      });
      await expect(failed).rejects.toBeInstanceOf(RetryableError);
      const kept = await leaseUntil("workbook#us_wb_9");
      expect(kept! - Date.now()).toBeGreaterThan(UNKNOWN_WRITE_HOLD_MS - 2_000);
      // Even inside an invocation about to end: the write may land after it.
      await expect(
        withinInvocation(Date.now() + 500, () =>
          withLease("workbook#us_wb_10", dynamo.table, async () => {
            throw timedOut("/v1/workbooks/us_wb_10", "PATCH workbooks/{id}");
          }),
        ),
      ).rejects.toBeInstanceOf(FlatfileApiError);
      expect((await leaseUntil("workbook#us_wb_10"))! - Date.now()).toBeGreaterThan(UNKNOWN_WRITE_HOLD_MS - 2_000);
      // A read that timed out, an answered write, a write elsewhere: released at once.
      for (const error of [
        timedOut("/v1/workbooks/us_wb_11", "GET workbooks/{id}"),
        new FlatfileApiError({ reason: "status", statusCode: 500, endpoint: "PATCH workbooks/{id}", path: "/v1/workbooks/us_wb_11" }),
        timedOut("/v1/spaces/us_sp_11", "PATCH spaces/{id}"),
      ]) {
        await expect(
          withLease("workbook#us_wb_11", dynamo.table, async () => {
            throw error;
          }),
        ).rejects.toBe(error);
        expect(await leaseUntil("workbook#us_wb_11")).toBeUndefined();
      }
    } finally {
      client.destroy();
    }
  });

  it("turns an unreachable table into a retryable error", async () => {
    await dynamo.stop();
    try {
      await expect(withLease("workbook#us_wb_4", dynamo.table, async () => "x")).rejects.toBeInstanceOf(RetryableError);
    } finally {
      await dynamo.start();
    }
  });
});
