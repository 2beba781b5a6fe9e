import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createFlatfileClient, FlatfileApiError, normalizeApiUrl } from "../../../shared/core/flatfile-client";
import { judge } from "../../../shared/core/failures";
import { queryString } from "../../../shared/core/flatfile-http";

/** A bare HTTP server that answers from a script, so the client's own behaviour is visible. */
let server: Server;
let base: string;
let seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
type Step = number | "hang" | "not-json" | "reset" | { status: number; retryAfter: string };
let script: Step[] = [];

const job = {
  id: "us_jb_1",
  type: "space",
  operation: "configure",
  source: "us_sp_1",
  status: "ready",
  createdBy: "x",
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
  somethingNew: { kept: true },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      const next = script.shift() ?? 200;
      if (next === "hang") return; // never answers
      if (next === "reset") return req.socket.destroy();
      if (next === "not-json") {
        res.writeHead(502, { "content-type": "text/html" });
        return res.end("<html>bad gateway</html>");
      }
      const status = typeof next === "number" ? next : next.status;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (typeof next === "object") headers["retry-after"] = next.retryAfter;
      res.writeHead(status, headers);
      res.end(JSON.stringify(status === 200 ? { data: job } : { errors: [{ message: `status ${status}` }] }));
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

const failureOf = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  ) as Promise<FlatfileApiError>;

