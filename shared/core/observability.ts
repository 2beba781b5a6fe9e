/**
 * Logs, metrics and traces: one Logger, Metrics and Tracer per process, and the names of every
 * metric (the dashboard and alarms import them, so a renamed metric cannot leave a dead graph).
 * Responses and errors never go to X-Ray metadata, which would bypass the logger's redaction.
 * How each is emitted: docs/design.md#logs-metrics-and-traces.
 */
import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import { currentInvocation, withinInvocation } from "./invocation";
import { logger } from "./logger";

export { logger };

/** The service name: dimension `service` of every metric, and the Tracer's `Service` annotation. */
export const SERVICE_NAME = process.env.POWERTOOLS_SERVICE_NAME || "flatfile-space-configurator";
/** The stack's default POWERTOOLS_METRICS_NAMESPACE. */
export const DEFAULT_METRICS_NAMESPACE = "FlatfileSpaceConfigurator";
/** Dimension names: every product metric has exactly these two. */
export const SERVICE_DIMENSION = "service";
export const ROUTE_DIMENSION = "route";

/** Every product metric (unit Count, dimensions service + route). */
export const METRIC = {
  /** A delivery this route owned was handled: 200 with its result. */
  deliveryHandled: "DeliveryHandled",
  /** A redelivery answered from the idempotency record (nothing ran again). */
  idempotentReplay: "IdempotentReplay",
  /** A copy arrived while the first copy was being handled. */
  deliveryInProgress: "DeliveryInProgress",
  /** 200 {"ignored":true}: not this route's event; nothing was touched. */
  deliveryIgnored: "DeliveryIgnored",
  /** 401: missing, wrong or stale signature. */
  rejectedSignature: "RejectedSignature",
  /** 403: an event of another Flatfile environment. */
  rejectedEnvironment: "RejectedEnvironment",
  /** 400: not JSON, not a Flatfile event, or a malformed id. */
  rejectedMalformed: "RejectedMalformed",
  /** 404: Flatfile says a resource the event names does not exist. */
  deliveryNotFound: "DeliveryNotFound",
  /** 5xx: the sender retries (a dependency down, a lease held too long, a defect). */
  temporaryFailure: "TemporaryFailure",
  /**
   * 500 before the signature could be checked: the signing secret could not be read, so the
   * caller may be anyone. Counted apart from TemporaryFailure, and taken out of the Api5xx alarm
   * strangers must not be able to trip it; this metric has its own alarm.
   */
  signingSecretUnavailable: "SigningSecretUnavailable",
  /** A Flatfile job this product ran ended `complete`. */
  jobCompleted: "JobCompleted",
  /** A job ended `failed` for an operator's reason (a service down, a defect, not found). */
  jobFailed: "JobFailed",
  /** A job ended `failed` with a message for the person (records still in error, say). */
  jobNeedsAction: "JobNeedsAction",
  /**
   * A job we acknowledged and still tracked was found failed or canceled by someone else (the
   * platform's 5-minute timer, a person, another listener): our guarantee was not kept. Counted by
   * the route that finds it, or by the sweep (route "job-sweep"); shared/core/job-outcomes.ts.
   */
  jobEndedByOthers: "JobEndedByOthers",
  /** A job handed to the action-job worker to carry on past its delivery (a copy that lands late). */
  jobHandedOff: "JobHandedOff",
  /** Every request sent to the Flatfile API, retries included. */
  flatfileCalls: "FlatfileCalls",
  /** Requests that were retries of an earlier attempt. */
  flatfileRetries: "FlatfileRetries",
  /** Attempts that failed: an error status, a timeout or a network failure. */
  flatfileErrors: "FlatfileErrors",
  /** A delivery found a resource's lease held and had to wait for it. */
  leaseWaits: "LeaseWaits",
  /** space-configure used the bundled categories because the configured reference API failed. */
  referenceDataFallbacks: "ReferenceDataFallbacks",
} as const;
export type MetricName = (typeof METRIC)[keyof typeof METRIC];

// --- Metrics ---------------------------------------------------------------------------------

/** One per process. POWERTOOLS_METRICS_DISABLED=true (tests, bench) prints nothing. */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || DEFAULT_METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
});

