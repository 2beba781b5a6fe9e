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
import { JobFailure } from "../../shared/core/errors";
import { recordedAudience, type Actor, type Audience } from "../../shared/domain/audience";
import { offeredAction } from "../../shared/domain/blueprint";
import { archivedEntry, roleOf } from "../../shared/domain/space-state";
import { plainText } from "../../shared/domain/text";
import { lookUpActor } from "../../shared/flatfile/actor";
import { assertSpaceMetadataBounded, confineToWorkbook, readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";

export interface ActionContext {
  space: Flatfile.Space;
  state: SpaceState | undefined;
  workbook: Flatfile.Workbook;
  /** The audience the Space was set up for, as configure recorded it (see `recordedAudience`). */
  audience: Audience;
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
  const audience = recordedAudience(state?.audience, workbook.metadata?.audience);
  return { space, state, workbook, audience, actor };
}

/** Where the blueprint puts an action: on a sheet (by the sheet's role) or on the workbook. */
export type ActionPlace = { domain: "sheet"; sheetId: string } | { domain: "workbook" };

export interface ActionSpec {
  operation: string;
  place: ActionPlace;
  /** The failure message when the blueprint does not offer the action there; `name` is the sheet's or workbook's, plain. */
  notOffered: (name: string) => string;
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
      // Ours, but an action the person was not offered (any API client can create the job): nothing changes.
      const refused = notOffered(context, spec);
      if (refused) throw new JobFailure(refused, "Not available here");
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

/** The message when the blueprint does not offer this action where the job runs it, or undefined. */
function notOffered(context: ActionContext, spec: ActionSpec): string | undefined {
  const { state, workbook, audience } = context;
  if (spec.place.domain === "workbook") {
    return offeredAction(audience, { domain: "workbook" }, spec.operation)
      ? undefined
      : spec.notOffered(plainText(workbook.name ?? "This workbook", 100));
  }
  const { sheetId } = spec.place;
  // A snapshot is judged by the role it had; a sheet of no role is left to the action's own message.
  const role = state && (roleOf(state, sheetId) ?? archivedEntry(state, sheetId)?.role);
  if (!role || offeredAction(audience, { domain: "sheet", role }, spec.operation)) return undefined;
  const name = workbook.sheets?.find((sheet) => sheet.id === sheetId)?.name ?? "This sheet";
  return spec.notOffered(plainText(name, 100));
}
