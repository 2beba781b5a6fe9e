/**
 * The relay agent: a Flatfile-hosted listener that forwards exactly the events our functions own
 * (and, with a plan, those the customer's listener registered for) to the AWS API, signed, retried within a bound, with nothing but the raw platform event in the
 * body. See forward.ts for the rules and the bound; bundle.ts turns this file into the single JS
 * file that Flatfile's agent runtime runs.
 *
 * Flatfile secrets it reads (registration upserts them, scoped to the environment):
 *   RELAY_BASE_URL        the API's base URL, route paths are appended;
 *   RELAY_SIGNING_SECRET  the HMAC key of the `x-flatfile-signature` contract;
 *   RELAY_PREVIOUS_SIGNING_SECRET  only during a rotation: signed with too (a second `v1=`).
 */
import type { FlatfileEvent, FlatfileListener } from "@flatfile/listener";
import {
  defaultDeps,
  RELAY_TOPICS,
  relayEventToAll,
  relayTopics,
  type PlatformEvent,
  type RelayDeps,
  type RelayOutcome,
  type RelayPlan,
  type RetryBound,
} from "./forward";

export { RELAY_TOPICS };

export interface RelayAgentOptions {
  deps?: Partial<RelayDeps>;
  bound?: RetryBound;
  /** What this deploy forwards beyond our routes (bundle.ts writes it into the bundle). Default: our routes only. */
  plan?: RelayPlan;
  /** Observes each outcome, one per route the event went to (tests); the agent itself only logs. */
  onOutcome?: (outcome: RelayOutcome, event: FlatfileEvent) => void;
}

export function createRelayAgent(options: RelayAgentOptions = {}): (listener: FlatfileListener) => void {
  return (listener) => {
    const handle = async (event: FlatfileEvent) => {
      const deps = { ...defaultDeps(), ...options.deps };
      const outcomes = await relayEventToAll(
        event.src as unknown as PlatformEvent,
        {
          readSecret: (name) => event.secrets(name),
          // The agent's own token and API base, used only to fail a job it could not deliver.
          flatfileApi: { url: event._apiUrl, token: event._accessToken },
        },
        deps,
        options.bound,
        options.plan,
      );
      for (const outcome of outcomes) options.onOutcome?.(outcome, event);
    };
    for (const topic of relayTopics(options.plan)) listener.on(topic, handle);
  };
}

export default createRelayAgent();
