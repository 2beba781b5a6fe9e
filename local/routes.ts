import { handler as actionJob } from "../functions/action-job/handler";
import { handler as commitCreated } from "../functions/commit-created/handler";
import { handler as listener } from "../functions/listener/handler";
import { handler as spaceConfigure } from "../functions/space-configure/handler";
import type { RouteHandler } from "../shared/core/route";
import { servedRoutes, type ServedRoute, type ServedRouteName } from "../shared/routes";

/** The handler each Lambda exports, by route name: a route added to shared/routes.ts must be named here. */
const handlers: Record<ServedRouteName, RouteHandler> = {
  "space-configure": spaceConfigure,
  "action-job": actionJob,
  "commit-created": commitCreated,
  listener,
};

export type ServedPath = ServedRoute["path"];

/**
 * The same handler functions the Lambdas export, by path: every route a deploy can serve, the
 * customer's listener on /listener too, so that its example works locally out of the box.
 */
export const routes = Object.fromEntries(servedRoutes({ listener: true }).map((route) => [route.path, handlers[route.name]])) as Record<
  ServedPath,
  RouteHandler
>;
