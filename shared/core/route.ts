/**
 * One pipeline for every route: read the body, verify the signature, parse the event, check the
 * environment, decide ownership, deduplicate, then hand over to the domain. Each function's
 * handler is this pipeline plus its route spec.
 */
import type { Flatfile } from "@flatfile/api";
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { ConfigurationError, loadConfiguration, type Configuration, type Settings } from "./config";
import { bodyExceedsBound, parseEvent, readBody, type FlatfileEvent } from "./envelope";
import { ForbiddenError, HttpError, UnauthorizedError } from "./errors";
import { createFlatfileClient, type FlatfileApi } from "./flatfile-client";
import type { HandOff } from "./hand-off";
import { once } from "./idempotency";
import { withinInvocation } from "./invocation";
import { addLambdaContext, logger, setCorrelation, type LambdaContext } from "./logger";
import { openJobStore, type OpenJobStore } from "./open-jobs";
import { foreignSpaceReason, readOwnedSpace, type SpaceSeen } from "./space-ownership";
import { annotate, count, METRIC, observeInvocation, type MetricName } from "./observability";
import { readSignatureHeader, SIGNATURE_HEADER } from "./signature";
import { IdempotencyUnknownError } from "@aws-lambda-powertools/idempotency";
import { jobsHandedToListener, notTakenBecause, SPACE_CONFIGURE_BY, type RouteDeclaration, type SpaceConfigureBy } from "../routes";

/** Well inside API Gateway's 29 s integration timeout, whatever the Lambda timeout is. */
export const INVOCATION_BUDGET_MS = 24_000;
/** Kept back from the work so that `jobs.fail` can still be sent after a slow failure. */
export const FINALIZE_RESERVE_MS = 4_000;
/**
 * A copy of an event that arrives while the first is being handled gets 503 with Retry-After:
 * the seconds until the first's in-progress lock lapses (when a crashed first can be taken
 * over), at most this many, so that a sender honouring it in full still comes back soon enough
 * to be given the first's stored answer. 8 s is also the relay's longest backoff
 * (infra/relay/forward.ts), which honours a Retry-After up to that.
 */
export const IN_FLIGHT_RETRY_AFTER_MAX_S = 8;

export type Ownership = { owned: true; idempotencyKey: string } | { owned: false; reason: string };

/**
 * A route's claim as its table entry declares it (shared/routes.ts): its topics and the jobs it
 * owns. An event it takes is deduplicated under `<route name>#<key(event)>`.
 */
export function claimAsDeclared(route: RouteDeclaration, event: FlatfileEvent, key: (event: FlatfileEvent) => string): Ownership {
  const reason = notTakenBecause(route, event, jobsHandedHere());
  return reason === undefined ? { owned: true, idempotencyKey: `${route.name}#${key(event)}` } : { owned: false, reason };
}

/**
 * The spaceConfigureBy setting as the stack gives it to the functions of a deploy that serves the
 * listener (and npm start, which always does): "listener" hands space:configure to it.
 */
export const SPACE_CONFIGURE_BY_ENV = "SPACE_CONFIGURE_BY";

/** The jobs of our routes this deployment hands to the customer's listener (SPACE_CONFIGURE_BY). */
export function jobsHandedHere(env: NodeJS.ProcessEnv = process.env): readonly string[] {
  const value = env[SPACE_CONFIGURE_BY_ENV] ?? "";
  if (value === "") return [];
  if (!(SPACE_CONFIGURE_BY as readonly string[]).includes(value)) {
    throw new ConfigurationError(`${SPACE_CONFIGURE_BY_ENV} must be one of ${SPACE_CONFIGURE_BY.join(", ")}, not "${value}"`);
  }
  return jobsHandedToListener({ listener: true, spaceConfigureBy: value as SpaceConfigureBy });
}

export interface RouteDeps {
  settings: Settings;
  /** Client for the work, bounded by the deadline less the finalize reserve. */
  api: FlatfileApi;
  /** Client for finishing a job, bounded by the whole deadline. */
  finalApi: FlatfileApi;
  deadline: number;
  /** Where job routes record the jobs they acknowledge until those end. */
  openJobs: OpenJobStore;
  /**
   * With ownedSpaces set, the event's Space as the pipeline read it to decide it is ours (under no
   * lease), for the flow to use instead of reading it again.
   */
  space?: Flatfile.Space;
  /**
   * With ownedSpaces set, for a route that decides it itself (`decidesOwnedSpace`): why the Space
   * it read is not ours, or undefined. May read the Space's App; throws a route error when that fails.
   */
  foreignSpace?: (space: SpaceSeen) => Promise<string | undefined>;
  /** Starts the action-job worker on work that outlasts this delivery; unset: no worker deployed. */
  handOff?: HandOff;
}

