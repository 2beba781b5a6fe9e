/**
 * Which jobs are ours, decided before any write: another listener's job in the same environment
 * is never acknowledged, never recorded for the sweep and never touched, whatever fails on the
 * way; a job already executing that no delivery of ours acknowledged was started by someone else.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as actionJob } from "../../functions/action-job/handler";
import { sweepOpenJobs } from "../../functions/job-sweep/sweep";
import { handler as spaceConfigure } from "../../functions/space-configure/handler";
import { createFlatfileClient, type FlatfileApi } from "../../shared/core/flatfile-client";
import { OPEN_JOB_BOUND_MS, openJobStore } from "../../shared/core/open-jobs";
import { readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { jobReadyEvent, startHarness, type Harness } from "../support/harness";

let h: Harness;
let api: FlatfileApi;
const store = openJobStore(undefined);

beforeAll(async () => {
  h = await startHarness();
  api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url, retry: { baseDelayMs: 5, maxDelayMs: 10 } });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.reset());

const tracked = async () => (await store.ackedBefore(Number.MAX_SAFE_INTEGER, 1_000)).map((job) => job.jobId);
const writesSince = (start: number) => h.flatfile.requests.slice(start).filter((r) => r.method !== "GET");

async function ourSpace(): Promise<{ spaceId: string; state: SpaceState }> {
  const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  const answer = await h.deliver(spaceConfigure, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
  expect(answer.status).toBe(200);
  const state = readSpaceState((await api.spaces.get(space.id)).data.metadata);
  if (!state) throw new Error("configure left no state");
  return { spaceId: space.id, state };
}

/** Another listener's Submit on its own workbook in our Space: the same operation name as ours. */
function theirSubmit(spaceId: string) {
  const workbook = h.flatfile.seed.workbook({ spaceId, name: "Theirs", sheets: [{ name: "Leads", slug: "leads", records: 2 }] });
  const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId, workbookId: workbook.id });
  const event = jobReadyEvent({ job: "workbook:submitActionFg", jobId: job.id, spaceId, workbookId: workbook.id });
  return { jobId: job.id, event };
}

describe("another listener's job", () => {
  it("a transient 5xx on a read before the ack → 5xx with no ack and no record; the retry declines it, and the sweep never fails it", async () => {
    const { spaceId } = await ourSpace();
    const theirs = theirSubmit(spaceId);
    const start = h.flatfile.requests.length;
    // Every attempt of the client at the workbook read fails.
    h.flatfile.faults.statuses("workbooks.get", [503, 503, 503]);
    const first = await h.deliver(actionJob, theirs.event);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(writesSince(start), "nothing written, not even the ack").toEqual([]);
    expect(h.flatfile.jobs.get(theirs.jobId)?.status).toBe("ready");
    expect(await tracked()).toEqual([]);

    h.flatfile.faults.clear();
    const retry = await h.deliver(actionJob, theirs.event);
    expect(retry).toMatchObject({ status: 200, body: { ignored: true } });
    expect(writesSince(start)).toEqual([]);
    expect(await tracked()).toEqual([]);

    const report = await sweepOpenJobs({ api, store, now: Date.now() + OPEN_JOB_BOUND_MS + 60_000 });
    expect(report.swept).toEqual([]);
    expect(h.flatfile.jobs.get(theirs.jobId)?.status).toBe("ready");
    expect(h.flatfile.requests.slice(start).map((r) => r.route)).not.toContain("jobs.fail");
  });

  it("a decline removes what an earlier attempt recorded, so the sweep has nothing of theirs to fail", async () => {
    const { spaceId } = await ourSpace();
    const theirs = theirSubmit(spaceId);
    await store.track({ jobId: theirs.jobId, what: "Submitting this workbook", spaceId });
    const answer = await h.deliver(actionJob, theirs.event);
    expect(answer).toMatchObject({ status: 200, body: { ignored: true } });
    expect(await tracked()).toEqual([]);
  });

  it("the open-job store down during a decline → 5xx, so a retry removes the record", async () => {
    const { spaceId } = await ourSpace();
    const theirs = theirSubmit(spaceId);
    const forget = store.forget;
    store.forget = async () => {
      throw new Error("store down");
    };
    try {
      const answer = await h.deliver(actionJob, theirs.event);
      expect(answer.status).toBeGreaterThanOrEqual(500);
    } finally {
      store.forget = forget;
    }
    expect(h.flatfile.jobs.get(theirs.jobId)?.status).toBe("ready");
  });
});

describe("a job already executing when our first delivery of it arrives", () => {
  it("space:configure another listener acknowledged first → left alone: no workbook, no guide, no record", async () => {
    const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    await api.jobs.ack(job.id, { info: "Their listener is setting this Space up", progress: 5 });
    const start = h.flatfile.requests.length;
    const answer = await h.deliver(spaceConfigure, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
    expect(answer).toMatchObject({ status: 200, body: { ignored: true, reason: expect.stringMatching(/someone else started it/) } });
    expect(writesSince(start)).toEqual([]);
    expect([...h.flatfile.workbooks.values()].filter((wb) => wb.spaceId === space.id)).toEqual([]);
    expect([...h.flatfile.documents.values()].filter((doc) => doc.spaceId === space.id)).toEqual([]);
    expect(h.flatfile.jobs.get(job.id)).toMatchObject({ status: "executing", info: "Their listener is setting this Space up" });
    expect(await tracked()).toEqual([]);
  });

  it("our own interrupted attempt (recorded, then acknowledged) is still resumed and completed", async () => {
    const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const event = jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id });
    h.flatfile.faults.statuses("workbooks.create", [503, 503, 503]);
    expect((await h.deliver(spaceConfigure, event)).status).toBeGreaterThanOrEqual(500);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("executing");
    const retry = await h.deliver(spaceConfigure, event);
    expect(retry).toMatchObject({ status: 200, body: { status: "complete" } });
    expect(await tracked()).toEqual([]);
  });
});
