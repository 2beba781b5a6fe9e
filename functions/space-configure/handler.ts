import { createRoute } from "../../shared/core/route";
import { spaceConfigureRoute } from "./configure";

export const handler = createRoute(spaceConfigureRoute);
