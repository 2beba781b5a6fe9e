/**
 * A local stand-in for the external reference-data API that space-configure reads
 * (REFERENCE_DATA_URL): answers `{ categories: [...] }`, the shape shared/domain/reference-data.ts
 * accepts, or misbehaves as a test sets it. Logs each request's arrival like the Flatfile stand-in.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type ReferenceMode = "ok" | "hang" | "500" | "garbage";

export const REFERENCE_CATEGORIES = [
  { value: "books", label: "Books" },
  { value: "music", label: "Music" },
];

export interface ReferenceApi {
  url: string;
  /** What the next requests get; change it between deliveries. */
  mode: ReferenceMode;
  requests: { method: string; route: string; path: string; status: number; at: number }[];
  readonly calls: number;
  close(): Promise<void>;
}

export async function startReferenceApi(
  options: { mode?: ReferenceMode; latencyMs?: number; categories?: { value: string; label: string }[] } = {},
): Promise<ReferenceApi> {
  const requests: ReferenceApi["requests"] = [];
  let current: ReferenceMode = options.mode ?? "ok";
  const server: Server = createServer((request, response) => {
    const mode = current;
    const entry = { method: request.method ?? "GET", route: "reference.get", path: request.url ?? "/", status: 0, at: Date.now() };
    requests.push(entry);
    if (mode === "hang") return; // never answers
    setTimeout(() => {
      if (mode === "500") {
        entry.status = 500;
        response.writeHead(500).end("boom");
        return;
      }
      entry.status = 200;
      response.writeHead(200, { "content-type": "application/json" });
      response.end(mode === "garbage" ? "{not json" : JSON.stringify({ categories: options.categories ?? REFERENCE_CATEGORIES }));
    }, options.latencyMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/categories`,
    get mode() {
      return current;
    },
    set mode(mode: ReferenceMode) {
      current = mode;
    },
    requests,
    get calls() {
      return requests.length;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
