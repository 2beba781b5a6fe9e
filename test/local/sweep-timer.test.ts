/**
 * `npm start`'s sweep timer: the same sweep as the scheduled function, over the open jobs this
 * process's routes tracked (in process, as npm start runs without a table), one run at a time.
 */
import { describe, expect, it } from "vitest";
import { startSweepTimer } from "../../local/sweep-timer";
import { OPEN_JOB_BOUND_MS, openJobStore } from "../../shared/core/open-jobs";
import { useHarness } from "../support/fixture";

const h = useHarness();

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
};

describe("the local sweep timer", () => {
  it("fails a job left open past the bound on its next tick, and stops cleanly", async () => {
    const job = h.flatfile.seed.job({ job: "space:configure", status: "executing" });
    await openJobStore(undefined).track({ jobId: job.id, what: "Setting up this Space" }, Date.now() - OPEN_JOB_BOUND_MS - 1_000);
    const timer = startSweepTimer({ intervalMs: 20 });
    await until(() => h.flatfile.jobs.get(job.id)?.status === "failed");
    await timer.stop();
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("failed");
    expect(String(h.flatfile.jobs.get(job.id)?.outcome?.message)).toMatch(/^Setting up this Space was stopped/);
    expect(await openJobStore(undefined).ackedBefore(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });

  it("never starts a run while the last is still going, and stop waits for it", async () => {
    let active = 0;
    let overlapped = false;
    let runs = 0;
    let release!: () => void;
    const timer = startSweepTimer({
      intervalMs: 5,
      sweep: async () => {
        runs += 1;
        active += 1;
        if (active > 1) overlapped = true;
        await new Promise<void>((resolve) => (release = resolve));
        active -= 1;
      },
    });
    await until(() => runs === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = timer.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(overlapped).toBe(false);
    expect(active).toBe(0);
  });
});
