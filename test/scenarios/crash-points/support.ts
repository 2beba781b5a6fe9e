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
import type { ServedPath } from "../../../local/gateway";
import { signPayload } from "../../../shared/core/signature";

export interface CallRecord {
  index: number;
  method: string;
  path: string;
  /** The stand-in's route name once Flatfile answered, or the AWS operation (`s3.UploadPart`, `eventbridge.PutEvents`). */
  route?: string;
  status?: number;
}

/** The AWS services a delivery may call beside Flatfile: their local servers, cut with the same count. */
export interface AwsUpstreams {
  s3?: string;
  eventbridge?: string;
}

/** The S3 operation a REST request is (the calls a submission makes), from its method, path and query. */
function s3Operation(method: string, path: string): string {
  const query = new URL(path, "http://s3.local").searchParams;
  if (method === "POST" && query.has("uploads")) return "s3.CreateMultipartUpload";
  if (method === "POST" && query.has("uploadId")) return "s3.CompleteMultipartUpload";
  if (method === "PUT" && query.has("partNumber")) return "s3.UploadPart";
  if (method === "DELETE" && query.has("uploadId")) return "s3.AbortMultipartUpload";
  const verbs: Record<string, string> = { HEAD: "HeadObject", GET: "GetObject", PUT: "PutObject", DELETE: "DeleteObject" };
  return `s3.${verbs[method] ?? method}`;
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

interface CutProxies {
  /** The child's FLATFILE_API_URL. */
  url: string;
  /** The child's AWS_ENDPOINT_URL_<SERVICE>, for each AWS upstream given. */
  aws: AwsUpstreams;
  calls: CallRecord[];
  cut: Promise<void>;
  close(): Promise<void>;
}

/**
 * Proxies to the stand-in and to each AWS upstream that forward the first `cutAfter` calls (all,
 * if undefined) counted across all of them, in the order they arrive.
 */
async function startCutProxy(flatfile: FlatfileStandIn, cutAfter: number | undefined, aws: AwsUpstreams = {}): Promise<CutProxies> {
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

  type Service = "flatfile" | keyof AwsUpstreams;
  const serve = (service: Service, upstream: URL): Server =>
    createServer((req: IncomingMessage, res: ServerResponse) => {
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
            // AWS requests are signed over their host header: those go on as signed.
            headers: service === "flatfile" ? { ...req.headers, host: upstream.host } : req.headers,
          },
          (upstreamRes) => {
            const answer: Buffer[] = [];
            upstreamRes.on("data", (chunk: Buffer) => answer.push(chunk));
            upstreamRes.on("end", () => {
              record.status = upstreamRes.statusCode;
              record.route =
                service === "flatfile"
                  ? label(record.method, record.path, body.toString("utf8"))
                  : service === "s3"
                    ? s3Operation(record.method, record.path)
                    : `eventbridge.${String(req.headers["x-amz-target"] ?? "").replace(/^AWSEvents\./, "")}`;
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
  const listen = async (server: Server) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const servers = [serve("flatfile", new URL(flatfile.url))];
  const url = `${await listen(servers[0]!)}/v1`;
  const endpoints: AwsUpstreams = {};
  for (const service of ["s3", "eventbridge"] as const) {
    const upstream = aws[service];
    if (!upstream) continue;
    const server = serve(service, new URL(upstream));
    servers.push(server);
    endpoints[service] = await listen(server);
  }
  return {
    url,
    aws: endpoints,
    calls,
    cut,
    close: async () => {
      for (const res of held) res.destroy();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((resolve) => {
              server.closeAllConnections();
              server.close(() => resolve());
            }),
        ),
      );
    },
  };
}

export interface ChildSetup {
  flatfile: FlatfileStandIn;
  /** The child's environment (settings, table), beside FLATFILE_API_URL which points at the proxy. */
  env: Record<string, string>;
  signingSecret: string;
  /** invocation-child.ts, bundled into one CommonJS file. */
  childFile: string;
  /** Local S3 and EventBridge, whose calls count as crash points too (the child reaches them through the proxy). */
  aws?: AwsUpstreams;
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
  path: ServedPath,
  event: Record<string, unknown>,
  options: { cutAfter?: number; remainingMs: number },
): Promise<CrashRun> {
  const proxy = await startCutProxy(setup.flatfile, options.cutAfter, setup.aws);
  try {
    const child = await startChild(setup.childFile, {
      ...process.env,
      ...setup.env,
      FLATFILE_API_URL: proxy.url,
      ...(proxy.aws.s3 ? { AWS_ENDPOINT_URL_S3: proxy.aws.s3 } : {}),
      ...(proxy.aws.eventbridge ? { AWS_ENDPOINT_URL_EVENTBRIDGE: proxy.aws.eventbridge } : {}),
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
