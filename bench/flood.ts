/**
 * How likely a flood is to make the relay lose a delivery, by flood rate: the relay's own
 * `deliver()` (infra/relay/forward.ts) with its real bound, against the throttle's token bucket
 * (local/token-bucket.ts, ROUTE_THROTTLE), with a flood of unsigned requests arriving at random
 * (Poisson) at k times the route's rate for the whole window, from a drained bucket. Virtual
 * time, no HTTP: each relay attempt takes a token or gets API Gateway's 429. Compared with the
 * relay's previous schedule (1-8 s backoff for every retry), same bound.
 *
 *   npx tsx bench/flood.ts          (also a section of npm run bench)
 *   BENCH_FLOOD_TRIALS=400          deliveries simulated per flood rate (default 200)
 */
import { deliver, RELAY_BOUND, routeUrl, type RelayDeps, type RetryBound } from "../infra/relay/forward";
import { ROUTE_PATHS } from "../shared/routes";
import { ROUTE_THROTTLE } from "../infra/throttle";
import { TokenBucket } from "../local/token-bucket";
import { prng } from "../test/support/prng";

export const FLOOD_MULTIPLES = [2, 5, 10, 20, 50, 100] as const;

/** The earlier schedule, a throttle's 429 backed off like a 5xx: the baseline the quick retries are measured against. */
const PREVIOUS_SCHEDULE: RetryBound = {
  ...RELAY_BOUND,
  throttledBaseDelayMs: RELAY_BOUND.baseDelayMs,
  throttledMaxDelayMs: RELAY_BOUND.maxDelayMs,
};

export interface FloodLossRow {
  timesLimit: number;
  floodPerSecond: number;
  /** Share of deliveries lost (the relay gave up) with the current schedule, and the previous one. */
  lost: number;
  lostBefore: number;
  /** Mean attempts per delivery, current schedule. */
  attempts: number;
}

/** One delivery under a flood of `timesLimit` x the route's rate; whether it got through, and in how many attempts. */
async function oneDelivery(timesLimit: number, bound: RetryBound, random: () => number): Promise<{ delivered: boolean; attempts: number }> {
  let now = 1_000_000;
  const bucket = new TokenBucket(ROUTE_THROTTLE, () => now);
  const meanGapMs = 1000 / (timesLimit * ROUTE_THROTTLE.rateLimit);
  // The flood has run for 2-3 s already: the burst is spent. A random phase: starting it a whole
  // number of seconds earlier would line a token up with the relay's first attempt exactly.
  let floodAt = now - 2_000 - random() * 1_000;
  const floodUntil = (t: number) => {
    const saved = now;
    for (; floodAt <= t; floodAt += -Math.log(1 - random()) * meanGapMs) {
      now = floodAt;
      bucket.take();
    }
    now = Math.max(saved, t);
  };
  let attempts = 0;
  const deps: RelayDeps = {
    now: () => now,
    sleep: async (ms) => floodUntil(now + ms),
    // Answers are instant in this simulation: no attempt lasts long enough to time out.
    timer: () => () => undefined,
    random,
    log: () => undefined,
    fetch: (async () => {
      floodUntil(now);
      attempts += 1;
      return bucket.take() ? new Response("{}", { status: 200 }) : new Response('{"message":"Too Many Requests"}', { status: 429 });
    }) as typeof fetch,
  };
  const result = await deliver(
    {
      url: routeUrl("http://flooded.invalid", ROUTE_PATHS[0]!),
      rawBody: "{}",
      signingSecret: "whsec_bench_flood_0123456789",
      deadline: now + RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs,
    },
    deps,
    bound,
  );
  return { delivered: result.ok, attempts };
}

export async function floodLoss(trials = Number(process.env.BENCH_FLOOD_TRIALS ?? 200)): Promise<FloodLossRow[]> {
  const rows: FloodLossRow[] = [];
  for (const timesLimit of FLOOD_MULTIPLES) {
    const random = prng(timesLimit);
    let lost = 0;
    let lostBefore = 0;
    let attempts = 0;
    for (let i = 0; i < trials; i++) {
      const now = await oneDelivery(timesLimit, RELAY_BOUND, random);
      const before = await oneDelivery(timesLimit, PREVIOUS_SCHEDULE, random);
      if (!now.delivered) lost += 1;
      if (!before.delivered) lostBefore += 1;
      attempts += now.attempts;
    }
    rows.push({
      timesLimit,
      floodPerSecond: timesLimit * ROUTE_THROTTLE.rateLimit,
      lost: lost / trials,
      lostBefore: lostBefore / trials,
      attempts: attempts / trials,
    });
  }
  return rows;
}

export function printFloodLoss(rows: FloodLossRow[], trials: number): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`.padEnd(10);
  console.log(
    `   route limit ${ROUTE_THROTTLE.rateLimit}/s (burst ${ROUTE_THROTTLE.burstLimit}); relay window ${(RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs) / 1000} s; ${trials} deliveries per row; flood lasts the whole window`,
  );
  console.log(`   ${"flood".padEnd(18)}${"lost now".padEnd(10)}${"attempts".padEnd(10)}lost with the 1-8 s schedule`);
  for (const r of rows) {
    console.log(
      `   ${`${r.timesLimit}x = ${r.floodPerSecond}/s`.padEnd(18)}${pct(r.lost)}${r.attempts.toFixed(0).padEnd(10)}${pct(r.lostBefore).trim()}`,
    );
  }
}

if (require.main === module) {
  const trials = Number(process.env.BENCH_FLOOD_TRIALS ?? 200);
  floodLoss(trials)
    .then((rows) => printFloodLoss(rows, trials))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
