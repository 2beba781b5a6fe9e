/**
 * `space:configure`: build a new Space from who made it, where they are, and data from outside.
 *
 * The critical path is three round trips: (job lookup ∥ space ∥ actor ∥ reference data), then
 * (ack ∥ workbook ∥ guide ∥ the space's lease and a fresh read), then (complete ∥ space update,
 * still under that lease; ./record-configuration.ts). A retry of a job that an earlier attempt
 * started first looks for the workbook and guide that attempt made, and reuses them.
 */
import type { Flatfile } from "@flatfile/api";
import { plainText } from "../../shared/domain/text";
import { jobPayloadOf, requireContext, type FlatfileEvent } from "../../shared/core/envelope";
import { runJob } from "../../shared/core/job-lifecycle";
import { claimAsDeclared, type RouteDeps, type RouteSpec } from "../../shared/core/route";
import { declaredRoute } from "../../shared/routes";
import type { Actor } from "../../shared/domain/audience";
import { lookUpActor } from "../../shared/flatfile/actor";
import { resolveCurrency } from "../../shared/domain/currency";
import { buildSpaceSetup, warmUpSpaceSetup } from "../../shared/domain/space-setup";
import { loadReferenceData } from "../../shared/core/reference-data-source";
import type { ReferenceData } from "../../shared/domain/reference-data";
import type { GuideState } from "../../shared/domain/guide";
import { count, METRIC, traceCall } from "../../shared/core/observability";
import { assertSpaceMetadataBounded, GUIDE_TITLE, readOwnSpaceState, sheetIdsOf, type SpaceState } from "../../shared/flatfile/space-state";
import { findLeftovers, markedGuideBody, type Leftover } from "./leftovers";
import { startRecording, type SpaceRecording } from "./record-configuration";

const ROUTE = declaredRoute("space-configure");
/** The one job this route owns (shared/routes.ts): the platform's `space:configure`. */
export const CONFIGURE_JOB = ROUTE.jobs[0];

interface Inputs {
  space: Flatfile.Space;
  actor: Actor;
  referenceData: ReferenceData;
}

/** What later handlers find in `space.metadata`: the ids of what this job made, and the guide's state. */
function configuredState(
  workbook: Flatfile.Workbook,
  guideDocumentId: string,
  currency: string,
  audience: string,
  jobId: string,
  guide?: GuideState,
): SpaceState {
  return {
    version: 1,
    workbookId: workbook.id,
    guideDocumentId,
    sheets: sheetIdsOf(workbook),
    currency,
    audience,
    configuredAt: new Date().toISOString(),
    configureJobId: jobId,
    ...(guide ? { guide } : {}),
  };
}

