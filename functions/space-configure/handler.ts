import { createRoute } from "../../shared/core/route";
import { spaceConfigureRoute } from "../../shared/flows/space-configure";

export const handler = createRoute(spaceConfigureRoute);
