/**
 * The job lifecycle against the Flatfile stand-in: ack, work, complete; or fail with a message
 * a person can act on. An acknowledged job never stays open.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sweepOpenJobs } from "../../../functions/job-sweep/sweep";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { JobFailure, NotFoundError, RetryableError } from "../../../shared/core/errors";
import { createFlatfileClient, type FlatfileApi } from "../../../shared/core/flatfile-client";
import { runJob, type JobRun } from "../../../shared/core/job-lifecycle";
import { openJobStore, resetInProcessOpenJobs } from "../../../shared/core/open-jobs";

let flatfile: FlatfileStandIn;
let api: FlatfileApi;

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
  api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url, retry: { baseDelayMs: 5, maxDelayMs: 10 } });
});
afterAll(() => flatfile.close());
beforeEach(() => {
  flatfile.reset();
  resetInProcessOpenJobs();
});

const openJobs = openJobStore(undefined);
/** Job ids the store still holds as acknowledged and not ended. */
const trackedJobs = async () => (await openJobs.ackedBefore(Date.now() + 1, 100)).map((job) => job.jobId);

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
    openJobs,
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
    expect(acks.map((r) => r.body)).toEqual([
      { info: "Working", progress: 10 },
      { info: "Half way", progress: 50 },
    ]);
    expect(routesCalled().indexOf("jobs.complete")).toBeGreaterThan(routesCalled().lastIndexOf("jobs.ack"));
    expect(await trackedJobs(), "a completed job is no longer tracked as open").toEqual([]);
  });

  it("records the job as open before the ack, so the sweep can find it if the invocation dies", async () => {
    const jobId = newJob();
    let trackedDuringWork: string[] = [];
    await run(jobId, {
      work: async () => {
        trackedDuringWork = await trackedJobs();
        return { outcome: { message: "x" }, summary: {} };
      },
    });
    expect(trackedDuringWork).toEqual([jobId]);
  });

  it("fails the job with a message a person can act on when the work throws", async () => {
    const jobId = newJob();
    await expect(
      run(jobId, {
        work: async () => {
          throw new TypeError("x is undefined");
        },
      }),
    ).rejects.toMatchObject({ statusCode: 500 });
    const job = await jobOf(jobId);
    expect(job.status).toBe("failed");
    expect(job.outcome?.message).toBe(
      "Setting up this Space failed with an unexpected error (TypeError: x is undefined). Ask your administrator to check the configurator's logs.",
    );
    expect(await trackedJobs(), "a failed job is no longer tracked as open").toEqual([]);
  });

  it("fails with the person's own message, and answers as handled, for a JobFailure", async () => {
    const jobId = newJob();
    const summary = await run(jobId, {
      work: async () => {
        throw new JobFailure("Fix the 2 records with errors first.");
      },
    });
    expect(summary).toMatchObject({ status: "failed", message: "Fix the 2 records with errors first." });
    expect((await jobOf(jobId)).outcome).toMatchObject({ heading: "Action needed", message: "Fix the 2 records with errors first." });
  });

  it.each(["complete", "failed", "canceled"] as const)("leaves a job found %s alone", async (status) => {
    const jobId = newJob(status);
    let worked = false;
    const summary = await run(jobId, {
      work: async () => {
        worked = true;
        return { outcome: { message: "x" }, summary: {} };
      },
    });
    expect(summary).toMatchObject({ status: "skipped", jobStatus: status });
    expect(worked).toBe(false);
    expect(routesCalled()).toEqual(["jobs.get"]);
  });

  it("leaves the job executing on a temporary failure, says it is retrying, and a redelivery resumes and completes it", async () => {
    const jobId = newJob();
    flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    const resumed: boolean[] = [];
    const attempt = () =>
      run(jobId, {
        work: async (_p, _progress, { resumed: wasResumed }) => {
          resumed.push(wasResumed);
          await api.workbooks.create({ name: "W" });
          return { outcome: { message: "Made it" }, summary: {} };
        },
      });
    await expect(attempt()).rejects.toBeInstanceOf(RetryableError);
    expect(flatfile.requests.filter((r) => r.route === "workbooks.create").map((r) => r.status)).toEqual([500, 500, 500]);
    const open = await jobOf(jobId);
    expect(open.status).toBe("executing");
    expect(open.info).toMatch(
      /^Setting up this Space is waiting on a service that is temporarily unavailable \(Flatfile .*answered 500\); retrying automatically\.$/,
    );
    expect(await trackedJobs(), "still tracked for the sweep").toEqual([jobId]);

    await expect(attempt()).resolves.toMatchObject({ status: "complete" });
    expect(resumed).toEqual([false, true]);
    expect((await jobOf(jobId)).status).toBe("complete");
    expect(routesCalled()).not.toContain("jobs.fail");
    expect(routesCalled()).not.toContain("jobs.retry");
    expect(await trackedJobs()).toEqual([]);
  });

  it("leaves the job open when the open-job record cannot be written, before any Flatfile write", async () => {
    const jobId = newJob();
    const failing = {
      ...openJobs,
      track: async () => {
        throw new RetryableError("the open-job store could not record the job (TimeoutError)");
      },
    };
    await expect(run(jobId, { openJobs: failing })).rejects.toBeInstanceOf(RetryableError);
    expect(flatfile.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect((await jobOf(jobId)).status).toBe("ready");
  });

  it("raises a retryable error when even jobs.fail cannot get through, so the sender retries", async () => {
    const jobId = newJob();
    flatfile.faults.statuses("jobs.fail", [503, 503, 503]);
    await expect(
      run(jobId, {
        work: async () => {
          throw new TypeError("boom");
        },
      }),
    ).rejects.toThrow(/could not be marked failed/);
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
      openJobs,
      prepare: async () => "theirs",
      decline: (owner) => (owner === "theirs" ? "another listener's workbook" : undefined),
      work: async () => ({ outcome: { message: "x" }, summary: {} }),
    });
    expect(summary).toMatchObject({ status: "declined", ignored: true });
    expect(flatfile.requests.filter((r) => r.method !== "GET")).toEqual([]);
    expect((await jobOf(jobId)).status).toBe("ready");
    expect(await trackedJobs(), "a declined job is not ours to sweep").toEqual([]);
  });
});

