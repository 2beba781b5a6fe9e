/**
 * Floods from strangers, measured: the relay's real delivery code (forward.ts, with a
 * short injected bound) delivers real events through the local gateway, which throttles each POST
 * route as the stage does (infra/throttle.ts), to the real handlers against the Flatfile stand-in,
 * while unsigned requests flood the same routes. Time is virtual (test/support/virtual-flood.ts),
 * so outcomes do not depend on the machine's speed; the tests assert outcomes, not timings.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  defaultDeps,
  RELAY_BOUND,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  relayEvent,
  throttledMessage,
  type RelayOutcome,
} from "../../infra/relay/forward";
import { ROUTE_PATHS, type RoutePath } from "../../local/gateway";
import { routes } from "../../local/routes";
import { seedConfiguredSpace } from "../support/configured-space";
import { commitCreatedEvent, jobReadyEvent } from "../support/harness";
import { useHarness } from "../support/fixture";
import {
  relayUnderFlood,
  SHORT_BOUND,
  SHORT_WINDOW_MS,
  throttledAttempts,
  type Delivery,
  type FloodPlan,
  type VirtualFlood,
} from "../support/virtual-flood";
import { startReceiver, sampleEvent, type Receiver } from "../support/relay-receiver";

const harness = useHarness();

function configureJob(name: string): Delivery {
  const space = harness.flatfile.seed.space({ name, metadata: { locale: "en-GB" } });
  const job = harness.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  return { name, jobId: job.id, event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }) };
}

async function commitOnConfiguredSpace(name: string): Promise<Delivery> {
  const space = await seedConfiguredSpace(harness.flatfile, { contacts: 2 });
  const { commitId } = harness.flatfile.seed.commit(space.contactsId, { insert: [{ firstName: "Ada", email: "ada@example.com" }] });
  return { name, event: commitCreatedEvent({ spaceId: space.spaceId, workbookId: space.workbookId, sheetId: space.contactsId, commitId }) };
}

/** Relays the deliveries through a throttled gateway on the flood's clock, to the real handlers. */
function underFlood(plan: (start: number) => FloodPlan, deliveries: Delivery[]) {
  return relayUnderFlood({ routes, flatfile: harness.flatfile, signingSecret: harness.signingSecret, plan, deliveries });
}

function jobOf(jobId: string) {
  const job = harness.flatfile.jobs.get(jobId);
  return { status: job?.status, message: job?.outcome?.message };
}

/** Unsigned requests meet the throttle (429) or the signature check (401), nothing else. */
function expectOnlyRefused(flood: VirtualFlood): void {
  expect(flood.tally.sent).toBeGreaterThan(0);
  expect(Object.keys(flood.tally.statuses).sort()).toEqual(["401", "429"]);
}

describe("a flood of unsigned requests that stops within the relay's retry window", () => {
  it("at four times the limit on every route: real deliveries are delayed, none is lost", async () => {
    const deliveries = [
      configureJob("paced 1"),
      configureJob("paced 2"),
      configureJob("paced 3"),
      await commitOnConfiguredSpace("paced commit"),
    ];
    const { relayed, flood } = await underFlood(
      (start) => ({ kind: "paced", routes: ROUTE_PATHS, timesLimit: 4, from: start - 1_000, until: start + SHORT_WINDOW_MS / 3 }),
      deliveries,
    );
    expectOnlyRefused(flood);
    expect(throttledAttempts(flood), "the flood turned real deliveries away").toBeGreaterThan(0);
    for (const { delivery, outcome } of relayed) {
      expect(outcome, delivery.name).toMatchObject({ kind: "delivered", status: 200 });
      if (delivery.jobId) expect(jobOf(delivery.jobId), delivery.name).toMatchObject({ status: "complete" });
    }
  });

  it("taking every token as it appears: every delivery waits for the flood's end, then gets through", async () => {
    const deliveries = [configureJob("saturated 1"), configureJob("saturated 2"), await commitOnConfiguredSpace("saturated commit")];
    let floodEnd = 0;
    const { relayed, flood } = await underFlood((start) => {
      floodEnd = start + SHORT_WINDOW_MS / 3;
      return { kind: "saturating", routes: ROUTE_PATHS, from: start - 1_000, until: floodEnd };
    }, deliveries);
    expectOnlyRefused(flood);
    for (const { delivery, outcome, endedAt } of relayed) {
      expect(outcome, delivery.name).toMatchObject({ kind: "delivered", status: 200 });
      expect((outcome as { attempts: number }).attempts, `${delivery.name} was turned away first`).toBeGreaterThan(3);
      expect(endedAt, `${delivery.name} got through only after the flood`).toBeGreaterThanOrEqual(floodEnd);
      if (delivery.jobId) expect(jobOf(delivery.jobId), delivery.name).toMatchObject({ status: "complete" });
    }
  });
});

