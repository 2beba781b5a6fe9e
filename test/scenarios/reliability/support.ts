/**
 * Plumbing for the reliability suite: the world it runs in (gateway, Flatfile stand-in, local
 * DynamoDB, Secrets Manager stand-in, reference-data APIs), signed HTTP deliveries, the contract
 * check every answer goes through, the log capture and the counters of the summary line.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { listenOnLoopback } from "../../../local/loopback";
import { signPayload } from "../../../shared/core/signature";

// ---------------------------------------------------------------------------------------------
// Counters for the summary line
// ---------------------------------------------------------------------------------------------

export const counters = {
  scenarios: 0,
  faults: 0,
  hostile: 0,
  /** Attacks from someone who knows the URL: floods, forgeries, hostile answers. */
  attacks: 0,
  deliveries: 0,
  contractViolations: [] as string[],
  /** Writes of ours that named another listener's Space, workbook, sheet or job (must stay empty). */
  foreignTouched: [] as string[],
};

export function fault(n = 1): void {
  counters.faults += n;
}

export function attack(n = 1): void {
  counters.attacks += n;
}

// ---------------------------------------------------------------------------------------------
// Log capture: every byte written to stdout/stderr and every console call, while installed
// ---------------------------------------------------------------------------------------------

export interface LogCapture {
  readonly lines: string[];
  /** Characters captured (lines can be long). */
  chars(): number;
  restore(): void;
}

export function captureLogs(): LogCapture {
  const chunks: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const consoleMethods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  const originals = consoleMethods.map((m) => console[m]);
  const grab = (chunk: unknown): void => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : String(chunk));
  };
  const fakeWrite = ((chunk: unknown, ...rest: unknown[]) => {
    grab(chunk);
    const callback = rest.find((r): r is () => void => typeof r === "function");
    callback?.();
    return true;
  }) as typeof process.stdout.write;
  process.stdout.write = fakeWrite;
  process.stderr.write = fakeWrite;
  for (const m of consoleMethods) {
    console[m] = (...args: unknown[]) => grab(args.map((a) => (typeof a === "string" ? a : safeJson(a))).join(" ") + "\n");
  }
  return {
    get lines() {
      return chunks
        .join("")
        .split("\n")
        .filter((l) => l.length > 0);
    },
    chars: () => chunks.reduce((n, c) => n + c.length, 0),
    restore() {
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
      consoleMethods.forEach((m, i) => {
        console[m] = originals[i]!;
      });
    },
  };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------------------------
// Reference-data API: answers, or hangs forever
// ---------------------------------------------------------------------------------------------

export { startReferenceApi, type ReferenceApi } from "../../support/reference-api";

/** A server that accepts connections and never answers (a hung dependency). */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  return listenOnLoopback(createServer(() => undefined));
}

// ---------------------------------------------------------------------------------------------
// HTTP deliveries
// ---------------------------------------------------------------------------------------------

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  ms: number;
  /** Lower-case names. */
  headers: Record<string, string>;
}

export const newSigningSecret = () => `whsec_${randomBytes(24).toString("hex")}`;

export interface SendOptions {
  /** The signature header: a string, null for none, undefined to sign with `secret` at `t`. */
  signature?: string | null;
  secret?: string | string[];
  /** Unix seconds to sign at (stale/future). */
  t?: number;
  headers?: Record<string, string>;
  /** Give up waiting after this long: the answer is then status 0 ("no answer in time"). */
  timeoutMs?: number;
}

export async function send(
  baseUrl: string,
  path: string,
  body: string | Buffer,
  secret: string,
  options: SendOptions = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  const raw = typeof body === "string" ? body : body.toString("utf8");
  const signature = options.signature === undefined ? signPayload(raw, options.secret ?? secret, options.t) : options.signature;
  if (signature !== null) headers["x-flatfile-signature"] = signature;
  const started = Date.now();
  counters.deliveries += 1;
  let response: Response;
  let text: string;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : new Uint8Array(body),
      ...(options.timeoutMs ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
    });
    text = await response.text();
  } catch (error) {
    if (options.timeoutMs && error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      return { status: 0, body: {}, text: `no answer within ${options.timeoutMs} ms`, ms: Date.now() - started, headers: {} };
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const answer: Answer = {
    status: response.status,
    body: typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {},
    text,
    ms: Date.now() - started,
    headers: headersOf(response),
  };
  checkContractShape(path, answer);
  return answer;
}

function headersOf(response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, key) => (headers[key.toLowerCase()] = value));
  return headers;
}

/** The shape every answer must have, whatever the scenario. Violations are collected, not thrown. */
export function checkContractShape(path: string, a: Answer): void {
  const problems: string[] = [];
  const known = [200, 400, 401, 403, 404, 413];
  if (!known.includes(a.status) && !(a.status >= 500 && a.status <= 599)) problems.push(`unexpected status ${a.status}`);
  let isObject = false;
  try {
    const v: unknown = JSON.parse(a.text);
    isObject = typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    isObject = false;
  }
  if (!isObject) problems.push("body is not a JSON object");
  if (a.status === 200) {
    if ("error" in a.body) problems.push("a 200 carries an error");
    if (a.body.ignored === true && typeof a.body.reason !== "string") problems.push("ignored without a reason");
  } else if (a.status === 413) {
    if (typeof a.body.message !== "string") problems.push("413 without a message");
  } else if (typeof a.body.error !== "string") {
    problems.push(`${a.status} without an error message`);
  }
  if (a.status === 401 && a.body.error !== "invalid signature") problems.push("401 says more than 'invalid signature'");
  if (a.status === 503 && /being handled right now/.test(String(a.body.error)) && !/^\d+$/.test(a.headers["retry-after"] ?? "")) {
    problems.push("a 503 for a copy in flight without a Retry-After in seconds");
  }
  if (problems.length) counters.contractViolations.push(`${path} → ${a.status}: ${problems.join("; ")} (${a.text.slice(0, 200)})`);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { prng } from "../../support/prng";

export function shuffle<T>(items: T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
