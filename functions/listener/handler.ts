import { createRoute } from "../../shared/core/route";
import { listenerRoute } from "./listener";

export const handler = createRoute(listenerRoute);