function outcomeMessage(
  workbook: Flatfile.Workbook | Flatfile.CreateWorkbookConfig,
  currency: string,
  notUnderstood: string[] = [],
): string {
  const names = (workbook.sheets ?? []).map((sheet) => sheet.name);
  const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} & ${names.at(-1)}` : (names[0] ?? workbook.name);
  const unclear = notUnderstood.length ? ` (${notUnderstood.map((note) => plainText(note, 120)).join("; ")})` : "";
  return `${list} ready · prices in ${currency}${unclear}`;
}

async function configure(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>> {
  // The space's lease is taken beside the creates and normally given back by the write beside
  // `complete`; an attempt that ends any other way (a failed ack, say) gives it back as it ends.
  const attempt: { recording?: SpaceRecording } = {};
  try {
    return await configureJob(event, deps, attempt);
  } finally {
    await attempt.recording?.release();
  }
}

function configureJob(event: FlatfileEvent, deps: RouteDeps, held: { recording?: SpaceRecording }): Promise<Record<string, unknown>> {
  const { api, finalApi, settings } = deps;
  const jobId = requireContext(event, "jobId");
  const spaceId = requireContext(event, "spaceId");
  const environmentId = event.context.environmentId;
  const leaseTable = settings.idempotencyTable;

  return runJob<Inputs>({
    api,
    finalApi,
    jobId,
    what: "Setting up this Space",
    ackInfo: "Building your workbook and guide",
    openJobs: deps.openJobs,
    spaceId,
    prepare: async () => {
      const reads = Promise.all([
        // Read by the pipeline already when it decided the Space is ours (ownedSpaces).
        deps.space ?? api.spaces.get(spaceId).then((r) => r.data),
        lookUpActor(api, event.context.actorId),
        referenceDataFor(settings.referenceDataUrl, Math.min(1_500, deps.deadline - Date.now() - 5_000)),
      ]);
      // Once the reads are written and while their answers are on the way, so that a cold start
      // does not stall between this round and the next.
      setImmediate(warmUpSpaceSetup);
      const [space, actor, referenceData] = await reads;
      return { space, actor, referenceData };
    },
    work: async ({ space, actor, referenceData }, _progress, attempt) => {
      const existing = await readOwnSpaceState(api, space);
      if (existing) {
        // Configured already (by an earlier delivery whose answer was lost): change nothing.
        return {
          outcome: { heading: "Space ready", message: `This Space is already set up · prices in ${existing.currency}`, acknowledge: false },
          summary: { workbookId: existing.workbookId, guideDocumentId: existing.guideDocumentId, alreadyConfigured: true },
        };
      }
      assertSpaceMetadataBounded(space);
      // Only an attempt after one that started can have left a workbook or guide behind; a first
      // attempt saves the two lookups (and a round trip's worth of work on every new Space).
      const leftover: Leftover = attempt.resumed ? await findLeftovers(api, spaceId, jobId) : {};
      const currency = resolveCurrency(space.metadata);
      const {
        audience,
        workbook: blueprint,
        guide,
        guideState,
      } = buildSpaceSetup({ spaceId, environmentId, actor, currency, referenceData });
      const config: Flatfile.CreateWorkbookConfig = { ...blueprint, metadata: { ...blueprint.metadata, configureJobId: jobId } };
      const recording = startRecording(api, spaceId, leaseTable);
      held.recording = recording;
      let workbook: Flatfile.Workbook;
      let guideId: string;
      try {
        let fresh: Flatfile.Space;
        [workbook, guideId, fresh] = await Promise.all([
          leftover.workbook ?? api.workbooks.create(config).then((r) => r.data),
          leftover.guideId ??
            api.documents.create(spaceId, { title: GUIDE_TITLE, body: markedGuideBody(guide.body, jobId) }).then((r) => r.data.id),
          recording.space,
        ]);
        assertSpaceMetadataBounded(fresh);
      } catch (error) {
        // Failed between the creates and `complete`: nobody else waits on our lease.
        await recording.release();
        throw error;
      }
      const state = configuredState(workbook, guideId, currency.code, audience, jobId, guideState);
      const message = outcomeMessage(workbook, currency.code, currency.notUnderstood);
      return {
        outcome: {
          heading: "Space ready",
          message,
          // A toast (acknowledge: false): `next` links are shown only in the dialog, so none is sent.
          acknowledge: false,
        },
        summary: {
          workbookId: workbook.id,
          guideDocumentId: guideId,
          currency: currency.code,
          audience,
          referenceData: referenceData.source,
          reused: Boolean(leftover.workbook),
        },
        alongsideComplete: () => recording.write(state),
      };
    },
    onAlreadyComplete: async () => {
      // A crash between `complete` and the space update leaves the space without our state.
      const { data: space } = await api.spaces.get(spaceId);
      if (await readOwnSpaceState(api, space)) return undefined;
      const leftover = await findLeftovers(api, spaceId, jobId);
      if (!leftover.workbook || !leftover.guideId) return { repaired: false };
      const audience = String(leftover.workbook.metadata?.audience ?? "default");
      // The guide's state is not rebuilt here: later writes render the guide from what the state has.
      await startRecording(api, spaceId, leaseTable).write(
        configuredState(leftover.workbook, leftover.guideId, resolveCurrency(space.metadata).code, audience, jobId),
      );
      return { repaired: true, workbookId: leftover.workbook.id };
    },
  });
}

export const spaceConfigureRoute: RouteSpec = {
  name: ROUTE.name,
  claim: (event) => claimAsDeclared(ROUTE, event, () => event.context.jobId ?? event.id),
  validate(event) {
    jobPayloadOf(event);
    requireContext(event, "jobId");
    requireContext(event, "spaceId");
  },
  handle: configure,
};

/** The reference data, counted as a fallback when a configured reference API gave none. */
async function referenceDataFor(url: string | undefined, budgetMs: number): Promise<ReferenceData> {
  const data = await traceCall("Reference data GET", () => loadReferenceData(url, { budgetMs }));
  if (url && data.source === "bundled") count(METRIC.referenceDataFallbacks);
  return data;
}
