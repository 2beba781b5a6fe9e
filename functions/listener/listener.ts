/**
 * The customer's listener (`listener/index.ts`, ordinary `@flatfile/listener` code) behind our
 * route pipeline: the verified event is handed to a `FlatfileListener` the module registered on,
 * within the invocation's deadline, with every HTTP call it makes logged by method, path and
 * status, held to FLATFILE_API_URL's origin and aborted at the deadline (fetch-shim.ts).
 */
import { FlatfileEvent as ListenerEvent, FlatfileListener } from "@flatfile/listener";
import type { Flatfile } from "@flatfile/api";
import { SELF_ACTOR_ENV } from "../commit-created/commit-created";
import { ConfigurationError } from "../../shared/core/config";
import { BadRequestError, RetryableError } from "../../shared/core/errors";
import { jobNameOf, requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import { asRouteError } from "../../shared/core/failures";
import { FAILED_HEADINGS } from "../../shared/core/job-outcomes";
import { DEFAULT_FLATFILE_API_URL } from "../../shared/core/flatfile-client";
import { logger, registerSecretForRedaction } from "../../shared/core/logger";
import type { OpenJob } from "../../shared/core/open-jobs";
import { claimAsDeclared, FINALIZE_RESERVE_MS, jobsHandedHere, type RouteDeps, type RouteSpec } from "../../shared/core/route";
import { LISTENER_ROUTE, routesFor } from "../../shared/routes";
import { redactConsole } from "./console-redaction";
import { withinDispatch, type DispatchScope, type ListenerCall } from "./fetch-shim";

/** What `listener/index.ts` default-exports, as a hosted agent's entry does. */
export type ListenerModule = { default: (listener: FlatfileListener) => void };
export type LoadListener = () => Promise<unknown>;

/**
 * The register function of an imported module: its default export, also when the import went
 * through CommonJS interop and `default` is the whole module.
 */
export function registerOf(module: unknown): ListenerModule["default"] {
  let exported = (module as { default?: unknown } | undefined)?.default;
  if (typeof exported !== "function") exported = (exported as { default?: unknown } | undefined)?.default;
  if (typeof exported !== "function") {
    throw new ConfigurationError("listener/index.ts must default-export a function (listener: FlatfileListener) => void");
  }
  return exported as ListenerModule["default"];
}

/**
 * FLATFILE_API_URL as the plugins want it: without `/v1`, which their clients append (a base
 * ending in `/v1` gives `/v1/v1/...`), and without a trailing slash.
 */
export function listenerApiBase(apiUrl: string | undefined): string {
  return (apiUrl ?? DEFAULT_FLATFILE_API_URL).replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * The event's `dataUrl` as `event.data` and `event.update` use it: a path relative to the API
 * base (`v1/sheets/<id>/records?commitId=<id>`), since `@flatfile/listener` prefixes it with the
 * base. A relative one is resolved against the base; one that leads elsewhere is refused.
 */
export function relativeDataUrl(dataUrl: string, apiBase: string): string {
  const base = new URL(`${apiBase}/`);
  let url: URL;
  try {
    url = new URL(dataUrl, base);
  } catch {
    throw new BadRequestError("event dataUrl is not a URL");
  }
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw new BadRequestError("event dataUrl points outside the Flatfile API this deployment calls");
  }
  return `${url.pathname.slice(base.pathname.length)}${url.search}`;
}

function dataUrlOf(event: FlatfileEvent): string | undefined {
  const dataUrl = (event as { dataUrl?: unknown }).dataUrl;
  if (dataUrl === undefined || dataUrl === null || dataUrl === "") return undefined;
  if (typeof dataUrl !== "string") throw new BadRequestError("event dataUrl must be text");
  return dataUrl;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, 0)).unref?.());

/**
 * A FlatfileListener that counts the callbacks that threw: @flatfile/listener's own trigger
 * catches each callback's error and only logs it, so a failure would otherwise be invisible.
 * Nodes made by `filter` and `namespace` are built with the same constructor; dispatchEvent runs
 * every callback through the root's trigger. The event's key is made non-enumerable before any
 * callback sees it, so `console.log(event)` does not print it.
 */
