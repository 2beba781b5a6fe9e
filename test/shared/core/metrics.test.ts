/**
 * The metrics a delivery prints: the embedded metric format (EMF) lines on stdout that CloudWatch
 * turns into metrics. The suite turns metrics on (vitest.config.mts turns them off everywhere
 * else), loads the handlers fresh so Metrics reads that, drives real deliveries against the
 * Flatfile stand-in, and reads back the lines each delivery wrote.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

const NAMESPACE = "MetricsSuite";
// Metrics reads these when it is created, at import: set before the imports below are evaluated
// (vi.hoisted runs first; each test file has its own module graph).
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = "false";
  process.env.POWERTOOLS_METRICS_NAMESPACE = "MetricsSuite";
  process.env.POWERTOOLS_SERVICE_NAME = "metrics-suite";
  // As Lambda sets it for an on-demand environment: Powertools tells a cold start from it.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";
});

import { handler as actionJob } from "../../../functions/action-job/handler";
import { handler as spaceConfigure } from "../../../functions/space-configure/handler";
import { resetSettingsCache } from "../../../shared/core/config";
import { logger } from "../../../shared/core/logger";
import { METRIC } from "../../../shared/core/observability";
import { jobReadyEvent } from "../../support/harness";
import { useHarness } from "../../support/fixture";

interface EmfLine {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[];
  };
  [key: string]: unknown;
}

const h = useHarness();
let printed: string[] = [];

beforeAll(async () => {
  // Metrics writes through its own Console on process.stdout.
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    if (text.includes('"_aws"')) {
      printed.push(...text.split("\n").filter((line) => line.includes('"_aws"')));
      return true;
    }
    return write(chunk, ...(rest as []));
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
});
beforeEach(() => {
  printed = [];
});

/** The EMF lines printed since the last reset, without the once-per-process ColdStart line. */
function productLines(): EmfLine[] {
  return printed.map((line) => JSON.parse(line) as EmfLine).filter((line) => !("ColdStart" in line));
}

/** The one product line a delivery printed, as { metric name: value } plus its dimensions. */
function onlyLine(): { values: Record<string, unknown>; line: EmfLine } {
  const lines = productLines();
  expect(lines, printed.join("\n")).toHaveLength(1);
  const line = lines[0]!;
  const directive = line._aws.CloudWatchMetrics[0]!;
  const values = Object.fromEntries(directive.Metrics.map((m) => [m.Name, line[m.Name]]));
  return { values, line };
}

