import type { Context } from "aws-lambda";
import { runRelayAgentCheck } from "./relay-agent-check";
import { runScheduledSweep } from "./sweep";

/** When EventBridge's schedule fired (its event's `time`), else now. */
function scheduledAt(event: unknown): number {
  const time = Date.parse(String((event as { time?: unknown } | null)?.time ?? ""));
  return Number.isFinite(time) ? time : Date.now();
}

/**
 * Run by the stack's schedule every minute: fails the jobs left open past the bound, and checks
 * beside it that the relay agent is still the one deployed and what its logs say it gave up on
 * (it never throws).
 */
export const handler = async (event: unknown, context?: Pick<Context, "getRemainingTimeInMillis"> & Partial<Context>) => {
  const [report] = await Promise.all([runScheduledSweep(context), runRelayAgentCheck(context, process.env, scheduledAt(event))]);
  return report;
};
