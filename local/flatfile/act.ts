/**
 * What people and the platform do, in process, for tests and the playground: each goes through
 * the same code as the HTTP API and raises the same events, and answers with the event a
 * listener would be sent (see `PlatformActions` in types.ts for each one's documentation).
 */
import { badRequest } from "./errors";
import { createJob } from "./resources/jobs";
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
      });
      return { job: clone(job), event: clone(events.at(-1)!) };
    },
    commit(sheetId, change, options = {}) {
      return commitChange(store, sheetId, change, options.actorId);
    },
  };
}
