/**
 * `job:ready` for the actions our blueprint defines. Every other job, including actions other
 * listeners define, is ignored untouched: another listener may own it.
 */
import { jobNameOf, jobPayloadOf, requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import { lambdaHandOff } from "../../shared/core/hand-off";
import type { JobSummary } from "../../shared/core/job-lifecycle";
import { claimAsDeclared, type Ownership, type RouteDeps, type RouteSpec } from "../../shared/core/route";
import { declaredRoute } from "../../shared/routes";
import { DUPLICATE_JOB, duplicateAndLock } from "./duplicate-sheet";
import { SUBMIT_JOB, submitWorkbook } from "./submit-workbook";

const ACTIONS: Record<string, (event: FlatfileEvent, deps: RouteDeps) => Promise<JobSummary>> = {
  [DUPLICATE_JOB]: duplicateAndLock,
  [SUBMIT_JOB]: submitWorkbook,
};

function jobOf(event: FlatfileEvent): string | undefined {
  return jobNameOf(event);
}

const ROUTE = declaredRoute("action-job");

export const actionJobRoute: RouteSpec = {
  name: ROUTE.name,
  claim(event): Ownership {
    const declared = claimAsDeclared(ROUTE, event, () => event.context.jobId ?? event.id);
    const job = jobOf(event);
    // The table's jobs are the blueprint's actions; one without a handler here is not taken.
    if (declared.owned && !(job && ACTIONS[job])) return { owned: false, reason: `job ${job} has no handler in this route` };
    return declared;
  },
  validate(event) {
    jobPayloadOf(event);
    requireContext(event, "jobId");
    requireContext(event, "spaceId");
    requireContext(event, "workbookId");
    if (jobOf(event) === DUPLICATE_JOB) requireContext(event, "sheetId");
  },
  // Its first round reads the Space under the leases, before any write (action-context.ts).
  decidesOwnedSpace: true,
  handle: (event, deps) => ACTIONS[jobOf(event)!]!(event, deps),
  handOff: (settings) => (settings.actionJobWorker ? lambdaHandOff(settings.actionJobWorker) : undefined),
};
