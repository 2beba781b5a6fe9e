/**
 * The relay's core: which events it owns, how it delivers one (signed, retried within a bound) and
 * how it fails a job it could not deliver. Fetch, sleep, the clock and randomness are injected so
 * the tests run the real logic in milliseconds. The bound and the retry schedules, and why:
 * docs/design.md#the-relays-delivery-bound.
 */
import { FAILED_HEADINGS } from "../../shared/core/job-outcomes";
import { RELAY_GAVE_UP, RELAY_SIGNATURE_REFUSED } from "../../shared/core/relay-agent";
import { normalizeSigningSecret, signPayload, SIGNATURE_HEADER } from "../../shared/core/signature";
import { parseOwnedSpaces } from "../../shared/core/owned-spaces";
import { LISTENER_ROUTE, ROUTED_TOPICS, routesFor } from "../../shared/routes";
import { listenerMatcher, namedJobs, type ListenerSubscription } from "./listener-match";

export const RELAY_SECRET_SIGNING = "RELAY_SIGNING_SECRET";
export const RELAY_SECRET_BASE_URL = "RELAY_BASE_URL";
/** Only during a rotation: the signing secret before it, also signed with (several `v1=`). */
export const RELAY_SECRET_PREVIOUS_SIGNING = "RELAY_PREVIOUS_SIGNING_SECRET";

/** The topics the agent subscribes to for our own routes (the default plan). */
export const RELAY_TOPICS = ROUTED_TOPICS;

/**
 * What a deploy's relay forwards beyond our own routes, fixed at build time (plan.ts) and carried
 * as data in the bundle: the customer's listener when the deploy serves /listener (listenerRoute),
 * and the ownedSpaces setting. The empty plan is our own routes for every Space.
 */
export interface RelayPlan {
  /**
   * What listener/index.ts registered, and the topics that takes; absent: no /listener. `jobs`:
   * those of our routes the deploy hands to it (spaceConfigureBy), which our routes then do not get.
   */
  listener?: { subscriptions: readonly ListenerSubscription[]; topics: readonly string[]; jobs?: readonly string[] };
  /** OWNED_SPACES as validated (shared/core/owned-spaces.ts); absent: every Space. */
  ownedSpaces?: string;
}

/** The topics an agent with this plan subscribes to (registration passes the same list to `agents.create`). */
export function relayTopics(plan: RelayPlan = {}): string[] {
  return [...new Set([...ROUTED_TOPICS, ...(plan.listener?.topics ?? [])])];
}

/** One place an event goes: a route's path, and whether a give-up fails the event's job. */
export interface RelayDestination {
  name: string;
  path: string;
  /** The job is this route's (its declared jobs, or one the listener names): failed when the relay gives up. */
  failsJob: boolean;
}

const matchers = new WeakMap<readonly ListenerSubscription[], (body: Record<string, unknown>) => boolean>();

/**
 * Every route that takes the event, each delivered on its own: ours (shared/routes.ts), then the
 * listener's when the plan has one and its subscriptions match what it would be handed. A job one
 * of our routes owns never goes to the listener, unless the plan hands it over (then only to it).
 */
export function destinationsFor(event: PlatformEvent, plan: RelayPlan = {}): RelayDestination[] {
  const handed = plan.listener?.jobs ?? [];
  const ours = routesFor(event, handed).map((route) => ({ name: route.name, path: route.path, failsJob: route.jobs !== undefined }));
  const listener = plan.listener;
  if (!listener || ours.some((route) => route.failsJob) || !listener.topics.includes(event.topic ?? "")) return ours;
  const takes = matchers.get(listener.subscriptions) ?? listenerMatcher(listener.subscriptions);
  matchers.set(listener.subscriptions, takes);
  if (!takes(JSON.parse(forwardedBody(event)) as Record<string, unknown>)) return ours;
  const job = event.payload?.job;
  const failsJob =
    event.topic?.startsWith("job:") === true &&
    typeof job === "string" &&
    (handed.includes(job) || namedJobs(listener.subscriptions).includes(job));
  return [...ours, { name: LISTENER_ROUTE.name, path: LISTENER_ROUTE.path, failsJob }];
}

