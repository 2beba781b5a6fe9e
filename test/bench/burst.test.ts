/**
 * The burst simulation's inputs are right (no timing is asserted): it conserves the throttle's
 * tokens, so a burst over the ceiling loses at least the excess, and a burst the bucket holds, or
 * well under the ceiling, loses nothing.
 */
import { describe, expect, it } from "vitest";
import { burstCeiling, burstLoss, RELAY_WINDOW_MS } from "../../bench/burst";
import type { ThrottleLimits } from "../../infra/throttle";

// Smaller than the deployed throttle, so the simulation stays quick; the shape is the same.
const LIMITS: ThrottleLimits = { rateLimit: 5, burstLimit: 20 };

describe("burst simulation", () => {
  it("delivers a burst the bucket holds in one attempt each", async () => {
    const result = await burstLoss(LIMITS.burstLimit, 0, { limits: LIMITS });
    expect(result).toMatchObject({ lost: 0, attempts: LIMITS.burstLimit, throttled: 0 });
  });

  it("loses at least what exceeds the tokens the window refills", async () => {
    const ceiling = burstCeiling(0, LIMITS);
    expect(ceiling).toBe(LIMITS.burstLimit + (LIMITS.rateLimit * RELAY_WINDOW_MS) / 1000);
    const result = await burstLoss(ceiling + 40, 0, { limits: LIMITS });
    expect(result.lost).toBeGreaterThanOrEqual(40);
    expect(result.throttled).toBeGreaterThan(0);
  });

  it.each([0, 3_000])("loses nothing at four fifths of the ceiling, spread over %i ms", async (spreadMs) => {
    const events = Math.floor(burstCeiling(spreadMs, LIMITS) * 0.8);
    const result = await burstLoss(events, spreadMs, { limits: LIMITS, seed: 7 });
    expect(result.lost).toBe(0);
    expect(result.throttled).toBeGreaterThan(0);
  });
});
