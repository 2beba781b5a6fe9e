/**
 * What both action jobs share: the ids they need, the reads before they act (our state in the
 * space, the workbook and, when the action names them, the person who pressed the button, all at
 * once) and the job lifecycle around their work. A workbook that the blueprint did not make is
 * declined, so another listener that owns it finds its job untouched.
 *
 * The space's and the workbook's leases are taken before those reads and held through the work,
 * so the first round's reads are the fresh ones every read-modify-write needs: docs/design.md#rounds-of-the-action-jobs.
 */
import type { Flatfile } from "@flatfile/api";
import { requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { runJob, type Attempt, type JobResult, type JobSummary } from "../../shared/core/job-lifecycle";
import { logger } from "../../shared/core/logger";
import type { RouteDeps } from "../../shared/core/route";
import { JobFailure } from "../../shared/core/errors";
import { recordedAudience, type Actor, type Audience } from "../../shared/domain/audience";
import { offeredAction } from "../../shared/domain/blueprint";
import { archivedEntry, roleOf } from "../../shared/domain/space-state";
import { plainText } from "../../shared/domain/text";
import { lookUpActor } from "../../shared/flatfile/actor";
import { assertSpaceMetadataBounded, confineToWorkbook, readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { holdSpaceLease, holdWorkbookLease } from "../../shared/flatfile/writes";

/** The space's lease and, inside it, the workbook's, held from before the first reads. */
export interface ActionLeases {
  /** Gives the workbook's lease back (once its last write is answered); again is a no-op. */
  releaseWorkbook(failure?: unknown): Promise<void>;
  /** Gives both back, the workbook's first; again is a no-op. */
  release(failure?: unknown): Promise<void>;
}

/** `write`'s answer, with the workbook's lease given back once it is answered (with its failure, if it failed). */
export async function thenReleaseWorkbook<T>(leases: ActionLeases, write: Promise<T>): Promise<T> {
  let answer: T;
  try {
    answer = await write;
  } catch (error) {
    await leases.releaseWorkbook(error);
    throw error;
  }
  await leases.releaseWorkbook();
  return answer;
}

/** Space, then workbook: the order every writer of ours takes them in. */
async function holdLeases(spaceId: string, workbookId: string, leaseTable: string | undefined): Promise<ActionLeases> {
  const space = await holdSpaceLease(spaceId, leaseTable);
  const workbook = await holdWorkbookLease(workbookId, leaseTable).catch(async (error: unknown) => {
    await space.release();
    throw error;
  });
  return {
    releaseWorkbook: (failure) => workbook.release(failure),
    release: async (failure) => {
      await workbook.release(failure);
      await space.release(failure);
    },
  };
}

export interface ActionContext {
  space: Flatfile.Space;
  state: SpaceState | undefined;
  workbook: Flatfile.Workbook;
  /** The audience the Space was set up for, as configure recorded it (see `recordedAudience`). */
  audience: Audience;
  /** Looked up only for an action that names who ran it. */
  actor?: Actor;
  /** Taken before `space` and `workbook` were read: they are fresh until these are given back. */
  leases: ActionLeases;
  /** With ownedSpaces set: why the Space read here is not ours, if it is not. */
  foreignSpace?: string;
}

export interface ActionIds {
  jobId: string;
  spaceId: string;
  workbookId: string;
}

async function readActionContext(
  api: FlatfileApi,
  ids: ActionIds,
  actorId: string | undefined,
  leaseTable: string | undefined,
  foreignSpace: RouteDeps["foreignSpace"],
): Promise<ActionContext> {
  const leases = await holdLeases(ids.spaceId, ids.workbookId, leaseTable);
  try {
    const [space, workbook, actor] = await Promise.all([
      api.spaces.get(ids.spaceId).then((r) => r.data),
      api.workbooks.get(ids.workbookId).then((r) => r.data),
      actorId === undefined ? undefined : lookUpActor(api, actorId),
    ]);
    // The pipeline left the ownedSpaces rule to this read: the Space is read once per delivery.
    const foreign = foreignSpace ? await foreignSpace(space) : undefined;
    // Ours only as far as the workbook read here bears it out (in this space, holding the sheets).
    const state = confineToWorkbook(readSpaceState(space.metadata), workbook, ids.spaceId);
    const audience = recordedAudience(state?.audience, workbook.metadata?.audience);
    return { space, state, workbook, audience, actor, leases, ...(foreign ? { foreignSpace: foreign } : {}) };
  } catch (error) {
    await leases.release();
    throw error;
  }
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
  /** Must give `context.leases` back once its last write under them is answered (on failure, the caller does). */
  work: (context: ActionContext, ids: ActionIds, progress: (percent: number, info: string) => void, attempt: Attempt) => Promise<JobResult>;
  /**
   * Its last writes go beside `jobs.complete` (`alongsideComplete`): a redelivery that finds the
   * job complete runs the work again without ending the job, to finish them.
   */
  finishAfterComplete?: boolean;
}

/** An action job on our workbook: read, decline if it is not ours, ack, work, complete or fail. */
export async function runActionJob(event: FlatfileEvent, deps: RouteDeps, spec: ActionSpec): Promise<JobSummary> {
  const ids: ActionIds = {
    jobId: requireContext(event, "jobId"),
    spaceId: requireContext(event, "spaceId"),
    workbookId: requireContext(event, "workbookId"),
  };
  const reading = readActionContext(
    deps.api,
    ids,
    spec.needsActor ? event.context.actorId : undefined,
    deps.settings.idempotencyTable,
    deps.foreignSpace,
  );
  reading.catch(() => undefined);
  const checked = async (context: ActionContext, progress: (percent: number, info: string) => void, attempt: Attempt) => {
    // Ours, but an action the person was not offered (any API client can create the job): nothing changes.
    const refused = notOffered(context, spec);
    if (refused) throw new JobFailure(refused, "Not available here");
    // Ours (the decline has passed), but too large to write back: fail before anything changes.
    assertSpaceMetadataBounded(context.space);
    return spec.work(context, ids, progress, attempt);
  };
  try {
    return await runJob<ActionContext>({
      api: deps.api,
      finalApi: deps.finalApi,
      jobId: ids.jobId,
      what: spec.what,
      ackInfo: spec.ackInfo,
      openJobs: deps.openJobs,
      spaceId: ids.spaceId,
      prepare: () => reading,
      decline: notOurs,
      work: async (context, progress, attempt) => {
        try {
          const result = await checked(context, progress, attempt);
          const alongside = result.alongsideComplete;
          if (!alongside) return result;
          return { ...result, alongsideComplete: () => settleThenRelease(context.leases, alongside) };
        } catch (error) {
          // A write of unknown outcome keeps its lease (shared/core/lease.ts).
          await context.leases.release(error);
          throw error;
        }
      },
      onAlreadyComplete: spec.finishAfterComplete
        ? async (_job, prepared) => {
            if (prepared.status === "rejected") throw prepared.reason;
            const context = prepared.value;
            if (notOurs(context)) return undefined;
            // Its last writes may not have landed: the work again (what is done is found done), the job left as it is.
            const result = await checked(context, () => undefined, { resumed: true }).catch((error: unknown) => {
              logger.warn("could not finish a completed job's last writes", { failure: (error as Error).name });
              return undefined;
            });
            if (!result?.alongsideComplete) return undefined;
            return { finished: await settleThenRelease(context.leases, result.alongsideComplete) };
          }
        : undefined,
    });
  } finally {
    // Every path gives the leases back, a declined or finished job's included (a no-op when done).
    await reading.then(
      (context) => context.leases.release(),
      () => undefined,
    );
  }
}

async function settleThenRelease<T>(leases: ActionLeases, write: () => Promise<T>): Promise<T> {
  try {
    const written = await write();
    await leases.release();
    return written;
  } catch (error) {
    await leases.release(error);
    throw error;
  }
}

/** Why this action is not ours to run, or undefined when it is. */
function notOurs(context: ActionContext): string | undefined {
  if (context.foreignSpace) return context.foreignSpace;
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