class GuardedListener extends FlatfileListener {
  failures: string[] = [];

  override async trigger(event: ListenerEvent, recursive = false): Promise<void> {
    hideKey(event);
    redactSecretsRead(event);
    for (const { callback } of this.getListeners(event, recursive)) {
      try {
        await callback(event);
      } catch (error) {
        const name = error instanceof Error ? error.name : typeof error;
        this.failures.push(name);
        // The listener's own line (console, redacted), as @flatfile/listener prints it; ours has no text of it.
        console.error("Error in event listener:", error);
        logger.warn("a listener callback threw", { failure: name });
      }
    }
  }
}

/**
 * Every value the listener reads through `event.secrets(name)` is redacted from what it prints
 * from then on, whatever its length (a secret by definition), and so is every other value of the
 * list that read fetched, which the event caches: the cache is also kept out of `console.log(event)`.
 */
function redactSecretsRead(event: ListenerEvent): void {
  if (Object.hasOwn(event, "secrets")) return;
  const read = event.secrets.bind(event);
  hideProperty(event, "cache");
  Object.defineProperty(event, "secrets", {
    enumerable: false,
    value: async (...args: Parameters<ListenerEvent["secrets"]>) => {
      try {
        const value = await read(...args);
        registerSecretForRedaction(typeof value === "string" ? value : undefined, 1);
        return value;
      } finally {
        for (const value of cachedSecretValues(event)) registerSecretForRedaction(value, 1);
      }
    },
  });
}

/** The values of the secrets lists @flatfile/listener cached on the event (keys `secrets:...`). */
function cachedSecretValues(event: ListenerEvent): string[] {
  const entries = (event as unknown as { cache?: { eventCache?: unknown } }).cache?.eventCache;
  if (!(entries instanceof Map)) return [];
  const values: string[] = [];
  for (const [key, list] of entries) {
    if (typeof key !== "string" || !key.startsWith("secrets:") || !(list instanceof Map)) continue;
    for (const value of list.values()) if (typeof value === "string") values.push(value);
  }
  return values;
}

function hideProperty(target: object, name: string): void {
  const descriptor = Object.getOwnPropertyDescriptor(target, name);
  if (descriptor?.enumerable) Object.defineProperty(target, name, { ...descriptor, enumerable: false });
}

function hideKey(event: object): void {
  hideProperty(event, "_accessToken");
}

export interface ListenerRun {
  /** How many of the listener's callbacks took the event. */
  handlers: number;
  calls: ListenerCall[];
  /** The names of the errors its callbacks threw. */
  failures: string[];
  /** The deadline passed before the listener's callbacks had all returned. */
  timedOut: boolean;
  /** One of its calls met a temporary failure (408, 429, 5xx): likely why it did not end well. */
  temporary: boolean;
}

/** A call answered 408/429/5xx that no later call to the same method and path made good (the SDK retries). */
function unrecoveredTemporary(calls: readonly ListenerCall[]): boolean {
  return calls.some(
    (call, i) =>
      isTemporary(call.status) &&
      !calls
        .slice(i + 1)
        .some((later) => later.method === call.method && later.path === call.path && later.status > 0 && later.status < 400),
  );
}

