/**
 * The job lifecycle against the Flatfile stand-in: ack, work, complete; or fail with a message
 * a person can act on. An acknowledged job never stays open.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { JobFailure, NotFoundError, RetryableError } from "../../shared/core/errors";
import { RETRYABLE_FAILURE_HEADING } from "../../shared/core/failures";
import { createFlatfileClient, type FlatfileApi } from "../../shared/core/flatfile-client";
import { runJob, type JobRun } from "../../shared/core/job-lifecycle";

let flatfile: FlatfileStandIn;
let api: FlatfileApi;

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
  api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url, retry: { baseDelayMs: 5, maxDelayMs: 10 } });
});
afterAll(() => flatfile.close());
beforeEach(() => flatfile.reset());

function newJob(status: "ready" | "complete" | "failed" | "canceled" = "ready") {
  const space = flatfile.seed.space({});
  return flatfile.seed.job({ job: "space:configure", spaceId: space.id, status }).id;
}

function run(jobId: string, overrides: Partial<JobRun<undefined>> = {}): Promise<Awaited<ReturnType<typeof runJob>>> {
  return runJob<undefined>({
    api,
    finalApi: api,
    jobId,
    what: "Setting up this Space",
    ackInfo: "Working",
    work: async () => ({ outcome: { message: "All set", heading: "Done" }, summary: { did: "it" } }),
    ...overrides,
  });
}

const jobOf = async (id: string) => (await api.jobs.get(id)).data;
const routesCalled = () => flatfile.requests.map((r) => r.route);

describe("runJob", () => {
  it("acks with info and progress, runs the work, then completes with the outcome", async () => {
    const jobId = newJob();
    let progressSeen = false;
    const summary = await run(jobId, {
      work: async (_p, progress) => {
        progress(50, "Half way");
        progressSeen = true;
        return { outcome: { message: "All set", heading: "Done" }, summary: { did: "it" } };
      },
    });
    expect(progressSeen).toBe(true);
    expect(summary).toEqual({ jobId, status: "complete", did: "it" });
    const job = await jobOf(jobId);
    expect(job.status).toBe("complete");
    expect(job.outcome?.message).toBe("All set");
    const acks = flatfile.requests.filter((r) => r.route === "jobs.ack");
    expect(acks.map((r) => r.body)).toEqual([{ info: "Working", progress: 10 }, { info: "Half way", progress: 50 }]);
    expect(routesCalled().indexOf("jobs.complete")).toBeGreaterThan(routesCalled().lastIndexOf("jobs.ack"));
  });

  it("fails the job with a message a person can act on when the work throws", async () => {
    const jobId = newJob();
    await expect(run(jobId, { work: async () => { throw new TypeError("x is undefined"); } })).rejects.toMatchObject({ statusCode: 500 });
    const job = await jobOf(jobId);
    expect(job.status).toBe("failed");
    expect(job.outcome?.message).toBe("Setting up this Space failed with an unexpected error (TypeError: x is undefined). Ask your administrator to check the configurator's logs.");
  });

  it("fails with the person's own message, and answers as handled, for a JobFailure", async () => {
    const jobId = newJob();
    const summary = await run(jobId, { work: async () => { throw new JobFailure("Fix the 2 records with errors first."); } });
    expect(summary).toMatchObject({ status: "failed", message: "Fix the 2 records with errors first." });
    expect((await jobOf(jobId)).outcome).toMatchObject({ heading: "Action needed", message: "Fix the 2 records with errors first." });
  });

  it.each(["complete", "failed", "canceled"] as const)("leaves a job found %s alone", async (status) => {
    const jobId = newJob(status);
    let worked = false;
    const summary = await run(jobId, { work: async () => { worked = true; return { outcome: { message: "x" }, summary: {} }; } });
    expect(summary).toMatchObject({ status: "skipped", jobStatus: status });
    expect(worked).toBe(false);
    expect(routesCalled()).toEqual(["jobs.get"]);
  });

  it("fails the job, as temporary, when Flatfile answers 500 after the retries; a redelivery resumes it", async () => {
    const jobId = newJob();
    flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    const attempt = () =>
      run(jobId, {
        work: async () => {
          await api.workbooks.create({ name: "W" });
          return { outcome: { message: "Made it" }, summary: {} };
        },
      });
    await expect(attempt()).rejects.toBeInstanceOf(RetryableError);
    expect(flatfile.requests.filter((r) => r.route === "workbooks.create").map((r) => r.status)).toEqual([500, 500, 500]);
    const failed = await jobOf(jobId);
    expect(failed.status).toBe("failed");
    expect(failed.outcome?.heading).toBe(RETRYABLE_FAILURE_HEADING);
    expect(failed.outcome?.message).toMatch(/temporarily unavailable .*answered 500/);

    await expect(attempt()).resolves.toMatchObject({ status: "complete" });
    expect((await jobOf(jobId)).status).toBe("complete");
  });

  it("raises a retryable error when even jobs.fail cannot get through, so the sender retries", async () => {
    const jobId = newJob();
    flatfile.faults.statuses("jobs.fail", [503, 503, 503]);
    await expect(run(jobId, { work: async () => { throw new TypeError("boom"); } })).rejects.toThrow(/could not be marked failed/);
  });

  it("answers not-found for a job Flatfile does not know, without writing", async () => {
    await expect(run("us_jb_missing01")).rejects.toBeInstanceOf(NotFoundError);
    expect(flatfile.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("declines a job that is not ours before acking it", async () => {
    const jobId = newJob();
    const summary = await runJob<string>({
      api,
      finalApi: api,
      jobId,
      what: "x",
      ackInfo: "x",
      prepare: async () => "theirs",
      decline: (owner) => (owner === "theirs" ? "another listener's workbook" : undefined),
      work: async () => ({ outcome: { message: "x" }, summary: {} }),
    });
    expect(summary).toMatchObject({ status: "declined", ignored: true });
    expect(flatfile.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect((await jobOf(jobId)).status).toBe("ready");
  });
});
