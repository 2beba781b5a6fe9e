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

/** Which route a Flatfile event belongs to, as the relay decides it. */
export function routeForEvent(event: { topic?: string; payload?: { job?: string } | null }): RoutePath {
  if (event.topic === "commit:created") return "/commit-created";
  if (event.payload?.job === "space:configure") return "/space-configure";
  return "/action-job";
}
