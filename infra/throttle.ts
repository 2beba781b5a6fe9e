/**
 * The API's request throttle, one constant read by the stack (infra/stack.ts: the HTTP API
 * stage's default route settings and each route's own settings) and by the local gateway
 * (local/gateway.ts applies the same token bucket to its POST routes). No CDK import, so the
 * local gateway can read it without loading aws-cdk-lib.
 *
 * API Gateway cannot tell the relay from a stranger before the request reaches a function (an
 * HTTP API carries no WAF and no per-client limits), so a flood of unsigned requests draws on the
 * same bucket as real deliveries. The sizing, per route:
 *   - the relay's real peak is one request per Flatfile event on that route (a throttled retry
 *     takes no token: API Gateway answers 429 without invoking anything), and Flatfile raises
 *     events at human pace except `commit:created` during bulk imports: a few per second;
 *   - a flood at k times the rate leaves each relay attempt roughly a 1-in-k chance of finding a
 *     token, so what protects deliveries is the relay's many cheap attempts (infra/relay/forward.ts,
 *     `throttledMaxDelayMs`) times the rate; raising the rate raises what a flood must send;
 *   - the price of a higher rate is the ceiling on what a flood makes us pay: every request under
 *     the limit is an API Gateway request and a Lambda invocation (~1 ms for an unsigned one, which
 *     fails the signature check before anything else). At 50 requests/s a route flooded around
 *     the clock is 4.3 M requests a day, about $5 a day in API Gateway and Lambda request charges.
 * So 50 requests/s with bursts of 100 on each route: ten times the relay's peak, twice the old
 * 25/50, and a flood must keep several hundred requests a second going for the relay's whole
 * retry window to lose a delivery.
 */
export interface ThrottleLimits {
  /** Steady-state requests per second (the bucket's refill rate). */
  rateLimit: number;
  /** Bucket size: requests accepted at once after a quiet period. */
  burstLimit: number;
}

/** Applied to each POST route separately, in AWS and locally. */
export const ROUTE_THROTTLE: Readonly<ThrottleLimits> = Object.freeze({ rateLimit: 50, burstLimit: 100 });
