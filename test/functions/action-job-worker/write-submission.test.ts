/**
 * A submission too large for its delivery, handed to the worker (through the real Lambda client
 * and the local Lambda stand-in), which writes the rest round after round: one object with every
 * record, one event, the job complete, with no redelivery from the relay.
 */
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../../functions/action-job/handler";
import { submissionKey } from "../../../functions/action-job/submission";
import { SUBMIT_JOB, WRITING_SUBMISSION_INFO } from "../../../functions/action-job/submit-workbook";
import { createWorker } from "../../../functions/action-job-worker/handler";
import { startEventBridgeStandIn, type EventBridgeStandIn } from "../../../local/eventbridge-stand-in";
import { startLambdaStandIn, type LambdaStandIn } from "../../../local/lambda-stand-in";
import { startLocalS3, type LocalS3 } from "../../../local/s3-server";
import { resetSubmissionClients, s3Client } from "../../../shared/core/submission-clients";
import { resetWorkerClient } from "../../../shared/core/worker-client";
import { configureSpace } from "../../support/fixture";
import { ENVIRONMENT_ID, jobReadyEvent, startHarness, type Harness } from "../../support/harness";

const WORKER = "action-job-worker";
const FAST = { heartbeatMs: 400, pollMs: 200, reaskMs: 60_000, timeoutMs: 60_000, reserveMs: 5_000 };

let h: Harness;
let s3: LocalS3;
let events: EventBridgeStandIn;
let lambda: LambdaStandIn;
const saved = { ...process.env };

beforeAll(async () => {
  [s3, events, lambda] = await Promise.all([
    startLocalS3(),
    startEventBridgeStandIn(),
    startLambdaStandIn({ [WORKER]: { handler: createWorker(FAST), timeoutMs: FAST.timeoutMs } }),
  ]);
  h = await startHarness({
    env: {
      SUBMISSIONS_BUCKET: s3.bucket,
      SUBMISSIONS_EVENT_BUS: "customer-bus",
      AWS_ENDPOINT_URL_S3: s3.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      ACTION_JOB_WORKER_FUNCTION: WORKER,
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    },
  });
  resetSubmissionClients();
  resetWorkerClient();
});
afterAll(async () => {
  await Promise.all([h?.close(), s3?.close(), events?.close(), lambda?.close()]);
  resetSubmissionClients();
  resetWorkerClient();
  for (const key of [
    "SUBMISSIONS_BUCKET",
    "SUBMISSIONS_EVENT_BUS",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_EVENTBRIDGE",
    "AWS_ENDPOINT_URL_LAMBDA",
    "ACTION_JOB_WORKER_FUNCTION",
  ]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe("action-job hands a submission too large for its delivery to the worker", () => {
  it("answers 200 continuing, and the worker writes the rest: one object with every record, one event, complete", async () => {
    const s = await configureSpace(h);
    const contactsId = s.state.sheets.contacts!;
    h.flatfile.seed.records(
      contactsId,
      Array.from({ length: 15_000 }, (_, i) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` })),
    );
    const seeded = h.flatfile.seed.job({ job: SUBMIT_JOB, spaceId: s.spaceId, workbookId: s.workbookId });
    const event = jobReadyEvent({ job: SUBMIT_JOB, jobId: seeded.id, spaceId: s.spaceId, workbookId: s.workbookId, actorId: s.userId });
    // Each page of 5,000 records takes a second to arrive: the delivery (16 s left) writes part of it.
    h.flatfile.faults.latency("records.get", 1_000);
    const answer = await h.deliver(actionHandler, event, { remainingMs: 16_000 });
    expect(lambda.invocations).toHaveLength(1);
    expect(answer, JSON.stringify(answer.body)).toMatchObject({ status: 200, body: { status: "continuing", operation: SUBMIT_JOB } });
    // The route told the person why it takes long (the worker may have started already).
    const acks = h.flatfile.requests.filter((r) => r.route === "jobs.ack").map((r) => (r.body as { info?: string }).info);
    expect(acks).toContain(WRITING_SUBMISSION_INFO);

    await lambda.settled();
    expect(lambda.invocations.map((i) => [i.type, i.outcome])).toEqual([["Event", "succeeded"]]);
    expect((await h.api.jobs.get(seeded.id)).data.status).toBe("complete");
    const key = submissionKey({ environmentId: ENVIRONMENT_ID, spaceId: s.spaceId, workbookId: s.workbookId, jobId: seeded.id });
    const object = await s3Client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const lines = (await object.Body!.transformToString("utf8")).split("\n").filter(Boolean);
    expect(lines).toHaveLength(15_000);
    expect(new Set(lines.map((l) => (JSON.parse(l) as { id: string }).id)).size).toBe(15_000);
    expect(events.events).toHaveLength(1);
  }, 60_000);
});
