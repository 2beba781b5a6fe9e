/**
 * `job:ready` for the actions our blueprint defines. Every other job, including actions other
 * listeners define, is ignored untouched: another listener may own it.
 */
import { jobNameOf, jobPayloadOf, requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import type { JobSummary } from "../../shared/core/job-lifecycle";
import type { Ownership, RouteDeps, RouteSpec } from "../../shared/core/route";
import { OWNED_ACTION_JOBS } from "../../shared/domain/blueprint";
import { DUPLICATE_JOB, duplicateAndLock } from "./duplicate-sheet";
import { SUBMIT_JOB, submitWorkbook } from "./submit-workbook";

const ACTIONS: Record<string, (event: FlatfileEvent, deps: RouteDeps) => Promise<JobSummary>> = {
  [DUPLICATE_JOB]: duplicateAndLock,
  [SUBMIT_JOB]: submitWorkbook,
};

function jobOf(event: FlatfileEvent): string | undefined {
  return jobNameOf(event);
}

export const actionJobRoute: RouteSpec = {
  name: "action-job",
  claim(event): Ownership {
    if (event.topic !== "job:ready") return { owned: false, reason: `topic ${event.topic} is not handled by action-job` };
    const job = jobOf(event);
    if (!job || !OWNED_ACTION_JOBS.includes(job) || !ACTIONS[job]) {
      return { owned: false, reason: `job ${job ?? "(none)"} is not an action this blueprint defines` };
    }
    return { owned: true, idempotencyKey: `action-job#${event.context.jobId ?? event.id}` };
  },
  validate(event) {
    jobPayloadOf(event);
    requireContext(event, "jobId");
    requireContext(event, "spaceId");
    requireContext(event, "workbookId");
    if (jobOf(event) === DUPLICATE_JOB) requireContext(event, "sheetId");
  },
  handle: (event, deps) => ACTIONS[jobOf(event)!]!(event, deps),
};
