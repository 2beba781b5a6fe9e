/**
 * Reliability suite, Flatfile faults: 429s, 5xx, hangs and lost answers on Flatfile's side, a copy
 * arriving while the first is in progress, and a temporary failure the relay gives up on, left for
 * the sweep. The world and the invariants checked after every scenario: ./world.ts.
 */
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { guideSection as readSection } from "../../support/guide";
import { createFlatfileClient } from "../../../shared/core/flatfile-client";
import { OPEN_JOB_SWEEP_INTERVAL_MS, openJobStore, PLATFORM_ACK_TIMEOUT_MS } from "../../../shared/core/open-jobs";
import { sweepOpenJobs } from "../../../functions/job-sweep/sweep";
import { createWorker } from "../../../functions/action-job-worker/handler";
import { startLambdaStandIn } from "../../../local/lambda-stand-in";
import { resetWorkerClient } from "../../../shared/core/worker-client";
import { applyEnv } from "../../support/harness";
import { fault, sleep } from "./support";
import {
  LEFT_OPEN_FOR_RETRY,
  SHORT_TIMEOUT_MS,
  actionJob,
  commitOn,
  configuredSpace,
  contact,
  deliver,
  dynamo,
  expectConfigured,
  flatfile,
  jobStatus,
  mark,
  newConfigureJob,
  redeliver,
  routesOf,
  scenario,
  shortGateway,
  sweepEverything,
  useReliabilityWorld,
} from "./world";

useReliabilityWorld("flatfile-faults");

// ---------------------------------------------------------------------------------------------
// Baseline
// ---------------------------------------------------------------------------------------------

describe("baseline: each route handles a good event over HTTP", () => {
  scenario("configure, commit, submit and duplicate all answer 200 and finish their jobs", async () => {
    const c = await configuredSpace("Baseline");
    const commit = await deliver("/commit-created", commitOn(c, c.contactsId, [contact(1), contact(2)]));
    expect(commit.status, commit.text).toBe(200);
    expect(commit.body).toMatchObject({ sheet: "contacts", guide: "updated" });
    const submit = actionJob(c, "workbook:submitActionFg");
    const s = await deliver("/action-job", submit.event);
    expect(s.status, s.text).toBe(200);
    expect(s.body).toMatchObject({ status: "complete", records: 2 });
    const dup = actionJob(c, "sheet:duplicate");
    const d = await deliver("/action-job", dup.event);
    expect(d.status, d.text).toBe(200);
    expect(d.body).toMatchObject({ status: "complete" });
  });
});

// ---------------------------------------------------------------------------------------------
// Flatfile faults
// ---------------------------------------------------------------------------------------------

