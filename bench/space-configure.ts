/**
 * Figure 2: space-configure's critical path against the guide's sequential flow, both against
 * the same Flatfile stand-in (which adds the same latency to every call).
 */
import type { FlatfileStandIn } from "../local/flatfile-stand-in";
import type { FlatfileApi } from "../shared/core/flatfile-client";
import type { RouteHandler } from "../shared/core/route";
import { resolveCurrency } from "../shared/domain/currency";
import { buildSpaceSetup } from "../shared/domain/space-setup";
import type { ReferenceData } from "../shared/domain/reference-data";
import { CONFIGURE_JOB } from "../functions/space-configure/configure";
import { GUIDE_TITLE } from "../shared/flatfile/space-state";
import { jobReadyEvent, type Harness } from "../test/support/harness";
import type { Worker } from "./scale";
import { REFERENCE_CATEGORIES } from "./reference-data-server";

export interface ConfigureInputs {
  spaceId: string;
  jobId: string;
  userId: string;
  environmentId: string;
}

/** A new Space as Flatfile raises it: the space (with a locale), its creator, a ready configure job. */
export function seedConfigureJob(flatfile: FlatfileStandIn, n = 0): ConfigureInputs {
  const space = flatfile.seed.space({ name: `Bench space ${n}`, metadata: { locale: "en-US" } });
  const user = flatfile.seed.user({ email: `bench${n}@example.com`, name: `Bench User ${n}` });
  const job = flatfile.seed.job({ job: CONFIGURE_JOB, spaceId: space.id, status: "ready" });
  return { spaceId: space.id, jobId: job.id, userId: user.id, environmentId: space.environmentId };
}

/**
 * The guide's flow, call after call: ack → workbooks.create → documents.create → spaces.update →
 * jobs.complete. Same payloads as ours (the blueprint's workbook and guide for a default member),
 * the inputs taken as given. Returns the created ids.
 */
export async function runBaselineFlow(api: FlatfileApi, inputs: ConfigureInputs): Promise<{ workbookId: string; documentId: string }> {
  const referenceData: ReferenceData = { categories: REFERENCE_CATEGORIES, source: "remote", detail: "bench" };
  const currency = resolveCurrency({ locale: "en-US" });
  const actor = { kind: "user" as const, id: inputs.userId, name: "Bench User", email: "bench@example.com" };
  const { workbook: config, guide } = buildSpaceSetup({
    spaceId: inputs.spaceId,
    environmentId: inputs.environmentId,
    actor,
    currency,
    referenceData,
  });

  await api.jobs.ack(inputs.jobId, { info: "Building your workbook and guide", progress: 10 });
  const workbook = (await api.workbooks.create(config)).data;
  const document = (await api.documents.create(inputs.spaceId, { title: GUIDE_TITLE, body: guide.body })).data;
  await api.spaces.update(inputs.spaceId, { primaryWorkbookId: workbook.id });
  await api.jobs.complete(inputs.jobId, {
    outcome: {
      heading: "Space ready",
      message: "Contacts & Orders ready",
      acknowledge: false,
      next: { type: "id", id: workbook.id, label: "Open the workbook" },
    },
  });
  return { workbookId: workbook.id, documentId: document.id };
}

const configureEvent = (inputs: ConfigureInputs) =>
  jobReadyEvent({
    job: CONFIGURE_JOB,
    jobId: inputs.jobId,
    spaceId: inputs.spaceId,
    actorId: inputs.userId,
    environmentId: inputs.environmentId,
  });

/** Ours: a signed `job:ready space:configure` delivered to the real handler. Throws unless it answered 200. */
export async function runHandlerFlow(h: Harness, handler: RouteHandler, inputs: ConfigureInputs): Promise<Record<string, unknown>> {
  const answer = await h.deliver(handler, configureEvent(inputs));
  if (answer.status !== 200) throw new Error(`space-configure answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** The same delivery to the production bundle in a worker process (bench/scale.ts). Throws unless it answered 200. */
export async function runHandlerFlowIn(worker: Worker, inputs: ConfigureInputs): Promise<{ body: Record<string, unknown>; ms: number }> {
  const answer = await worker.deliver(configureEvent(inputs));
  if (answer.status !== 200) throw new Error(`space-configure answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  return answer;
}
