import type { Context } from "aws-lambda";
import { runScheduledSweep } from "./sweep";

/** Run by the stack's schedule every few minutes: fails the jobs left open past the bound. */
export const handler = (_event: unknown, context?: Pick<Context, "getRemainingTimeInMillis">) => runScheduledSweep(context);