describe("a flood of unsigned requests that outlasts the relay's retry window", () => {
  it("at four times the limit: the relay's many cheap retries still win tokens, and every job completes", async () => {
    const deliveries = [configureJob("long paced 1"), configureJob("long paced 2"), await commitOnConfiguredSpace("long paced commit")];
    const { relayed, flood } = await underFlood(
      (start) => ({ kind: "paced", routes: ROUTE_PATHS, timesLimit: 4, from: start - 1_000, until: start + SHORT_BOUND.totalMs * 2 }),
      deliveries,
    );
    expectOnlyRefused(flood);
    expect(throttledAttempts(flood)).toBeGreaterThan(0);
    for (const { delivery, outcome } of relayed) {
      expect(outcome, delivery.name).toMatchObject({ kind: "delivered", status: 200 });
      if (delivery.jobId) expect(jobOf(delivery.jobId), delivery.name).toMatchObject({ status: "complete" });
    }
  });

  it("taking every token: the relay gives up within its bound and fails each job with a message that says why", async () => {
    const deliveries = [configureJob("starved 1"), configureJob("starved 2"), await commitOnConfiguredSpace("starved commit")];
    const { relayed, flood, start } = await underFlood(
      (at) => ({ kind: "saturating", routes: ROUTE_PATHS, from: at - 1_000, until: at + SHORT_BOUND.totalMs * 2 }),
      deliveries,
    );
    expectOnlyRefused(flood);
    for (const { delivery, outcome, endedAt } of relayed) {
      expect(endedAt - start, `${delivery.name} ended within the bound`).toBeLessThanOrEqual(SHORT_BOUND.totalMs);
      expect(outcome, delivery.name).toMatchObject({ kind: "gave-up", jobFailed: delivery.jobId ? true : "not-a-job" });
      expect((outcome as { reason: string }).reason).toMatch(/, \d+ of them turned away by API Gateway's throttle$/);
      if (!delivery.jobId) continue;
      const job = jobOf(delivery.jobId);
      expect(job.status, delivery.name).toBe("failed");
      expect(job.message).toMatch(
        /^The configuration service turned this request away \d+ of \d+ times over \d+ s with "429 Too Many Requests"/,
      );
      expect(job.message).toContain("received more requests than its throttle accepts");
      // It cannot tell a customer's own bulk load from strangers' requests, so it blames no one.
      expect(job.message).not.toMatch(/flood|elsewhere|attack/i);
      expect(job.message).toContain("Try again in a few minutes");
      expect(job.message).toContain("access logs");
    }
  });
});

describe("routes are throttled apart", () => {
  it("a flood that takes every token of /commit-created leaves /space-configure's deliveries untouched", async () => {
    const deliveries = [configureJob("neighbour 1"), configureJob("neighbour 2")];
    const flooded: RoutePath[] = ["/commit-created"];
    const { relayed, flood } = await underFlood(
      (start) => ({ kind: "saturating", routes: flooded, from: start - 1_000, until: start + SHORT_BOUND.totalMs * 2 }),
      deliveries,
    );
    expect(flood.tally.statuses[429]).toBeGreaterThan(0);
    for (const { delivery, outcome } of relayed) {
      expect(outcome, delivery.name).toMatchObject({ kind: "delivered", attempts: 1 });
      expect(jobOf(delivery.jobId!)).toMatchObject({ status: "complete" });
    }
  });
});

describe("the relay's retry schedule (real bound, simulated clock)", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver("whsec_flood_schedule_0123456789");
  });
  afterAll(() => receiver.close());
  afterEach(() => receiver.reset());

  async function attemptsAgainst(status: number): Promise<{ attempts: number; outcome: RelayOutcome; elapsedMs: number }> {
    receiver.reset();
    receiver.script = Array(500).fill(status);
    let now = Date.now();
    const start = now;
    const outcome = await relayEvent(
      sampleEvent("commit-created"),
      {
        readSecret: async (name) =>
          ({ [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: "whsec_flood_schedule_0123456789" })[name] ?? "",
        flatfileApi: { url: undefined, token: undefined },
      },
      {
        ...defaultDeps(),
        now: () => now,
        sleep: async (ms) => void (now += ms),
        // Attempts time out on the simulated clock, which stands still while one is in flight: a
        // real timer of the simulated time left would cut real HTTP short on a busy machine.
        timer: () => () => undefined,
        random: () => 0.5,
        log: () => undefined,
      },
    );
    return { attempts: receiver.received.length, outcome, elapsedMs: now - start };
  }

  it("says nothing was changed only when no attempt got past the throttle", () => {
    expect(throttledMessage(70, 70, 55_000)).toContain("turned this request away 70 of 70 times over 55 s");
    expect(throttledMessage(70, 70, 55_000)).toContain("None of them reached it, so nothing was changed.");
    // One attempt reached a function (a timeout, a 5xx): it may have done part of the work.
    expect(throttledMessage(70, 69, 55_000)).not.toContain("nothing was changed");
  });

  it("retries API Gateway's throttle (429 without Retry-After) about once a second, a 5xx on the slow schedule", async () => {
    const throttled = await attemptsAgainst(429);
    const failing = await attemptsAgainst(503);
    // 55 s of delivery: 250 ms, 500 ms, then 1 s steps (jittered to 0.75 s here) → ~70 attempts;
    // 1, 2, 4, 8 s steps → ~10.
    expect(throttled.attempts).toBeGreaterThanOrEqual(60);
    expect(failing.attempts).toBeLessThanOrEqual(12);
    for (const run of [throttled, failing]) expect(run.elapsedMs).toBeLessThanOrEqual(RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs);
    expect(throttled.outcome).toMatchObject({ kind: "gave-up" });
    expect((throttled.outcome as { reason: string }).reason).toContain(
      `${throttled.attempts} of them turned away by API Gateway's throttle`,
    );
    expect((failing.outcome as { reason: string }).reason).not.toContain("throttle");
  });
});
