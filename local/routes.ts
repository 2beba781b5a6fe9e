import { handler as actionJob } from "../functions/action-job/handler";
import { handler as commitCreated } from "../functions/commit-created/handler";
import { handler as spaceConfigure } from "../functions/space-configure/handler";
import type { RouteHandler } from "../shared/core/route";
import type { RoutePath } from "./gateway";

/** The same handler functions the three Lambdas export, by route. */
export const routes: Record<RoutePath, RouteHandler> = {
  "/space-configure": spaceConfigure,
  "/action-job": actionJob,
  "/commit-created": commitCreated,
};
