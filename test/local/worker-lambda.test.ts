/**
 * The action-job worker under npm start (local-run.ts): a local Lambda runs it in the process, and
 * the routes are pointed at it as the stack points action-job at the deployed worker
 * (ACTION_JOB_WORKER_FUNCTION, the SDK's AWS_ENDPOINT_URL_LAMBDA), so an Event invoke of
 * `action-job-worker` through the real SDK is queued (202) and the worker run; the page lists it.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRun, type LocalRun } from "../../local/local-run";
import { ACTION_JOB_WORKER_ENV, WORKER_TIMING } from "../../shared/core/hand-off";

let run: LocalRun;
const saved = { ...process.env };

beforeAll(async () => {
  for (const key of Object.keys(process.env))
    if (
      key.startsWith("FLATFILE_") ||
      ["REFERENCE_DATA_URL", "IDEMPOTENCY_TABLE", "OWNED_SPACES", ACTION_JOB_WORKER_ENV, "AWS_ENDPOINT_URL_LAMBDA"].includes(key)
    )
      delete process.env[key];
  process.env.LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), "worker-lambda-"));
  run = await startLocalRun({ port: 0 });
});
afterAll(async () => {
  await run?.lambda.settled();
  await run?.close();
  process.env = saved;
});

describe("the action-job worker under npm start", () => {
  it("points the routes at the local Lambda, which answers an Event invoke of action-job-worker with 202 and runs it", async () => {
    expect(process.env[ACTION_JOB_WORKER_ENV]).toBe("action-job-worker");
    expect(process.env.AWS_ENDPOINT_URL_LAMBDA).toBe(run.lambda.url);
    const client = new LambdaClient({ maxAttempts: 1 });
    try {
      const answer = await client.send(
        new InvokeCommand({
          FunctionName: process.env[ACTION_JOB_WORKER_ENV],
          InvocationType: "Event",
          // Not a continuation the worker can carry on: it is run, and declines it.
          Payload: new TextEncoder().encode(JSON.stringify({ kind: "nothing-to-do" })),
        }),
      );
      expect(answer.StatusCode).toBe(202);
    } finally {
      client.destroy();
    }
    await run.lambda.settled();
    expect(run.lambda.invocations).toMatchObject([
      { functionName: "action-job-worker", type: "Event", payload: { kind: "nothing-to-do" } },
    ]);
    expect(run.lambda.invocations[0]!.outcome).not.toBe("running");
    expect(run.lambda.functions.get("action-job-worker")?.timeoutMs).toBe(WORKER_TIMING.timeoutMs);
    // The page lists the run.
    const html = await (await fetch(`${run.url}/`)).text();
    expect(html).toContain(`data-invocation="${run.lambda.invocations[0]!.requestId}"`);
    expect(html).toMatch(/<strong>action-job-worker<\/strong> Event: (succeeded|failed)/);
  });
});
