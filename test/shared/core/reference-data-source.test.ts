import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadReferenceData, resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { BUNDLED_CATEGORIES } from "../../../shared/domain/reference-data";

const URL_ = "https://ref.example.test/categories?token=secret";

function fakeFetch(respond: () => Response | Promise<Response>) {
  const calls: string[] = [];
  const fn = (async (input: RequestInfo | URL) => {
    calls.push(String(input));
    return respond();
  }) as typeof fetch;
  return { fn, calls };
}

const json = (body: unknown, status = 200) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

beforeEach(() => resetReferenceDataCache());

describe("loadReferenceData with an injected fetch", () => {
  it("accepts { categories: [{ value, label }] } and records where and when", async () => {
    const { fn } = fakeFetch(() =>
      json({ categories: [{ value: "hw", label: "Hardware" }, { value: "sw" }, { value: "hw", label: "dup" }, { value: "  " }] }),
    );
    const data = await loadReferenceData(URL_, { fetch: fn, now: () => Date.parse("2026-11-24T10:00:00Z") });
    expect(data.source).toBe("remote");
    expect(data.categories).toEqual([
      { value: "hw", label: "Hardware" },
      { value: "sw", label: "sw" },
    ]);
    expect(data.detail).toBe("https://ref.example.test/categories at 2026-11-24T10:00:00.000Z");
    expect(data.detail).not.toContain("secret");
  });

  it("accepts a bare array of strings", async () => {
    const { fn } = fakeFetch(() => json(["Alpha", " Beta "]));
    const data = await loadReferenceData(URL_, { fetch: fn });
    expect(data.categories).toEqual([
      { value: "Alpha", label: "Alpha" },
      { value: "Beta", label: "Beta" },
    ]);
  });

  it.each([
    ["HTTP 500", () => json({ error: "boom" }, 500), "answered HTTP 500"],
    ["invalid JSON", () => json("{not json"), "invalid JSON"],
    ["wrong shape", () => json({ items: [1, 2] }), "unexpected shape"],
    ["empty list", () => json({ categories: [] }), "unexpected shape"],
    ["network error", () => Promise.reject(new TypeError("fetch failed")), "could not be reached (fetch failed)"],
  ])("falls back to the bundled list on %s", async (_name, respond, reason) => {
    const { fn } = fakeFetch(respond);
    const data = await loadReferenceData(URL_, { fetch: fn });
    expect(data.source).toBe("bundled");
    expect(data.categories).toEqual(BUNDLED_CATEGORIES);
    expect(data.detail).toMatch(/^bundled default: /);
    expect(data.detail).toContain(reason);
  });

  it("falls back without a URL or with a bad one, without calling", async () => {
    const { fn, calls } = fakeFetch(() => json(["x"]));
    expect((await loadReferenceData(undefined, { fetch: fn })).detail).toBe("bundled default: no reference API is configured");
    expect((await loadReferenceData("not a url", { fetch: fn })).source).toBe("bundled");
    expect((await loadReferenceData("file:///etc/passwd", { fetch: fn })).source).toBe("bundled");
    expect((await loadReferenceData(URL_, { fetch: fn, budgetMs: -20 })).detail).toContain("no time left");
    expect(calls).toEqual([]);
  });

  it("times out at the budget even when fetch ignores the signal", async () => {
    const { fn } = fakeFetch(() => new Promise<Response>(() => undefined));
    const started = Date.now();
    const data = await loadReferenceData(URL_, { fetch: fn, budgetMs: 100 });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(data).toMatchObject({ source: "bundled", detail: "bundled default: the reference API timed out after 100 ms" });
  });

  it("caps the budget at 2000 ms", async () => {
    const { fn } = fakeFetch(() => new Promise<Response>(() => undefined));
    const data = await loadReferenceData(URL_, { fetch: fn, budgetMs: 60_000, now: () => 0 });
    expect(data.detail).toContain("timed out after 2000 ms");
  });

  it("caches a good answer per URL for the TTL, then refreshes", async () => {
    let clock = 0;
    const { fn, calls } = fakeFetch(() => json(["A"]));
    const opts = { fetch: fn, now: () => clock, ttlMs: 1_000 };
    const first = await loadReferenceData(URL_, opts);
    clock = 999;
    const second = await loadReferenceData(URL_, opts);
    expect(second).toEqual(first);
    expect(calls).toHaveLength(1);
    await loadReferenceData("https://other.example.test/", opts);
    expect(calls).toHaveLength(2);
    clock = 1_000;
    await loadReferenceData(URL_, opts);
    expect(calls).toHaveLength(3);
    second.categories.push({ value: "mutated", label: "mutated" });
    expect((await loadReferenceData(URL_, opts)).categories).toEqual([{ value: "A", label: "A" }]);
  });

  it("remembers a failure for a few seconds only; serves a stale good answer over the bundled list", async () => {
    let clock = 0;
    let mode: "ok" | "down" = "ok";
    const { fn, calls } = fakeFetch(() => (mode === "ok" ? json(["A"]) : json("", 503)));
    const opts = { fetch: fn, now: () => clock, ttlMs: 1_000 };
    await loadReferenceData(URL_, opts);
    mode = "down";
    clock = 2_000;
    const stale = await loadReferenceData(URL_, opts);
    expect(stale.source).toBe("remote");
    expect(stale.detail).toContain("stale: the reference API answered HTTP 503");
    clock = 3_000;
    await loadReferenceData(URL_, opts);
    expect(calls).toHaveLength(2); // the failure is remembered briefly
    mode = "ok";
    clock = 2_000 + 5_001;
    expect((await loadReferenceData(URL_, opts)).detail).not.toContain("stale");
    expect(calls).toHaveLength(3);
  });

  it("does not cache failures into the next good answer", async () => {
    let clock = 0;
    let fail = true;
    const { fn } = fakeFetch(() => (fail ? json("garbage") : json(["A"])));
    expect((await loadReferenceData(URL_, { fetch: fn, now: () => clock })).source).toBe("bundled");
    fail = false;
    clock = 6_000;
    expect((await loadReferenceData(URL_, { fetch: fn, now: () => clock })).source).toBe("remote");
  });
});

describe("loadReferenceData over real HTTP (127.0.0.1)", () => {
  let server: http.Server;
  let base: string;
  const sockets = new Set<import("node:net").Socket>();

  beforeEach(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/good") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ categories: [{ value: "local", label: "Local" }] }));
      }
      // "/hang": never answers
    });
    server.on("connection", (s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("reads a good answer", async () => {
    const data = await loadReferenceData(`${base}/good`);
    expect(data.source).toBe("remote");
    expect(data.categories).toEqual([{ value: "local", label: "Local" }]);
  });

  it("gives up on a server that hangs, at the budget", async () => {
    const started = Date.now();
    const data = await loadReferenceData(`${base}/hang`, { budgetMs: 300 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1_500);
    expect(data.source).toBe("bundled");
    expect(data.detail).toBe("bundled default: the reference API timed out after 300 ms");
  });
});
