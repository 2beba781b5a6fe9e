/**
 * The largest burst of events the relay gets through one route's throttle without losing any: a
 * customer's bulk load (say, thousands of Spaces created by a script) arrives within a few
 * seconds, each event relayed by the relay's own `deliver()` (infra/relay/forward.ts, its real
 * bound and backoff) against one token bucket with the route throttle cdk.json deploys
 * (local/route-throttle.ts). Virtual time, no HTTP: a discrete-event simulation in which every
 * attempt takes a token or gets API Gateway's 429.
 *
 *   npx tsx bench/burst.ts          (also the `bursts` section of npm run bench)
 */
import { deliver, RELAY_BOUND, type RelayDeps, type RetryBound } from "../infra/relay/forward";
import type { ThrottleLimits } from "../infra/throttle";
import { configuredRouteThrottle } from "../local/route-throttle";
import { TokenBucket } from "../local/token-bucket";
import { prng } from "../test/support/prng";

/** How long the relay keeps trying one event: its whole bound less what it keeps for failing the job. */
export const RELAY_WINDOW_MS = RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs;

/** The spreads reported: every event at once, and a bulk load over 3 s. */
export const BURST_SPREADS_MS = [0, 3_000] as const;

/** Seeds each burst size is tried with: lossless means lossless for all of them. */
const SEEDS = [1, 2, 3] as const;

interface Wake {
  at: number;
  seq: number;
  run: () => void;
}

/** A binary min-heap of wake-ups by time, then by insertion order (so equal times stay FIFO). */
class WakeQueue {
  private readonly items: Wake[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  push(at: number, run: () => void): void {
    const items = this.items;
    items.push({ at, seq: this.seq++, run });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Wake | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const [l, r] = [2 * i + 1, 2 * i + 2];
        let smallest = i;
        if (l < items.length && before(items[l]!, items[smallest]!)) smallest = l;
        if (r < items.length && before(items[r]!, items[smallest]!)) smallest = r;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

const before = (a: Wake, b: Wake) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

export interface BurstResult {
  events: number;
  spreadMs: number;
  /** Events the relay gave up on (each would fail its job with the relay's throttle message). */
  lost: number;
  /** Attempts over all events, and how many the throttle turned away. */
  attempts: number;
  throttled: number;
}

/**
 * `events` events arriving at random within `spreadMs` (all at once for 0), each relayed by
 * `deliver()` against one shared bucket that starts full (a quiet route). Exactly one delivery
 * runs at a time: the one whose sleep ended earliest, so the run is deterministic per seed.
 */
export async function burstLoss(
  events: number,
  spreadMs: number,
  options: { limits?: ThrottleLimits; bound?: RetryBound; seed?: number } = {},
): Promise<BurstResult> {
  const limits = options.limits ?? configuredRouteThrottle();
  const bound = options.bound ?? RELAY_BOUND;
  const random = prng(options.seed ?? 1);
  const start = 1_000_000;
  let now = start;
  const bucket = new TokenBucket(limits, () => now);
  const queue = new WakeQueue();
  // Called when the running delivery parks (sleeps) or ends: the scheduler then wakes the next.
  let parked: () => void = () => undefined;
  let attempts = 0;
  let throttled = 0;
  let lost = 0;

  const deps: RelayDeps = {
    now: () => now,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        queue.push(now + Math.max(0, ms), resolve);
        parked();
      }),
    // Answers are instant here: no attempt runs long enough to time out.
    timer: () => () => undefined,
    random,
    log: () => undefined,
    fetch: (async () => {
      attempts += 1;
      if (bucket.take()) return new Response("{}", { status: 200 });
      throttled += 1;
      return new Response('{"message":"Too Many Requests"}', { status: 429 });
    }) as typeof fetch,
  };

  const arrivals = Array.from({ length: events }, () => start + (spreadMs > 0 ? random() * spreadMs : 0)).sort((a, b) => a - b);
  for (const at of arrivals) {
    queue.push(at, () => {
      void deliver(
        {
          url: "http://burst.invalid/space-configure",
          rawBody: "{}",
          signingSecret: "whsec_bench_burst_0123456789",
          deadline: at + RELAY_WINDOW_MS,
        },
        deps,
        bound,
      ).then((result) => {
        if (!result.ok) lost += 1;
        parked();
      });
    });
  }

  for (let wake = queue.pop(); wake; wake = queue.pop()) {
    now = Math.max(now, wake.at);
    const settled = new Promise<void>((resolve) => (parked = resolve));
    wake.run();
    await settled;
  }
  return { events, spreadMs, lost, attempts, throttled };
}

/**
 * What no relay schedule can beat: the bucket's size plus what it refills while the last event
 * can still be tried (the spread and one relay window). Anything above it loses at least the excess.
 */
export function burstCeiling(spreadMs: number, limits: ThrottleLimits = configuredRouteThrottle()): number {
  return Math.floor(limits.burstLimit + (limits.rateLimit * (spreadMs + RELAY_WINDOW_MS)) / 1000);
}

/** Lossless for every seed. */
async function lossless(events: number, spreadMs: number, limits: ThrottleLimits): Promise<boolean> {
  for (const seed of SEEDS) if ((await burstLoss(events, spreadMs, { limits, seed })).lost > 0) return false;
  return true;
}

/** The largest burst within `spreadMs` that loses nothing, by binary search between the bucket's size and the ceiling. */
export async function largestLosslessBurst(spreadMs: number, limits: ThrottleLimits = configuredRouteThrottle()): Promise<number> {
  let low = limits.burstLimit;
  if (!(await lossless(low, spreadMs, limits))) return 0;
  let high = burstCeiling(spreadMs, limits) + 1;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await lossless(mid, spreadMs, limits)) low = mid;
    else high = mid;
  }
  return low;
}

export interface BurstRow {
  spreadMs: number;
  ceiling: number;
  largestLossless: number;
  /** 5 % more than the largest lossless burst, to show what is lost past it. */
  over: BurstResult;
}

export async function bursts(limits: ThrottleLimits = configuredRouteThrottle()): Promise<BurstRow[]> {
  const rows: BurstRow[] = [];
  for (const spreadMs of BURST_SPREADS_MS) {
    const largestLossless = await largestLosslessBurst(spreadMs, limits);
    const over = await burstLoss(Math.ceil(largestLossless * 1.05), spreadMs, { limits });
    rows.push({ spreadMs, ceiling: burstCeiling(spreadMs, limits), largestLossless, over });
  }
  return rows;
}

export function printBursts(rows: BurstRow[], limits: ThrottleLimits = configuredRouteThrottle()): void {
  const n = (x: number) => x.toLocaleString("en-US");
  console.log(
    `   route limit ${limits.rateLimit}/s (burst ${limits.burstLimit}, cdk.json); relay window ${RELAY_WINDOW_MS / 1000} s; lossless = no event lost for seeds ${SEEDS.join(", ")}`,
  );
  for (const row of rows) {
    const when = row.spreadMs === 0 ? "all at once" : `over ${row.spreadMs / 1000} s`;
    console.log(
      `   ${when.padEnd(12)} largest lossless burst ${n(row.largestLossless)} of a ceiling of ${n(row.ceiling)} (${((row.largestLossless / row.ceiling) * 100).toFixed(1)} %); ${n(row.over.events)} lose ${n(row.over.lost)}`,
    );
  }
}

if (require.main === module) {
  bursts()
    .then((rows) => printBursts(rows))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
