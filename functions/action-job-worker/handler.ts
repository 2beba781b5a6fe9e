/**
 * The action-job worker: carries on what outlasts an action-job delivery: a duplicate whose copy
 * Flatfile did not make within it (await-copy.ts), a submission too large to write in one
 * (write-submission.ts). action-job starts it with an asynchronous invoke (shared/core/hand-off.ts);
 * no route serves it, and only action-job may invoke it. Its payload is checked like any event
 * (the ids, the environment, that it is our duplicate job) before anything is called; the flow
 * then decides ownership again from what it reads, as the route did.
 */
import { BadRequestError } from "../../shared/core/errors";
import { loadSettings } from "../../shared/core/config";
import { jobNameOf, parseEvent } from "../../shared/core/envelope";
import { WORKER_TIMING, type Continuation, type HandOff, type WorkerTiming } from "../../shared/core/hand-off";
import { withinInvocation } from "../../shared/core/invocation";
import { addLambdaContext, logger, setCorrelation, type LambdaContext } from "../../shared/core/logger";
import { observeInvocation } from "../../shared/core/observability";
import { openJobStore } from "../../shared/core/open-jobs";
import { flatfileClientUntil, routeDeps, type RouteDeps } from "../../shared/core/route";
import { copySlugFor, DUPLICATE_JOB } from "../action-job/duplicate-sheet";
import { actionJobRoute } from "../action-job/actions";
import { SUBMIT_JOB } from "../action-job/submit-workbook";
import { awaitCopy } from "./await-copy";
import { writeSubmission } from "./write-submission";

/** Its metric dimension and log field `route`. */
export const WORKER_NAME = "action-job-worker";

/** The payload as action-job sends it, or a BadRequestError naming what is wrong. */
export function readContinuation(payload: unknown, now = Date.now()): Continuation {
  if (typeof payload !== "object" || payload === null) throw new BadRequestError("the payload is not an object");
  const { kind, event: raw, copySlug, requestedAt } = payload as Record<string, unknown>;
  if (kind !== "pending-copy" && kind !== "submission") throw new BadRequestError(`unknown kind of work: ${String(kind).slice(0, 40)}`);
  // The same checks as a delivery's body: its shape and ids safe in a URL path.
  const event = parseEvent(JSON.stringify(raw ?? null));
  const jobId = event.context.jobId;
  if (!jobId) throw new BadRequestError("the event names no job");
  if (kind === "submission") {
    if (jobNameOf(event) !== SUBMIT_JOB) throw new BadRequestError("the event is not a Submit job");
    return { kind, event };
  }
  if (jobNameOf(event) !== DUPLICATE_JOB) throw new BadRequestError("the event is not a duplicate job");
  // The slug the route derives from the job (copySlugFor), whatever the sheet's role.
  if (typeof copySlug !== "string" || !/^[a-z0-9_-]{1,200}$/.test(copySlug) || !copySlug.endsWith(copySlugFor("", jobId))) {
    throw new BadRequestError("copySlug is not this job's copy slug");
  }
  if (typeof requestedAt !== "number" || !Number.isFinite(requestedAt) || requestedAt > now + 60_000) {
    throw new BadRequestError("requestedAt is not a time in the past");
  }
  return { kind, event, copySlug, requestedAt };
}

export type WorkerHandler = (payload: unknown, context?: LambdaContext) => Promise<Record<string, unknown>>;

/** The worker on a given clock (tests shorten it); `handler` is the deployed one. */
export const createWorker =
  (timing: WorkerTiming = WORKER_TIMING): WorkerHandler =>
  async (payload, context) => {
    const started = Date.now();
    const endsAt = started + (context?.getRemainingTimeInMillis?.() ?? timing.timeoutMs);
    setCorrelation({ route: WORKER_NAME });
    addLambdaContext(context);
    return withinInvocation(endsAt, () =>
      observeInvocation(WORKER_NAME, async () => {
        let pending: Continuation;
        try {
          pending = readContinuation(payload);
        } catch (error) {
          // Not retried: the same payload would be refused again.
          logger.error("the worker was given work it cannot carry on", { failure: (error as Error).message });
          return { ignored: true, reason: (error as Error).message };
        }
        const { event } = pending;
        setCorrelation({ route: WORKER_NAME, eventId: event.id, jobId: event.context.jobId, spaceId: event.context.spaceId });
        // A failure to read the configuration throws: Lambda retries the invocation.
        const settings = await loadSettings();
        if (settings.environmentId && event.context.environmentId !== settings.environmentId) {
          logger.error("the worker was given a job of another environment", { environmentId: event.context.environmentId });
          return { ignored: true, reason: "event of another environment" };
        }
        const claim = actionJobRoute.claim(event);
        if (!claim.owned) {
          logger.error("the worker was given a job action-job does not take", { reason: claim.reason });
          return { ignored: true, reason: claim.reason };
        }
        actionJobRoute.validate?.(event);
        const openJobs = openJobStore(settings.idempotencyTable);
        // Each round as a delivery of action-job would run it (the pipeline's own dependencies).
        const depsUntil = (until: number, handOff: HandOff): RouteDeps =>
          routeDeps(settings, until, { handOff, decidesOwnedSpace: actionJobRoute.decidesOwnedSpace });
        // The waiting's reads, acks and its last fail run until a second before the Lambda stops:
        // the flows stop waiting `reserveMs` before that, so the fail always has that time.
        const carryOn = { api: flatfileClientUntil(settings, endsAt - 1_000), openJobs, endsAt, depsUntil, timing };
        const summary = await (pending.kind === "pending-copy" ? awaitCopy(pending, carryOn) : writeSubmission(pending, carryOn));
        logger.info("the worker is done", { status: summary.status, ms: Date.now() - started });
        return summary;
      }),
    );
  };

export const handler = createWorker();
