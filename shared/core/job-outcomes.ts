/**
 * The headings our code writes when it fails a job: the lifecycle (shared/core/failures.ts), the
 * relay when it gives up (infra/relay/forward.ts) and the sweep. A tracked job found failed with
 * any other heading, or canceled, was ended by someone else first: the platform's timer, a
 * person, another listener. That means our guarantee ("a job we acknowledged ends with our
 * message") was not kept, and it is counted apart (METRIC.jobEndedByOthers). Pure: the relay
 * bundles it.
 */
export const FAILED_HEADINGS = {
  actionNeeded: "Action needed",
  notFound: "Not found",
  unexpected: "Unexpected error",
  relayGaveUp: "Configuration service unavailable",
  swept: "Stopped",
} as const;

const OURS: ReadonlySet<string> = new Set(Object.values(FAILED_HEADINGS));

/** Whether a finished job was ended by someone else: canceled, or failed without one of our headings. */
export function endedByOthers(job: { status?: string; outcome?: { heading?: string } | null }): boolean {
  if (job.status === "canceled") return true;
  if (job.status !== "failed") return false;
  const heading = job.outcome?.heading;
  return typeof heading !== "string" || !OURS.has(heading);
}
