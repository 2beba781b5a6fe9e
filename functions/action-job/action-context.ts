/**
 * What both action jobs share: the ids they need, the reads before they act (our state in the
 * space, the workbook and, when the action names them, the person who pressed the button, all at
 * once) and the job lifecycle around their work. A workbook that the blueprint did not make is
 * declined, so another listener that owns it finds its job untouched.
 */
import type { Flatfile } from "@flatfile/api";
import { requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { runJob, type JobResult, type JobSummary } from "../../shared/core/job-lifecycle";
import type { RouteDeps } from "../../shared/core/route";
import type { Actor } from "../../shared/domain/audience";
import { lookUpActor } from "../../shared/flatfile/actor";
import { assertSpaceMetadataBounded, confineToWorkbook, readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";

export interface ActionContext {
  space: Flatfile.Space;
  state: SpaceState | undefined;
  workbook: Flatfile.Workbook;
  /** Looked up only for an action that names who ran it. */
  actor?: Actor;
}

export interface ActionIds {
  jobId: string;
  spaceId: string;
  workbookId: string;
}

async function readActionContext(api: FlatfileApi, ids: ActionIds, actorId: string | undefined): Promise<ActionContext> {
  const [space, workbook, actor] = await Promise.all([
    api.spaces.get(ids.spaceId).then((r) => r.data),
    api.workbooks.get(ids.workbookId).then((r) => r.data),
    actorId === undefined ? undefined : lookUpActor(api, actorId),
  ]);
  // Ours only as far as the workbook read here bears it out (in this space, holding the sheets).
  const state = confineToWorkbook(readSpaceState(space.metadata), workbook, ids.spaceId);
  return { space, state, workbook, actor };
}

export interface ActionSpec {
  /** "Duplicating this sheet": how the job is named in a failure message. */
  what: string;
  ackInfo: string;
  /** Look up the actor (`users.get` / `guests.get`) beside the other reads. */
  needsActor?: boolean;
  work: (context: ActionContext, ids: ActionIds, progress: (percent: number, info: string) => void) => Promise<JobResult>;
}

/** An action job on our workbook: read, decline if it is not ours, ack, work, complete or fail. */
export function runActionJob(event: FlatfileEvent, deps: RouteDeps, spec: ActionSpec): Promise<JobSummary> {
  const ids: ActionIds = {
    jobId: requireContext(event, "jobId"),
    spaceId: requireContext(event, "spaceId"),
    workbookId: requireContext(event, "workbookId"),
  };
  return runJob<ActionContext>({
    api: deps.api,
    finalApi: deps.finalApi,
    jobId: ids.jobId,
    what: spec.what,
    ackInfo: spec.ackInfo,
    openJobs: deps.openJobs,
    spaceId: ids.spaceId,
    prepare: () => readActionContext(deps.api, ids, spec.needsActor ? event.context.actorId : undefined),
    decline: notOurs,
    work: (context, progress) => {
      // Ours (the decline has passed), but too large to write back: fail before anything changes.
      assertSpaceMetadataBounded(context.space);
      return spec.work(context, ids, progress);
    },
  });
}

/** Why this action is not ours to run, or undefined when it is. */
function notOurs(context: ActionContext): string | undefined {
  if (!context.state) return "the space was not configured by this blueprint";
  if (context.state.workbookId !== context.workbook.id) return `workbook ${context.workbook.id} is not the one this blueprint made`;
  return undefined;
}
