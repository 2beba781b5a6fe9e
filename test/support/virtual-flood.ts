/**
 * A flood of unsigned requests against the local gateway's throttle while the relay delivers real
 * events, in virtual time: real HTTP, only the waiting skipped, so the outcome does not depend on
 * the machine's speed. The two kinds of flood: docs/design.md#the-virtual-flood.
 */
import { ROUTE_THROTTLE, type ThrottleLimits } from "../../infra/throttle";
import {
  defaultDeps,
  RELAY_BOUND,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  relayEvent,
  type RelayDeps,
  type RelayOutcome,
  type RetryBound,
} from "../../infra/relay/forward";
import { startGateway, type RoutePath } from "../../local/gateway";
import type { RouteHandler } from "../../shared/core/route";
import { prng } from "./prng";

/** The production bound scaled down ten times: same shape, same number of attempts. */
export const SHORT_BOUND: RetryBound = {
  totalMs: RELAY_BOUND.totalMs / 10,
  failReserveMs: RELAY_BOUND.failReserveMs / 10,
  // Not scaled, and on the virtual clock (relayDeps.timer), which stands still while any attempt
  // is in flight: an attempt is real HTTP to a real handler, taking no virtual time. (A real timer
  // of the virtual time left cut attempts short on a starved machine: near the deadline most
  // attempts "timed out" and the give-up no longer read as a flood.)
  attemptTimeoutMs: RELAY_BOUND.attemptTimeoutMs,
  baseDelayMs: RELAY_BOUND.baseDelayMs / 10,
  maxDelayMs: RELAY_BOUND.maxDelayMs / 10,
  throttledBaseDelayMs: RELAY_BOUND.throttledBaseDelayMs / 10,
  throttledMaxDelayMs: RELAY_BOUND.throttledMaxDelayMs / 10,
};
/** The relay's delivery window under the short bound. */
export const SHORT_WINDOW_MS = SHORT_BOUND.totalMs - SHORT_BOUND.failReserveMs;

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
  /** The relay's clock, sleep, timers and randomness (seeded); logs are kept in `relayLogs`. */
  relayDeps: Pick<RelayDeps, "now" | "sleep" | "timer" | "random" | "log">;
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
  const random = prng(options.seed ?? 1);
  const sleepers: Sleeper[] = [];
  const timers = new Set<{ at: number; fire: () => void }>();
  let running = 0;
  let notify: () => void = () => undefined;
  const changed = () => new Promise<void>((resolve) => (notify = resolve));
  const tally: FloodTally = { sent: 0, statuses: {} };
  const relayLogs: VirtualFlood["relayLogs"] = [];
  const floodRandom = prng((options.seed ?? 1) + 1);
  const meanGapMs = plan.kind === "paced" ? 1000 / (plan.timesLimit * limits.rateLimit) : 0;
  // Exponential gaps per route: a Poisson stream of the planned mean rate on each.
  const nextGap = () => -Math.log(1 - floodRandom()) * meanGapMs;
  // The first request at a random phase of the token interval: a flood that started a whole
  // number of seconds before the relay would line a token up with the relay's first attempt.
  const nextArrival = new Map(plan.routes.map((path) => [path, plan.from + floodRandom() * (1000 / limits.rateLimit)]));

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
      timer: (ms, fire) => {
        const timer = { at: t + Math.max(0, ms), fire };
        timers.add(timer);
        return () => void timers.delete(timer);
      },
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
        for (const due of [...timers].filter((timer) => timer.at <= at)) {
          timers.delete(due);
          due.fire();
        }
        for (const due of sleepers.filter((s) => s.at <= at)) {
          sleepers.splice(sleepers.indexOf(due), 1);
          due.resolve();
        }
      }
      return Promise.all(results);
    },
  };
}

export interface Delivery {
  name: string;
  event: Record<string, unknown>;
  /** The job the event carries, if any: it must end complete or failed. */
  jobId?: string;
}

export interface Relayed {
  delivery: Delivery;
  outcome: RelayOutcome;
  /** Virtual time when the relay finished with the event. */
  endedAt: number;
}

/**
 * The relay (forward.ts's relayEvent, with `bound`) delivers each event through a gateway that
 * throttles on the flood's clock, while the flood planned from the start time runs.
 */
export async function relayUnderFlood(options: {
  routes: Record<RoutePath, RouteHandler>;
  flatfile: { url: string; apiKey: string };
  signingSecret: string;
  plan: (start: number) => FloodPlan;
  deliveries: Delivery[];
  bound?: RetryBound;
  seed?: number;
}): Promise<{ relayed: Relayed[]; flood: VirtualFlood; start: number }> {
  const start = Date.now();
  let flood: VirtualFlood | undefined;
  // The bucket reads the clock on its first request, when the flood exists.
  const gateway = await startGateway({ port: 0, routes: options.routes, throttle: { now: () => flood!.now() } });
  try {
    const running = createVirtualFlood({ gatewayUrl: gateway.url, startAt: start, plan: options.plan(start), seed: options.seed ?? 13 });
    flood = running;
    const secrets: Record<string, string> = { [RELAY_SECRET_BASE_URL]: gateway.url, [RELAY_SECRET_SIGNING]: options.signingSecret };
    const context = {
      readSecret: async (name: string) => secrets[name] ?? "",
      flatfileApi: { url: options.flatfile.url, token: options.flatfile.apiKey },
    };
    const deps: RelayDeps = { ...defaultDeps(), ...running.relayDeps };
    const relayed = await running.run(
      options.deliveries.map((delivery) => async (): Promise<Relayed> => {
        const outcome = await relayEvent(delivery.event, context, deps, options.bound ?? SHORT_BOUND);
        return { delivery, outcome, endedAt: running.now() };
      }),
    );
    return { relayed, flood: running, start };
  } finally {
    await gateway.close();
  }
}

/** The relay's own log of attempts the gateway's throttle turned away. */
export const throttledAttempts = (flood: VirtualFlood): number =>
  flood.relayLogs.filter((l) => l.message === "relay delivery failed, will retry" && String(l.fields?.reason).includes("HTTP 429")).length;