/** An answer worth retrying later, as our own client judges one (shared/core/flatfile-http.ts). */
function isTemporary(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Hands `event` to a listener built from `register`, and waits for it until `until`. */
export async function dispatchToListener(
  register: ListenerModule["default"],
  event: Record<string, unknown>,
  options: { accessToken: string; apiBase: string; until: number; beforeSend?: DispatchScope["beforeSend"] },
): Promise<ListenerRun> {
  redactConsole();
  const listener = GuardedListener.create(register) as GuardedListener;
  listener.setVariables({ accessToken: options.accessToken, apiUrl: `${options.apiBase}/` });
  hideKey(listener);
  const controller = new AbortController();
  const calls: ListenerCall[] = [];
  const scope: DispatchScope = {
    origin: new URL(options.apiBase).origin,
    signal: controller.signal,
    calls,
    beforeSend: options.beforeSend,
  };
  // Built only to ask which callbacks the event reaches; dispatchEvent builds its own.
  const handlers = listener.getListeners(new ListenerEvent(event as never, "", `${options.apiBase}/`), true).length;
  if (handlers === 0) return { handlers, calls, failures: [], timedOut: false, temporary: false };
  const dispatch = withinDispatch(scope, () => listener.dispatchEvent(event)).then(() => "done" as const);
  const outcome = await Promise.race([dispatch, sleep(options.until - Date.now()).then(() => "deadline" as const)]);
  // At the deadline whatever the listener still has in flight is aborted, and its later calls refused.
  if (outcome === "deadline") controller.abort();
  return {
    handlers,
    calls,
    failures: [...listener.failures],
    timedOut: outcome === "deadline",
    temporary: unrecoveredTemporary(calls),
  };
}

/**
 * "true" (the listenerRetryTemporary setting): a job whose run met a temporary failure is left
 * open and answered 5xx, for the relay's redelivery to run the listener again. Unset: at most once.
 */
export const RETRY_TEMPORARY_ENV = "LISTENER_RETRY_TEMPORARY";

/** What a person reads on a job left open for a redelivery. */
export const RETRYING_INFO = "This job is waiting on a service that is temporarily unavailable; retrying automatically.";

/** Commits made with our own key (COMMIT_SELF_ACTOR_IDS): a record hook's write-back is one. */
function selfActorIds(): Set<string> {
  return new Set(
    (process.env[SELF_ACTOR_ENV] ?? "")
      .split(",")
      .map((id) => id.trim())
      .filter(Boolean),
  );
}

/**
 * Why the listener route does not take `event` although its topic is the listener's, if so. A job
 * our routes own is theirs, unless this deploy hands it to the listener (spaceConfigureBy).
 */
function declinedBecause(event: FlatfileEvent): string | undefined {
  const owner = routesFor(event, jobsHandedHere()).find((route) => route.jobs !== undefined);
  if (owner) return `job ${jobNameOf(event)} is owned by ${owner.name}`;
  if (isOwnWriteBack(event) && !tracksChanges(event)) {
    return `the commit was made by this deployment's own key (${event.context.actorId}): not given to the listener, so a write-back ends there`;
  }
  return undefined;
}

/** A commit made by our own key (a record hook's write-back): never given to the listener. */
function isOwnWriteBack(event: FlatfileEvent): boolean {
  const actorId = event.context.actorId;
  return event.topic.startsWith("commit:") && typeof actorId === "string" && selfActorIds().has(actorId);
}

/** A commit of a workbook with `settings.trackChanges`: its actions stay off until the commit is completed. */
function tracksChanges(event: FlatfileEvent): boolean {
  const payload = event.payload as Record<string, unknown> | undefined;
  return payload?.trackChanges === true;
}

/** A job's calls the listener made that change it (ack, complete, fail, ...). */
function touchedJob(calls: readonly ListenerCall[], jobId: string): boolean {
  const prefix = `/jobs/${jobId}/`;
  return calls.some((call) => call.method !== "GET" && call.path.includes(prefix));
}

/** The listener acknowledging the event's job: recorded as open first (the sweep's to-do list). */
function isAckOf(call: Readonly<ListenerCall>, jobId: string): boolean {
  return call.method === "POST" && call.path.endsWith(`/jobs/${jobId}/ack`);
}

/**
 * The text @flatfile/api puts in an error (`Status code: 503` and `Body: {...}`, or a timeout's
 * `Timeout exceeded when calling POST /jobs/...`), which plugin-job-handler passes to `jobs.fail`
 * as the message a person reads. Never sent: the route ends the job with its own sentence.
 */
const RAW_HTTP_TEXT = /Status code: \d{3}|(^|\n)Body: |Timeout exceeded when calling/;

/** What a `jobs.fail` body carries as raw HTTP text, if it does: whether it says temporary. */
export function rawFailureIn(body: string | undefined): { temporary: boolean } | undefined {
  let parsed: { info?: unknown; outcome?: { message?: unknown } } | undefined;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    return undefined;
  }
  const texts = [parsed?.info, parsed?.outcome?.message].filter((text): text is string => typeof text === "string");
  const raw = texts.find((text) => RAW_HTTP_TEXT.test(text));
  if (!raw) return undefined;
  const status = Number(/Status code: (\d{3})/.exec(raw)?.[1]);
  return { temporary: raw.includes("Timeout exceeded") || (Number.isFinite(status) && isTemporary(status)) };
}

