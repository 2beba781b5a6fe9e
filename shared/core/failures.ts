import { HttpError, JobFailure, NotFoundError, RetryableError } from "./errors";
import { FlatfileApiError } from "./flatfile-http";
import { FAILED_HEADINGS } from "./job-outcomes";
import { redact } from "./logger";

/** What kind of failure an error is, and what a person reading the job's message should do. */
export type FailureKind = "retryable" | "not-found" | "action-needed" | "defect";

/** `detail`: a short, secret-free description for logs and messages. */
export type FailureVerdict = { [K in FailureKind]: { kind: K; detail: string } }[FailureKind];

/** A failure that ends the job. A temporary one leaves it open for the retry instead (runJob). */
export type FinalVerdict = Exclude<FailureVerdict, { kind: "retryable" }>;

export function judge(error: unknown): FailureVerdict {
  if (error instanceof JobFailure) return { kind: "action-needed", detail: error.userMessage };
  if (error instanceof RetryableError) return { kind: "retryable", detail: error.message };
  if (error instanceof NotFoundError) return { kind: "not-found", detail: error.message };
  if (error instanceof HttpError) return { kind: error.statusCode >= 500 ? "retryable" : "defect", detail: error.message };
  if (error instanceof FlatfileApiError) {
    const status = error.statusCode;
    const where = `Flatfile ${error.path.replace(/^.*?\/v1\//, "/v1/")}`;
    if (error.reason === "timeout") return { kind: "retryable", detail: `${where} did not answer in time` };
    if (status === undefined) return { kind: "retryable", detail: `${where} could not be reached` };
    if (status === 404) return { kind: "not-found", detail: `${where} answered 404: it does not exist` };
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: "retryable", detail: `${where} answered ${status}` };
    }
    return { kind: "defect", detail: `${where} rejected the request (${status})` };
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { kind: "defect", detail: redact(message).slice(0, 300) };
}

/** The message a person sees on a job that failed, by verdict. */
export function messageFor(verdict: FinalVerdict, what: string): { heading: string; message: string } {
  switch (verdict.kind) {
    case "action-needed":
      return { heading: FAILED_HEADINGS.actionNeeded, message: verdict.detail };
    case "not-found":
      return {
        heading: FAILED_HEADINGS.notFound,
        message: `${what} could not finish: ${verdict.detail}. It may have been deleted; refresh the page and try again.`,
      };
    case "defect":
      return {
        heading: FAILED_HEADINGS.unexpected,
        message: `${what} failed with an unexpected error (${verdict.detail}). Ask your administrator to check the configurator's logs.`,
      };
  }
}

/** The `info` of a job left executing after a temporary failure, until a redelivery resumes it. */
export function retryingInfo(verdict: FailureVerdict, what: string): string {
  return `${what} is waiting on a service that is temporarily unavailable (${verdict.detail}); retrying automatically.`;
}

/** Flatfile failures as the answers the route gives: 404 is final, 5xx/timeouts are retried. */
export function asRouteError(error: unknown, what: string): unknown {
  if (error instanceof HttpError) return error;
  const verdict = judge(error);
  if (verdict.kind === "not-found") return new NotFoundError(`${what}: ${verdict.detail}`, { cause: error });
  if (verdict.kind === "retryable") return new RetryableError(`${what}: ${verdict.detail}`, { cause: error });
  return error;
}
