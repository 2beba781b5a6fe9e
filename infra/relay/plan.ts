/**
 * Build time: the relay's plan for a deploy's settings (listenerRoute, ownedSpaces), which the
 * bundle carries as data (bundle.ts). With the listener route on, what listener/index.ts registers
 * is read by running it (listener-subscriptions.ts).
 */
import { LISTENER_ROUTE } from "../../shared/routes";
import type { RelayPlan } from "./forward";
import { LISTENER_MODULE, readListenerSubscriptions, subscribedTopics } from "./listener-subscriptions";

export interface RelayPlanSettings {
  /** The deploy serves the customer's listener on POST /listener (the listenerRoute setting). */
  listenerRoute?: boolean;
  /** The ownedSpaces setting as validated (infra/settings.ts). */
  ownedSpaces?: string;
  /** The listener module; default listener/index.ts. */
  listenerModule?: string;
}

/**
 * The plan, and the topics the listener registered on that its route does not take
 * (LISTENER_ROUTE.topics, which the function claims by): those are not forwarded, and the build
 * says so (relay:build prints them, the stack adds a warning).
 */
export function relayPlanWithNotes(settings: RelayPlanSettings): { plan: RelayPlan; unroutedTopics: string[] } {
  const plan: RelayPlan = {};
  let unroutedTopics: string[] = [];
  if (settings.listenerRoute) {
    const subscriptions = readListenerSubscriptions(settings.listenerModule ?? LISTENER_MODULE);
    const taken: readonly string[] = LISTENER_ROUTE.topics;
    const registered = subscribedTopics(subscriptions);
    unroutedTopics = registered.filter((topic) => !taken.includes(topic));
    plan.listener = { subscriptions, topics: registered.filter((topic) => taken.includes(topic)) };
  }
  if (settings.ownedSpaces) plan.ownedSpaces = settings.ownedSpaces;
  return { plan, unroutedTopics };
}

export function relayPlanFor(settings: RelayPlanSettings): RelayPlan {
  return relayPlanWithNotes(settings).plan;
}

export function unroutedTopicsNote(topics: readonly string[]): string {
  return (
    `listener/index.ts registers on ${topics.join(", ")}, which the listener route does not take ` +
    `(it takes ${LISTENER_ROUTE.topics.join(", ")}): the relay does not forward them`
  );
}
