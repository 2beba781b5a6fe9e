import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { FlatfileClient } from "@flatfile/api";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";

/** A bare HTTP server that answers from a script, so the client's own behaviour is visible. */
let server: Server;
let base: string;
let seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
let script: (number | "hang")[] = [];

const job = {
  id: "us_jb_1",
  type: "space",
  operation: "configure",
  source: "us_sp_1",
  status: "ready",
  createdBy: "x",
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
};

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      const next = script.shift() ?? 200;
      if (next === "hang") return; // never answers
      res.writeHead(next, { "content-type": "application/json" });
      res.end(JSON.stringify(next === 200 ? { data: job } : { errors: [{ message: `status ${next}` }] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
beforeEach(() => {
  seen = [];
  script = [];
});

describe("The SDK client (relay, local tooling) over Node's built-in fetch", () => {
  it("shows the trap: the SDK as shipped fails before sending anything", async () => {
    const plain = new FlatfileClient({ token: "sk_test", environment: `${base}/v1` });
    await expect(plain.jobs.get("us_jb_1")).rejects.toThrow();
    expect(seen).toHaveLength(0);
  });

  it("sends the request without the Keep-Alive header and parses the answer", async () => {
    const api = createSdkClient({ token: "sk_test", baseUrl: base });
    const { data } = await api.jobs.get("us_jb_1");
    expect(data.id).toBe("us_jb_1");
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe("/v1/jobs/us_jb_1");
    expect(seen[0]!.headers["keep-alive"]).toBeUndefined();
    expect(seen[0]!.headers.authorization).toBe("Bearer sk_test");
  });

  it("retries 429 and 5xx with a short backoff, then succeeds", async () => {
    script = [429, 503, 200];
    const api = createSdkClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 10 } });
    await expect(api.jobs.get("us_jb_1")).resolves.toBeDefined();
    expect(seen).toHaveLength(3);
  });

  it("gives up after its retries with the status in a FlatfileError", async () => {
    script = [500, 500, 500, 500];
    const api = createSdkClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 10 } });
    const error = (await api.jobs.get("us_jb_1").then(
      () => undefined,
      (e: unknown) => e,
    )) as FlatfileError;
    expect(error).toBeInstanceOf(FlatfileError);
    expect(error.statusCode).toBe(500);
    expect(seen).toHaveLength(3);
  });

  it("does not retry a 4xx", async () => {
    script = [404];
    const api = createSdkClient({ token: "t", baseUrl: base });
    await expect(api.jobs.get("us_jb_1")).rejects.toMatchObject({ statusCode: 404 });
    expect(seen).toHaveLength(1);
  });

  it("never outlives its deadline, even against a server that hangs", async () => {
    script = ["hang", "hang", "hang"];
    const deadline = Date.now() + 600;
    const api = createSdkClient({ token: "t", baseUrl: base, deadline: () => deadline });
    const started = Date.now();
    await expect(api.jobs.get("us_jb_1")).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("does not retry a write that timed out, since it may have landed", async () => {
    script = ["hang", 200];
    const api = createSdkClient({ token: "t", baseUrl: base, retry: { attemptTimeoutMs: 200, baseDelayMs: 10 } });
    await expect(api.jobs.ack("us_jb_1", { info: "x", progress: 10 })).rejects.toThrow();
    expect(seen).toHaveLength(1);
  });
});
