/**
 * The action-job worker, given what action-job hands it after a delivery whose `sheets.duplicate`
 * Flatfile did not answer: the event, the copy's slug and when it was asked for. Here the first
 * delivery runs with no worker configured (it answers 5xx and leaves the job executing, recorded
 * as ours, the copy asked for), then the worker is called as Lambda would call it, on a shortened
 * clock. The hand-off itself, through the Lambda stand-in: hand-off.test.ts.
 */
import { describe, expect, it } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { AWAITING_COPY_INFO, copySlugFor } from "../../../functions/action-job/duplicate-sheet";
import { createWorker } from "../../../functions/action-job-worker/handler";
import { sweepOpenJobs } from "../../../functions/job-sweep/sweep";
import { createFlatfileClient } from "../../../shared/core/flatfile-client";
import type { FlatfileEvent } from "../../../shared/core/envelope";
import type { PendingCopy } from "../../../shared/core/hand-off";
import { openJobStore } from "../../../shared/core/open-jobs";
import { isLocked } from "../../../shared/domain/blueprint";
import { duplicateOfContacts, expectOneCopy } from "../../support/duplicate";
import { useHarness } from "../../support/fixture";
import { jobReadyEvent } from "../../support/harness";

const h = useHarness();

/** Lambda time left as the delivery is told: its work deadline is 3 s away (route.ts keeps 1 s + 4 s for the end). */
const SHORT_DELIVERY = { remainingMs: 8_000 };
/** The worker's clock, shortened: it acks every 400 ms, reads every 200 ms, asks again after 60 s. */
const FAST = { heartbeatMs: 400, pollMs: 200, reaskMs: 60_000, timeoutMs: 30_000, reserveMs: 5_000 };
const lambdaContext = (ms: number) => {
  const endsAt = Date.now() + ms;
  return { getRemainingTimeInMillis: () => endsAt - Date.now(), awsRequestId: "worker-test" };
};
const _contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` });

/** The first delivery, whose copy request is not answered in time: what it leaves for the worker. */
async function unansweredDelivery(event: FlatfileEvent, jobId: string): Promise<PendingCopy> {
  const requestedAt = Date.now();
  const first = await h.deliver(handler, event, SHORT_DELIVERY);
  expect(first.status, JSON.stringify(first.body)).toBeGreaterThanOrEqual(500);
  expect((await h.api.jobs.get(jobId)).data.status).toBe("executing");
  return { kind: "pending-copy", event: JSON.parse(JSON.stringify(event)), copySlug: copySlugFor("contacts", jobId), requestedAt };
}

const routesSince = (start: number, route: string) => h.flatfile.requests.slice(start).filter((r) => r.route === route);

describe("action-job worker: a copy that outlasts its delivery", () => {
  it("waits for the copy, acknowledging the job as it waits and never swept, then finishes with that one copy", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    // Flatfile makes the copy 4.5 s after it was asked for; the delivery gave up after 3 s.
    h.flatfile.faults.latency("sheets.duplicate", 4_500);
    const pending = await unansweredDelivery(event, job.id);
    h.flatfile.faults.latency("sheets.duplicate", 0);
    const api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
    const store = openJobStore(undefined);
    const ackedAtFirst = (await store.recorded(job.id))!.ackedAt;

    const working = createWorker(FAST)(pending, lambdaContext(FAST.timeoutMs));
    // A sweep with a bound shorter than the wait, while the worker waits: its heartbeat keeps the record fresh.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect((await h.api.jobs.get(job.id)).data.info).toMatch(/^Flatfile is still making the copy.*Waiting for 1 min\.$/);
    expect((await store.recorded(job.id))!.ackedAt).toBeGreaterThan(ackedAtFirst);
    const swept = await sweepOpenJobs({ api, store, boundMs: 1_000 });
    expect(swept.swept).toEqual([]);

    await expect(working).resolves.toMatchObject({ status: "complete", reusedCopy: true });
    await expectOneCopy(h, c, sheetId, job.id);
    // Asked for once: the worker waited for that request's copy instead of asking again.
    expect(routesSince(start, "sheets.duplicate")).toHaveLength(1);
    const heartbeats = routesSince(start, "jobs.ack").filter((r) => JSON.stringify(r.body ?? "").includes("Waiting for"));
    expect(heartbeats.length).toBeGreaterThanOrEqual(2);
    expect(await store.recorded(job.id)).toBeUndefined();
  }, 30_000);

  it("asks again under the same slug when the first request never reached Flatfile", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    h.flatfile.faults.hang("sheets.duplicate", 1);
    const pending = await unansweredDelivery(event, job.id);
    const summary = await createWorker({ ...FAST, reaskMs: 1_000 })(pending, lambdaContext(FAST.timeoutMs));
    expect(summary).toMatchObject({ status: "complete", reusedCopy: false, copySlug: pending.copySlug });
    expect(routesSince(start, "sheets.duplicate")).toHaveLength(2);
    await expectOneCopy(h, c, sheetId, job.id);
  }, 30_000);

  it("fails the job with its own message when the copy never comes, and locks nothing", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    h.flatfile.faults.hang("sheets.duplicate", 2);
    const pending = await unansweredDelivery(event, job.id);
    const worker = createWorker({ ...FAST, reaskMs: 500, timeoutMs: 11_000 });
    const summary = await worker(pending, lambdaContext(11_000));
    expect(summary).toMatchObject({ status: "failed" });
    const ended = (await h.api.jobs.get(job.id)).data;
    expect(ended.status).toBe("failed");
    expect(ended.outcome?.heading).toBe("Stopped");
    expect(ended.outcome?.message).toMatch(/^Duplicating this sheet did not finish: Flatfile had not made the copy \d+ minutes after/);
    expect(ended.outcome?.message).toMatch(/If "Contacts \(copy\)" appears meanwhile, it is that unfinished copy/);
    const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
    expect(isLocked(sheets.find((s) => s.id === sheetId)!.config)).toBe(false);
    expect(await openJobStore(undefined).recorded(job.id)).toBeUndefined();
  }, 30_000);

  it("stops when someone else ends the job while it waits, writing nothing", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    h.flatfile.faults.latency("sheets.duplicate", 4_000);
    const pending = await unansweredDelivery(event, job.id);
    const start = h.flatfile.requests.length;
    const working = createWorker(FAST)(pending, lambdaContext(FAST.timeoutMs));
    await h.api.jobs.cancel(job.id);
    await expect(working).resolves.toMatchObject({ status: "skipped", jobStatus: "canceled" });
    const writes = h.flatfile.requests.slice(start).filter((r) => r.method !== "GET" && r.route !== "jobs.cancel");
    expect(writes.map((r) => r.route)).toEqual([]);
    const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
    expect(isLocked(sheets.find((s) => s.id === sheetId)!.config)).toBe(false);
  }, 30_000);

  it("refuses a payload that is not a pending copy of one of our duplicate jobs, calling nothing", async () => {
    const { job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    const worker = createWorker(FAST);
    const good: PendingCopy = { kind: "pending-copy", event, copySlug: copySlugFor("contacts", job.id), requestedAt: Date.now() };
    for (const payload of [
      null,
      { ...good, kind: "something-else" },
      { kind: "submission", event },
      { ...good, copySlug: "contacts-copy-someone-elses" },
      { ...good, requestedAt: Date.now() + 3_600_000 },
      { ...good, event: { ...event, context: { ...event.context, jobId: "../../spaces" } } },
      { ...good, event: { ...event, context: { ...event.context, environmentId: "us_env_other0001" } } },
      {
        ...good,
        event: jobReadyEvent({
          job: "workbook:somethingElse",
          jobId: job.id,
          spaceId: event.context.spaceId!,
          workbookId: event.context.workbookId!,
        }),
      },
    ]) {
      await expect(worker(payload, lambdaContext(FAST.timeoutMs)), JSON.stringify(payload)?.slice(0, 80)).resolves.toMatchObject({
        ignored: true,
      });
    }
    expect(h.flatfile.requests.slice(start)).toEqual([]);
    expect(AWAITING_COPY_INFO).toMatch(/finishes on its own/);
  });
});
