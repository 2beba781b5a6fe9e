/**
 * What people and the platform do, in process, for tests and the playground: each goes through
 * the same code as the HTTP API and raises the same events, and answers with the event a
 * listener would be sent (see `PlatformActions` in types.ts for each one's documentation).
 */
import { badRequest } from "./errors";
import { closeOutcome, createJob } from "./resources/jobs";
import { commitChange } from "./resources/records";
import { createSpace } from "./resources/spaces";
import { clone, type Store } from "./store";
import type { PlatformActions } from "./types";

export function createActions(store: Store): PlatformActions {
  return {
    createSpace(input = {}) {
      return createSpace(store, { ...input, autoConfigure: input.autoConfigure ?? true });
    },
    runAction(input) {
      const [domain, operation] = input.job.split(":");
      if (!domain || !operation) throw badRequest(`job must be "<domain>:<operation>", not "${input.job}"`, "job");
      const source =
        domain === "sheet" ? input.sheetId : domain === "workbook" ? input.workbookId : domain === "space" ? input.spaceId : undefined;
      if (!source) throw badRequest(`a ${domain} action needs its ${domain}Id`, `${domain}Id`);
      const { job, events } = createJob(store, {
        type: domain,
        operation,
        source,
        trigger: "immediate",
        actorId: input.actorId,
        actionName: operation,
        input: input.input,
        mode: mountedActionMode(store, domain, source, operation),
      });
      return { job: clone(job), event: clone(events.at(-1)!) };
    },
    closeOutcome(jobId) {
      return closeOutcome(store, jobId);
    },
    commit(sheetId, change, options = {}) {
      return commitChange(store, sheetId, change, options.actorId);
    },
    agentRan(agentId, run) {
      if (!store.agents.has(agentId)) throw badRequest(`no agent ${agentId}`, "agentId");
      const completed = run.completedAt ? Date.parse(run.completedAt) : store.clockNow();
      const entry = {
        id: store.newId("lg"),
        agentId,
        eventId: run.eventId,
        success: run.success ?? true,
        createdAt: new Date(completed - 1_000).toISOString(),
        completedAt: new Date(completed).toISOString(),
        log: run.log,
        ...(run.topic ? { topic: run.topic } : {}),
      };
      store.agentLogs.push(entry);
      return clone(entry);
    },
  };
}

/**
 * The mode of the action the person pressed, as mounted on the sheet or workbook: the job runs in
 * it (SDK `ActionMode`: "Foreground actions will prevent interacting with the resource until
 * complete"; `JobConfig.mode` takes the same values). Not mounted there: the API default.
 */
function mountedActionMode(store: Store, domain: string, source: string, operation: string): string | undefined {
  const actions =
    domain === "sheet"
      ? (store.getSheet(source).config as { actions?: unknown }).actions
      : domain === "workbook"
        ? store.getWorkbook(source).actions
        : undefined;
  if (!Array.isArray(actions)) return undefined;
  const action = actions.find((a) => (a as { operation?: unknown })?.operation === operation) as { mode?: unknown } | undefined;
  return typeof action?.mode === "string" ? action.mode : undefined;
}
