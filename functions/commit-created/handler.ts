import { createRoute } from "../../shared/core/route";
import { commitCreatedRoute } from "../../shared/flows/commit-created";

export const handler = createRoute(commitCreatedRoute);