describe("the metrics a delivery prints (EMF)", () => {
  it("a handled delivery: DeliveryHandled, JobCompleted, and every Flatfile request and retry, under service and route", async () => {
    const space = h.flatfile.seed.space({ name: "Metrics", metadata: { locale: "en-US" } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    // One retried call: the first spaces.get answers 503.
    h.flatfile.faults.statuses("spaces.get", [503]);

    const answer = await h.deliver(spaceConfigure, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete" });

    const { values, line } = onlyLine();
    const directive = line._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe(NAMESPACE);
    expect(directive.Dimensions).toEqual([["service", "route"]]);
    expect(line).toMatchObject({ service: "metrics-suite", route: "space-configure" });
    expect(directive.Metrics.every((m) => m.Unit === "Count")).toBe(true);
    expect(values).toEqual({
      [METRIC.deliveryHandled]: 1,
      [METRIC.jobCompleted]: 1,
      // Exactly what the stand-in received, the refused attempt included.
      [METRIC.flatfileCalls]: h.flatfile.requests.length,
      [METRIC.flatfileRetries]: 1,
      [METRIC.flatfileErrors]: 1,
    });
    expect(h.flatfile.requests.length).toBeGreaterThan(3);
    // The process's first invocation: Powertools' ColdStart metric, on a line of its own.
    expect(printed.filter((text) => text.includes('"ColdStart"'))).toHaveLength(1);
  });

  it("an ignored delivery: DeliveryIgnored only, and no Flatfile call", async () => {
    const space = h.flatfile.seed.space({ name: "Ignored" });
    const job = h.flatfile.seed.job({ job: "workbook:somebody-elses", spaceId: space.id });

    const answer = await h.deliver(actionJob, jobReadyEvent({ job: "workbook:somebody-elses", jobId: job.id, spaceId: space.id }));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ignored: true });

    const { values, line } = onlyLine();
    expect(line).toMatchObject({ route: "action-job" });
    expect(values).toEqual({ [METRIC.deliveryIgnored]: 1 });
    expect(h.flatfile.requests).toHaveLength(0);
  });

  it("a rejected delivery: RejectedSignature only, by route", async () => {
    const space = h.flatfile.seed.space({ name: "Rejected" });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });

    const answer = await h.deliver(spaceConfigure, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }), {
      signature: "t=1,v1=forged",
    });
    expect(answer.status).toBe(401);

    const { values, line } = onlyLine();
    expect(line).toMatchObject({ route: "space-configure" });
    expect(values).toEqual({ [METRIC.rejectedSignature]: 1 });
  });

  it("an answer given before the signature could be checked: SigningSecretUnavailable, not TemporaryFailure", async () => {
    const signing = process.env.FLATFILE_SIGNING_SECRET;
    delete process.env.FLATFILE_SIGNING_SECRET;
    resetSettingsCache();
    try {
      const space = h.flatfile.seed.space({ name: "No signing secret" });
      const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
      const answer = await h.deliver(spaceConfigure, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
      expect(answer).toMatchObject({ status: 500, body: { error: "internal error" } });
    } finally {
      process.env.FLATFILE_SIGNING_SECRET = signing;
      resetSettingsCache();
    }
    const { values, line } = onlyLine();
    expect(line).toMatchObject({ route: "space-configure" });
    expect(values).toEqual({ [METRIC.signingSecretUnavailable]: 1 });
  });

  it("a redelivery of a handled event: IdempotentReplay, and nothing sent to Flatfile again", async () => {
    const space = h.flatfile.seed.space({ name: "Replay", metadata: { locale: "en-US" } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const event = jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id });
    await h.deliver(spaceConfigure, event);
    printed = [];

    const again = await h.deliver(spaceConfigure, event);
    expect(again.body).toMatchObject({ replayed: true });
    expect(onlyLine().values).toEqual({ [METRIC.idempotentReplay]: 1 });
  });

  it("a job of ours the platform's timer failed first: JobEndedByOthers, counted by the delivery that finds it, with its id logged", async () => {
    const space = h.flatfile.seed.space({ name: "Timed out", metadata: { locale: "en-US" } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const event = jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id });
    h.flatfile.faults.statuses("workbooks.create", [503, 503, 503]);
    expect((await h.deliver(spaceConfigure, event)).status).toBeGreaterThanOrEqual(500);
    // Nobody comes back for 5 minutes: the platform fails the job with its own message.
    h.flatfile.clock.advance(5 * 60_000);
    expect(h.flatfile.timedOutJobs).toEqual([job.id]);
    printed = [];
    const stderr: string[] = [];
    const errors = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      return true;
    });
    logger.setLogLevel("ERROR");
    const redelivery = await h.deliver(spaceConfigure, event).finally(() => {
      logger.setLogLevel("SILENT");
      errors.mockRestore();
    });
    expect(redelivery.body).toMatchObject({ status: "skipped", jobStatus: "failed" });
    const { values, line } = onlyLine();
    expect(line).toMatchObject({ route: "space-configure" });
    expect(values).toMatchObject({ [METRIC.jobEndedByOthers]: 1 });
    const logged = stderr
      .join("")
      .split("\n")
      .filter((text) => text.includes("ended by someone else first"));
    expect(logged.length, "one ERROR line").toBe(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ level: "ERROR", jobId: job.id, spaceId: space.id });
  });
});
