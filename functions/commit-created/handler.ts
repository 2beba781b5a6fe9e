import { createRoute } from "../../shared/core/route";
import { commitCreatedRoute } from "./commit-created";

export const handler = createRoute(commitCreatedRoute);
