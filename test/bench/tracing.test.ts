/**
 * Traces from the production bundle, as on Lambda with active tracing: the space-configure bundle
 * (built with the X-Ray SDK trimmed by infra/trim-xray.ts) runs in a child process with the
 * environment Lambda gives a traced invocation (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, a sampled
 * _X_AMZN_TRACE_ID, the daemon's address), the idempotency table on dynalite and Flatfile on the
 * stand-in. The X-Ray daemon is a UDP socket on 127.0.0.1 that keeps every segment document sent.
 */
import { createSocket, type Socket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunction, BUNDLE_FILE } from "../../infra/bundling";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { startWorker, type Worker } from "../../bench/scale";
import { CONFIGURE_JOB } from "../../functions/space-configure/configure";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../support/dynalite";
import { ENVIRONMENT_ID, jobReadyEvent } from "../support/harness";

interface SegmentDocument {
  id: string;
  name: string;
  type?: string;
  parent_id?: string;
  trace_id: string;
  namespace?: string;
  annotations?: Record<string, unknown>;
  metadata?: unknown;
  error?: boolean;
  fault?: boolean;
  aws?: Record<string, unknown>;
  http?: unknown;
  subsegments?: SegmentDocument[];
}

const TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793";
let dir: string;
let flatfile: FlatfileStandIn;
let dynamo: LocalDynamo;
let daemon: Socket;
let worker: Worker;
const received: SegmentDocument[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "tracing-test-"));
  [flatfile, dynamo] = await Promise.all([startFlatfileStandIn(), startLocalDynamo()]);
  daemon = createSocket("udp4");
  daemon.on("message", (message) => {
    // "{header}\n{document}" per datagram.
    const [, body] = message.toString("utf8").split("\n");
    if (body) received.push(JSON.parse(body) as SegmentDocument);
  });
  await new Promise<void>((resolve) => daemon.bind(0, "127.0.0.1", resolve));
  const { port } = daemon.address() as AddressInfo;
  await buildFunction("space-configure", dir);
  worker = await startWorker(join(dir, BUNDLE_FILE), {
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_SIGNING_SECRET: `whsec_${randomBytes(16).toString("hex")}`,
    FLATFILE_ENVIRONMENT_ID: ENVIRONMENT_ID,
    ...dynamoEnv(dynamo),
    // What Lambda sets for a traced function, and what the stack sets (infra/route-function.ts).
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    AWS_LAMBDA_FUNCTION_NAME: "space-configure",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    LAMBDA_TASK_ROOT: dir,
    _X_AMZN_TRACE_ID: `Root=${TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1`,
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${port}`,
    AWS_XRAY_CONTEXT_MISSING: "LOG_ERROR",
    POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
    POWERTOOLS_TRACER_CAPTURE_ERROR: "false",
  });
}, 120_000);

afterAll(async () => {
  worker?.close();
  daemon?.close();
  await Promise.all([flatfile?.close(), dynamo?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every document, with the subsegments nested in a closed parent flattened out. */
function all(docs: SegmentDocument[]): SegmentDocument[] {
  return docs.flatMap((doc) => [doc, ...all(doc.subsegments ?? [])]);
}

async function until(check: () => boolean, what: string): Promise<void> {
  const giveUp = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > giveUp) throw new Error(`no ${what} in ${JSON.stringify(received.map((d) => d.name))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("X-Ray traces of the space-configure bundle", () => {
  it("one handler subsegment with spaceId and jobId, each Flatfile call by method and resource, each DynamoDB call; no ids in names, no metadata", async () => {
    const space = flatfile.seed.space({ metadata: { locale: "en-US" } });
    const job = flatfile.seed.job({ job: CONFIGURE_JOB, spaceId: space.id, status: "ready" });
    const answer = await worker.deliver(jobReadyEvent({ job: CONFIGURE_JOB, jobId: job.id, spaceId: space.id }));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(flatfile.jobs.get(job.id)?.status).toBe("complete");

    await until(() => all(received).some((d) => d.name === "## space-configure"), "handler subsegment");
    const docs = all(received);
    const handler = docs.find((d) => d.name === "## space-configure")!;
    expect(handler.trace_id).toBe(TRACE_ID);
    expect(handler.annotations).toMatchObject({
      spaceId: space.id,
      jobId: job.id,
      ColdStart: true,
      Service: "flatfile-space-configurator",
    });

    await until(() => all(received).filter((d) => d.parent_id === handler.id).length >= flatfile.requests.length, "Flatfile subsegments");
    const children = all(received).filter((d) => d.parent_id === handler.id || handler.subsegments?.some((s) => s.id === d.id));
    const names = new Set(children.map((d) => d.name));
    for (const expected of [
      "Flatfile GET jobs/{id}",
      "Flatfile GET spaces/{id}",
      "Flatfile POST jobs/{id}/ack",
      "Flatfile POST workbooks",
      "Flatfile POST jobs/{id}/complete",
    ]) {
      expect(names, [...names].join(", ")).toContain(expected);
    }
    const flatfileCalls = children.filter((d) => d.name.startsWith("Flatfile "));
    expect(flatfileCalls).toHaveLength(flatfile.requests.length);
    for (const call of flatfileCalls) expect(call.namespace).toBe("remote");
    // The idempotency record: a put then an update, on the captured DynamoDB client.
    const dynamoCalls = children.filter((d) => d.name === "DynamoDB");
    expect(dynamoCalls.map((d) => d.aws?.operation)).toEqual(expect.arrayContaining(["PutItem", "UpdateItem"]));

    for (const doc of all(received)) {
      expect(doc.name).not.toMatch(/us_(sp|jb|wb|sh|dc)_/);
      expect(doc.metadata, doc.name).toBeUndefined();
    }
  });
});
