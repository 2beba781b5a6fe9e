/**
 * Events as Flatfile raises them (shape: ../../shared/flatfile-notes.md, "Events"): `job:ready`
 * when a job is created, `commit:created` when records change.
 */
import { randomBytes } from "node:crypto";
import type { PlatformEvent } from "../../infra/relay/forward";

export interface EventContext {
  accountId: string;
  environmentId: string;
  spaceId: string;
  workbookId?: string;
  sheetId?: string;
  sheetSlug?: string;
  actorId?: string;
}

export const newEventId = () => `us_evt_${randomBytes(6).toString("hex")}`;

function context(input: EventContext): Record<string, unknown> {
  return {
    accountId: input.accountId,
    environmentId: input.environmentId,
    spaceId: input.spaceId,
    ...(input.workbookId ? { workbookId: input.workbookId } : {}),
    ...(input.sheetId ? { sheetId: input.sheetId } : {}),
    ...(input.sheetSlug ? { sheetSlug: input.sheetSlug, slugs: { sheet: input.sheetSlug } } : {}),
    ...(input.actorId ? { actorId: input.actorId } : {}),
  };
}

export function jobReady(input: EventContext & { job: string; jobId: string }): PlatformEvent {
  const [domain, operation] = input.job.split(":");
  return {
    id: newEventId(),
    topic: "job:ready",
    domain: "job",
    createdAt: new Date().toISOString(),
    context: { ...context(input), jobId: input.jobId, ...(domain === "space" ? {} : { actionName: operation }) },
    payload: { job: input.job, info: null, domain, status: "ready", operation, isPart: false, input: {} },
  };
}

export function commitCreated(input: EventContext & { commitId: string }): PlatformEvent {
  return {
    id: newEventId(),
    topic: "commit:created",
    domain: "workbook",
    createdAt: new Date().toISOString(),
    context: { ...context(input), commitId: input.commitId, versionId: input.commitId },
    payload: {},
  };
}