describe("Flatfile client over Node's built-in fetch", () => {
  it("sends the SDK's request (bearer token, X-Disable-Hooks, JSON body) and reads the answer leniently", async () => {
    const api = createFlatfileClient({ token: "sk_test", baseUrl: base });
    const { data } = await api.jobs.ack("us_jb_1", { info: "working", progress: 10 });
    expect(data.id).toBe("us_jb_1");
    // Unknown keys of an answer are kept, as the SDK's `passthrough` keeps them.
    expect((data as unknown as { somethingNew: unknown }).somethingNew).toEqual({ kept: true });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/v1/jobs/us_jb_1/ack" });
    expect(seen[0]!.headers.authorization).toBe("Bearer sk_test");
    expect(seen[0]!.headers["x-disable-hooks"]).toBe("true");
    expect(seen[0]!.headers["content-type"]).toBe("application/json");
    expect(seen[0]!.headers["keep-alive"]).toBeUndefined();
    expect(JSON.parse(seen[0]!.body)).toEqual({ info: "working", progress: 10 });
  });

  it("encodes ids in paths and queries as the SDK does", async () => {
    const api = createFlatfileClient({ token: "t", baseUrl: base });
    await api.jobs.get("us_jb/../1");
    await api.records.get("us_sh_1", { pageSize: 100, fields: ["a b", "c"], includeCounts: false, filter: "valid" });
    expect(seen.map((s) => s.url)).toEqual([
      "/v1/jobs/us_jb%2F..%2F1",
      "/v1/sheets/us_sh_1/records?filter=valid&pageSize=100&includeCounts=false&fields=a%20b&fields=c",
    ]);
    expect(queryString({ q: "it's (new)*!", none: undefined, empty: null })).toBe("?q=it%27s%20%28new%29%2A%21");
  });

  it("retries 429 and 5xx with a short backoff, then succeeds", async () => {
    script = [429, 503, 200];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 10 } });
    await expect(api.jobs.get("us_jb_1")).resolves.toBeDefined();
    expect(seen).toHaveLength(3);
  });

  it("waits as long as a numeric Retry-After says, up to its cap", async () => {
    script = [{ status: 429, retryAfter: "0.3" }, 200];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 1 } });
    const started = Date.now();
    await api.jobs.get("us_jb_1");
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
  });

  it("gives up after its retries with its own error: status, endpoint without ids, path and body", async () => {
    script = [500, 500, 500, 500];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 10 } });
    const error = await failureOf(api.jobs.get("us_jb_1"));
    expect(error).toBeInstanceOf(FlatfileApiError);
    expect(error).toMatchObject({ statusCode: 500, reason: "status", endpoint: "GET jobs/{id}", path: "/v1/jobs/us_jb_1" });
    expect(error.body).toEqual({ errors: [{ message: "status 500" }] });
    expect(error.message).toBe("Flatfile GET jobs/{id} answered 500");
    expect(seen).toHaveLength(3);
    expect(judge(error)).toEqual({ kind: "retryable", detail: "Flatfile /v1/jobs/us_jb_1 answered 500" });
  });

  it("does not retry a 4xx; a 404 is judged not found and any other 4xx a defect", async () => {
    script = [404, 400];
    const api = createFlatfileClient({ token: "t", baseUrl: base });
    const missing = await failureOf(api.jobs.get("us_jb_1"));
    expect(missing).toMatchObject({ statusCode: 404 });
    expect(judge(missing).kind).toBe("not-found");
    const refused = await failureOf(api.jobs.complete("us_jb_1", { outcome: { message: "x" } }));
    expect(judge(refused)).toEqual({ kind: "defect", detail: "Flatfile /v1/jobs/us_jb_1/complete rejected the request (400)" });
    expect(seen).toHaveLength(2);
  });

  it("treats a body that is not JSON as a failure with its status (a proxy's 502 page is retried)", async () => {
    script = ["not-json", "not-json", "not-json"];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 5 } });
    const error = await failureOf(api.spaces.get("us_sp_1"));
    expect(error).toMatchObject({ statusCode: 502, reason: "non-json", body: "<html>bad gateway</html>" });
    expect(judge(error).kind).toBe("retryable");
    expect(seen).toHaveLength(3);
  });

  it("retries a read whose connection dropped, and judges an unreachable server retryable", async () => {
    script = ["reset", 200];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 5 } });
    await expect(api.workbooks.get("us_wb_1")).resolves.toBeDefined();
    expect(seen).toHaveLength(2);
    const nowhere = createFlatfileClient({ token: "t", baseUrl: "http://127.0.0.1:1", retry: { maxRetries: 0 } });
    const error = await failureOf(nowhere.users.get("us_usr_1"));
    expect(error).toMatchObject({ reason: "network", statusCode: undefined });
    expect(judge(error)).toEqual({ kind: "retryable", detail: "Flatfile /v1/users/us_usr_1 could not be reached" });
  });

  it("never outlives its deadline, even against a server that hangs", async () => {
    script = ["hang", "hang", "hang"];
    const deadline = Date.now() + 600;
    const api = createFlatfileClient({ token: "t", baseUrl: base, deadline: () => deadline });
    const started = Date.now();
    const error = await failureOf(api.jobs.get("us_jb_1"));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error).toMatchObject({ reason: "timeout" });
    expect(judge(error).kind).toBe("retryable");
  });

  it("does not retry a write that timed out, since it may have landed", async () => {
    script = ["hang", 200];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { attemptTimeoutMs: 200, baseDelayMs: 10 } });
    await expect(api.jobs.ack("us_jb_1", { info: "x", progress: 10 })).rejects.toThrow(FlatfileApiError);
    expect(seen).toHaveLength(1);
  });

  it("reports every attempt with its status", async () => {
    script = [503, 200];
    const attempts: unknown[] = [];
    const api = createFlatfileClient({ token: "t", baseUrl: base, retry: { baseDelayMs: 5 }, onAttempt: (a) => attempts.push(a) });
    await api.jobs.get("us_jb_1");
    expect(attempts).toEqual([
      { method: "GET", url: `${base}/v1/jobs/us_jb_1`, status: 503 },
      { method: "GET", url: `${base}/v1/jobs/us_jb_1`, status: 200 },
    ]);
  });

  it("appends /v1 to a base URL only when missing", () => {
    expect(normalizeApiUrl("http://h:1")).toBe("http://h:1/v1");
    expect(normalizeApiUrl("http://h:1/v1/")).toBe("http://h:1/v1");
    expect(normalizeApiUrl(undefined)).toMatch(/^https:\/\/.+\/v1$/);
  });
});