/**
 * Why the relay drops an event of a Space that is not ours, or undefined to forward it. Only when
 * the event's `namespaces` decide it: Flatfile's `space:<namespace>` filter matches on them, for a
 * Space with that namespace or of an App with it (docs, "Namespaces and filters"). An App id named
 * in the setting, or an event without namespaces, cannot be decided here: the route decides.
 */
export function notOwnedBecause(event: PlatformEvent, plan: RelayPlan = {}): string | undefined {
  const rule = parseOwnedSpaces(plan.ownedSpaces);
  if (!rule || rule.namespaces.length === 0 || rule.appIds.length > 0) return undefined;
  const namespaces = event.namespaces as unknown;
  if (!Array.isArray(namespaces) || namespaces.length === 0 || !namespaces.every((n) => typeof n === "string")) return undefined;
  if (namespaces.some((n) => n.startsWith("space:") && rule.namespaces.includes(n.slice("space:".length)))) return undefined;
  return "the event's namespaces name none of the Spaces this deploy owns (ownedSpaces)";
}

export interface RetryBound {
  /** The whole event, delivery and failing the job included. */
  totalMs: number;
  /** Kept at the end for failing the job; no delivery attempt runs into it. */
  failReserveMs: number;
  attemptTimeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Backoff after the gateway's throttle (429 without Retry-After). */
  throttledBaseDelayMs: number;
  throttledMaxDelayMs: number;
}

export const RELAY_BOUND: RetryBound = {
  totalMs: 60_000,
  failReserveMs: 5_000,
  attemptTimeoutMs: 30_000,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
  throttledBaseDelayMs: 250,
  throttledMaxDelayMs: 1_000,
};

export interface RelayDeps {
  fetch: typeof globalThis.fetch;
  sleep: (ms: number) => Promise<void>;
  /**
   * Calls `fire` after `ms` on the same clock as `now` and `sleep` (an attempt's timeout); returns
   * a cancel. Injected with them so that a simulated clock times attempts out in simulated time.
   */
  timer: (ms: number, fire: () => void) => () => void;
  /** Epoch ms. */
  now: () => number;
  /** In [0, 1). */
  random: () => number;
  log: (level: "info" | "warn" | "error", message: string, fields?: Record<string, unknown>) => void;
}

export const defaultDeps = (): RelayDeps => ({
  fetch: (...args) => globalThis.fetch(...args),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  timer: (ms, fire) => {
    const handle = setTimeout(fire, ms);
    return () => clearTimeout(handle);
  },
  now: () => Date.now(),
  random: Math.random,
  log: (level, message, fields) => {
    // One JSON line per entry: Flatfile's agent log shows stdout/stderr. Never logs secrets.
    const line = JSON.stringify({ level, message, ...fields });
    if (level === "error") console.error(line);
    else console.log(line);
  },
});

/** The raw platform event as it reaches the agent (only the fields the relay reads are typed). */
export interface PlatformEvent {
  id?: string;
  topic?: string;
  context?: { jobId?: string; environmentId?: string; [key: string]: unknown };
  payload?: { job?: string; [key: string]: unknown } | null;
  [key: string]: unknown;
}

/** Our own route's path for an event (shared/routes.ts), or undefined for anything else. */
export function routeFor(event: PlatformEvent): string | undefined {
  return routesFor(event)[0]?.path;
}

/**
 * Whether the relay may send signed events to `baseUrl`: https only, so the body and its signature
 * are never sent in clear nor downgraded; plain http only to this machine (tests, `npm start`).
 * No credentials in the URL. Used by the relay itself, by `register` and by `relay:deploy`.
 */
