/**
 * Servers that misbehave the way an attacker's would: a reference API that streams
 * without end, one that redirects elsewhere, and the "elsewhere" that records whatever reaches it.
 * Real HTTP on 127.0.0.1; two ports are two origins.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface Hit {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export interface HostileServer {
  url: string;
  hits: Hit[];
  /** Bytes handed to the socket by a streaming answer before the client went away. */
  written: number;
  close(): Promise<void>;
}

async function start(handle: (req: IncomingMessage, res: ServerResponse, state: HostileServer) => void): Promise<HostileServer> {
  const sockets = new Set<Socket>();
  const state: HostileServer = { url: "", hits: [], written: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.hits.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      handle(req, res, state);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
  return state;
}

/** Answers 200 with `body` (JSON) to everything, and records it. */
export function startRecorder(body: unknown = { ok: true }): Promise<HostileServer> {
  return start((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
}

/** Redirects every request to the same path on `target` with `status`. */
export function startRedirector(target: string, status = 302): Promise<HostileServer> {
  return start((req, res) => {
    res.writeHead(status, { location: `${target}${req.url ?? "/"}` });
    res.end();
  });
}

/**
 * A JSON string of `totalBytes` streamed in 64 KB chunks with no Content-Length, honouring
 * backpressure, so `written` tells how much the client actually pulled.
 */
export function startStreamer(totalBytes = 64 * 1024 * 1024): Promise<HostileServer> {
  const chunk = Buffer.alloc(64 * 1024, "a");
  return start((_req, res, state) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write('["');
    const pump = () => {
      while (state.written < totalBytes) {
        if (res.destroyed) return;
        state.written += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end('"]');
    };
    pump();
  });
}

/**
 * A Flatfile API that answers each request with whatever `answer` returns for its method and path
 * (path without the query; `undefined` is a 404), as an attacker who controls the API or the
 * network would: the SDK parses answers leniently, so nothing in them is checked for us.
 */
export function startHostileFlatfile(
  answer: (method: string, path: string, query: URLSearchParams) => { status?: number; body: unknown } | undefined,
): Promise<HostileServer> {
  return start((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const found = answer(req.method ?? "GET", url.pathname, url.searchParams);
    res.writeHead(found?.status ?? (found ? 200 : 404), { "content-type": "application/json" });
    res.end(JSON.stringify(found ? found.body : { errors: [{ message: "Not Found" }] }));
  });
}
