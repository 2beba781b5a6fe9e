import type { Context } from "aws-lambda";
import { runRelayAgentCheck } from "./relay-agent-check";
import { runScheduledSweep } from "./sweep";

/**
 * Run by the stack's schedule every few minutes: fails the jobs left open past the bound, and
 * checks beside it that the relay agent is still the one deployed (it never throws).
 */
export const handler = async (_event: unknown, context?: Pick<Context, "getRemainingTimeInMillis"> & Partial<Context>) => {
  const [report] = await Promise.all([runScheduledSweep(context), runRelayAgentCheck(context)]);
  return report;
};