export function isAllowedBaseUrl(baseUrl: string): boolean {
  let url: URL;
  try {
    url = new URL(baseUrl.trim());
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:") return true;
  return url.protocol === "http:" && ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
}

/**
 * The fields of a platform event our routes read (and the signature covers), in the event's own
 * order. Nothing else the runtime hangs on the event object (`_accessToken`, `secrets`,
 * `callbackUrl`, caches…) ever leaves the relay. `namespaces` and `dataUrl` are what a
 * customer's listener reads (`listener.namespace([...])` matches `namespaces`; `event.data` and
 * plugin-record-hook read the commit's records from `dataUrl`), each only in a shape that can
 * carry no credential (forwardedValue).
 */
export const FORWARDED_FIELDS = ["id", "topic", "domain", "context", "payload", "createdAt", "namespaces", "dataUrl"] as const;

/** A query parameter that could carry a credential: never forwarded, whatever its value. */
const CREDENTIAL_PARAMETER = /(token|key|secret|signature|sig|auth|password|credential)/i;

/**
 * The value the relay forwards for a field, or undefined to drop it. `dataUrl` only as a path
 * relative to the API (as @flatfile/listener's event.fetch prefixes it with the API base, e.g.
 * `v1/sheets/<id>/records?commitId=<id>`), and without a credential-like query parameter;
 * `namespaces` only as a list of strings.
 */
function forwardedValue(key: string, value: unknown): unknown {
  if (key === "namespaces") return Array.isArray(value) && value.every((n) => typeof n === "string") ? value : undefined;
  if (key !== "dataUrl") return value;
  if (typeof value !== "string" || value === "" || /^[a-z][a-z0-9+.-]*:|^[\\/]/i.test(value)) return undefined;
  const query = value.includes("?") ? value.slice(value.indexOf("?") + 1) : "";
  for (const name of new URLSearchParams(query).keys()) if (CREDENTIAL_PARAMETER.test(name)) return undefined;
  return value;
}

export function forwardedBody(event: PlatformEvent): string {
  const own: Record<string, unknown> = {};
  for (const key of Object.keys(event)) {
    if (!(FORWARDED_FIELDS as readonly string[]).includes(key)) continue;
    const value = forwardedValue(key, event[key]);
    if (value !== undefined) own[key] = value;
  }
  return JSON.stringify(own);
}

export function routeUrl(baseUrl: string, route: string): string {
  return `${baseUrl.trim().replace(/\/+$/, "")}${route}`;
}

export type DeliveryResult =
  | { ok: true; status: number; attempts: number }
  | {
      ok: false;
      final: boolean;
      reason: string;
      status?: number;
      attempts: number;
      elapsedMs: number;
      /** Attempts API Gateway's throttle turned away (429 without Retry-After). */
      throttled: number;
    };

const retryableStatus = (status: number) => status === 429 || status >= 500;
/** Every 3xx is a failed delivery; `opaqueredirect` is how a browser-like fetch reports one. */
const isRedirect = (response: Response) => (response.status >= 300 && response.status < 400) || response.type === "opaqueredirect";

function retryAfterMs(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  if (!value || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  return Number(value) * 1000;
}

function describeError(error: unknown): string {
  if (error instanceof Error) {
    if (error.name === "AbortError" || error.name === "TimeoutError") return "timed out";
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? error.message;
  }
  return String(error);
}

/**
 * POSTs `rawBody` to `url`, signed per the contract with a fresh timestamp on every attempt, and
 * retries within `deadline` (epoch ms). The body is sent byte for byte as given.
 */
export async function deliver(
  request: { url: string; rawBody: string; signingSecret: string | string[]; deadline: number },
  deps: RelayDeps,
  bound: RetryBound = RELAY_BOUND,
): Promise<DeliveryResult> {
  const started = deps.now();
  let attempts = 0;
  let throttled = 0;
  let lastThrottled = false;
  let last: { reason: string; status?: number } = { reason: "no attempt was made" };
  for (;;) {
    const remaining = request.deadline - deps.now();
    if (remaining <= 0) break;
    attempts += 1;
    const controller = new AbortController();
    const cancelTimeout = deps.timer(Math.min(bound.attemptTimeoutMs, remaining), () => controller.abort());
    let retryAfter: number | undefined;
    lastThrottled = false;
    try {
      const response = await deps.fetch(request.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: signPayload(request.rawBody, request.signingSecret, Math.floor(deps.now() / 1000)),
          "user-agent": "flatfile-relay/1",
        },
        body: request.rawBody,
        // Never followed: a 307/308 would re-post the body and a valid signature to wherever the
        // Location points, and a 301/302/303 would turn it into a GET whose 2xx looks delivered.
        redirect: "manual",
        signal: controller.signal,
      });
      // Drain the answer so the connection is released; its content is not needed.
      const text = await response.text().catch(() => "");
      if (isRedirect(response)) {
        last = {
          status: response.status,
          reason: `it answered HTTP ${response.status}, a redirect, which the relay does not follow (check ${RELAY_SECRET_BASE_URL})`,
        };
        return { ok: false, final: true, ...last, attempts, elapsedMs: deps.now() - started, throttled };
      }
      if (response.ok) return { ok: true, status: response.status, attempts };
      last = { status: response.status, reason: `it answered HTTP ${response.status}${summary(text)}` };
      if (!retryableStatus(response.status)) {
        if (response.status === 401) last = { status: 401, reason: signatureRefusedReason() };
        return { ok: false, final: true, ...last, attempts, elapsedMs: deps.now() - started, throttled };
      }
      retryAfter = retryAfterMs(response);
      lastThrottled = response.status === 429 && retryAfter === undefined;
      if (lastThrottled) throttled += 1;
    } catch (error) {
      last = { reason: controller.signal.aborted ? "the request timed out" : `network error (${describeError(error)})` };
    } finally {
      cancelTimeout();
    }
    const [base, cap] = lastThrottled ? [bound.throttledBaseDelayMs, bound.throttledMaxDelayMs] : [bound.baseDelayMs, bound.maxDelayMs];
    const backoff = Math.min(base * 2 ** (attempts - 1), cap);
    const jittered = backoff / 2 + deps.random() * (backoff / 2);
    const delay = retryAfter !== undefined ? Math.min(retryAfter, bound.maxDelayMs) : jittered;
    deps.log("warn", "relay delivery failed, will retry", { attempt: attempts, reason: last.reason, delayMs: Math.round(delay) });
    // No point sleeping into the deadline: the next attempt could not start.
    if (deps.now() + delay >= request.deadline) break;
    await deps.sleep(delay);
  }
  return { ok: false, final: false, ...last, attempts, elapsedMs: deps.now() - started, throttled };
}

