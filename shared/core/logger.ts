import { Logger } from "@aws-lambda-powertools/logger";
import type { Context } from "aws-lambda";

/**
 * One structured JSON logger for every function. Keys named like credentials are masked, and any
 * value equal to a loaded secret is masked wherever it appears, so a secret that leaks into an
 * error message still never reaches a log line.
 */
const SENSITIVE_KEY = /(api[-_]?key|secret|token|authorization|signature|password)/i;
const knownSecrets = new Set<string>();

/** A value from 8 characters on; `minLength` 1 for one known to be a secret whatever its length. */
export function registerSecretForRedaction(value: string | undefined, minLength = 8): void {
  if (value && value.length >= Math.max(minLength, 1)) knownSecrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join("[REDACTED]");
  return out;
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? "flatfile-space-configurator",
  jsonReplacerFn: (key: string, value: unknown) => {
    if (key && SENSITIVE_KEY.test(key) && typeof value === "string") return "[REDACTED]";
    if (typeof value === "string") return redact(value);
    return value;
  },
});

export interface CorrelationKeys {
  eventId?: string;
  jobId?: string;
  spaceId?: string;
  route?: string;
}

/** Every line of one invocation carries the same correlation keys, present or null. */
export function setCorrelation(keys: CorrelationKeys): void {
  logger.resetKeys();
  logger.appendKeys({
    route: keys.route ?? null,
    eventId: keys.eventId ?? null,
    jobId: keys.jobId ?? null,
    spaceId: keys.spaceId ?? null,
  });
}

/**
 * What a route's handler is given of the Lambda context: all of it on Lambda; the local gateway,
 * the tests and the bench give the time left and a request id.
 */
export type LambdaContext = Pick<Context, "getRemainingTimeInMillis" | "awsRequestId"> & Partial<Context>;

/**
 * The Lambda context on every line of this invocation, as Powertools' `injectLambdaContext` adds
 * it: function_request_id, cold_start, function_name, function_arn, function_memory_size (keys the
 * context lacks are left out). Called with none, it still replaces the previous invocation's.
 */
export function addLambdaContext(context: Partial<Context> | undefined): void {
  logger.addContext((context ?? {}) as Context);
}
