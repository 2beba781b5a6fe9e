/**
 * Jobs: create, get, ack, complete, fail, cancel, execute (retry answers 404); and the events they
 * raise. Where the platform is silent the stand-in takes the less convenient plausible behaviour;
 * the lifecycle and its sources: docs/design.md#the-stand-ins-jobs.
 *
 * The platform's timer (changelog, platform 2023-11-28: "a routine check that occurs every 5
 * minutes ... will automatically fail jobs that are still executing but haven't been acknowledged
 * (ack'd) within this timeframe"): a job executing 5 minutes after its last ack is failed as soon
 * as that much time has passed on the stand-in's clock (`standIn.clock.advance(ms)`), with
 * `job:failed`, a generic outcome none of our headings, and its id in `standIn.timedOutJobs`.
 */
import { badRequest, HttpError } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { API_KEY_ACTOR, clone, isObject, now, type Store } from "../store";
import type { Json, OutcomeSeen, StoredEvent, StoredJob } from "../types";

const FINISHED = new Set(["complete", "failed", "canceled"]);

/** The changelog's "within this timeframe": 5 minutes without an ack. */
export const PLATFORM_ACK_TIMEOUT_MS = 5 * 60_000;
export const TIMED_OUT_OUTCOME = {
  acknowledge: true,
  heading: "Job timed out",
  message: "This job was not acknowledged for 5 minutes and was stopped by Flatfile.",
} as const;

/** The platform's timer: fails every job executing without an ack for PLATFORM_ACK_TIMEOUT_MS. */
export function failUnacknowledgedJobs(store: Store): string[] {
  const failed: string[] = [];
  const at = store.clockNow();
  for (const job of store.jobs.values()) {
    if (job.status !== "executing") continue;
    // Made executing by a test's hand, never acked here: counted from now on.
    const lastAck = store.lastAcks.get(job.id) ?? store.clockNow();
    if (!store.lastAcks.has(job.id)) store.lastAcks.set(job.id, lastAck);
    if (at - lastAck < PLATFORM_ACK_TIMEOUT_MS) continue;
    job.status = "failed";
    job.outcome = clone(TIMED_OUT_OUTCOME) as Record<string, unknown>;
    job.info = TIMED_OUT_OUTCOME.message;
    job.finishedAt = now();
    job.updatedAt = now();
    store.timedOut.push(job.id);
    failed.push(job.id);
    if (job.context) raiseJobEvent(store, "job:failed", job);
  }
  return failed;
}

/**
 * The outcome dialog of a finished job, closed by the person who ran it. Jobs docs
 * (https://flatfile.com/docs/core-concepts/jobs): `job:outcome-acknowledged` "Fires when a user
 * acknowledges the completion of a Job through a UI popup", and `next` adds "a button to the
 * dialog" (every example with `acknowledge: true`). Events reference
 * (https://flatfile.com/docs/reference/events): "Background jobs will skip this step." So a
 * background job shows no dialog, and neither (the less convenient reading) does an outcome
 * without `acknowledge: true`: its `next` never reaches the person.
 */
export function closeOutcome(store: Store, id: string): OutcomeSeen {
  const job = store.getJob(id);
  if (!FINISHED.has(job.status)) throw badRequest(`Job ${id} is ${job.status}: it has no outcome yet`);
  if (job.mode === "background") return { dialog: false, reason: "background jobs skip the outcome dialog" };
  const outcome = (job.outcome ?? {}) as { acknowledge?: unknown; heading?: string; message?: string; next?: Record<string, unknown> };
  if (outcome.acknowledge !== true) return { dialog: false, reason: "the outcome does not ask to be acknowledged" };
  const event = raiseJobEvent(store, "job:outcome-acknowledged", job);
  return {
    dialog: true,
    heading: outcome.heading,
    message: outcome.message,
    next: outcome.next ? clone(outcome.next) : undefined,
    event: clone(event),
  };
}

/** A job event's payload, as the platform sends it (test/support/events/*.json). */
function jobPayload(job: StoredJob): Record<string, unknown> {
  const payload: Record<string, unknown> = {
    job: `${job.type}:${job.operation}`,
    info: job.info ?? null,
    domain: job.type,
    status: job.status,
    operation: job.operation,
    isPart: false,
  };
  if (job.input !== undefined) payload.input = clone(job.input);
  return payload;
}

/** Raises a job event with the job's context (its source's space, workbook, sheet) and actor. */
function raiseJobEvent(store: Store, topic: string, job: StoredJob): StoredEvent {
  const context = { ...(job.context as StoredEvent["context"]), jobId: job.id };
  return store.raise(topic, "job", context, jobPayload(job));
}

export interface JobInput {
  type: string;
  operation: string;
  source: string;
  trigger?: string;
  /** A status sent with the job (JobConfig.status); "ready" makes it ready at once. */
  status?: string;
  input?: Record<string, unknown>;
  mode?: string;
  environmentId?: string;
  /** Who made it (a person pressing an action, or the API key). */
  actorId?: string;
  /** The action's operation, put in the event context as `actionName`. */
  actionName?: string;
  /** Any other JobConfig keys sent, stored as sent. */
  extra?: Json;
}

/**
 * Creates a job (`POST /v1/jobs`, an action pressed, or a space created with autoConfigure):
 * `job:created`, then, for an immediate trigger, `ready` and `job:ready`.
 */
