/**
 * The API's request throttle, read by the stack and by the local gateway (no CDK import, so the
 * gateway need not load aws-cdk-lib). 50 requests/s with bursts of 100 per route: ten times the
 * relay's peak, with a flood's cost bounded. The sizing: docs/design.md#the-throttle.
 */
export interface ThrottleLimits {
  /** Steady-state requests per second (the bucket's refill rate). */
  rateLimit: number;
  /** Bucket size: requests accepted at once after a quiet period. */
  burstLimit: number;
}

/** Applied to each POST route separately, in AWS and locally. */
export const ROUTE_THROTTLE: Readonly<ThrottleLimits> = Object.freeze({ rateLimit: 50, burstLimit: 100 });
