/**
 * Errors that carry the HTTP answer the route gives. Anything else that escapes a handler is
 * treated as a retryable 5xx, so an unknown failure is retried rather than silently dropped.
 */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 400: the body is malformed, is not a Flatfile event, or carries a malformed id. */
export class BadRequestError extends HttpError {
  constructor(message: string) {
    super(400, message);
  }
}

/** 401: the signature is missing, wrong or stale. The reason is logged, never returned. */
export class UnauthorizedError extends HttpError {
  constructor(readonly reason: string) {
    super(401, "invalid signature");
  }
}

/** 403: the event belongs to another Flatfile environment. */
export class ForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, message);
  }
}

/** 404: Flatfile says a resource named by the event does not exist. Not retryable. */
export class NotFoundError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(404, message, options);
  }
}

/** 503: a dependency failed in a way that a later delivery may get past. */
export class RetryableError extends HttpError {
  constructor(message: string, options?: ErrorOptions) {
    super(503, message, options);
  }
}

/**
 * 503: the invocation's time ran out with the work part-way and resumable (a submission's upload):
 * the next delivery, or the worker, carries it on from where it stopped.
 */
export class WorkInProgress extends RetryableError {}

/**
 * A failure a person must act on (records still in error, say). The job ends `failed` with this
 * message; the delivery itself was handled, so it is not retried.
 */
export class JobFailure extends Error {
  constructor(
    readonly userMessage: string,
    readonly heading = "Action needed",
  ) {
    super(userMessage);
    this.name = "JobFailure";
  }
}

/**
 * The work goes on outside this delivery (the action-job worker, shared/core/hand-off.ts): the job
 * stays executing, acknowledged with `info`, and the delivery is answered as handled. `handOff`
 * starts that work; when it cannot, the job is left for a retry as after any temporary failure.
 */
export class ContinuesElsewhere extends Error {
  constructor(
    readonly info: string,
    readonly handOff: () => Promise<void>,
    readonly summary: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(info, options);
    this.name = "ContinuesElsewhere";
  }
}
