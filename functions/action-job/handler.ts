import { createRoute } from "../../shared/core/route";
import { actionJobRoute } from "./actions";

export const handler = createRoute(actionJobRoute);