/**
 * What a 401 from our API means for the relay: the functions verified the signature with another
 * secret than the relay signed with. Said so, with what to do, rather than pointing at the URL.
 */
export function signatureRefusedReason(): string {
  return `${RELAY_SIGNATURE_REFUSED}: the relay signs with another secret than the functions verify with`;
}

/** The job's message after a 401: nothing was done, and what makes the two secrets differ. */
export function signatureRefusedMessage(): string {
  return (
    "The configuration service refused this request because its signature did not match (HTTP 401), so nothing was changed. " +
    "The relay's signing secret differs from the one the service's functions verify with: most likely the signingSecret in the " +
    "stack's secret was changed without registering the relay again, or the relay was registered from another secret. " +
    "Ask the administrator of the AWS deployment to follow the steps for rotating the signing secret in docs/operate.md " +
    "(`npm run relay:deploy` with the stack's secret), then try again."
  );
}

function summary(text: string): string {
  if (!text) return "";
  try {
    const parsed = JSON.parse(text) as { error?: unknown; errors?: { message?: unknown }[] };
    const message = typeof parsed.error === "string" ? parsed.error : parsed.errors?.[0]?.message;
    if (typeof message === "string" && message) return ` (${message.slice(0, 200)})`;
  } catch {
    // not JSON: say nothing more
  }
  return "";
}

/** `<base>/v1/jobs/<id>/fail`, whether the base ends in `/api`, `/api/` or `/v1`. */
export function jobFailUrl(apiUrl: string, jobId: string): string {
  const base = apiUrl.trim().replace(/\/+$/, "");
  const v1 = base.endsWith("/v1") ? base : `${base}/v1`;
  return `${v1}/jobs/${encodeURIComponent(jobId)}/fail`;
}

/**
 * Fails a job with a message a person can act on. A few quick attempts inside `deadline`; returns
 * whether Flatfile accepted it.
 */