function isFailOf(call: Readonly<ListenerCall>, jobId: string): boolean {
  return call.method === "POST" && call.path.endsWith(`/jobs/${jobId}/fail`);
}

/** How the sweep and the messages below name a job the listener ran. */
export const LISTENER_JOB_WHAT = "This job";

/** What a person reads on a job the listener did not end well; no error text, no HTTP answer. */
function failureMessage(run: ListenerRun | "interrupted", seconds: number): string {
  const why =
    run === "interrupted"
      ? "it was interrupted before it ended"
      : run.timedOut
        ? `it did not finish within the ${seconds} seconds an event is given`
        : run.temporary
          ? "a service it depends on was temporarily unavailable"
          : run.failures.length > 0
            ? "one of its steps failed"
            : "it ended without completing the job";
  const again = run !== "interrupted" && run.temporary && !run.timedOut ? "Try again in a few minutes" : "Try again";
  return `This job did not finish: ${why}. ${again}; if it keeps happening, ask the administrator to look at the listener's logs.`;
}

const OPEN_STATUSES: ReadonlySet<string> = new Set(["ready", "executing"]);

/**
 * After the listener ran a job's event (or, `interrupted`, an earlier delivery's run of it ended
 * unseen): a job it left open after a failure, a timeout or simply returning is failed with a
 * message a person can act on; one it never changed, with nothing gone wrong, is left as it is
 * (not ours to end). Either way its open-job record goes once the job is seen ended.
 */
async function settleJob(
  record: Omit<OpenJob, "ackedAt">,
  run: ListenerRun | "interrupted",
  deps: RouteDeps,
  seconds: number,
  retryTemporary = false,
): Promise<Record<string, unknown>> {
  const { jobId } = record;
  if (run !== "interrupted") {
    const wentWrong = run.timedOut || run.failures.length > 0;
    if (!wentWrong && !touchedJob(run.calls, jobId)) return { job: "declined", reason: "the listener did not act on this job" };
  }
  let job: Flatfile.Job;
  try {
    job = (await deps.finalApi.jobs.get(jobId)).data;
  } catch (error) {
    throw asRouteError(error, `reading job ${jobId} after the listener ran`);
  }
  if (!OPEN_STATUSES.has(job.status ?? "")) {
    await forgetJob(deps, jobId);
    return { job: job.status };
  }
  if (retryTemporary && run !== "interrupted" && run.temporary && !run.timedOut) {
    // Left as it is for the redelivery (recorded since its ack, so the sweep still ends it if
    // no redelivery does); an executing job says why it is slow, as our routes' jobs do.
    if (job.status === "executing") {
      await deps.finalApi.jobs
        .ack(jobId, { info: RETRYING_INFO })
        .catch((error: unknown) =>
          logger.warn("could not say the job is retrying", { failure: error instanceof Error ? error.name : "unknown" }),
        );
    }
    logger.warn("job left open for a retry", { jobStatus: job.status, failures: run.failures.length });
    throw new RetryableError(`job ${jobId} is left open for a retry: the listener met a temporary failure`);
  }
  const message = failureMessage(run, seconds);
  try {
    // Failed as our routes fail a job: acknowledged first when the listener never did, and
    // recorded before that ack, so that a death between the two leaves it to the sweep.
    if (job.status === "ready") {
      await deps.openJobs.track(record);
      await deps.finalApi.jobs.ack(jobId, { info: "Accepted", progress: 0 });
    }
    await deps.finalApi.jobs.fail(jobId, {
      info: message,
      outcome: { acknowledge: true, heading: FAILED_HEADINGS.unexpected, message },
    });
  } catch (error) {
    throw asRouteError(error, `failing job ${jobId} the listener left ${job.status}`);
  }
  await forgetJob(deps, jobId);
  const why = run === "interrupted" ? { interrupted: true } : { timedOut: run.timedOut, failures: run.failures.length };
  logger.warn("job failed after the listener", { jobStatus: job.status, ...why });
  return { job: "failed", left: job.status };
}

