/** The Retry-After a copy in flight is given, from when the first delivery's lock lapses. */
import { describe, expect, it } from "vitest";
import { IN_FLIGHT_RETRY_AFTER_MAX_S, inFlightRetryAfterSeconds } from "../../../shared/core/route";
import { RELAY_BOUND } from "../../../infra/relay/forward";

describe("Retry-After for a copy in flight", () => {
  const now = 1_000_000;
  it("is the whole seconds until the first's lock lapses, at least 1", () => {
    expect(inFlightRetryAfterSeconds(now + 2_100, now)).toBe(3);
    expect(inFlightRetryAfterSeconds(now + 200, now)).toBe(1);
    expect(inFlightRetryAfterSeconds(now - 500, now)).toBe(1);
  });

  it("is capped, so a sender that honours it in full comes back soon enough to replay a first that finished", () => {
    expect(inFlightRetryAfterSeconds(now + 24_000, now)).toBe(IN_FLIGHT_RETRY_AFTER_MAX_S);
    expect(inFlightRetryAfterSeconds(undefined, now)).toBe(IN_FLIGHT_RETRY_AFTER_MAX_S);
    // The relay honours a Retry-After up to its longest backoff: the cap is not beyond it.
    expect(IN_FLIGHT_RETRY_AFTER_MAX_S * 1000).toBeLessThanOrEqual(RELAY_BOUND.maxDelayMs);
  });
});
