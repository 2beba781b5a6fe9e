/**
 * A successful Submit delivers its records to the customer's AWS: one NDJSON object in S3 (a
 * real S3-compatible server, s3rver) and one event on EventBridge (the local stand-in), through
 * the real AWS SDK clients over HTTP; nothing twice under redelivery or a second press, and an
 * S3 or EventBridge failure leaves the job open for the retry.
 */
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../../functions/action-job/handler";
import { SUBMISSION_DETAIL_TYPE, SUBMISSION_SOURCE, submissionKey } from "../../../functions/action-job/submission";
import { SUBMIT_JOB } from "../../../functions/action-job/submit-workbook";
import { DUPLICABLE_ROLE, RULE_ROLE } from "../../support/blueprint";
import { SHEET_ROLES } from "../../../shared/domain/space-state";
import { startEventBridgeStandIn, type EventBridgeStandIn } from "../../../local/eventbridge-stand-in";
import { startLocalS3, type LocalS3 } from "../../../local/s3-server";
import { createFlatfileClient, type FlatfileApi } from "../../../shared/core/flatfile-client";
import { resetSubmissionClients, s3Client } from "../../../shared/core/submission-clients";
import { configureSpace } from "../../support/fixture";
import { ENVIRONMENT_ID, jobReadyEvent, startHarness, type Harness } from "../../support/harness";

let h: Harness;
let api: FlatfileApi;
let s3: LocalS3;
let events: EventBridgeStandIn;
const saved = { ...process.env };

