/**
 * Build time: the relay's plan for a deploy's settings (listenerRoute, ownedSpaces), which the
 * bundle carries as data (bundle.ts). With the listener route on, what listener/index.ts registers
 * is read by running it (listener-subscriptions.ts).
 */
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

export function relayPlanFor(settings: RelayPlanSettings): RelayPlan {
  const plan: RelayPlan = {};
  if (settings.listenerRoute) {
    const subscriptions = readListenerSubscriptions(settings.listenerModule ?? LISTENER_MODULE);
    plan.listener = { subscriptions, topics: subscribedTopics(subscriptions) };
  }
  if (settings.ownedSpaces) plan.ownedSpaces = settings.ownedSpaces;
  return plan;
}
