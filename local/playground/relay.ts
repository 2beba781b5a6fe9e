/**
 * Delivers an event to the local routes the way the deployed relay does: the relay's own code
 * (infra/relay/forward.ts: routing to every route that takes the event, signing, retries within
 * its bound, failing the job when it gives up), with the local gateway as its base URL, and the
 * plan of a deploy that serves the customer's listener (read from listener/index.ts, plan.ts).
 */
import {
  defaultDeps,
  RELAY_BOUND,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  relayEventToAll,
  type PlatformEvent,
  type RelayDeps,
  type RelayOutcome,
  type RelayPlan,
  type RetryBound,
} from "../../infra/relay/forward";
import type { Activity, DeliverySource } from "./activity";

export interface LocalRelayOptions {
  gatewayUrl: string;
  signingSecret: string;
  /** The Flatfile API and key the relay fails a job with when it gives up (an agent's token in production). */
  flatfile: { url: string; token: string };
  activity: Activity;
  bound?: RetryBound;
  deps?: Partial<RelayDeps>;
  /** What it forwards beyond our routes (local-run.ts: the listener's, and OWNED_SPACES). Default: our routes only. */
  plan?: RelayPlan;
}

/**
 * Relays one event; resolves with the first route's outcome (ours before the listener's, as the
 * flows wait on ours), every route's recorded on its delivery.
 */
export type Forward = (event: PlatformEvent, source: DeliverySource) => Promise<RelayOutcome>;

export function describeOutcome(outcome: RelayOutcome): string {
  switch (outcome.kind) {
    case "ignored":
      return `not forwarded: ${outcome.reason ?? "the relay does not own this event"}`;
    case "delivered":
      return `delivered to ${outcome.route}: HTTP ${outcome.status}${outcome.attempts > 1 ? ` after ${outcome.attempts} attempts` : ""}`;
    case "gave-up": {
      const job =
        outcome.jobFailed === "not-a-job"
          ? ""
          : outcome.jobFailed
            ? "; the relay failed the job"
            : "; the job could not be failed and stays open";
      return `the relay gave up: ${outcome.reason}${job}`;
    }
  }
}

export function createLocalRelay(options: LocalRelayOptions): Forward {
  const secrets: Record<string, string> = {
    [RELAY_SECRET_BASE_URL]: options.gatewayUrl,
    [RELAY_SECRET_SIGNING]: options.signingSecret,
  };
  // The relay's log lines are for Flatfile's agent log; here the page shows the same facts.
  const deps: RelayDeps = { ...defaultDeps(), log: () => undefined, ...options.deps };
  return async (event, source) => {
    if (typeof event.id === "string") options.activity.expect(event.id, source);
    const outcomes = await relayEventToAll(
      event,
      { readSecret: async (name) => secrets[name] ?? "", flatfileApi: options.flatfile },
      deps,
      options.bound ?? RELAY_BOUND,
      options.plan,
    );
    if (typeof event.id === "string") {
      for (const outcome of outcomes) {
        if (outcome.kind !== "ignored") options.activity.setRelayOutcome(event.id, describeOutcome(outcome), outcome.route);
      }
      // Every delivery has arrived by now: a later request with this id is someone's `npm run send`.
      options.activity.forget(event.id);
    }
    return outcomes[0]!;
  };
}
