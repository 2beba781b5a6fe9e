/**
 * The Lambda context on the log lines: each line of an invocation names its request id and whether
 * it was the environment's cold start, as Powertools' injectLambdaContext does, for the routes and
 * for the job sweep. The suite turns the logs on (vitest.config.mts silences them everywhere else)
 * and reads back the JSON lines the handlers wrote.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

// The logger reads these when it is created, at import: set before the imports below are evaluated.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "INFO";
  // As Lambda sets it for an on-demand environment: Powertools tells a cold start from it.
  process.env.AWS_LAMBDA_INITIALIZATION_TYPE = "on-demand";
});

import type { Context } from "aws-lambda";
import { handler as jobSweep } from "../../../functions/job-sweep/handler";
import { handler as spaceConfigure } from "../../../functions/space-configure/handler";
import { signPayload } from "../../../shared/core/signature";
import { apiEvent, jobReadyEvent, startHarness, type Harness } from "../../support/harness";

let h: Harness;
let printed: string[] = [];

beforeAll(async () => {
  h = await startHarness({ env: { POWERTOOLS_LOG_LEVEL: "INFO" } });
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const lines = text.split("\n").filter((line) => line.startsWith('{"level"'));
      if (lines.length === 0) return write(chunk, ...(rest as []));
      printed.push(...lines);
      return true;
    });
  }
});
afterAll(async () => {
  vi.restoreAllMocks();
  await h?.close();
});
beforeEach(() => {
  h.reset();
  printed = [];
});

/** A context as Lambda passes it. */
function lambdaContext(requestId: string, functionName: string): Context {
  return {
    awsRequestId: requestId,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${functionName}`,
    memoryLimitInMB: "1024",
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: "2026/12/02/[$LATEST]0123456789abcdef",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 25_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function configure(requestId: string): Promise<number> {
  const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  const rawBody = JSON.stringify(jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
  const request = apiEvent(rawBody, { "content-type": "application/json", "x-flatfile-signature": signPayload(rawBody, h.signingSecret) });
  const answer = await spaceConfigure(request, lambdaContext(requestId, "SpaceConfigure"));
  return answer.statusCode ?? 0;
}

const lines = () => printed.map((line) => JSON.parse(line) as Record<string, unknown>);

describe("log lines carry the Lambda context", () => {
  it("names the request and the cold start on every line of a route's invocation", async () => {
    expect(await configure("req-cold-0001")).toBe(200);
    const cold = lines();
    expect(cold.map((line) => line.message)).toContain("event handled");
    for (const line of cold) {
      expect(line).toMatchObject({
        function_request_id: "req-cold-0001",
        cold_start: true,
        function_name: "SpaceConfigure",
        route: "space-configure",
      });
    }

    printed = [];
    expect(await configure("req-warm-0002")).toBe(200);
    const warm = lines();
    expect(warm.length).toBeGreaterThan(0);
    for (const line of warm) expect(line).toMatchObject({ function_request_id: "req-warm-0002", cold_start: false });
  });

  it("names the request on the job sweep's lines", async () => {
    await jobSweep({}, lambdaContext("req-sweep-0003", "JobSweep"));
    const sweep = lines();
    expect(sweep.map((line) => line.message)).toContain("sweep done");
    for (const line of sweep) {
      expect(line).toMatchObject({ function_request_id: "req-sweep-0003", function_name: "JobSweep", route: "job-sweep" });
      expect(typeof line.cold_start).toBe("boolean");
    }
  });
});