/** The job as it is before the listener runs (a 5xx, nothing written, when it cannot be read). */
async function jobBeforeRun(jobId: string, deps: RouteDeps): Promise<Flatfile.Job> {
  try {
    return (await deps.api.jobs.get(jobId)).data;
  } catch (error) {
    throw asRouteError(error, `reading job ${jobId} before the listener runs`);
  }
}

/**
 * Why a job is not the listener's to run now, or undefined when it is. A job is run at most once:
 * one already ended (another event for it, say) runs nothing again, and one already executing that
 * no delivery of ours recorded was started by someone else, as our own routes judge it.
 */
function notTheListenersToRun(job: Flatfile.Job, recorded: boolean): string | undefined {
  if (!OPEN_STATUSES.has(job.status ?? "")) return `job ${job.id} already ended (${job.status})`;
  if (job.status === "executing" && !recorded) {
    return `job ${job.id} is already executing and this service never acknowledged it: someone else started it`;
  }
  return undefined;
}

/** The job ended: if the store cannot be told, the sweep finds it ended and forgets it then. */
async function forgetJob(deps: RouteDeps, jobId: string): Promise<void> {
  await deps.openJobs.forget(jobId).catch((error: unknown) => {
    logger.warn("could not forget the finished job", { failure: error instanceof Error ? error.name : "unknown" });
  });
}