export async function failJob(
  request: { apiUrl: string; token: string; jobId: string; message: string; deadline: number },
  deps: RelayDeps,
): Promise<boolean> {
  const body = JSON.stringify({
    info: request.message,
    outcome: { acknowledge: true, heading: FAILED_HEADINGS.relayGaveUp, message: request.message },
  });
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const remaining = request.deadline - deps.now();
    if (remaining <= 0) break;
    const controller = new AbortController();
    const cancelTimeout = deps.timer(Math.min(remaining, 4_000), () => controller.abort());
    try {
      const response = await deps.fetch(jobFailUrl(request.apiUrl, request.jobId), {
        method: "POST",
        headers: { authorization: `Bearer ${request.token}`, "content-type": "application/json" },
        body,
        signal: controller.signal,
      });
      await response.text().catch(() => "");
      if (response.ok) return true;
      deps.log("error", "failing the job was refused", { jobId: request.jobId, status: response.status, attempt });
      if (!retryableStatus(response.status)) return false;
    } catch (error) {
      deps.log("error", "failing the job did not get through", { jobId: request.jobId, reason: describeError(error), attempt });
    } finally {
      cancelTimeout();
    }
    if (deps.now() + 250 * attempt >= request.deadline) break;
    await deps.sleep(250 * attempt);
  }
  return false;
}

/**
 * Not "nothing was changed": a 5xx may come from a temporary failure after the service began the
 * job (it leaves the job open for the retry), so this says only that the job did not finish.
 */
export function unreachableMessage(detail: string): string {
  return (
    `The configuration service could not finish this job: ${detail}. ` +
    "Try again in a few minutes; if it keeps happening, ask the administrator " +
    "of the AWS deployment to check the relay's RELAY_BASE_URL secret and the service's logs."
  );
}

/**
 * Why a job failed when most attempts met API Gateway's throttle: what the relay saw, and no more.
 * It cannot tell a customer's own bulk load from anyone else's requests, so it names neither.
 */
export function throttledMessage(attempts: number, throttled: number, elapsedMs: number): string {
  return (
    `The configuration service turned this request away ${throttled} of ${attempts} times over ${Math.round(elapsedMs / 1000)} s ` +
    'with "429 Too Many Requests": its address received more requests than its throttle accepts for that whole time. ' +
    // A throttled request never reaches a function; any other attempt may have done some work.
    (throttled === attempts ? "None of them reached it, so nothing was changed. " : "") +
    "Try again in a few minutes, spreading a large load over more time; if it keeps happening, ask the administrator of the AWS " +
    "deployment to look at the API's access logs for where the requests come from and at its route throttle settings."
  );
}

export interface RelayContext {
  /** Reads a Flatfile secret (the listener's `event.secrets`). */
  readSecret: (name: string) => Promise<string>;
  /** Flatfile API base and the agent's token, used only to fail a job; never forwarded. */
  flatfileApi: { url: string | undefined; token: string | undefined };
}

export type RelayOutcome =
  | { kind: "ignored"; reason?: string }
  | { kind: "delivered"; route: string; attempts: number; status: number }
  | { kind: "gave-up"; route?: string; reason: string; jobFailed: boolean | "not-a-job" };

type RelaySettings = { baseUrl: string; signingSecrets: string[] } | undefined;

async function readRelaySettings(context: RelayContext): Promise<RelaySettings> {
  try {
    const [baseUrl, current, previous] = await Promise.all([
      context.readSecret(RELAY_SECRET_BASE_URL),
      context.readSecret(RELAY_SECRET_SIGNING).then(normalizeSigningSecret),
      // Present only during a rotation; its absence is the normal case.
      context
        .readSecret(RELAY_SECRET_PREVIOUS_SIGNING)
        .then(normalizeSigningSecret)
        .catch(() => ""),
    ]);
    if (!baseUrl || !current) throw new Error("empty secret");
    return { baseUrl, signingSecrets: [...new Set([current, ...(previous ? [previous] : [])])] };
  } catch {
    return undefined;
  }
}

/**
 * The whole relay for one event: every route that takes it (destinationsFor), each delivered,
 * retried and given up on by itself, so a failing one costs the other nothing; on giving up, the
 * job is failed only by the route it belongs to. Never throws (the listener would only log it
 * anyway); one outcome per route, or one `ignored`.
 */