describe("Flatfile faults", () => {
  scenario("a 429 burst on every endpoint is absorbed by the client's retries", async () => {
    const c = newConfigureJob("429 burst");
    flatfile.faults.statuses("*", [429, 429]);
    fault(2);
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("a 429 storm on the job lookup answers 5xx with no write, and a redelivery finishes", async () => {
    const c = newConfigureJob("429 storm");
    flatfile.faults.statuses("jobs.get", [429, 429, 429]);
    fault(3);
    const m = mark();
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.writes()), "writes while the job could not be looked up").toEqual([]);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  const configureWrites = ["workbooks.create", "documents.create", "spaces.update", "jobs.ack", "jobs.complete"] as const;
  for (const status of [500, 502, 503]) {
    for (const route of configureWrites) {
      scenario(`space-configure: ${status} on ${route} → 5xx, then a redelivery finishes once`, async () => {
        const c = newConfigureJob(`${status} on ${route}`);
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/space-configure", c.event);
        expect(a.status, a.text).toBeGreaterThanOrEqual(500);
        // Right after the 5xx the job is left executing for the retry, and says so (never failed as
        // temporary); after a failed space update the job is already complete.
        if (route !== "spaces.update") expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
        const b = await redeliver("/space-configure", c.event);
        expect(b.status, b.text).toBe(200);
        expectConfigured(c);
      });
    }
  }

  scenario(
    "action jobs and commit-created: 5xx on each of their writes, then a redelivery finishes",
    async () => {
      const c = await configuredSpace("Action writes");
      // commit-created: the guide update, then the workbook update (the submit action appears).
      // The first records make the submit action available; an unknown category extends the enum.
      const changes = [
        ["documents.update", 500, c.contactsId, [contact(10)]],
        ["workbooks.update", 502, c.ordersId, [{ orderId: "o-1", amount: 12, category: "vinyl" }]],
      ] as const;
      for (const [route, status, sheetId, rows] of changes) {
        const event = commitOn(c, sheetId, [...rows]);
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/commit-created", event);
        expect(a.status, `${route}: ${a.text}`).toBeGreaterThanOrEqual(500);
        const b = await redeliver("/commit-created", event);
        expect(b.status, b.text).toBe(200);
      }
      const guide = flatfile.documents.get(c.state.guideDocumentId)!;
      expect(readSection(guide.body, "progress")).toContain("<strong>Contacts</strong>: 1 record");
      expect(readSection(guide.body, "progress")).toContain("<strong>Orders</strong>: 1 record");
      const orders = flatfile.sheets.get(c.ordersId)!;
      expect(JSON.stringify(orders.config.fields)).toContain('"value":"vinyl"');

      // duplicate: the copy, the lock, the guide, the completion.
      for (const [route, status] of [
        ["sheets.duplicate", 500],
        ["workbooks.update", 502],
        ["documents.update", 503],
        ["jobs.complete", 500],
      ] as const) {
        const job = actionJob(c, "sheet:duplicate");
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/action-job", job.event);
        expect(a.status, `${route}: ${a.text}`).toBeGreaterThanOrEqual(500);
        const b = await redeliver("/action-job", job.event);
        expect(b.status, b.text).toBe(200);
        expect(jobStatus(job.jobId)).toMatchObject({ status: "complete" });
      }
      // submit: the lock.
      const submit = actionJob(c, "workbook:submitActionFg");
      flatfile.faults.statuses("workbooks.update", [503, 503, 503]);
      fault(3);
      const a = await deliver("/action-job", submit.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      const b = await redeliver("/action-job", submit.event);
      expect(b.status, b.text).toBe(200);
      expect(jobStatus(submit.jobId)).toMatchObject({ status: "complete" });
    },
    30_000,
  );

  for (const route of ["workbooks.create", "spaces.get"] as const) {
    scenario(`a hang on ${route} past the client timeout → 5xx inside the Lambda timeout, then a redelivery finishes`, async () => {
      const c = newConfigureJob(`hang on ${route}`);
      flatfile.faults.hang(route, 1);
      fault();
      const a = await deliver("/space-configure", c.event, { via: shortGateway });
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(a.ms).toBeLessThan(SHORT_TIMEOUT_MS);
      expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
      const b = await redeliver("/space-configure", c.event);
      expect(b.status, b.text).toBe(200);
      expectConfigured(c);
    });
  }

  scenario("a hang on jobs.complete itself → 5xx inside the Lambda timeout; a redelivery completes the job", async () => {
    const c = newConfigureJob("hang on complete");
    flatfile.faults.hang("jobs.complete", 1);
    fault();
    const a = await deliver("/space-configure", c.event, { via: shortGateway });
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(a.ms).toBeLessThan(SHORT_TIMEOUT_MS);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("jobs.complete and jobs.fail both failing → 5xx; a redelivery completes the job", async () => {
    const c = newConfigureJob("complete and fail down");
    flatfile.faults.statuses("jobs.complete", [500, 500, 500]);
    flatfile.faults.statuses("jobs.fail", [503, 503, 503]);
    fault(6);
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });
});

// ---------------------------------------------------------------------------------------------
// A copy in flight, a relay that gives up, the sweep
// ---------------------------------------------------------------------------------------------

describe("no job left open", () => {
  scenario(
    "a copy arriving while the first is in progress → 503 with Retry-After, nothing written; the retry gets the first's answer",
    async () => {
      const c = newConfigureJob("copy in flight");
      flatfile.faults.latency("workbooks.create", 400);
      fault();
      const m = mark();
      const first = deliver("/space-configure", c.event);
      // The first is past its lock and waiting on Flatfile.
      for (let i = 0; i < 200 && !m.all().some((r) => r.route === "workbooks.create" && r.status === 0); i++) await sleep(10);
      const copy = await deliver("/space-configure", c.event);
      const whileCopy = m.all().length;
      expect(copy.status, copy.text).toBe(503);
      expect(Number(copy.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(copy.headers["retry-after"])).toBeLessThanOrEqual(8);
      expect((await first).status).toBe(200);
      // Only the first worked: the copy added no call of its own (one job lookup per delivery that runs).
      expect(m.all().filter((r) => r.route === "jobs.get").length, `calls seen while the copy was answered: ${whileCopy}`).toBe(1);
      const retry = await deliver("/space-configure", c.event);
      expect(retry.status, retry.text).toBe(200);
      expect(retry.body).toMatchObject({ replayed: true, status: "complete" });
      expectConfigured(c);
    },
  );

  scenario(
    "a temporary failure the relay gives up on → the job stays executing, saying so, until the sweep fails it with a message",
    async () => {
      const c = newConfigureJob("relay gave up");
      flatfile.faults.statuses("documents.create", [503, 503, 503]);
      fault(3);
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
      // No redelivery comes. Inside the bound the sweep leaves it; past it, the sweep fails it.
      const early = await sweepOpenJobs({
        api: createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url }),
        store: openJobStore(dynamo.table),
        batch: 10_000,
      });
      expect(early.swept).not.toContain(c.jobId);
      const late = await sweepEverything();
      expect(late.swept).toContain(c.jobId);
      expect(jobStatus(c.jobId)).toMatchObject({
        status: "failed",
        heading: "Stopped",
        message: expect.stringMatching(/^Setting up this Space was stopped: .*create a new Space/),
      });
    },
  );

  scenario(
    "a duplicate whose copy lands after its delivery → handed to the worker, which acks it as it waits: on the platform's clock, a minute per two of its beats, the timer never fails it; one copy, complete",
    async () => {
      const c = await configuredSpace("copy lands late");
      const dup = actionJob(c, "sheet:duplicate");
      const beats = { heartbeatMs: 300, pollMs: 200, reaskMs: 60_000, timeoutMs: 30_000, reserveMs: 5_000 };
      const lambda = await startLambdaStandIn({ "action-job-worker": { handler: createWorker(beats), timeoutMs: beats.timeoutMs } });
      applyEnv({ ACTION_JOB_WORKER_FUNCTION: "action-job-worker", AWS_ENDPOINT_URL_LAMBDA: lambda.url });
      resetWorkerClient();
      try {
        // Made 4.5 s after it was asked for; the short gateway's delivery gives up on it after 1 s.
        flatfile.faults.latency("sheets.duplicate", 4_500);
        fault();
        const a = await deliver("/action-job", dup.event, { via: shortGateway });
        expect(a.status, a.text).toBe(200);
        expect(a.body).toMatchObject({ status: "continuing" });
        let platformMinutes = 0;
        while (lambda.invocations.length === 0 || lambda.invocations.some((i) => i.outcome === "running")) {
          await sleep(600);
          flatfile.clock.advance(60_000);
          platformMinutes += 1;
        }
        // The wait outlasted the platform's timer on its clock, and the timer found the job acknowledged each time.
        expect(platformMinutes).toBeGreaterThan(PLATFORM_ACK_TIMEOUT_MS / 60_000);
        expect(flatfile.timedOutJobs).not.toContain(dup.jobId);
        expect(lambda.invocations.map((i) => i.outcome)).toEqual(["succeeded"]);
        expect(jobStatus(dup.jobId)).toMatchObject({ status: "complete" });
      } finally {
        flatfile.faults.latency("sheets.duplicate", 0);
        applyEnv({ ACTION_JOB_WORKER_FUNCTION: undefined, AWS_ENDPOINT_URL_LAMBDA: undefined });
        resetWorkerClient();
        await lambda.close();
      }
    },
  );

  scenario(
    "a job left open and never redelivered → on its schedule, on the platform's clock, our sweep fails it before the platform's 5-minute timer",
    async () => {
      const c = newConfigureJob("left to the timers");
      flatfile.faults.statuses("workbooks.create", [503, 503, 503]);
      fault(3);
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
      // Minute by minute: the platform's clock moves (its timer acts), then the sweep runs.
      const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
      const swept: string[] = [];
      for (let elapsed = 0; elapsed <= PLATFORM_ACK_TIMEOUT_MS; elapsed += OPEN_JOB_SWEEP_INTERVAL_MS) {
        flatfile.clock.advance(OPEN_JOB_SWEEP_INTERVAL_MS);
        const report = await sweepOpenJobs({ api, store: openJobStore(dynamo.table), now: flatfile.clock.now(), batch: 10_000 });
        swept.push(...report.swept);
        expect(report.endedByOthers ?? [], "jobs someone else ended first").toEqual([]);
      }
      // Only this job was left for the timers; ours went first.
      expect(swept).toEqual([c.jobId]);
      expect(flatfile.timedOutJobs).not.toContain(c.jobId);
      expect(jobStatus(c.jobId)).toMatchObject({ status: "failed", heading: "Stopped" });
    },
  );
});