export interface RouteSpec {
  name: string;
  /** Pure: decides from the event alone whether this route owns it. Ignored events touch nothing. */
  claim(event: FlatfileEvent): Ownership;
  /** Checks the ids this route needs (throws BadRequestError), before anything is called. */
  validate?(event: FlatfileEvent): void;
  /**
   * The route reads the event's Space in its first round, before any write, and declines it there
   * when `deps.foreignSpace` says it is not ours: the pipeline then reads nothing of its own.
   */
  decidesOwnedSpace?: boolean;
  handle(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>>;
  /**
   * How this route hands work that outlasts a delivery to the worker, when one is deployed. Given
   * by the route (not built here) so that only its bundle carries the Lambda client.
   */
  handOff?(settings: Settings): HandOff | undefined;
}

export type RouteHandler = (request: APIGatewayProxyEventV2, context?: LambdaContext) => Promise<APIGatewayProxyStructuredResultV2>;

function answer(
  statusCode: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) };
}

/** Retry-After for a copy in flight, from when the first delivery's lock lapses (if known). */
export function inFlightRetryAfterSeconds(lapsesAt: number | undefined, now = Date.now()): number {
  if (lapsesAt === undefined) return IN_FLIGHT_RETRY_AFTER_MAX_S;
  return Math.min(Math.max(Math.ceil((lapsesAt - now) / 1000), 1), IN_FLIGHT_RETRY_AFTER_MAX_S);
}

function headerOf(request: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = request.headers ?? {};
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
  return undefined;
}

/** One invocation of `route`: its context (when it ends, what it counts), its metrics and its trace. */
function asInvocation<T>(route: string, endsAt: number, work: () => Promise<T>): Promise<T> {
  return withinInvocation(endsAt, () => observeInvocation(route, work));
}

/** The route's handler, counted and traced once per invocation (shared/core/observability.ts). */
export function createRoute(spec: RouteSpec): RouteHandler {
  const handler: RouteHandler = async function handler(request, context) {
    const started = Date.now();
    const remaining = context?.getRemainingTimeInMillis?.() ?? INVOCATION_BUDGET_MS + 1_000;
    const deadline = started + Math.min(INVOCATION_BUDGET_MS, remaining - 1_000);
    // The Lambda stops this invocation then: nothing it holds (the in-progress lock, a lease)
    // needs to outlive that moment.
    const endsAt = started + remaining;
    setCorrelation({ route: spec.name });
    addLambdaContext(context);
    return asInvocation(spec.name, endsAt, async () => {
      try {
        // Nothing is told before the signature holds (a stranger learns nothing): a header that no secret could
        // match is a 401 before any configuration is read; a signing secret that cannot be read
        // is a generic 500; what else is wrong with the body or the configuration comes after.
        const signatureHeader = headerOf(request, SIGNATURE_HEADER);
        const header = readSignatureHeader(signatureHeader);
        if (!header.ok) throw new UnauthorizedError(header.reason);
        // Past the bound a signed body is refused anyway: refused unread, as any bad signature is.
        if (bodyExceedsBound(request)) throw new UnauthorizedError("body over the size bound, refused before it is hashed");
        let configuration: Configuration;
        try {
          configuration = await loadConfiguration();
        } catch (error) {
          return signingSecretUnavailable(error);
        }
        const body = readBody(request);
        const signature = await configuration.verify(signatureHeader, body.text);
        if (!signature.ok) throw new UnauthorizedError(signature.reason);
        if (body.problem) throw body.problem;
        const settings = configuration.settings();
        const rawBody = body.text;
        const event = parseEvent(rawBody);
        setCorrelation({ route: spec.name, eventId: event.id, jobId: event.context.jobId, spaceId: event.context.spaceId });
        annotate({ spaceId: event.context.spaceId, jobId: event.context.jobId });
        if (settings.environmentId && event.context.environmentId !== settings.environmentId) {
          throw new ForbiddenError(`event is from environment ${event.context.environmentId}, not the one this deployment serves`);
        }
        const ownership = spec.claim(event);
        if (!ownership.owned) {
          logger.info("event ignored", { topic: event.topic, reason: ownership.reason });
          count(METRIC.deliveryIgnored);
          return answer(200, { ignored: true, reason: ownership.reason });
        }
        spec.validate?.(event);
        const api = flatfileClientUntil(settings, deadline - FINALIZE_RESERVE_MS);
        const rule = settings.ownedSpaces;
        let space: Flatfile.Space | undefined;
        if (rule && !spec.decidesOwnedSpace) {
          // Decided before anything is written or recorded, the acknowledgement included.
          const owned = await readOwnedSpace<Flatfile.Space>(api, rule, event.context.spaceId);
          if (owned.foreign !== undefined) {
            logger.info("event ignored: not one of our Spaces", { topic: event.topic, reason: owned.foreign });
            count(METRIC.deliveryIgnored);
            return answer(200, { ignored: true, reason: owned.foreign });
          }
          space = owned.space;
        }

        const handOff = spec.handOff?.(settings);
        const deps = routeDeps(settings, deadline, { space, handOff, decidesOwnedSpace: spec.decidesOwnedSpace }, api);
        const outcome = await once(ownership.idempotencyKey, () => spec.handle(event, deps), {
          table: settings.idempotencyTable,
          // The lock lapses when this invocation ends: a copy that arrives later may take over.
          remainingMs: () => Math.max(endsAt - Date.now(), 1),
        });
        if (outcome.kind === "in-progress") {
          // Not acknowledged: if the first invocation dies, the sender's retry must find the event
          // still to do once the first's lock lapses.
          const retryAfter = inFlightRetryAfterSeconds(outcome.lapsesAt);
          logger.info("a copy arrived while the first is in progress", { retryAfterS: retryAfter });
          count(METRIC.deliveryInProgress);
          return answer(
            503,
            { error: "a copy of this event is being handled right now; retry later" },
            { "retry-after": String(retryAfter) },
          );
        }
        logger.info("event handled", { replayed: outcome.kind === "replayed", ms: Date.now() - started });
        count(outcome.kind === "replayed" ? METRIC.idempotentReplay : METRIC.deliveryHandled);
        return answer(200, { ...outcome.result, ...(outcome.kind === "replayed" ? { replayed: true } : {}) });
      } catch (error) {
        return counted(failureAnswer(error));
      }
    });
  };
  return handler;
}

