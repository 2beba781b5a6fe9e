/**
 * The local Lambda answers Invoke as the real @aws-sdk/client-lambda sends and reads it: an Event
 * invoke is a 202 and the handler runs after, a synchronous one carries the result or the
 * handler's error, an unknown function is the SDK's ResourceNotFoundException; and the hand-off
 * action-job uses (shared/core/hand-off.ts) starts the worker through it, or fails retryably.
 */
import { InvokeCommand, LambdaClient, ResourceNotFoundException, TooManyRequestsException } from "@aws-sdk/client-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type LambdaStandIn, type LocalLambdaContext, startLambdaStandIn } from "../../local/lambda-stand-in";
import { RetryableError } from "../../shared/core/errors";
import { lambdaHandOff, type PendingCopy } from "../../shared/core/hand-off";
import { resetWorkerClient } from "../../shared/core/worker-client";

let lambda: LambdaStandIn;
let client: LambdaClient;
const saved = { ...process.env };
const seen: { payload: unknown; remainingMs: number; functionName: string }[] = [];
let release: () => void = () => undefined;

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes));

beforeAll(async () => {
  lambda = await startLambdaStandIn();
  const record = (payload: unknown, context: LocalLambdaContext) =>
    seen.push({ payload, remainingMs: context.getRemainingTimeInMillis(), functionName: context.functionName });
  lambda.register("worker", {
    timeoutMs: 840_000,
    handler: async (payload, context) => {
      record(payload, context);
      // Held until the test lets go, so it can look while the invocation runs.
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { done: true };
    },
  });
  lambda.register("echo", { timeoutMs: 3_000, handler: (payload) => ({ echoed: payload }) });
  lambda.register("broken", {
    timeoutMs: 3_000,
    handler: () => {
      throw new TypeError("no such sheet");
    },
  });
  lambda.register("slow", { timeoutMs: 50, handler: () => new Promise((resolve) => setTimeout(resolve, 300)) });
  client = new LambdaClient({
    endpoint: lambda.url,
    region: "us-east-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  // lambdaHandOff's client reads these, as on Lambda.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_LAMBDA: lambda.url,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
  });
});
afterAll(async () => {
  release();
  client.destroy();
  await lambda.close();
  resetWorkerClient();
  for (const key of ["AWS_ENDPOINT_URL_LAMBDA", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});
beforeEach(() => {
  resetWorkerClient();
  lambda.faults = {};
  lambda.invocations.length = 0;
  seen.length = 0;
});
afterEach(async () => {
  release();
  await lambda.settled();
});

describe("Invoke, as the SDK sends it", () => {
  it("answers an Event invoke 202 with no payload, then runs the handler with the function's clock", async () => {
    const answer = await client.send(
      new InvokeCommand({ FunctionName: "worker", InvocationType: "Event", Payload: encode({ job: "j1" }) }),
    );
    expect(answer.StatusCode).toBe(202);
    expect(answer.FunctionError).toBeUndefined();
    expect(answer.Payload?.length ?? 0).toBe(0);
    // The caller has its answer while the handler is still held: it runs after the 202.
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ payload: { job: "j1" }, functionName: "worker" });
    expect(seen[0]!.remainingMs).toBeGreaterThan(839_000);
    expect(seen[0]!.remainingMs).toBeLessThanOrEqual(840_000);
    expect(lambda.invocations).toMatchObject([{ functionName: "worker", type: "Event", payload: { job: "j1" }, outcome: "running" }]);

    release();
    await lambda.settled();
    expect(lambda.invocations[0]).toMatchObject({ outcome: "succeeded", result: { done: true } });
    expect(lambda.invocations[0]!.endedAt).toBeDefined();
  });

  it("answers a synchronous invoke (the default type) with the handler's result", async () => {
    const answer = await client.send(new InvokeCommand({ FunctionName: "echo", Payload: encode({ n: 1 }) }));
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBeUndefined();
    expect(answer.ExecutedVersion).toBe("$LATEST");
    expect(decode(answer.Payload)).toEqual({ echoed: { n: 1 } });
    expect(lambda.invocations).toMatchObject([{ functionName: "echo", type: "RequestResponse", outcome: "succeeded" }]);
  });

  it("takes the function by ARN too", async () => {
    const FunctionName = "arn:aws:lambda:us-east-1:000000000000:function:echo";
    const answer = await client.send(new InvokeCommand({ FunctionName, Payload: encode("x") }));
    expect(decode(answer.Payload)).toEqual({ echoed: "x" });
  });

  it("carries a handler's error as Unhandled, with the error's type and message", async () => {
    const answer = await client.send(new InvokeCommand({ FunctionName: "broken", Payload: encode({}) }));
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBe("Unhandled");
    expect(decode(answer.Payload)).toEqual({ errorType: "TypeError", errorMessage: "no such sheet" });
    // The record keeps the error's name only.
    expect(lambda.invocations).toMatchObject([{ outcome: "failed", error: "TypeError" }]);
  });

  it("records a handler that outlasts its timeout as timed out", async () => {
    const answer = await client.send(new InvokeCommand({ FunctionName: "slow", Payload: encode({}) }));
    expect(answer.FunctionError).toBe("Unhandled");
    expect(decode(answer.Payload)).toMatchObject({ errorType: "Sandbox.Timedout" });
    expect(lambda.invocations).toMatchObject([{ outcome: "timed-out" }]);
  });

  it("refuses an unknown function with the SDK's ResourceNotFoundException and runs nothing", async () => {
    const error = await client
      .send(new InvokeCommand({ FunctionName: "nobody", InvocationType: "Event", Payload: encode({}) }))
      .catch((e) => e);
    expect(error).toBeInstanceOf(ResourceNotFoundException);
    expect(error.$metadata.httpStatusCode).toBe(404);
    expect(error.message).toMatch(/Function not found: .*function:nobody/);
    expect(lambda.invocations).toEqual([]);
  });

  it("refuses a payload that is not JSON, and an Event payload over 1 MB", async () => {
    const notJson = await client.send(new InvokeCommand({ FunctionName: "echo", Payload: new TextEncoder().encode("{") })).catch((e) => e);
    expect(notJson.name).toBe("InvalidRequestContentException");
    const big = encode({ pad: "x".repeat(1024 * 1024) });
    const tooLarge = await client
      .send(new InvokeCommand({ FunctionName: "worker", InvocationType: "Event", Payload: big }))
      .catch((e) => e);
    expect(tooLarge.name).toBe("RequestTooLargeException");
    expect(tooLarge.$metadata.httpStatusCode).toBe(413);
    expect(lambda.invocations).toEqual([]);
  });

  it("refuses every invoke with the injected status", async () => {
    lambda.faults = { status: 429 };
    const error = await client.send(new InvokeCommand({ FunctionName: "echo", Payload: encode({}) })).catch((e) => e);
    expect(error).toBeInstanceOf(TooManyRequestsException);
    expect(lambda.invocations).toEqual([]);
  });
});

