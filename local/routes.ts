import { handler as actionJob } from "../functions/action-job/handler";
import { handler as commitCreated } from "../functions/commit-created/handler";
import { handler as spaceConfigure } from "../functions/space-configure/handler";
import type { RouteHandler } from "../shared/core/route";
import { ROUTES, type RouteName, type RoutePath } from "../shared/routes";

/** The handler each Lambda exports, by route name: a route added to shared/routes.ts must be named here. */
const handlers: Record<RouteName, RouteHandler> = {
  "space-configure": spaceConfigure,
  "action-job": actionJob,
  "commit-created": commitCreated,
};

/** The same handler functions the Lambdas export, by path. */
export const routes = Object.fromEntries(ROUTES.map((route) => [route.path, handlers[route.name]])) as Record<RoutePath, RouteHandler>;
