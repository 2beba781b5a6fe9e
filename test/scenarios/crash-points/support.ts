/**
 * Plumbing for the crash-point suite: an invocation in a child process, a proxy between it and
 * the Flatfile stand-in that kills it right after its N-th Flatfile call, and the relay's own
 * delivery code for the redelivery.
 *
 * "Right after call N" is made exact: the proxy forwards the child's calls in the order they
 * arrive; once call N is forwarded it forwards nothing more and relays no more answers, waits
 * until Flatfile has answered every call it forwarded (so calls 1..N all took effect), and then
 * SIGKILLs the child. The invocation never learns the answer to call N; no later call reaches
 * Flatfile; nothing of it runs afterwards (no catch, no finally): its idempotency lock and any
 * lease it held stay in DynamoDB (dynalite, in the parent) until they lapse.
 */
import { fork, type ChildProcess } from "node:child_process";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { FlatfileStandIn, RequestLogEntry } from "../../../local/flatfile-stand-in";
import type { RoutePath } from "../../../local/gateway";
import { signPayload } from "../../../shared/core/signature";

export interface CallRecord {
  index: number;
  method: string;
  path: string;
  /** The stand-in's route name, once Flatfile answered. */
  route?: string;
  status?: number;
}

export interface CrashRun {
  /** Calls forwarded to Flatfile, in order (the last one is the crash point, when crashed). */
  calls: CallRecord[];
  /** The child was killed (else it answered: it made fewer than N calls). */
  crashed: boolean;
  /** The child's answer, if it was not killed. */
  answer?: { status: number; body: string };
}

/** Routes the stand-in logged for the given calls: matched by method, path and body, each entry once. */
function labeller(flatfile: FlatfileStandIn) {
  const claimed = new Set<RequestLogEntry>();
  return (method: string, path: string, body: string): string | undefined => {
    let parsed: unknown;
    try {
      parsed = body ? JSON.parse(body) : undefined;
    } catch {
      parsed = body;
    }
    const key = JSON.stringify(parsed);
    for (let i = flatfile.requests.length - 1; i >= 0; i--) {
      const entry = flatfile.requests[i]!;
      if (claimed.has(entry) || entry.method !== method || entry.path !== path || JSON.stringify(entry.body) !== key) continue;
      claimed.add(entry);
      return entry.route;
    }
    return undefined;
  };
}

interface CutProxy {
  url: string;
  calls: CallRecord[];
  /** Resolves once the cut happened (all forwarded calls answered by Flatfile). */
  cut: Promise<void>;
  close(): Promise<void>;
}

/** A proxy to the stand-in that forwards the first `cutAfter` calls (all, if undefined). */
async function startCutProxy(flatfile: FlatfileStandIn, cutAfter: number | undefined): Promise<CutProxy> {
  const upstream = new URL(flatfile.url);
  const label = labeller(flatfile);
  const calls: CallRecord[] = [];
  const held: ServerResponse[] = [];
  let outstanding = 0;
  let frozen = false;
  let onCut!: () => void;
  const cut = new Promise<void>((resolve) => (onCut = resolve));
  const maybeCut = () => {
    if (frozen && outstanding === 0) onCut();
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (frozen) {
        held.push(res); // after the crash point: never reaches Flatfile
        return;
      }
      const record: CallRecord = { index: calls.length + 1, method: req.method ?? "GET", path: req.url ?? "/" };
      calls.push(record);
      if (cutAfter !== undefined && record.index >= cutAfter) frozen = true;
      outstanding += 1;
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (upstreamRes) => {
          const answer: Buffer[] = [];
          upstreamRes.on("data", (chunk: Buffer) => answer.push(chunk));
          upstreamRes.on("end", () => {
            record.status = upstreamRes.statusCode;
            record.route = label(record.method, record.path, body.toString("utf8"));
            outstanding -= 1;
            if (frozen) {
              held.push(res); // the invocation never learns this answer
              maybeCut();
              return;
            }
            res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
            res.end(Buffer.concat(answer));
          });
        },
      );
      forward.on("error", () => {
        outstanding -= 1;
        res.destroy();
        maybeCut();
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls,
    cut,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ChildSetup {
  flatfile: FlatfileStandIn;
  /** The child's environment (settings, table), beside FLATFILE_API_URL which points at the proxy. */
  env: Record<string, string>;
  signingSecret: string;
  /** invocation-child.ts, bundled into one CommonJS file. */
  childFile: string;
}

function startChild(file: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = fork(file, [], { execArgv: [], env, stdio: ["ignore", "ignore", "pipe", "ipc"] });
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    child.once("message", () => resolve(child));
    child.once("exit", (code) => reject(new Error(`the invocation child exited (${code}) before it was ready:\n${stderr.slice(-2_000)}`)));
  });
}

/**
 * Runs one delivery of `event` on `path` in a child process told it has `remainingMs`, and kills
 * it right after its `cutAfter`-th Flatfile call (never, if undefined).
 */
export async function invokeAndCrash(
  setup: ChildSetup,
  path: RoutePath,
  event: Record<string, unknown>,
  options: { cutAfter?: number; remainingMs: number },
): Promise<CrashRun> {
  const proxy = await startCutProxy(setup.flatfile, options.cutAfter);
  try {
    const child = await startChild(setup.childFile, {
      ...process.env,
      ...setup.env,
      FLATFILE_API_URL: proxy.url,
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    const rawBody = JSON.stringify(event);
    const answered = new Promise<{ status: number; body: string }>((resolve) => {
      child.on("message", (message: { status?: number; body?: string; ready?: boolean }) => {
        if (!message.ready) resolve({ status: message.status ?? 0, body: message.body ?? "" });
      });
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.send({
      path,
      rawBody,
      headers: { "content-type": "application/json", "x-flatfile-signature": signPayload(rawBody, setup.signingSecret) },
      remainingMs: options.remainingMs,
    });
    const first = await Promise.race([proxy.cut.then(() => "cut" as const), answered]);
    if (first === "cut") {
      child.kill("SIGKILL");
      await exited;
      return { calls: proxy.calls, crashed: true };
    }
    child.kill("SIGKILL");
    await exited;
    return { calls: proxy.calls, crashed: false, answer: first };
  } finally {
    await proxy.close();
  }
}