export async function relayEventToAll(
  event: PlatformEvent,
  context: RelayContext,
  deps: RelayDeps = defaultDeps(),
  bound: RetryBound = RELAY_BOUND,
  plan: RelayPlan = {},
): Promise<RelayOutcome[]> {
  const destinations = destinationsFor(event, plan);
  if (destinations.length === 0) return [{ kind: "ignored" }];
  const notOurs = notOwnedBecause(event, plan);
  if (notOurs) {
    deps.log("info", "not relayed", { eventId: event.id, topic: event.topic, reason: notOurs });
    return [{ kind: "ignored", reason: notOurs }];
  }
  const started = deps.now();
  const settings = await readRelaySettings(context);
  return Promise.all(destinations.map((destination) => relayTo(event, destination, settings, context, deps, bound, started)));
}

/** The relay for our own routes only (at most one takes an event): its one outcome. */
export async function relayEvent(
  event: PlatformEvent,
  context: RelayContext,
  deps: RelayDeps = defaultDeps(),
  bound: RetryBound = RELAY_BOUND,
): Promise<RelayOutcome> {
  return (await relayEventToAll(event, context, deps, bound))[0]!;
}

async function relayTo(
  event: PlatformEvent,
  destination: RelayDestination,
  settings: RelaySettings,
  context: RelayContext,
  deps: RelayDeps,
  bound: RetryBound,
  started: number,
): Promise<RelayOutcome> {
  const route = destination.path;
  const fields = { eventId: event.id, topic: event.topic, job: event.payload?.job, route };

  let detail: string;
  let message: string | undefined;
  if (settings && !isAllowedBaseUrl(settings.baseUrl)) {
    detail = `the relay's ${RELAY_SECRET_BASE_URL} is not an https:// URL, so nothing was sent (run \`npm run relay:deploy\` with the API's https URL)`;
  } else if (settings) {
    // The body is the platform event's own fields and nothing else: no token, no listener wrapper.
    const rawBody = forwardedBody(event);
    const result = await deliver(
      {
        url: routeUrl(settings.baseUrl, route),
        rawBody,
        signingSecret: settings.signingSecrets,
        deadline: started + bound.totalMs - bound.failReserveMs,
      },
      deps,
      bound,
    );
    if (result.ok) {
      deps.log("info", "relayed", { ...fields, status: result.status, attempts: result.attempts });
      return { kind: "delivered", route, attempts: result.attempts, status: result.status };
    }
    detail = result.final
      ? `${result.reason}`
      : `${result.reason}, after ${result.attempts} attempt${result.attempts === 1 ? "" : "s"} over ${Math.round(result.elapsedMs / 1000)} s`;
    if (result.final && result.status === 401) message = signatureRefusedMessage();
    // Mostly throttled: a flood, whatever the last attempt met (near the deadline it may be the
    // attempt's own timeout).
    if (!result.final && result.throttled * 2 > result.attempts) {
      detail = `${detail}, ${result.throttled} of them turned away by API Gateway's throttle`;
      message = throttledMessage(result.attempts, result.throttled, result.elapsedMs);
    }
  } else {
    detail = `the relay is not set up in this Flatfile environment (the secrets ${RELAY_SECRET_BASE_URL} and ${RELAY_SECRET_SIGNING} could not be read; run \`npm run relay:deploy\` or redeploy the stack)`;
  }

  deps.log("error", RELAY_GAVE_UP, { ...fields, reason: detail });
  // Only a route's own job is failed: an event of a route that owns no job names none of ours.
  const jobId = destination.failsJob ? event.context?.jobId : undefined;
  if (!jobId) return { kind: "gave-up", route, reason: detail, jobFailed: "not-a-job" };
  const { url, token } = context.flatfileApi;
  const jobFailed =
    !!url &&
    !!token &&
    (await failJob({ apiUrl: url, token, jobId, message: message ?? unreachableMessage(detail), deadline: started + bound.totalMs }, deps));
  if (!jobFailed) deps.log("error", "could not fail the job; it stays open", { ...fields, jobId });
  return { kind: "gave-up", route, reason: detail, jobFailed };
}
