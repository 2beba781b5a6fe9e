/**
 * Reliability suite, faults in the other parts: Secrets Manager, DynamoDB and the reference-data
 * API down, failing, slow or hung. The world and the invariants checked after every scenario:
 * ./world.ts.
 */
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { resetSettingsCache } from "../../../shared/core/config";
import { resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { dynamoEnv } from "../../support/dynalite";
import { fault, sleep, startBlackHole } from "./support";
import {
  SHORT_TIMEOUT_MS,
  deliver,
  dynamo,
  expectConfigured,
  flatfile,
  hangingReference,
  mark,
  newConfigureJob,
  redeliver,
  routesOf,
  scenario,
  secrets,
  shortGateway,
  useReliabilityWorld,
} from "./world";

useReliabilityWorld("dependency-faults");

// ---------------------------------------------------------------------------------------------
// Faults in the other parts
// ---------------------------------------------------------------------------------------------

describe("faults in Secrets Manager, DynamoDB and the reference-data API", () => {
  for (const kind of ["down", "500"] as const) {
    scenario(`Secrets Manager ${kind} → 5xx with no Flatfile call; a redelivery after recovery finishes`, async () => {
      const c = newConfigureJob(`secrets ${kind}`);
      resetSettingsCache();
      secrets.faults = kind === "down" ? { latencyMs: 0, down: true } : { latencyMs: 0, down: false, status: 500 };
      fault();
      const m = mark();
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(routesOf(m.all())).toEqual([]);
      secrets.faults = { latencyMs: 0, down: false };
      const b = await redeliver("/space-configure", c.event);
      expect(b.status, b.text).toBe(200);
      expectConfigured(c);
    });
  }

  scenario("Secrets Manager slow but inside its timeout → 200", async () => {
    const c = newConfigureJob("secrets slow");
    resetSettingsCache();
    secrets.faults = { latencyMs: 600, down: false };
    fault();
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("Secrets Manager slower than its timeout → 5xx in time, no Flatfile call", async () => {
    const c = newConfigureJob("secrets too slow");
    resetSettingsCache();
    secrets.faults = { latencyMs: 7_000, down: false };
    fault();
    const m = mark();
    // The config gives Secrets Manager 2 attempts of 2.5 s: the answer must come well before 8 s.
    const a = await deliver("/space-configure", c.event, { timeoutMs: 6_500 });
    expect.soft(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.all())).toEqual([]);
    secrets.faults = { latencyMs: 0, down: false };
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB down before the delivery → 5xx with no Flatfile call; a redelivery after restart finishes", async () => {
    const c = newConfigureJob("dynamo down");
    await dynamo.stop();
    fault();
    const m = mark();
    const a = await deliver("/space-configure", c.event);
    await dynamo.start();
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.all())).toEqual([]);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB hanging (accepts, never answers) → 5xx inside the Lambda timeout, no Flatfile call", async () => {
    const hole = await startBlackHole();
    const c = newConfigureJob("dynamo hangs");
    // A new table name makes the idempotency layer build a new client, on the hanging endpoint.
    process.env.IDEMPOTENCY_TABLE = "idempotency-blackhole";
    process.env.AWS_ENDPOINT_URL_DYNAMODB = hole.url;
    fault();
    const m = mark();
    try {
      // The layer gives DynamoDB 2 attempts of 2 s; the short gateway's Lambda has 6 s.
      const a = await deliver("/space-configure", c.event, { via: shortGateway, timeoutMs: SHORT_TIMEOUT_MS });
      expect.soft(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(routesOf(m.all())).toEqual([]);
    } finally {
      Object.assign(process.env, dynamoEnv(dynamo));
      await hole.close();
    }
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB stopped part-way through a delivery → 5xx; a redelivery after restart changes nothing more", async () => {
    const c = newConfigureJob("dynamo part-way");
    flatfile.faults.latency("jobs.complete", 400);
    fault(2);
    const pending = deliver("/space-configure", c.event);
    // Stop once the handler is past the idempotency lock, while it waits on jobs.complete.
    for (let i = 0; i < 100 && !flatfile.requests.some((r) => r.route === "jobs.complete" && r.path.includes(c.jobId)); i++)
      await sleep(20);
    await dynamo.stop();
    const a = await pending;
    await dynamo.start();
    flatfile.faults.clear();
    expect([200, 500, 502, 503]).toContain(a.status);
    const before = mark();
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expect(routesOf(before.writes()).filter((r) => r.startsWith("workbooks.create") || r.startsWith("documents.create"))).toEqual([]);
    expectConfigured(c);
  });

  scenario("the reference-data API hanging → the bundled list, inside the budget", async () => {
    process.env.REFERENCE_DATA_URL = hangingReference.url;
    resetReferenceDataCache();
    fault();
    const c = newConfigureJob("reference hangs");
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ referenceData: "bundled" });
    expect(a.ms).toBeLessThan(5_000);
    expect(hangingReference.calls).toBeGreaterThan(0);
    expectConfigured(c);
    resetReferenceDataCache();
  });
});