/**
 * Work longer than the sweep's bound and the platform's timer, on a faked Date (the stand-in's
 * clock and the open-job store follow it; timers and HTTP stay real): each step moves time on by
 * `stepMs`, runs the platform's timer and the sweep, and acknowledges the job if `ticks`.
 */
async function longWork(jobId: string, ticks: boolean, steps = 12, stepMs = 30_000) {
  const swept: string[] = [];
  const acked = () => flatfile.requests.filter((r) => r.route === "jobs.ack" && r.status === 200).length;
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    const outcome = await run(jobId, {
      work: async (_p, progress) => {
        for (let step = 1; step <= steps; step++) {
          const before = acked();
          vi.setSystemTime(Date.now() + stepMs);
          flatfile.clock.advance(0);
          if (ticks) {
            progress(10 + step, `Still copying (${(step * stepMs) / 1000} s)`);
            await vi.waitUntil(() => acked() > before, { timeout: 5_000, interval: 5 });
          }
          swept.push(...(await sweepOpenJobs({ api, store: openJobs, now: Date.now() })).swept);
        }
        return { outcome: { message: "Copied", heading: "Done" }, summary: {} };
      },
    }).catch((error: unknown) => error);
    return { outcome, swept };
  } finally {
    vi.useRealTimers();
  }
}

describe("runJob: long work and the sweep", () => {
  it("a job acknowledged every 30 s for 6 minutes is never swept nor timed out by the platform, and completes", async () => {
    const jobId = newJob();
    const { outcome, swept } = await longWork(jobId, true);
    expect(outcome).toMatchObject({ status: "complete" });
    expect(swept).toEqual([]);
    expect(flatfile.timedOutJobs).toEqual([]);
    expect((await jobOf(jobId)).status).toBe("complete");
  });

  it("the same work without acknowledgements is swept once its record is older than the bound, before the platform's timer", async () => {
    const jobId = newJob();
    const { outcome, swept } = await longWork(jobId, false);
    expect(swept).toEqual([jobId]);
    expect(outcome).toBeInstanceOf(RetryableError);
    expect(flatfile.timedOutJobs).toEqual([]);
    expect((await jobOf(jobId)).outcome?.heading).toBe("Stopped");
  });
});
