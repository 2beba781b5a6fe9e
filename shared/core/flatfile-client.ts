/**
 * The Flatfile client: the real @flatfile/api SDK, one resource client per family.
 *
 * Importing the per-resource clients (rather than the package root) keeps the bundle and the cold
 * start small: the root pulls every resource, the node-fetch/form-data polyfills and the records
 * wrapper we do not use. The fetcher below fixes the SDK's `Keep-Alive: timeout=200` header,
 * which Node's built-in fetch (undici) rejects before sending anything, and replaces the SDK's
 * retry policy (1 s, 2 s backoff, 60 s timeouts) with one bounded by the invocation's deadline.
 */
import type { Fetcher, FetchFunction } from "@flatfile/api/core/fetcher/Fetcher";
import { fetcher as sdkFetcher } from "@flatfile/api/core/fetcher/Fetcher";
import type { APIResponse } from "@flatfile/api/core/fetcher/APIResponse";
import { abortRawResponse, type RawResponse } from "@flatfile/api/core/fetcher/RawResponse";
import { Agents } from "@flatfile/api/api/resources/agents/client/Client";
import { Documents } from "@flatfile/api/api/resources/documents/client/Client";
import { Guests } from "@flatfile/api/api/resources/guests/client/Client";
import { Jobs } from "@flatfile/api/api/resources/jobs/client/Client";
import { Records } from "@flatfile/api/api/resources/records/client/Client";
import { Secrets } from "@flatfile/api/api/resources/secrets/client/Client";
import { Sheets } from "@flatfile/api/api/resources/sheets/client/Client";
import { Spaces } from "@flatfile/api/api/resources/spaces/client/Client";
import { Users } from "@flatfile/api/api/resources/users/client/Client";
import { Workbooks } from "@flatfile/api/api/resources/workbooks/client/Client";
import { count, METRIC, resourceOf, traceCall } from "./observability";

export const DEFAULT_FLATFILE_API_URL = "https://platform.flatfile.com/api/v1";

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

export interface FlatfileClientOptions {
  token: string;
  /** Base URL with or without `/v1`. Defaults to the production API. */
  baseUrl?: string;
  /** Epoch ms after which no attempt starts and none outlives. */
  deadline?: () => number;
  retry?: Partial<RetryPolicy>;
  /** Observes every attempt (tests and the bench count round trips with it). */
  onAttempt?: (attempt: { method: string; url: string; status: number | "timeout" | "network" }) => void;
}

export function normalizeApiUrl(url: string | undefined): string {
  const base = (url ?? DEFAULT_FLATFILE_API_URL).replace(/\/+$/, "");
  return base.endsWith("/v1") ? base : `${base}/v1`;
}

const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;
const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE"]);

function withoutKeepAlive(headers: Fetcher.Args["headers"]): Fetcher.Args["headers"] {
  if (!headers) return headers;
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== "keep-alive") out[key] = value;
  }
  return out;
}

/** Honours a numeric Retry-After (seconds), which the SDK's own retry loop ignores. */
function retryAfterMs(raw: RawResponse | undefined, cap: number): number | undefined {
  const value = raw?.headers?.get?.("retry-after");
  if (!value || !/^\d+(\.\d+)?$/.test(value)) return undefined;
  return Math.min(Number(value) * 1000, cap);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A fetcher that delegates to the SDK's own, minus the header undici rejects, with our retries. */
export function createFetcher(options: Pick<FlatfileClientOptions, "deadline" | "retry" | "onAttempt">): FetchFunction {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const deadline = options.deadline ?? (() => Number.POSITIVE_INFINITY);
  return async function flatfileFetcher<R>(args: Fetcher.Args): Promise<APIResponse<R, Fetcher.Error>> {
    const method = args.method.toUpperCase();
    let attempt = 0;
    for (;;) {
      const remaining = deadline() - Date.now();
      if (remaining < 50) return { ok: false, error: { reason: "timeout" }, rawResponse: abortRawResponse };
      count(METRIC.flatfileCalls);
      if (attempt > 0) count(METRIC.flatfileRetries);
      const response = await traceCall(
        `Flatfile ${resourceOf(method, args.url)}`,
        () =>
          sdkFetcher<R>({
            ...args,
            headers: withoutKeepAlive(args.headers),
            timeoutMs: Math.min(policy.attemptTimeoutMs, remaining),
            maxRetries: 0,
          }),
        (answered) => !answered.ok,
      );
      if (!response.ok) count(METRIC.flatfileErrors);
      const status = response.ok
        ? 200
        : response.error.reason === "status-code" || response.error.reason === "non-json"
          ? response.error.statusCode
          : response.error.reason === "timeout"
            ? "timeout"
            : "network";
      options.onAttempt?.({ method, url: args.url, status });
      if (response.ok || attempt >= policy.maxRetries) return response;
      // A timed-out or dropped write may have landed: retrying it blindly could duplicate it, so
      // only idempotent methods are retried on those. Status-code failures were answered, so the
      // server did not apply them.
      const retryable = typeof status === "number" ? RETRYABLE_STATUS(status) : IDEMPOTENT_METHODS.has(method);
      if (!retryable) return response;
      const backoff = Math.min(policy.baseDelayMs * 2 ** attempt, policy.maxDelayMs);
      const delay = retryAfterMs(response.rawResponse, policy.maxDelayMs) ?? backoff * (0.8 + Math.random() * 0.4);
      if (Date.now() + delay + 50 >= deadline()) return response;
      await sleep(delay);
      attempt += 1;
    }
  };
}

export interface FlatfileApi {
  readonly agents: Agents;
  readonly documents: Documents;
  readonly guests: Guests;
  readonly jobs: Jobs;
  readonly records: Records;
  readonly secrets: Secrets;
  readonly sheets: Sheets;
  readonly spaces: Spaces;
  readonly users: Users;
  readonly workbooks: Workbooks;
}

/** One client per invocation: resource clients are built on first use, so unused ones cost nothing. */
export function createFlatfileClient(options: FlatfileClientOptions): FlatfileApi {
  const shared = {
    token: options.token,
    environment: normalizeApiUrl(options.baseUrl),
    fetcher: createFetcher(options),
  };
  const made = new Map<string, unknown>();
  const lazy = <T>(name: string, make: () => T): T => {
    if (!made.has(name)) made.set(name, make());
    return made.get(name) as T;
  };
  return {
    get agents() {
      return lazy("agents", () => new Agents(shared));
    },
    get documents() {
      return lazy("documents", () => new Documents(shared));
    },
    get guests() {
      return lazy("guests", () => new Guests(shared));
    },
    get jobs() {
      return lazy("jobs", () => new Jobs(shared));
    },
    get records() {
      return lazy("records", () => new Records(shared));
    },
    get secrets() {
      return lazy("secrets", () => new Secrets(shared));
    },
    get sheets() {
      return lazy("sheets", () => new Sheets(shared));
    },
    get spaces() {
      return lazy("spaces", () => new Spaces(shared));
    },
    get users() {
      return lazy("users", () => new Users(shared));
    },
    get workbooks() {
      return lazy("workbooks", () => new Workbooks(shared));
    },
  };
}
