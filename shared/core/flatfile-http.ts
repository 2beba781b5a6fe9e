/**
 * One request to the Flatfile API over Node's global fetch: our retries, bounded by the
 * invocation's deadline, one trace subsegment and metric per attempt, and one error type.
 *
 * Requests are sent as the SDK sends them (Authorization, `X-Disable-Hooks: true`, a JSON body,
 * query values as strings with arrays repeated), so the stand-in, which validates every body with
 * the SDK's own schemas, sees exactly what Flatfile would. Answers are read as the SDK reads them
 * (`skipValidation`, unknown keys and enum values kept): parsed JSON, not checked.
 */
import { count, METRIC, resourceOf, traceCall } from "./observability";

export interface RetryPolicy {
  /** Attempts after the first. */
  maxRetries: number;
  /** Upper bound for one attempt; the deadline may cut it shorter. */
  attemptTimeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * 3 attempts of at most 8 s, with 250 ms → 500 ms backoff (±20 % jitter). A call that keeps
 * failing gives up in about 1 s of waiting plus its attempts, and never outlives the deadline.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 2,
  attemptTimeoutMs: 8_000,
  baseDelayMs: 250,
  maxDelayMs: 2_000,
};

export type AttemptStatus = number | "timeout" | "network";

export interface TransportOptions {
  token: string;
  /** Base URL ending in `/v1`. */
  baseUrl: string;
  /** Epoch ms after which no attempt starts and none outlives. */
  deadline?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Observes every attempt (tests and the bench count round trips with it). */
  onAttempt?: (attempt: { method: string; url: string; status: AttemptStatus }) => void;
}

export type QueryValue = string | number | boolean | readonly (string | number | boolean)[] | undefined | null;

export interface FlatfileRequest {
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE";
  /** Under the base URL, ids already encoded: `/jobs/us_jb_1/ack`. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
}

/**
 * A Flatfile call that did not succeed. `statusCode` is the answer's status, undefined when there
 * was none (timeout, network); `endpoint` names the call without ids ("POST jobs/{id}/ack");
 * `path` is the request's path with ids, `body` the answer's parsed body (`{ errors: [...] }`).
 */
export class FlatfileApiError extends Error {
  readonly statusCode: number | undefined;
  readonly reason: "status" | "timeout" | "network" | "non-json";
  readonly endpoint: string;
  readonly path: string;
  readonly body: unknown;

  constructor(init: {
    reason: FlatfileApiError["reason"];
    endpoint: string;
    path: string;
    statusCode?: number;
    body?: unknown;
    cause?: unknown;
  }) {
    const what = `Flatfile ${init.endpoint}`;
    super(
      init.reason === "timeout"
        ? `${what} did not answer in time`
        : init.reason === "network"
          ? `${what} could not be reached`
          : init.reason === "non-json"
            ? `${what} answered ${init.statusCode} with a body that is not JSON`
            : `${what} answered ${init.statusCode}`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = "FlatfileApiError";
    this.reason = init.reason;
    this.statusCode = init.statusCode;
    this.endpoint = init.endpoint;
    this.path = init.path;
    this.body = init.body;
  }
}

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE"]);

/** The SDK's query encoding (qs, `arrayFormat: "repeat"`, RFC 3986): `ids=a&ids=b`, `x=a%20b`. */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
export function queryString(query: Record<string, QueryValue> | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) parts.push(`${encode(key)}=${encode(String(item))}`);
  }
  return parts.length > 0 ? `?${parts.join("&")}` : "";
}

/** Honours a numeric Retry-After (seconds). */
function retryAfterMs(headers: Headers | undefined, cap: number): number | undefined {
  const value = headers?.get("retry-after");
  if (!value || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  return Math.min(Number(value) * 1000, cap);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Attempt = { ok: true; body: unknown } | { ok: false; error: FlatfileApiError; headers?: Headers };

async function attemptOnce(
  options: TransportOptions,
  request: FlatfileRequest,
  url: string,
  endpoint: string,
  timeoutMs: number,
): Promise<Attempt> {
  const headers: Record<string, string> = { Authorization: `Bearer ${options.token}`, "X-Disable-Hooks": "true" };
  if (request.body !== undefined) headers["Content-Type"] = "application/json";
  const fail = (init: Omit<ConstructorParameters<typeof FlatfileApiError>[0], "endpoint" | "path">) =>
    new FlatfileApiError({ ...init, endpoint, path: new URL(url).pathname });
  let response: Response;
  let text: string;
  try {
    response = await fetch(url + queryString(request.query), {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await response.text();
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { ok: false, error: fail({ reason: timedOut ? "timeout" : "network", cause: error }) };
  }
  let body: unknown;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, error: fail({ reason: "non-json", statusCode: response.status, body: text }), headers: response.headers };
    }
  }
  // 3xx counts as an answer, as in the SDK's fetcher (fetch has followed redirects already).
  if (response.status >= 200 && response.status < 400) return { ok: true, body };
  return { ok: false, error: fail({ reason: "status", statusCode: response.status, body }), headers: response.headers };
}

export type Transport = <T>(request: FlatfileRequest) => Promise<T>;

/** Sends requests with retries on 408, 429, 5xx (and on timeouts or dropped connections for idempotent methods). */
export function createTransport(options: TransportOptions): Transport {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
  return async function send<T>(request: FlatfileRequest): Promise<T> {
    const url = `${options.baseUrl}${request.path}`;
    const endpoint = resourceOf(request.method, url);
    let attempt = 0;
    for (;;) {
      const remaining = deadline() - Date.now();
      if (remaining < 50) throw new FlatfileApiError({ reason: "timeout", endpoint, path: new URL(url).pathname });
      count(METRIC.flatfileCalls);
      if (attempt > 0) count(METRIC.flatfileRetries);
      const result = await traceCall(
        `Flatfile ${endpoint}`,
        () => attemptOnce(options, request, url, endpoint, Math.min(policy.attemptTimeoutMs, remaining)),
        (answered) => !answered.ok,
      );
      if (result.ok) {
        options.onAttempt?.({ method: request.method, url, status: 200 });
        return result.body as T;
      }
      count(METRIC.flatfileErrors);
      const { error } = result;
      const status: AttemptStatus = error.statusCode ?? (error.reason === "timeout" ? "timeout" : "network");
      options.onAttempt?.({ method: request.method, url, status });
      if (attempt >= policy.maxRetries) throw error;
      // A timed-out or dropped write may have landed: retrying it blindly could duplicate it, so
      // only idempotent methods are retried on those. Status-code failures were answered, so the
      // server did not apply them.
      const retryable = typeof status === "number" ? RETRYABLE_STATUS(status) : IDEMPOTENT_METHODS.has(request.method);
      if (!retryable) throw error;
      const backoff = Math.min(policy.baseDelayMs * 2 ** attempt, policy.maxDelayMs);
      const delay = retryAfterMs(result.headers, policy.maxDelayMs) ?? backoff * (0.8 + Math.random() * 0.4);
      if (Date.now() + delay + 50 >= deadline()) throw error;
      await sleep(delay);
      attempt += 1;
    }
  };
}