beforeAll(async () => {
  [s3, events] = await Promise.all([startLocalS3(), startEventBridgeStandIn()]);
  h = await startHarness({
    env: {
      SUBMISSIONS_BUCKET: s3.bucket,
      SUBMISSIONS_EVENT_BUS: "customer-bus",
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
  });
  resetSubmissionClients();
  api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
});
afterAll(async () => {
  await Promise.all([h?.close(), s3?.close(), events?.close()]);
  resetSubmissionClients();
  for (const key of ["SUBMISSIONS_BUCKET", "SUBMISSIONS_EVENT_BUS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_EVENTBRIDGE"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});
beforeEach(() => {
  h.reset();
  events.events.length = 0;
  events.faults = {};
});

type Space = Awaited<ReturnType<typeof configureSpace>>;

const configuredSpace = () => configureSpace(h);

function submitJob(s: Space) {
  const job = SUBMIT_JOB;
  const seeded = h.flatfile.seed.job({ job, spaceId: s.spaceId, workbookId: s.workbookId });
  return {
    jobId: seeded.id,
    event: jobReadyEvent({ job, jobId: seeded.id, spaceId: s.spaceId, workbookId: s.workbookId, actorId: s.userId }),
  };
}

const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` });
const order = (i: number) => ({ orderId: `o-${i}`, amount: 10 + i, category: "hardware" });

async function objectLines(key: string): Promise<Record<string, unknown>[]> {
  const answer = await s3Client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const text = await answer.Body!.transformToString("utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function objectsUnder(prefix: string): Promise<string[]> {
  const listed = await s3Client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).filter((key) => key.endsWith(".ndjson"));
}

describe("Submit delivers the submitted records to S3 and announces them on EventBridge", () => {
  it("writes one object with every record of the working sheets and publishes one event", async () => {
    const s = await configuredSpace();
    h.flatfile.seed.records(s.contactsId, [contact(1), contact(2), contact(3)]);
    h.flatfile.seed.records(s.ordersId, [order(1)]);
    const submit = submitJob(s);
    const answer = await h.deliver(actionHandler, submit.event);
    expect(answer.status).toBe(200);
    const key = submissionKey({ environmentId: ENVIRONMENT_ID, spaceId: s.spaceId, workbookId: s.workbookId, jobId: submit.jobId });
    expect(answer.body).toMatchObject({ status: "complete", submission: { bucket: s3.bucket, key } });

    const lines = await objectLines(key);
    expect(lines).toHaveLength(4);
    expect(lines.filter((l) => l.sheet === DUPLICABLE_ROLE).map((l) => (l.values as Record<string, unknown>).email)).toEqual([
      "ada1@example.com",
      "ada2@example.com",
      "ada3@example.com",
    ]);
    expect(lines.find((l) => l.sheet === RULE_ROLE)).toMatchObject({ sheetId: s.ordersId, values: { orderId: "o-1", amount: 11 } });

    expect(events.events).toHaveLength(1);
    const [event] = events.events;
    expect(event).toMatchObject({ source: SUBMISSION_SOURCE, detailType: SUBMISSION_DETAIL_TYPE, eventBus: "customer-bus" });
    expect(event!.detail).toMatchObject({
      environmentId: ENVIRONMENT_ID,
      spaceId: s.spaceId,
      workbookId: s.workbookId,
      jobId: submit.jobId,
      bucket: s3.bucket,
      key,
      // By slug, every working sheet: the example's { contacts: 3, orders: 1 }.
      counts: Object.fromEntries(SHEET_ROLES.map((role) => [role, role === DUPLICABLE_ROLE ? 3 : role === RULE_ROLE ? 1 : 0])),
      submittedBy: "ada@example.com",
    });
    expect(typeof (event!.detail as { submittedAt: unknown }).submittedAt).toBe("string");
  });

  it("writes nothing twice when the same job is delivered again", async () => {
    const s = await configuredSpace();
    h.flatfile.seed.records(s.contactsId, [contact(1)]);
    const submit = submitJob(s);
    expect((await h.deliver(actionHandler, submit.event)).status).toBe(200);
    h.reset();
    // The idempotency store forgotten: the job's own state must keep the delivery once.
    expect((await h.deliver(actionHandler, submit.event)).status).toBeLessThan(500);
    expect(await objectsUnder(`submissions/${ENVIRONMENT_ID}/${s.spaceId}/`)).toHaveLength(1);
    expect(events.events).toHaveLength(1);
  });

  it("leaves the job open and answers 5xx when EventBridge fails, and the retry publishes once", async () => {
    const s = await configuredSpace();
    h.flatfile.seed.records(s.contactsId, [contact(1), contact(2)]);
    const submit = submitJob(s);
    events.faults = { status: 500 };
    const failed = await h.deliver(actionHandler, submit.event);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect((await api.jobs.get(submit.jobId)).data.status).toBe("executing");
    events.faults = {};
    const retried = await h.deliverUntilSettled(actionHandler, submit.event);
    expect(retried.at(-1)!.body).toMatchObject({ status: "complete" });
    expect(events.events).toHaveLength(1);
    expect(await objectsUnder(`submissions/${ENVIRONMENT_ID}/${s.spaceId}/`)).toHaveLength(1);
  });

  it("streams 100,000 records page by page into one object, carried on by the next delivery when time runs out", async () => {
    const s = await configuredSpace();
    const many = Array.from({ length: 100_000 }, (_, i) => contact(i));
    h.flatfile.seed.records(s.contactsId, many);
    const submit = submitJob(s);
    // A short invocation, so that the upload cannot finish in the first: later deliveries resume it.
    // Each page of records takes a second to arrive, so that holds however fast the client is.
    h.flatfile.faults.latency("records.get", 1_000);
    const answers = await h.deliverUntilSettled(actionHandler, submit.event, { remainingMs: 16_000, attempts: 40 });
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.slice(0, -1).every((a) => a.status === 503)).toBe(true);
    expect(answers.at(-1)!.body).toMatchObject({ status: "complete" });
    const key = submissionKey({ environmentId: ENVIRONMENT_ID, spaceId: s.spaceId, workbookId: s.workbookId, jobId: submit.jobId });
    const lines = await objectLines(key);
    expect(lines).toHaveLength(100_000);
    expect(new Set(lines.map((l) => l.id)).size).toBe(100_000);
    expect(events.events).toHaveLength(1);
    expect((events.events[0]!.detail as { counts: unknown }).counts).toEqual(
      Object.fromEntries(SHEET_ROLES.map((role) => [role, role === DUPLICABLE_ROLE ? 100_000 : 0])),
    );
    expect(await objectsUnder(`submissions/${ENVIRONMENT_ID}/${s.spaceId}/`)).toEqual([key]);
  }, 180_000);

  it("reads the lock back beside the first records page, and publishes nothing before it holds", async () => {
    const s = await configuredSpace();
    h.flatfile.seed.commit(s.contactsId, { insert: [contact(1), contact(2)] });
    const { jobId, event } = submitJob(s);
    const start = h.flatfile.requests.length;
    // Someone outside our leases opens the sheets again right after the lock is written.
    const before = new Map(Object.values(s.state.sheets).map((id) => [id, structuredClone(h.flatfile.sheets.get(id)!.config)]));
    let undone = false;
    const watch = setInterval(() => {
      if (undone || !h.flatfile.requests.slice(start).some((r) => r.route === "workbooks.update" && r.status === 200)) return;
      undone = true;
      for (const [id, config] of before) h.flatfile.sheets.get(id)!.config = structuredClone(config);
    }, 1);
    h.flatfile.faults.latency("records.get", 200);
    try {
      expect((await h.deliver(actionHandler, event)).body).toMatchObject({ status: "complete", records: 2 });
    } finally {
      clearInterval(watch);
    }
    expect(undone).toBe(true);
    const routes = h.flatfile.requests.slice(start).map((r) => r.route);
    // Lock, read back (beside the first page) found it undone, lock again, read back.
    expect(routes.filter((r) => r === "workbooks.update")).toHaveLength(2);
    const firstPage = routes.indexOf("records.get");
    expect(routes.slice(routes.indexOf("workbooks.update") + 1, firstPage + 2)).toContain("workbooks.get");
    const sheets = (await api.workbooks.get(s.workbookId)).data.sheets ?? [];
    for (const id of Object.values(s.state.sheets)) expect(sheets.find((x) => x.id === id)!.config.readonly, id).toBe(true);
    expect(events.events).toHaveLength(1);
    expect((await api.jobs.get(jobId)).data.status).toBe("complete");
  });
});