export function createJob(store: Store, input: JobInput): { job: StoredJob; events: StoredEvent[] } {
  const target =
    input.type === "sheet"
      ? { sheetId: input.source }
      : input.type === "workbook"
        ? { workbookId: input.source }
        : input.type === "space"
          ? { spaceId: input.source }
          : {};
  const resolved = store.contextFor(target);
  const context: Json = { ...resolved, actorId: input.actorId ?? API_KEY_ACTOR };
  if (input.actionName) context.actionName = input.actionName;
  const at = now();
  const job: StoredJob = {
    ...clone(input.extra ?? {}),
    id: store.newId("jb"),
    type: input.type,
    operation: input.operation,
    source: input.source,
    status: "created",
    progress: 0,
    mode: input.mode ?? "foreground",
    managed: true,
    input: clone(input.input ?? {}),
    environmentId: input.environmentId ?? resolved.environmentId,
    createdBy: input.actorId ?? API_KEY_ACTOR,
    createdAt: at,
    updatedAt: at,
    context,
  };
  if (resolved.spaceId) job.spaceId = resolved.spaceId;
  if (input.trigger) job.trigger = input.trigger;
  store.jobs.set(job.id, job);
  const events = [raiseJobEvent(store, "job:created", job)];
  if (input.trigger === "immediate" || input.status === "ready") events.push(readyJob(store, job));
  return { job, events };
}

function readyJob(store: Store, job: StoredJob): StoredEvent {
  job.status = "ready";
  job.updatedAt = now();
  return raiseJobEvent(store, "job:ready", job);
}

function finishJob(store: Store, id: string, status: "complete" | "failed", body: unknown): Json {
  const job = store.getJob(id);
  if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be marked ${status}`);
  const details = isObject(body) ? body : {};
  job.status = status;
  if (details.outcome !== undefined) job.outcome = clone(details.outcome) as Record<string, unknown>;
  if (typeof details.info === "string") job.info = details.info;
  if (status === "complete") job.progress = 100;
  const at = now();
  job.finishedAt = at;
  job.updatedAt = at;
  if (job.context) raiseJobEvent(store, status === "complete" ? "job:completed" : "job:failed", job);
  return ok(jobView(job));
}

/** A job as the API answers it (without the context kept for its events). */
function jobView(job: StoredJob): Json {
  const { context: _context, ...view } = clone(job);
  void _context;
  return view;
}

export const jobRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/jobs$/,
    name: "jobs.create",
    schema: top("JobConfig"),
    handle: (store, _p, body) => {
      const { type, operation, source, trigger, status, input, mode, environmentId, ...extra } = body as Json;
      const { job } = createJob(store, {
        type: String(type),
        operation: String(operation),
        source: String(source),
        trigger: typeof trigger === "string" ? trigger : undefined,
        status: typeof status === "string" ? status : undefined,
        input: isObject(input) ? input : undefined,
        mode: typeof mode === "string" ? mode : undefined,
        environmentId: typeof environmentId === "string" ? environmentId : undefined,
        extra,
      });
      return ok(jobView(job));
    },
  },
  { method: "GET", pattern: new RegExp(`^/jobs/${ID}$`), name: "jobs.get", handle: (store, [id]) => ok(jobView(store.getJob(id!))) },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/ack$`),
    name: "jobs.ack",
    schema: (s) => s.jobs.ack.Request,
    handle: (store, [id], body) => {
      const job = store.getJob(id!);
      if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be acknowledged`);
      // Undocumented: acknowledging a job not yet ready. Least convenient plausible: refused.
      if (job.status !== "ready" && job.status !== "executing")
        throw badRequest(`Job ${id} is ${job.status}, not ready: it cannot be acknowledged yet`);
      const details = isObject(body) ? body : {};
      job.status = "executing";
      if (typeof details.info === "string") job.info = details.info;
      if (typeof details.progress === "number") job.progress = details.progress;
      if (typeof details.estimatedCompletionAt === "string") job.estimatedCompletionAt = details.estimatedCompletionAt;
      job.startedAt ??= now();
      job.updatedAt = now();
      store.lastAcks.set(job.id, store.clockNow());
      return ok(jobView(job));
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/complete$`),
    name: "jobs.complete",
    schema: (s) => s.jobs.complete.Request,
    handle: (store, [id], body) => finishJob(store, id!, "complete", body),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/fail$`),
    name: "jobs.fail",
    schema: (s) => s.jobs.fail.Request,
    handle: (store, [id], body) => finishJob(store, id!, "failed", body),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/execute$`),
    name: "jobs.execute",
    // SDK: "Execute a job and return the job" (answers Success). Only a created job can start.
    handle: (store, [id]) => {
      const job = store.getJob(id!);
      if (job.status !== "created" && job.status !== "planning" && job.status !== "scheduled") {
        throw badRequest(`Job ${id} is ${job.status}: only a job not yet ready can be executed`);
      }
      readyJob(store, job);
      return ok({ success: true });
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/cancel$`),
    name: "jobs.cancel",
    schema: (s) => s.jobs.cancel.Request,
    // SDK: "Cancel a job and return the job". A finished job refuses, as for complete and fail.
    handle: (store, [id], body) => {
      const job = store.getJob(id!);
      if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be canceled`);
      job.status = "canceled";
      if (isObject(body) && typeof body.info === "string") job.info = body.info;
      const at = now();
      job.finishedAt = at;
      job.updatedAt = at;
      return ok(jobView(job));
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/retry$`),
    name: "jobs.retry",
    // API reference: "Retry a failed job and return the job", nothing more. The status it leaves,
    // whether job:ready is raised again and whether ack is then accepted are undocumented, so the
    // stand-in takes the least convenient plausible behaviour: it does not exist. The route stays
    // matched (and logged as "jobs.retry") so that suites can prove nothing calls it.
    handle: (store, [id]) => {
      store.getJob(id!);
      throw new HttpError(404, "jobs.retry is not modelled: its behaviour is undocumented (see resources/jobs.ts)");
    },
  },
];
