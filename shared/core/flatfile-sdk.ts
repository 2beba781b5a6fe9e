/**
 * The real @flatfile/api SDK, for the relay's registration, local tooling and tests: every
 * endpoint. The route functions never import it: they carry only the endpoints they call
 * (flatfile-client.ts), and test/bench/bundles.test.ts checks that no SDK code is bundled.
 *
 * The per-resource clients, with a fetcher that drops the SDK's `Keep-Alive: timeout=200` header
 * (Node's built-in fetch, undici, rejects it before sending anything) and applies the functions'
 * retry policy and deadline.
 */
import type { Fetcher, FetchFunction } from "@flatfile/api/core/fetcher/Fetcher";
import { fetcher as sdkFetcher } from "@flatfile/api/core/fetcher/Fetcher";
import type { APIResponse } from "@flatfile/api/core/fetcher/APIResponse";
import { abortRawResponse, type RawResponse } from "@flatfile/api/core/fetcher/RawResponse";
import { Agents } from "@flatfile/api/api/resources/agents/client/Client";
import { Apps } from "@flatfile/api/api/resources/apps/client/Client";
import { Commits } from "@flatfile/api/api/resources/commits/client/Client";
import { Documents } from "@flatfile/api/api/resources/documents/client/Client";
import { Guests } from "@flatfile/api/api/resources/guests/client/Client";
import { Jobs } from "@flatfile/api/api/resources/jobs/client/Client";
import { Records } from "@flatfile/api/api/resources/records/client/Client";
import { Secrets } from "@flatfile/api/api/resources/secrets/client/Client";
import { Sheets } from "@flatfile/api/api/resources/sheets/client/Client";
import { Spaces } from "@flatfile/api/api/resources/spaces/client/Client";
import { Users } from "@flatfile/api/api/resources/users/client/Client";
import { Workbooks } from "@flatfile/api/api/resources/workbooks/client/Client";
import { type FlatfileClientOptions, normalizeApiUrl } from "./flatfile-client";
import { DEFAULT_RETRY_POLICY } from "./flatfile-http";
import { count, METRIC, resourceOf, traceCall } from "./observability";

export type SdkClientOptions = FlatfileClientOptions;

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
export function createSdkFetcher(options: Pick<SdkClientOptions, "deadline" | "retry" | "onAttempt">): FetchFunction {
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

export interface SdkApi {
  readonly agents: Agents;
  readonly apps: Apps;
  readonly commits: Commits;
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
export function createSdkClient(options: SdkClientOptions): SdkApi {
  const shared = {
    token: options.token,
    environment: normalizeApiUrl(options.baseUrl),
    fetcher: createSdkFetcher(options),
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
    get apps() {
      return lazy("apps", () => new Apps(shared));
    },
    get commits() {
      return lazy("commits", () => new Commits(shared));
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
