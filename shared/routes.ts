/**
 * The routes, declared once. Each is a Lambda function (`functions/<name>/handler.ts`), a POST path
 * on the HTTP API, and the events it takes. The stack, the relay (the topics it subscribes to and
 * where it forwards each event), the local gateway, `npm run send` and each route's claim read this
 * table: adding a route is one entry here plus its folder.
 *
 * Data only: it imports nothing but the blueprint's action names (pure data themselves), so the
 * CDK app and the relay bundle read it without any runtime code.
 */
import type { Flatfile } from "@flatfile/api";
import { OWNED_ACTION_JOBS } from "./domain/blueprint";

export interface RouteDeclaration {
  /** The function: `functions/<name>/`, `dist/<name>/`, and the `route` of its logs and metrics. */
  readonly name: string;
  /** Its POST path on the HTTP API (and on the local gateway). */
  readonly path: `/${string}`;
  /**
   * The Flatfile topics it takes; the relay subscribes to every route's. May be computed, e.g. read
   * at build time from a module's own declaration, as long as this file stays data.
   */
  readonly topics: readonly Flatfile.EventTopic[];
  /**
   * The jobs it owns (`payload.job`, `<domain>:<operation>`): of its topics' events, only those of
   * these jobs are its, and only it may acknowledge or fail them. Absent: every event of its topics.
   */
  readonly jobs?: readonly string[];
}

export const ROUTES = [
  { name: "space-configure", path: "/space-configure", topics: ["job:ready"], jobs: ["space:configure"] },
  { name: "action-job", path: "/action-job", topics: ["job:ready"], jobs: OWNED_ACTION_JOBS },
  { name: "commit-created", path: "/commit-created", topics: ["commit:created"] },
] as const satisfies readonly RouteDeclaration[];

/**
 * The customer's own listener (`listener/index.ts`, run by `functions/listener/`): the topics its
 * route takes. The relay forwards of these only what the module registers for, read at build time
 * (infra/relay/plan.ts). Not one of ROUTES, which every deploy serves: a deploy serves it only when
 * its listenerRoute setting is on (servedRoutes), so a first deploy changes nobody's data.
 */
export const LISTENER_ROUTE = {
  name: "listener",
  path: "/listener",
  topics: ["commit:created", "job:ready"],
} as const satisfies RouteDeclaration;

/**
 * Who runs `space:configure` (the spaceConfigureBy setting): our space-configure route, or, on a
 * deploy that serves the listener, the customer's listener (with @flatfile/plugin-space-configure,
 * say); then our route owns no job and the relay forwards that job to /listener instead.
 */
export const SPACE_CONFIGURE_BY = ["ours", "listener"] as const;
export type SpaceConfigureBy = (typeof SPACE_CONFIGURE_BY)[number];

/** The route whose jobs spaceConfigureBy "listener" hands over. */
const HANDED_BY_SPACE_CONFIGURE_BY = "space-configure";

/**
 * The jobs our routes declare that a deploy hands to the customer's listener instead: none unless
 * it serves the listener and spaceConfigureBy is "listener"; then space-configure's own jobs.
 */
export function jobsHandedToListener(options: { listener?: boolean; spaceConfigureBy?: SpaceConfigureBy } = {}): readonly string[] {
  if (!options.listener || options.spaceConfigureBy !== "listener") return [];
  return declaredRoute(HANDED_BY_SPACE_CONFIGURE_BY).jobs;
}

export type ServedRouteName = (typeof ROUTES)[number]["name"] | typeof LISTENER_ROUTE.name;
export type ServedRoute = (typeof ROUTES)[number] | typeof LISTENER_ROUTE;

/** The routes a deploy serves: ours, then the listener's when the listenerRoute setting is on. */
export function servedRoutes(options: { listener?: boolean } = {}): readonly ServedRoute[] {
  return options.listener ? [...ROUTES, LISTENER_ROUTE] : ROUTES;
}

export type RouteName = (typeof ROUTES)[number]["name"];
export type RoutePath = (typeof ROUTES)[number]["path"];

export const ROUTE_NAMES: readonly RouteName[] = ROUTES.map((route) => route.name);
export const ROUTE_PATHS: readonly RoutePath[] = ROUTES.map((route) => route.path);

/** Every topic some route takes, each once, in table order. */
export const ROUTED_TOPICS: readonly Flatfile.EventTopic[] = [...new Set(ROUTES.flatMap((route) => route.topics))];

/** The declaration of a route by its name, with its literal topics and jobs. */
export function declaredRoute<N extends RouteName>(name: N): Extract<(typeof ROUTES)[number], { name: N }> {
  return ROUTES.find((route) => route.name === name) as Extract<(typeof ROUTES)[number], { name: N }>;
}

/** The fields of an event routing reads (the raw platform event or our parsed envelope). */
export interface RoutedEvent {
  topic?: string;
  payload?: unknown;
}

/**
 * Why `route` does not take `event`, or undefined when it does. `handed`: the jobs this deploy
 * hands to the customer's listener (jobsHandedToListener), which their route then does not own.
 */
export function notTakenBecause(route: RouteDeclaration, event: RoutedEvent, handed: readonly string[] = []): string | undefined {
  if (!(route.topics as readonly string[]).includes(event.topic ?? "")) {
    return `topic ${event.topic} is not handled by ${route.name}`;
  }
  if (!route.jobs) return undefined;
  const job = typeof event.payload === "object" && event.payload !== null ? (event.payload as { job?: unknown }).job : undefined;
  if (typeof job === "string" && route.jobs.includes(job)) {
    return handed.includes(job)
      ? `job ${job} is the customer's listener's on this deploy (spaceConfigureBy), not ${route.name}'s`
      : undefined;
  }
  return `job ${typeof job === "string" ? job : "(none)"} is not one ${route.name} owns`;
}

/**
 * The routes that take `event`, in table order; none for an event that is not ours. The three
 * routes today are disjoint, so there is at most one. `handed` as for notTakenBecause.
 */
export function routesFor(event: RoutedEvent, handed: readonly string[] = []): RouteDeclaration[] {
  return ROUTES.filter((route) => notTakenBecause(route, event, handed) === undefined);
}