/** The route, running the module `load` imports (the repo's `listener/index.ts` by default). */
export function createListenerRoute(load: LoadListener): RouteSpec {
  return {
    name: LISTENER_ROUTE.name,
    claim(event) {
      const declined = declinedBecause(event);
      return declined ? { owned: false, reason: declined } : claimAsDeclared(LISTENER_ROUTE, event, () => event.id);
    },
    validate(event) {
      const dataUrl = dataUrlOf(event);
      if (dataUrl) relativeDataUrl(dataUrl, listenerApiBase(process.env.FLATFILE_API_URL));
      if (event.topic.startsWith("job:")) requireContext(event, "jobId");
    },
    async handle(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>> {
      if (isOwnWriteBack(event)) {
        // plugin-record-hook, given its own write-back, finds nothing changed and completes the
        // commit: done here instead, so the workbook's actions come back without risking a loop.
        const commitId = requireContext(event, "commitId");
        try {
          await deps.api.commits.complete(commitId);
        } catch (error) {
          throw asRouteError(error, `completing commit ${commitId} of our own write-back`);
        }
        return { handlers: 0, calls: [], commitCompleted: commitId, reason: "our own write-back: completed, not given to the listener" };
      }
      const apiBase = listenerApiBase(deps.settings.apiUrl);
      // The plugins build their clients when the module is imported, from these variables;
      // the token is read per request.
      process.env.FLATFILE_API_URL = apiBase;
      process.env.FLATFILE_BEARER_TOKEN = deps.settings.apiKey;
      const isJob = event.topic.startsWith("job:");
      const record = isJob ? { jobId: event.context.jobId as string, what: LISTENER_JOB_WHAT, spaceId: event.context.spaceId } : undefined;
      // The job as it is and whether a delivery of ours took it, read beside the module's load.
      const [loaded, before, recorded] = await Promise.all([
        load(),
        record ? jobBeforeRun(record.jobId, deps) : undefined,
        record ? deps.openJobs.recorded(record.jobId).then(Boolean) : false,
      ]);
      const register = registerOf(loaded);
      const dataUrl = dataUrlOf(event);
      const handed = { ...event, ...(dataUrl ? { dataUrl: relativeDataUrl(dataUrl, apiBase) } : {}) };
      const until = deps.deadline - FINALIZE_RESERVE_MS;
      const seconds = Math.max(Math.round((until - Date.now()) / 1000), 1);
      const retryTemporary = process.env[RETRY_TEMPORARY_ENV] === "true";
      // With retries on, a recorded job is one left open for this redelivery: run again.
      if (record && !retryTemporary && recorded) {
        // An earlier delivery let the listener take this job and never saw it end (it died, or
        // could not end it): a job is run at most once, so it is ended now, not run again.
        logger.warn("job taken by an earlier delivery that did not end it", {});
        return { handlers: 0, calls: [], ...(await settleJob(record, "interrupted", deps, seconds)) };
      }
      if (record && before) {
        const notToRun = notTheListenersToRun(before, recorded);
        if (notToRun) {
          logger.info("job not given to the listener", { jobStatus: before.status, reason: notToRun });
          return { handlers: 0, calls: [], job: before.status, ignored: true, reason: notToRun };
        }
      }
      let tracked = false;
      let heldRaw: { temporary: boolean } | undefined;
      const beforeSend = record
        ? async (call: Readonly<ListenerCall>, body: string | undefined) => {
            if (isFailOf(call, record.jobId)) {
              const raw = rawFailureIn(body);
              if (raw) {
                heldRaw = { temporary: (heldRaw?.temporary ?? false) || raw.temporary };
                return "its message is raw HTTP text; the route ends the job with a sentence instead";
              }
            }
            if (tracked || !isAckOf(call, record.jobId)) return undefined;
            await deps.openJobs.track(record);
            tracked = true;
            return undefined;
          }
        : undefined;
      const dispatched = await dispatchToListener(register, handed, { accessToken: deps.settings.apiKey, apiBase, until, beforeSend });
      // A held-back raw failure is the listener's failure, and says whether it was temporary.
      const run = heldRaw
        ? {
            ...dispatched,
            failures: dispatched.failures.length > 0 ? dispatched.failures : ["RawFailureMessage"],
            temporary: dispatched.temporary || heldRaw.temporary,
          }
        : dispatched;
      logger.info("listener ran", {
        handlers: run.handlers,
        calls: run.calls.length,
        failures: run.failures.length,
        timedOut: run.timedOut,
      });
      const summary = {
        handlers: run.handlers,
        calls: run.calls.map(({ method, path, status }) => `${method} ${path} ${status}`),
        ...(run.failures.length > 0 ? { failures: run.failures.length } : {}),
        ...(run.timedOut ? { timedOut: true } : {}),
      };
      if (record) {
        if (run.handlers === 0) return { ...summary, job: "declined", reason: "no callback of the listener takes this job" };
        return { ...summary, ...(await settleJob(record, run, deps, seconds, retryTemporary)) };
      }
      // Other events are delivered at least once: a failed run is answered 5xx for the relay to
      // retry, and so is one whose call met a temporary failure that event.fetch only logged.
      if (run.timedOut || run.failures.length > 0 || run.temporary) {
        throw new RetryableError(
          run.timedOut
            ? "the listener did not finish within its time; retry later"
            : run.failures.length > 0
              ? "a listener callback threw; retry later"
              : "a call of the listener met a temporary failure; retry later",
        );
      }
      return summary;
    },
  };
}

// Imported on the first event, once the variables above are set; the import is cached after that.
export const listenerRoute: RouteSpec = createListenerRoute(() => import("../../listener/index.js"));
