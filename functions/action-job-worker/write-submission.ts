/**
 * The worker's flow for a submission too large to write in one delivery: Submit's own flow run
 * again, round after round, each with a delivery's budget (INVOCATION_BUDGET_MS), so its leases
 * never outlive a round; each round resumes the upload where the last stopped
 * (docs/submissions.md) and acknowledges the job as it starts. It ends when Submit does; a
 * submission still unwritten at the worker's end fails the job with a message that says so.
 */
import { requireContext } from "../../shared/core/envelope";
import { judge, messageFor } from "../../shared/core/failures";
import { WORKER_TIMING, type HandOff, type SubmissionUnderWay } from "../../shared/core/hand-off";
import type { JobSummary } from "../../shared/core/job-lifecycle";
import { FAILED_HEADINGS } from "../../shared/core/job-outcomes";
import { logger } from "../../shared/core/logger";
import { INVOCATION_BUDGET_MS } from "../../shared/core/route";
import { SUBMIT_WHAT, submitWorkbook } from "../action-job/submit-workbook";
import { failIfOpen, type CarryOnDeps } from "./await-copy";

/** A round shorter than this could not write a part (submission.ts keeps 8 s back): not started. */
const SHORTEST_ROUND_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function writeSubmission(pending: SubmissionUnderWay, deps: CarryOnDeps): Promise<JobSummary> {
  const timing = deps.timing ?? WORKER_TIMING;
  const { event } = pending;
  const jobId = requireContext(event, "jobId");
  const started = Date.now();
  const giveUpAt = deps.endsAt - timing.reserveMs;
  // A round that runs out of time hands off to the next round, here.
  const nextRound: HandOff = async () => undefined;
  let rounds = 0;
  while (Date.now() + SHORTEST_ROUND_MS <= giveUpAt) {
    rounds += 1;
    try {
      const summary = await submitWorkbook(event, deps.depsUntil(Math.min(Date.now() + INVOCATION_BUDGET_MS, giveUpAt), nextRound));
      if (summary.status !== "continuing") {
        logger.info("the submission is written", { rounds, status: summary.status });
        return summary;
      }
    } catch (error) {
      const verdict = judge(error);
      if (verdict.kind !== "retryable") {
        const { heading, message } = messageFor(verdict, SUBMIT_WHAT);
        return failIfOpen(deps.api, deps.openJobs, jobId, heading, message);
      }
      // Left open by the round (its own message says it is retrying); the next round goes on.
      logger.warn("a round of the submission met a temporary failure; going on", { failure: verdict.detail, rounds });
      await sleep(timing.pollMs);
    }
  }
  const minutes = Math.max(1, Math.round((Date.now() - started) / 60_000));
  logger.error("the submission was not written in the worker's time; the job is failed", { rounds, minutes });
  return failIfOpen(
    deps.api,
    deps.openJobs,
    jobId,
    FAILED_HEADINGS.swept,
    `${SUBMIT_WHAT} did not finish: its records were still being written after ${minutes} more minutes, so it was stopped. ` +
      `Nothing was announced. Ask your administrator to check the configurator's logs for job ${jobId}.`,
  );
}