describe("lambdaHandOff through the stand-in", () => {
  const continuation: PendingCopy = {
    kind: "pending-copy",
    event: { id: "evt_1", topic: "job:ready", context: {}, payload: {} } as unknown as PendingCopy["event"],
    copySlug: "contacts-copy-abc",
    requestedAt: 1_700_000_000_000,
  };

  it("resolves once Lambda has queued the worker, which is given the continuation", async () => {
    await expect(lambdaHandOff("worker")(continuation)).resolves.toBeUndefined();
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]!.payload).toEqual(continuation);
    expect(lambda.invocations).toMatchObject([{ functionName: "worker", type: "Event" }]);
  });

  it("throws a RetryableError naming the SDK's error when Lambda refuses", async () => {
    lambda.faults = { status: 500 };
    const error = await lambdaHandOff("worker")(continuation).catch((e) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/could not be started \(ServiceException\)/);
    expect(seen).toEqual([]);
  });

  it("throws a RetryableError for a function that does not exist", async () => {
    const error = await lambdaHandOff("not-deployed")(continuation).catch((e) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect(error.message).toMatch(/ResourceNotFoundException/);
  });
});

describe("close", () => {
  it("does not wait for a handler that is still running", async () => {
    const own = await startLambdaStandIn({ held: { timeoutMs: 60_000, handler: () => new Promise(() => undefined) } });
    const ownClient = new LambdaClient({
      endpoint: own.url,
      region: "us-east-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const answer = await ownClient.send(new InvokeCommand({ FunctionName: "held", InvocationType: "Event", Payload: encode({}) }));
    expect(answer.StatusCode).toBe(202);
    ownClient.destroy();
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(own.invocations).toMatchObject([{ outcome: "running" }]);
  });
});
