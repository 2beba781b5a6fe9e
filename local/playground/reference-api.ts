/**
 * The reference-data API a Space is configured from (REFERENCE_DATA_URL), with one path per
 * behaviour so each Space can pick its own without touching another's cached answer:
 *   /ok/categories       answers at once;
 *   /slow/categories     answers after 2.5 s, past space-configure's 1.5 s budget;
 *   /failing/categories  answers 500.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export const REFERENCE_MODES = ["ok", "slow", "failing", "none"] as const;
export type ReferenceMode = (typeof REFERENCE_MODES)[number];

const CATEGORIES = [
  { value: "books", label: "Books" },
  { value: "music", label: "Music" },
  { value: "games", label: "Games" },
  { value: "garden", label: "Garden" },
];
const SLOW_MS = 2_500;

export interface ReferenceApiStandIn {
  /** The URL for REFERENCE_DATA_URL, or undefined for "none" (the bundled list). */
  urlFor(mode: ReferenceMode): string | undefined;
  close(): Promise<void>;
}

export async function startReferenceApiStandIn(): Promise<ReferenceApiStandIn> {
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((request, response) => {
    const mode = (request.url ?? "").split("/")[1];
    const answer = () => {
      if (mode === "failing") return response.writeHead(500, { "content-type": "text/plain" }).end("reference service is down");
      if (mode !== "ok" && mode !== "slow") return response.writeHead(404).end();
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ categories: CATEGORIES }));
    };
    if (mode !== "slow") return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      answer();
    }, SLOW_MS);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    urlFor: (mode) => (mode === "none" ? undefined : `${base}/${mode}/categories`),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