/** Adds to a metric of the current invocation; outside one (a script, a test) it is a no-op. */
export function count(name: MetricName, by = 1): void {
  const invocation = currentInvocation();
  if (!invocation || by === 0) return;
  invocation.counts.set(name, (invocation.counts.get(name) ?? 0) + by);
}

/**
 * Runs one invocation of `route` (the current one, or a new one outside any) with its trace, then
 * publishes what it counted (in `finally`, so a throw still publishes what was counted). The
 * ColdStart metric comes first, once per process, with the route as its `function_name` dimension.
 */
export async function observeInvocation<T>(route: string, work: () => Promise<T>): Promise<T> {
  const invocation = currentInvocation();
  if (!invocation) return withinInvocation(undefined, () => observeInvocation(route, work));
  const tracer = activeTracer();
  const parent = tracer?.getSegment();
  if (tracer && parent) {
    invocation.segment = parent.addNewSubsegment(`## ${route}`);
    tracer.setSegment(invocation.segment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
  }
  metrics.captureColdStartMetric(route);
  try {
    return await work();
  } finally {
    // Synchronous from here on: a concurrent invocation in the same process (npm start) cannot
    // slip its dimension or counts into this flush.
    metrics.addDimension(ROUTE_DIMENSION, route);
    for (const [name, value] of invocation.counts) metrics.addMetric(name, MetricUnit.Count, value);
    if (invocation.counts.size > 0) metrics.publishStoredMetrics();
    else metrics.clearDimensions();
    if (tracer && invocation.segment) {
      invocation.segment.close();
      tracer.setSegment(parent!);
    }
  }
}

/** X-Ray annotations (indexed, searchable) on the current invocation's handler subsegment. */
export function annotate(keys: Record<string, string | undefined>): void {
  const segment = currentInvocation()?.segment;
  if (!segment) return;
  for (const [key, value] of Object.entries(keys)) if (value) segment.addAnnotation(key, value);
}

// --- Traces ----------------------------------------------------------------------------------

let tracer: Tracer | null | undefined;

/**
 * The process's Tracer when this runs on Lambda with tracing on, else undefined. Loaded on first
 * use: `require` here, not an import, keeps the X-Ray SDK's evaluation out of the init of
 * processes that never trace (tests, `npm start`, the bench's plain load) and lets the bundle
 * evaluate it only when a traced invocation starts.
 */
export function activeTracer(): Tracer | undefined {
  if (tracer === undefined) {
    const onLambda = Boolean(process.env.AWS_EXECUTION_ENV) && !process.env.AWS_SAM_LOCAL;
    const enabled = (process.env.POWERTOOLS_TRACE_ENABLED ?? "true").toLowerCase() !== "false";
    if (onLambda && enabled) {
      const { createTracer } = require("./tracing.ts") as typeof import("./tracing");
      tracer = createTracer(SERVICE_NAME);
    } else {
      tracer = null;
    }
  }
  return tracer ?? undefined;
}

/** Wraps an AWS SDK v3 client so its calls are subsegments (when tracing). Returns the client. */
export function traceAwsClient<T>(client: T): T {
  return activeTracer()?.captureAWSv3Client(client) ?? client;
}

/**
 * Runs one outgoing call as a subsegment `name` of the current invocation's handler subsegment.
 * The subsegment is not made current, so calls running side by side do not nest in each other.
 * A failure only sets the error flag (no error metadata: see the file comment).
 */
export async function traceCall<T>(name: string, call: () => Promise<T>, failed?: (result: T) => boolean): Promise<T> {
  const parent = currentInvocation()?.segment;
  if (!parent) return call();
  const segment = parent.addNewSubsegment(name);
  segment.namespace = "remote";
  try {
    const result = await call();
    if (failed?.(result)) segment.addErrorFlag();
    return result;
  } catch (error) {
    segment.addErrorFlag();
    throw error;
  } finally {
    segment.close();
  }
}

/**
 * "GET jobs/{id}/ack" for ".../v1/jobs/us_jb_123/ack": path segments that are plain words
 * (letters and dashes) are kept, anything else (an id, a slug with digits) becomes {id}.
 */
export function resourceOf(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return `${method} unknown`;
  }
  const parts = path
    .replace(/^.*?\/v1\//, "")
    .split("/")
    .filter(Boolean);
  return `${method} ${parts.map((part) => (/^[a-z][a-z-]*$/i.test(part) ? part : "{id}")).join("/")}`;
}
