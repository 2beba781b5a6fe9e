/**
 * A tiny external "reference data" API for space-configure: answers the accepted shape of
 * shared/domain/reference-data.ts (`{ categories: [{ value, label }] }`) after a fixed latency,
 * and logs each request's arrival like the Flatfile stand-in does.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export const REFERENCE_CATEGORIES = [
  { value: "hardware", label: "Hardware" },
  { value: "software", label: "Software" },
  { value: "services", label: "Services" },
  { value: "training", label: "Training" },
];

export interface ReferenceDataServer {
  url: string;
  requests: { method: string; route: string; path: string; status: number; at: number }[];
  close(): Promise<void>;
}

export async function startReferenceDataServer(options: { latencyMs?: number } = {}): Promise<ReferenceDataServer> {
  const requests: ReferenceDataServer["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "GET", route: "reference.get", path: req.url ?? "/", status: 200, at: Date.now() });
    setTimeout(() => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ categories: REFERENCE_CATEGORIES }));
    }, options.latencyMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/categories`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
