/**
 * Which events the customer's listener (listener/index.ts) takes, as data the relay's bundle
 * carries: what its module registered on a real `FlatfileListener` at build time
 * (listener-subscriptions.ts). Matched here by @flatfile/listener itself, so the relay forwards
 * exactly what the listener's own dispatch would hand to a callback.
 */
import { FlatfileEvent, FlatfileListener } from "@flatfile/listener";

/** One callback the listener registered: its topic patterns and every filter on the way to it. */
export interface ListenerSubscription {
  /** As given to `listener.on` (`commit:created`, `job:*`, `**`). */
  readonly topics: readonly string[];
  /** The filters of the `filter`/`namespace` nodes around it, then its own; all must match. */
  readonly filters: readonly Record<string, unknown>[];
}

/**
 * A listener rebuilt from the subscriptions, each callback a no-op inside nested filter nodes, so
 * that `getListeners` decides with the library's own topic globs and filter matching.
 */
function rebuild(subscriptions: readonly ListenerSubscription[]): FlatfileListener {
  const root = new FlatfileListener();
  for (const subscription of subscriptions) {
    let node: FlatfileListener = root;
    for (const filter of subscription.filters) node = node.filter(filter as never);
    node.on([...subscription.topics] as never, () => undefined);
  }
  return root;
}

/** `(body) => whether the listener takes it`, for the event's forwarded fields (what it will see). */
export function listenerMatcher(subscriptions: readonly ListenerSubscription[]): (body: Record<string, unknown>) => boolean {
  const listener = rebuild(subscriptions);
  return (body) => listener.getListeners(new FlatfileEvent(body as never, "", ""), true).length > 0;
}

/**
 * The jobs the listener names outright (`filter({ job: "workbook:myAction" })`, plugin-job-handler):
 * only such a job is the listener's to fail when the relay gives up on delivering it.
 */
export function namedJobs(subscriptions: readonly ListenerSubscription[]): string[] {
  const jobs = new Set<string>();
  for (const { filters } of subscriptions) {
    for (const filter of filters) {
      const values = Array.isArray(filter.job) ? filter.job : [filter.job];
      for (const value of values) if (typeof value === "string" && !/[*?]/.test(value)) jobs.add(value);
    }
  }
  return [...jobs];
}
