/**
 * The hand-off as deployed: action-job, given ACTION_JOB_WORKER_FUNCTION, starts the worker with
 * an asynchronous Invoke through the real Lambda client, against the local Lambda stand-in
 * (AWS_ENDPOINT_URL_LAMBDA), which runs the worker in this process on a shortened clock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { AWAITING_COPY_INFO, copySlugFor } from "../../../functions/action-job/duplicate-sheet";
import { createWorker } from "../../../functions/action-job-worker/handler";
import { startLambdaStandIn, type LambdaStandIn } from "../../../local/lambda-stand-in";
import { isLocked } from "../../../shared/domain/blueprint";
import { SHEET_ROLES } from "../../../shared/domain/space-state";
import { resetWorkerClient } from "../../../shared/core/worker-client";
import { duplicateOfContacts } from "../../support/duplicate";
import { useHarness } from "../../support/fixture";

const WORKER = "flatfile-action-job-worker";
const FAST = { heartbeatMs: 400, pollMs: 200, reaskMs: 60_000, timeoutMs: 30_000, reserveMs: 5_000 };
/** Lambda time left as the delivery is told: its work deadline is 3 s away. */
const SHORT_DELIVERY = { remainingMs: 8_000 };

let lambda: LambdaStandIn;
beforeAll(async () => {
  lambda = await startLambdaStandIn({ [WORKER]: { handler: createWorker(FAST), timeoutMs: FAST.timeoutMs } });
});
afterAll(async () => {
  await lambda?.close();
});
const h = useHarness(() => ({
  env: {
    ACTION_JOB_WORKER_FUNCTION: WORKER,
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  },
}));
beforeEach(() => {
  resetWorkerClient();
  lambda.faults.status = undefined;
  lambda.invocations.length = 0;
});

describe("action-job hands a copy that outlasts its delivery to the worker", () => {
  it("answers 200 continuing, and the worker finishes the job with the one copy", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    h.flatfile.faults.latency("sheets.duplicate", 4_500);
    const answer = await h.deliver(handler, event, SHORT_DELIVERY);
    expect(answer, JSON.stringify(answer.body)).toMatchObject({
      status: 200,
      body: { status: "continuing", copySlug: copySlugFor("contacts", job.id) },
    });
    // The person reads why it takes long, on the job still executing.
    const waiting = (await h.api.jobs.get(job.id)).data;
    expect(waiting.status).toBe("executing");
    expect(waiting.info).toBe(AWAITING_COPY_INFO);
    expect(lambda.invocations.map((i) => [i.functionName, i.type])).toEqual([[WORKER, "Event"]]);

    await lambda.settled();
    expect(lambda.invocations[0]).toMatchObject({ outcome: "succeeded", result: { status: "complete", reusedCopy: true } });
    const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
    expect(sheets).toHaveLength(SHEET_ROLES.length + 1);
    expect(isLocked(sheets.find((s) => s.id === sheetId)!.config)).toBe(true);
    const copy = sheets.find((s) => s.slug === copySlugFor("contacts", job.id))!;
    expect((await h.api.jobs.get(job.id)).data).toMatchObject({ status: "complete", outcome: { next: { id: copy.id } } });
    expect(h.flatfile.requests.slice(start).filter((r) => r.route === "sheets.duplicate")).toHaveLength(1);

    // The relay's redelivery of the same event is the stored answer: nothing called, no second worker.
    const calls = h.flatfile.requests.length;
    const again = await h.deliver(handler, event);
    expect(again.body).toMatchObject({ status: "continuing", replayed: true });
    expect(h.flatfile.requests.length).toBe(calls);
    expect(lambda.invocations).toHaveLength(1);
  }, 30_000);

  it("when Lambda refuses the invoke, answers 5xx with the job left executing, and the retry finishes it once the copy is there", async () => {
    const { job, event } = await duplicateOfContacts(h);
    h.flatfile.faults.latency("sheets.duplicate", 4_500);
    lambda.faults.status = 429;
    const refused = await h.deliver(handler, event, SHORT_DELIVERY);
    expect(refused.status, JSON.stringify(refused.body)).toBe(503);
    expect(String(refused.body.error)).toMatch(/worker could not be started/);
    expect((await h.api.jobs.get(job.id)).data.status).toBe("executing");
    expect(lambda.invocations).toHaveLength(0);

    // The retry, once the copy of the first request has landed: it finds it and finishes itself.
    lambda.faults.status = undefined;
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    h.flatfile.faults.latency("sheets.duplicate", 0);
    const retried = await h.deliver(handler, event);
    expect(retried.body).toMatchObject({ status: "complete", reusedCopy: true });
    expect(lambda.invocations).toHaveLength(0);
  }, 30_000);
});
