/**
 * A flood of unsigned requests against the local gateway's throttle, with the relay delivering
 * real events through it, in virtual time: the gateway's token buckets and the relay read one
 * clock that only moves when every relay is asleep (between attempts). Requests are real HTTP to
 * the real gateway and handlers; only the waiting is skipped, so a 10-second flood takes a second
 * of wall time and its outcome does not depend on how busy the machine is.
 *
 * Two kinds of flood, both from before the relays start (so the bucket is already drained):
 *   - "paced": on average `timesLimit` times the route's rate, arriving at random (a Poisson
 *     stream, as from many independent senders; seeded). The relay competes for tokens fairly:
 *     a token is free for about 1/timesLimit of the time, so it wins about one attempt in
 *     `timesLimit`. (Evenly spaced arrivals at a whole multiple of the rate would land exactly
 *     when each token appears and never leave one; no real flood is that regular.)
 *   - "saturating": takes every token as it appears (right before every relay attempt it sends
 *     until one request is turned away): the attacker no retry schedule can outrun.
 */
import { ROUTE_THROTTLE, type ThrottleLimits } from "../../infra/throttle";
import type { RelayDeps } from "../../infra/relay/forward";
import type { RoutePath } from "../../local/gateway";

export type FloodPlan =
  | { kind: "paced"; routes: readonly RoutePath[]; timesLimit: number; from: number; until: number }
  | { kind: "saturating"; routes: readonly RoutePath[]; from: number; until: number };

export interface FloodTally {
  /** Unsigned requests sent. */
  sent: number;
  /** Their answers by status. */
  statuses: Record<number, number>;
}

export interface VirtualFlood {
  /** The virtual clock (epoch ms): give it to the gateway's throttle and to the relay. */
  now(): number;
  /** The relay's clock, sleep and randomness (seeded); logs are kept in `relayLogs`. */
  relayDeps: Pick<RelayDeps, "now" | "sleep" | "random" | "log">;
  relayLogs: { level: string; message: string; fields?: Record<string, unknown> }[];
  /** Runs the relays concurrently from `startAt` to their end, flooding as planned meanwhile. */
  run<T>(relays: (() => Promise<T>)[]): Promise<T[]>;
  readonly tally: FloodTally;
}

interface Sleeper {
  at: number;
  resolve: () => void;
}

export function createVirtualFlood(options: {
  gatewayUrl: string;
  startAt: number;
  plan: FloodPlan;
  limits?: ThrottleLimits;
  seed?: number;
}): VirtualFlood {
  const { plan, gatewayUrl } = options;
  const limits = options.limits ?? ROUTE_THROTTLE;
  let t = Math.min(plan.from, options.startAt);
  const random = mulberry32(options.seed ?? 1);
  const sleepers: Sleeper[] = [];
  let running = 0;
  let notify: () => void = () => undefined;
  const changed = () => new Promise<void>((resolve) => (notify = resolve));
  const tally: FloodTally = { sent: 0, statuses: {} };
  const relayLogs: VirtualFlood["relayLogs"] = [];
  const floodRandom = mulberry32((options.seed ?? 1) + 1);
  const meanGapMs = plan.kind === "paced" ? 1000 / (plan.timesLimit * limits.rateLimit) : 0;
  // Exponential gaps per route: a Poisson stream of the planned mean rate on each.
  const nextGap = () => -Math.log(1 - floodRandom()) * meanGapMs;
  const nextArrival = new Map(plan.routes.map((path) => [path, plan.from + nextGap()]));

  async function unsigned(path: RoutePath): Promise<number> {
    const response = await fetch(`${gatewayUrl}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await response.text();
    tally.sent += 1;
    tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
    return response.status;
  }

  const active = (at: number) => at >= plan.from && at < plan.until;

  /** Moves the clock to `target`, sending what the flood sends on the way. */
  async function floodUntil(target: number): Promise<void> {
    if (plan.kind === "paced") {
      for (;;) {
        const [path, at] = [...nextArrival].reduce((a, b) => (b[1] < a[1] ? b : a));
        if (at > target || at >= plan.until) break;
        t = Math.max(t, at);
        await unsigned(path);
        nextArrival.set(path, at + nextGap());
      }
      t = Math.max(t, target);
      return;
    }
    t = Math.max(t, target);
    if (!active(t)) return;
    // Drain every flooded route: the bucket holds at most burstLimit tokens.
    await Promise.all(
      plan.routes.map(async (path) => {
        for (let i = 0; i <= limits.burstLimit + 1; i++) if ((await unsigned(path)) === 429) return;
        throw new Error(`the gateway never throttled ${path}: is its throttle on?`);
      }),
    );
  }

  return {
    now: () => t,
    relayDeps: {
      now: () => t,
      sleep: (ms) =>
        new Promise<void>((resolve) => {
          sleepers.push({ at: t + Math.max(0, ms), resolve });
          notify();
        }),
      random,
      log: (level, message, fields) => void relayLogs.push({ level, message, fields }),
    },
    relayLogs,
    tally,
    async run(relays) {
      await floodUntil(options.startAt);
      running = relays.length;
      const results = relays.map((relay) =>
        relay().finally(() => {
          running -= 1;
          notify();
        }),
      );
      for (;;) {
        // Quiescent: every relay still running is asleep (none is waiting on HTTP).
        while (running > 0 && sleepers.length < running) await changed();
        if (running === 0) break;
        const at = Math.min(...sleepers.map((s) => s.at));
        await floodUntil(at);
        for (const due of sleepers.filter((s) => s.at <= at)) {
          sleepers.splice(sleepers.indexOf(due), 1);
          due.resolve();
        }
      }
      return Promise.all(results);
    },
  };
}

/** A small deterministic PRNG, for the relay's jitter. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