/** A Flatfile client with the deployment's key and API, whose calls end by `until` (epoch ms). */
export function flatfileClientUntil(settings: Settings, until: number): FlatfileApi {
  return createFlatfileClient({ token: settings.apiKey, baseUrl: settings.apiUrl, deadline: () => until });
}

/**
 * What a route's flow runs with, its work bounded by `deadline` less the finalize reserve and its
 * job's end by `deadline`: the pipeline's for each delivery, and the worker's for each round.
 * `api` is the work's client when the caller made it already (to read the Space first).
 */
export function routeDeps(
  settings: Settings,
  deadline: number,
  options: { space?: Flatfile.Space; handOff?: HandOff; decidesOwnedSpace?: boolean },
  api: FlatfileApi = flatfileClientUntil(settings, deadline - FINALIZE_RESERVE_MS),
): RouteDeps {
  const rule = settings.ownedSpaces;
  return {
    settings,
    api,
    finalApi: flatfileClientUntil(settings, deadline),
    deadline,
    openJobs: openJobStore(settings.idempotencyTable),
    ...(options.space ? { space: options.space } : {}),
    ...(rule && options.decidesOwnedSpace ? { foreignSpace: (seen: SpaceSeen) => foreignSpaceReason(api, rule, seen) } : {}),
    ...(options.handOff ? { handOff: options.handOff } : {}),
  };
}

/** Counts a failure answer by its status: rejected by reason, not found, or temporary (5xx). */
function counted(failure: APIGatewayProxyStructuredResultV2): APIGatewayProxyStructuredResultV2 {
  const status = failure.statusCode ?? 500;
  const metric: MetricName =
    status === 401
      ? METRIC.rejectedSignature
      : status === 403
        ? METRIC.rejectedEnvironment
        : status === 404
          ? METRIC.deliveryNotFound
          : status >= 500
            ? METRIC.temporaryFailure
            : METRIC.rejectedMalformed;
  count(metric);
  return failure;
}

/**
 * The signing secret could not be read, so nobody can be told apart from a stranger: the same
 * generic 500 for everyone (the sender retries), the reason only in the log.
 */
function signingSecretUnavailable(error: unknown): APIGatewayProxyStructuredResultV2 {
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  logger.error("signing secret unavailable; answered before the signature could be checked", { failure: `${name}: ${message}` });
  count(METRIC.signingSecretUnavailable);
  return answer(500, { error: "internal error" });
}

function failureAnswer(error: unknown): APIGatewayProxyStructuredResultV2 {
  if (error instanceof UnauthorizedError) {
    logger.warn("rejected: signature", { reason: error.reason });
    return answer(401, { error: "invalid signature" });
  }
  if (error instanceof HttpError) {
    const log = error.statusCode >= 500 ? logger.error.bind(logger) : logger.warn.bind(logger);
    log("request failed", { status: error.statusCode, failure: error.message });
    return answer(error.statusCode, { error: error.message });
  }
  if (error instanceof IdempotencyUnknownError) {
    logger.error("idempotency store unavailable", { failure: error.name });
    return answer(503, { error: "the idempotency store is unavailable; retry later" });
  }
  const name = error instanceof Error ? error.name : "Error";
  const message = error instanceof Error ? error.message : String(error);
  logger.error("unexpected failure", { failure: `${name}: ${message}` });
  return answer(500, { error: name === "ConfigurationError" ? message : "internal error" });
}
