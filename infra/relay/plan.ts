/**
 * Build time: the relay's plan for a deploy's settings (listenerRoute, spaceConfigureBy,
 * ownedSpaces), which the bundle carries as data (bundle.ts). With the listener route on, what
 * listener/index.ts registers is read by running it (listener-subscriptions.ts).
 */
import { jobsHandedToListener, LISTENER_ROUTE, routesFor, type SpaceConfigureBy } from "../../shared/routes";
import type { RelayPlan } from "./forward";
import { listenerMatcher, namedJobs } from "./listener-match";
import { LISTENER_MODULE, readListenerSubscriptions, subscribedTopics } from "./listener-subscriptions";

export interface RelayPlanSettings {
  /** The deploy serves the customer's listener on POST /listener (the listenerRoute setting). */
  listenerRoute?: boolean;
  /** The spaceConfigureBy setting: "listener" hands space:configure to the listener. */
  spaceConfigureBy?: SpaceConfigureBy;
  /** The ownedSpaces setting as validated (infra/settings.ts). */
  ownedSpaces?: string;
  /** The listener module; default listener/index.ts. */
  listenerModule?: string;
}

/**
 * The plan, and what the build says about it: the topics the listener registered on that its
 * route does not take (LISTENER_ROUTE.topics, which the function claims by), which are not
 * forwarded; the jobs handed to the listener that none of its callbacks takes, which nobody
 * would run; and the jobs it names that our routes own on this deploy, which it never gets
 * (space:configure with spaceConfigureBy "ours"). relay:build prints each, the stack warns.
 */
export function relayPlanWithNotes(settings: RelayPlanSettings): {
  plan: RelayPlan;
  unroutedTopics: string[];
  untakenJobs: string[];
  ourJobs: string[];
} {
  const plan: RelayPlan = {};
  let unroutedTopics: string[] = [];
  let untakenJobs: string[] = [];
  let ourJobs: string[] = [];
  if (settings.listenerRoute) {
    const subscriptions = readListenerSubscriptions(settings.listenerModule ?? LISTENER_MODULE);
    const taken: readonly string[] = LISTENER_ROUTE.topics;
    const registered = subscribedTopics(subscriptions);
    unroutedTopics = registered.filter((topic) => !taken.includes(topic));
    const jobs = jobsHandedToListener({ listener: true, spaceConfigureBy: settings.spaceConfigureBy });
    const takes = listenerMatcher(subscriptions);
    // A job:ready of the job as the platform raises it, without namespaces (a callback behind
    // listener.namespace may still take it: hence a warning, not a refusal).
    const readyOf = (job: string) => {
      const [domain, operation] = job.split(":");
      return { topic: "job:ready", domain: "job", context: {}, payload: { job, domain, operation } };
    };
    untakenJobs = jobs.filter((job) => !takes(readyOf(job)));
    ourJobs = namedJobs(subscriptions).filter((job) => routesFor(readyOf(job), jobs).some((route) => route.jobs !== undefined));
    plan.listener = {
      subscriptions,
      topics: registered.filter((topic) => taken.includes(topic)),
      ...(jobs.length > 0 ? { jobs } : {}),
    };
  }
  if (settings.ownedSpaces) plan.ownedSpaces = settings.ownedSpaces;
  return { plan, unroutedTopics, untakenJobs, ourJobs };
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

export function untakenJobsNote(jobs: readonly string[]): string {
  return (
    `spaceConfigureBy is "listener", but no callback of listener/index.ts takes a job:ready of ${jobs.join(", ")} ` +
    "(for example configureSpace of @flatfile/plugin-space-configure): no Space would be configured"
  );
}

export function ourJobsNote(jobs: readonly string[]): string {
  const configure = jobsHandedToListener({ listener: true, spaceConfigureBy: "listener" });
  const hint = jobs.some((job) => configure.includes(job)) ? ' (set spaceConfigureBy to "listener" to hand space:configure to it)' : "";
  return `listener/index.ts takes ${jobs.join(", ")}, which our routes own on this deploy: the listener never gets ${jobs.length === 1 ? "it" : "them"}${hint}`;
}
