/**
 * API Gateway's throttle, as its documentation describes it: a token bucket per route, a token per
 * request, refilled at `rateLimit` tokens a second up to `burstLimit`; a request that finds no
 * whole token is answered 429 without reaching the integration (and takes nothing from the
 * bucket). Starts full, as a route that has been quiet. The clock is injectable so that tests can
 * run a flood in virtual time.
 */
import type { ThrottleLimits } from "../infra/throttle";

export class TokenBucket {
  private tokens: number;
  /** When the bucket was last looked at; undefined until the first request. */
  private last: number | undefined;

  constructor(
    private readonly limits: ThrottleLimits,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limits.rateLimit > 0) || !(limits.burstLimit >= 1)) throw new Error(`invalid throttle ${JSON.stringify(limits)}`);
    this.tokens = limits.burstLimit;
  }

  /** Takes a token if there is one; false means "answer 429". */
  take(): boolean {
    const now = this.now();
    // A clock that steps back refills nothing rather than draining.
    const elapsedMs = Math.max(0, now - (this.last ?? now));
    this.last = Math.max(this.last ?? now, now);
    this.tokens = Math.min(this.limits.burstLimit, this.tokens + (elapsedMs / 1000) * this.limits.rateLimit);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
