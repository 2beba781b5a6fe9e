/**
 * The stand-in's HTTP side: matches `/v1/...` requests to routes, checks the bearer token,
 * validates bodies against the SDK's schemas, logs every request as it went over the wire, and
 * injects faults per route (status sequences, latency, requests that never answer).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { HttpError } from "./errors";
import { formatPath, serialization, STRICT, type Serialization, type WireSchema } from "./schemas";
import type { Store } from "./store";
import type { Faults, RequestLogEntry, RouteName } from "./types";

export type Handler = (store: Store, params: string[], body: unknown, query: URLSearchParams, headers: IncomingHttpHeaders) => unknown;

export interface Route {
  method: string;
  /** Matched against the path after `/v1`, without a trailing slash; groups are the params. */
  pattern: RegExp;
  name: RouteName;
  /** The SDK's schema the body must pass, strictly. */
  schema?: (s: Serialization) => WireSchema;
  handle: Handler;
}

/** One path segment, as a capture group. */
export const ID = "([^/]+)";
/** The platform's envelope for a successful answer. */
export const ok = (data: unknown) => ({ data });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function matchRoute(routes: readonly Route[], method: string, pathname: string): { route: Route; params: string[] } | undefined {
  const rest = pathname.replace(/^\/v1(?=\/|$)/, "").replace(/\/+$/, "") || "/";
  for (const route of routes) {
    if (route.method !== method) continue;
    const m = route.pattern.exec(rest);
    if (m) return { route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

/**
 * A request body as text. `@flatfile/listener`'s `event.update` sends the records gzipped with
 * `Content-Encoding: gzip` (its default; @flatfile/listener 1.1.2 `FlatfileEvent.update`, which
 * plugin-record-hook's write-back calls), so the platform takes a gzip body on these routes.
 */
function bodyText(request: IncomingMessage, raw: Buffer): string {
  const encoding = String(request.headers["content-encoding"] ?? "").toLowerCase();
  return (encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
}

export interface RouterServer {
  url: string;
  requests: RequestLogEntry[];
  faults: Faults;
  close(): Promise<void>;
}

export async function serveRoutes(
  routes: readonly Route[],
  store: Store,
  options: { port?: number; latencyMs?: number; apiKey: string },
): Promise<RouterServer> {
  const { apiKey } = options;
  const globalLatency = options.latencyMs ?? 0;
  const requests: RequestLogEntry[] = [];

  const statusFaults = new Map<string, number[]>();
  const latencyFaults = new Map<string, number>();
  const hangFaults = new Map<string, number>();
  const hung = new Set<ServerResponse>();

  const faults: Faults = {
    statuses(route, list) {
      statusFaults.set(route, [...(statusFaults.get(route) ?? []), ...list]);
    },
    latency(route, ms) {
      if (ms > 0) latencyFaults.set(route, ms);
      else latencyFaults.delete(route);
    },
    hang(route, count = Number.POSITIVE_INFINITY) {
      hangFaults.set(route, count);
    },
    clear() {
      statusFaults.clear();
      latencyFaults.clear();
      hangFaults.clear();
    },
  };

  function takeFault<T>(map: Map<string, T>, route: string): { key: string; value: T } | undefined {
    for (const key of [route, "*"]) {
      const value = map.get(key);
      if (value !== undefined) return { key, value };
    }
    return undefined;
  }

  function send(response: ServerResponse, entry: RequestLogEntry, status: number, body: unknown): void {
    entry.status = status;
    if (response.destroyed || response.writableEnded) return;
    const text = JSON.stringify(body);
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
  }

  async function handle(request: IncomingMessage, response: ServerResponse, rawText: string): Promise<void> {
    const method = (request.method ?? "GET").toUpperCase();
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const matched = matchRoute(routes, method, url.pathname);
    const route: string = matched?.route.name ?? "unknown";

    let parsed: unknown;
    let malformed = false;
    if (rawText.length > 0) {
      try {
        parsed = JSON.parse(rawText);
      } catch {
        malformed = true;
      }
    }
    const entry: RequestLogEntry = { method, route, path: request.url ?? "/", status: 0, at: Date.now() };
    if (rawText.length > 0) entry.body = malformed ? rawText : parsed;
    requests.push(entry);

    const latency = globalLatency + (takeFault(latencyFaults, route)?.value ?? 0);
    if (latency > 0) await sleep(latency);

    const auth = request.headers.authorization;
    if (auth !== `Bearer ${apiKey}`) {
      send(response, entry, 401, { errors: [{ message: auth ? "The API key was not accepted" : "Missing bearer token" }] });
      return;
    }

    const hang = takeFault(hangFaults, route);
    if (hang && hang.value > 0) {
      hangFaults.set(hang.key, hang.value - 1);
      entry.status = 0;
      hung.add(response);
      response.on("close", () => hung.delete(response));
      return;
    }
    const scripted = takeFault(statusFaults, route);
    if (scripted && scripted.value.length > 0) {
      const status = scripted.value.shift()!;
      if (scripted.value.length === 0) statusFaults.delete(scripted.key);
      send(response, entry, status, { errors: [{ message: `Injected fault: HTTP ${status} on ${route}` }] });
      return;
    }

    if (!matched) {
      send(response, entry, 404, { errors: [{ message: `No route for ${method} ${url.pathname}` }] });
      return;
    }
    if (malformed) {
      send(response, entry, 400, { errors: [{ message: "The request body is not valid JSON" }] });
      return;
    }
    if (matched.route.schema) {
      const result = matched.route.schema(await serialization()).parse(parsed, STRICT);
      if (!result.ok) {
        send(response, entry, 400, {
          errors: result.errors.map((e) => {
            const key = formatPath(e.path);
            return key ? { key, message: `${key}: ${e.message}` } : { message: e.message };
          }),
        });
        return;
      }
    }
    try {
      // The platform's timers act on their own; the stand-in runs them before it answers.
      store.tick();
      const answer = matched.route.handle(store, matched.params, parsed, url.searchParams, request.headers);
      send(response, entry, 200, answer);
    } catch (error) {
      if (error instanceof HttpError) {
        send(response, entry, error.status, {
          errors: [error.key ? { key: error.key, message: error.message } : { message: error.message }],
        });
      } else {
        send(response, entry, 500, { errors: [{ message: error instanceof Error ? error.message : String(error) }] });
      }
    }
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      let text: string;
      try {
        text = bodyText(request, Buffer.concat(chunks));
      } catch {
        response.writeHead(400, { "content-type": "application/json" });
        response.end(JSON.stringify({ errors: [{ message: "The request body is not valid gzip" }] }));
        return;
      }
      handle(request, response, text).catch((error: unknown) => {
        if (!response.headersSent && !response.destroyed) {
          response.writeHead(500, { "content-type": "application/json" });
          response.end(JSON.stringify({ errors: [{ message: String(error) }] }));
        }
      });
    });
  });
  // Idle keep-alive connections are left for the client to close (0 = no server-side idle
  // timeout). Node's default closes one after 5 s (+1 s), and a client that had just reused it
  // (fetch reuses it for a few seconds on that hint) got ECONNRESET when the process stalled for the
  // remaining seconds before the request was read, as a test process does on a loaded machine
  // (reproduced: a 3.5 s stall after 2.9 s idle resets every request). Nothing depends on the
  // server closing idle connections; close() still cuts them all.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    faults,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hung) response.destroy();
        hung.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
