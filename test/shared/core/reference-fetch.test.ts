/**
 * The reference API cannot flood memory or send us elsewhere. Real HTTP servers on
 * 127.0.0.1 (two ports are two origins), through loadReferenceData as space-configure calls it.
 */
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fetchReferenceText, ReferenceFetchFailure } from "../../../shared/core/reference-fetch";
import { loadReferenceData, resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { BUNDLED_CATEGORIES } from "../../../shared/domain/reference-data";
import { resolveCurrency } from "../../../shared/domain/currency";
import { buildGuide } from "../../../shared/domain/guide";
import { startRecorder, startRedirector, startStreamer, type HostileServer } from "../../support/hostile-servers";

const run = promisify(execFile);

let servers: HostileServer[] = [];
beforeEach(() => resetReferenceDataCache());
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
const kept = async (server: Promise<HostileServer>) => {
  const s = await server;
  servers.push(s);
  return s;
};

/** A server answering each request with `handle`, closed after the test. */
async function started(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string }> {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({
    url: "",
    hits: [],
    written: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe("the reference API's body is bounded while it is read", () => {
  it("a streamed answer without Content-Length is abandoned at the cap, not read whole", async () => {
    const server = await kept(startStreamer(64 * 1024 * 1024));
    const data = await loadReferenceData(`${server.url}/stream`, { budgetMs: 2_000 });
    expect(data.source).toBe("bundled");
    expect(data.detail).toContain("the reference API answer is too large");
    // Give the server a moment to notice the closed connection, then count what it sent: the
    // cap (1 M characters) plus what socket buffers held, nowhere near the 64 MB on offer.
    await new Promise((r) => setTimeout(r, 100));
    expect(server.written).toBeLessThan(16 * 1024 * 1024);
  });

  it("an answer with a Content-Length over the cap is not read at all", async () => {
    const server = await started((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": String(2 * 1024 * 1024) });
      res.write("[");
    });
    const data = await loadReferenceData(`${server.url}/big`, { budgetMs: 1_000 });
    expect(data.detail).toContain("too large (2097152 bytes)");
  });
});

describe("on the critical path", () => {
  it("a cold process reads a whole answer without formatting an error stack (the first one decodes the whole source map)", async () => {
    const server = await started((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"categories":[{"value":"books",');
      res.end('"label":"Books"}]}');
    });
    const script = join(__dirname, "../../support/cold-reference-fetch.ts");
    const { stdout } = await run(process.execPath, ["--import", "tsx", script, `${server.url}/categories`], { timeout: 60_000 });
    const { text, formatted } = JSON.parse(stdout) as { text: string; formatted: string[] };
    expect(JSON.parse(text)).toEqual({ categories: [{ value: "books", label: "Books" }] });
    expect(formatted).toEqual([]);
  });
});

describe("redirects", () => {
  it("a redirect to another origin is not followed: bundled list, and the guide says why", async () => {
    const elsewhere = await kept(startRecorder(["Planted"]));
    for (const status of [301, 302, 303, 307, 308]) {
      resetReferenceDataCache();
      const configured = await kept(startRedirector(elsewhere.url, status));
      const data = await loadReferenceData(`${configured.url}/categories`);
      expect(data.source, `HTTP ${status}`).toBe("bundled");
      expect(data.categories).toEqual(BUNDLED_CATEGORIES);
      expect(data.detail).toBe("bundled default: the reference API redirected to another origin, which is not followed");
    }
    expect(elsewhere.hits).toEqual([]);
  });

  it("a redirect within the configured origin is followed, a few hops at most", async () => {
    const server = await started((req, res) => {
      if (req.url === "/v2/categories") {
        res.writeHead(200, { "content-type": "application/json" });
        return res.end(JSON.stringify(["Moved"]));
      }
      if (req.url === "/loop") {
        res.writeHead(302, { location: "/loop" });
        return res.end();
      }
      res.writeHead(308, { location: "/v2/categories" });
      res.end();
    });
    const moved = await loadReferenceData(`${server.url}/categories`);
    expect(moved.categories).toEqual([{ value: "Moved", label: "Moved" }]);
    const loop = await loadReferenceData(`${server.url}/loop`);
    expect(loop.detail).toContain("redirected more than 3 times");
  });

  it("a downgrade from https to http on the same host counts as another origin", async () => {
    const fetched: string[] = [];
    const fake = (async (input: RequestInfo | URL, init?: RequestInit) => {
      fetched.push(String(input));
      expect(init?.redirect).toBe("manual");
      return new Response(null, { status: 302, headers: { location: "http://ref.example.test/categories" } });
    }) as typeof fetch;
    await expect(
      fetchReferenceText(new URL("https://ref.example.test/categories"), { fetch: fake, budgetMs: 500, maxChars: 100 }),
    ).rejects.toThrow(new ReferenceFetchFailure("the reference API redirected to another origin, which is not followed"));
    expect(fetched).toEqual(["https://ref.example.test/categories"]);
  });
});

describe("the guide", () => {
  it("shows why the bundled list is in use after a refused redirect", async () => {
    const configured = await started((_req, res) => {
      res.writeHead(302, { location: "https://elsewhere.example/x" });
      res.end();
    });
    const referenceData = await loadReferenceData(`${configured.url}/categories`);
    const { body } = buildGuide({
      audience: "member",
      currency: resolveCurrency({}),
      referenceData: { ...referenceData, total: referenceData.categories.length, offered: referenceData.categories.length },
      workbookName: "Orders",
      sheets: [{ name: "Orders", slug: "orders" }],
    });
    expect(body).toContain("redirected to another origin, which is not followed");
  });
});
