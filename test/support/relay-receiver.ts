/**
 * A real HTTP receiver on 127.0.0.1 standing in for the AWS API: it records what the relay sends
 * and verifies each request with the shared verifier, answering from a per-test script.
 */
import { readFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { RetryBound } from "../../infra/relay/forward";
import { SIGNATURE_HEADER, verifySignature, type SignatureCheck } from "../../shared/core/signature";

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  signature: SignatureCheck;
}

export type Scripted = number | "drop";

export interface Receiver {
  url: string;
  received: Received[];
  /** Answers for the next requests, in order; 200 once it runs out. */
  script: Scripted[];
  /** Answers for the next requests to one path, before `script`: each route answering on its own. */
  scriptByPath: Record<string, Scripted[]>;
  reset(): void;
  close(): Promise<void>;
}

export async function startReceiver(signingSecret: string): Promise<Receiver> {
  const state = { received: [] as Received[], script: [] as Scripted[], byPath: {} as Record<string, Scripted[]> };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const header = request.headers[SIGNATURE_HEADER];
      state.received.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: request.headers,
        body,
        signature: verifySignature(Array.isArray(header) ? header[0] : header, body, [signingSecret]),
      });
      const next = state.byPath[request.url ?? ""]?.shift() ?? state.script.shift() ?? 200;
      if (next === "drop") {
        request.socket.destroy();
        return;
      }
      response.writeHead(next, { "content-type": "application/json" });
      response.end(JSON.stringify(next < 300 ? { ok: true } : { error: `scripted ${next}` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    get received() {
      return state.received;
    },
    get script() {
      return state.script;
    },
    set script(value: Scripted[]) {
      state.script = value;
    },
    get scriptByPath() {
      return state.byPath;
    },
    set scriptByPath(value: Record<string, Scripted[]>) {
      state.byPath = value;
    },
    reset() {
      state.received = [];
      state.script = [];
      state.byPath = {};
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  } as Receiver;
}

export type SampleName = "space-configure" | "action-duplicate" | "action-submit" | "commit-created";

/** A sample platform event (test/support/events: fixed ids, unlike the templates in local/events), as a fresh object. */
export function sampleEvent(name: SampleName): Record<string, any> {
  return JSON.parse(readFileSync(join(__dirname, "events", `${name}.json`), "utf8"));
}

/** The relay's retry bound, short for tests: quick retries, with the total, reserve and attempt time a test needs. */
export function fastRelayBound(totalMs: number, failReserveMs: number, attemptTimeoutMs = 1_000): RetryBound {
  return { totalMs, failReserveMs, attemptTimeoutMs, baseDelayMs: 10, maxDelayMs: 20, throttledBaseDelayMs: 10, throttledMaxDelayMs: 20 };
}
