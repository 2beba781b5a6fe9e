import { createRoute } from "../../shared/core/route";
import { actionJobRoute } from "../../shared/flows/action-job";

export const handler = createRoute(actionJobRoute);
