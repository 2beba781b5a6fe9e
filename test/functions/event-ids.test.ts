/**
 * The events the platform actually sends. Ids are not always `us_<kind>_…`; a stand-in
 * that makes `dev_…` ids, and events whose unused fields have unexpected shapes, go through every
 * handler end to end: configure, duplicate, submit, commit.
 */
import type { Flatfile } from "@flatfile/api";
import { describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../functions/action-job/handler";
import { handler as commitHandler } from "../../functions/commit-created/handler";
import { handler as configureHandler } from "../../functions/space-configure/handler";
import { readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { commitCreatedEvent, jobReadyEvent } from "../support/harness";
import { RULE_ROLE } from "../support/blueprint";
import { useHarness } from "../support/fixture";

const DEV_ENVIRONMENT = "dev_env_local0001";
const DEV_ACCOUNT = "dev_acc_local0001";
const h = useHarness({ idPrefix: "dev", env: { FLATFILE_ENVIRONMENT_ID: DEV_ENVIRONMENT } });
let n = 0;

/** As the platform sends it from a dev environment, with shapes nobody reads altered. */
function devEvent(event: Record<string, unknown>): Record<string, unknown> {
  const context = event.context as Record<string, unknown>;
  const payload = (event.payload ?? {}) as Record<string, unknown>;
  return {
    ...event,
    id: `dev_evt_${Date.now().toString(36)}${(n++).toString(36)}`,
    createdAt: 1_764_400_000_000, // a number, not an ISO string
    callbackUrl: "https://platform.flatfile.com/callback",
    attributes: { targetUpdatedAt: null },
    context: { ...context, accountId: DEV_ACCOUNT, environmentId: DEV_ENVIRONMENT, slugs: "unexpected", actionName: 7 },
    payload: { ...payload, input: ["an", "array", "not", "a", "record"], operation: null, isPart: "false", info: { detail: 1 } },
  };
}

const jobOf = async (id: string) => (await h.api.jobs.get(id)).data;

describe("dev_ ids and odd unused fields, end to end", () => {
  it("configure, duplicate, submit and commit all finish their jobs", async () => {
    const user = h.flatfile.seed.user({ email: "dev@example.com", name: "Dev Eloper" });
    expect(user.id).toMatch(/^dev_usr_/);
    const space = h.flatfile.seed.space({ metadata: { locale: "en-US" }, environmentId: DEV_ENVIRONMENT });
    expect(space.id).toMatch(/^dev_sp_/);
    const configure = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const configured = await h.deliver(
      configureHandler,
      devEvent(
        jobReadyEvent({ job: "space:configure", jobId: configure.id, spaceId: space.id, actorId: user.id, environmentId: DEV_ENVIRONMENT }),
      ),
    );
    expect(configured.status, JSON.stringify(configured.body)).toBe(200);
    expect((await jobOf(configure.id)).status).toBe("complete");
    // The dev_ actor was looked up like any user, not taken for an unknown one.
    expect(h.flatfile.requests.some((r) => r.method === "GET" && r.path.includes(`/users/${user.id}`))).toBe(true);
    const state = readSpaceState((await h.api.spaces.get(space.id)).data.metadata) as SpaceState;
    expect(state.workbookId).toMatch(/^dev_wb_/);

    const sheetId = state.sheets.contacts!;
    const duplicate = h.flatfile.seed.job({ job: "sheet:duplicate", spaceId: space.id, workbookId: state.workbookId, sheetId });
    const duplicated = await h.deliver(
      actionHandler,
      devEvent(
        jobReadyEvent({
          job: "sheet:duplicate",
          jobId: duplicate.id,
          spaceId: space.id,
          workbookId: state.workbookId,
          sheetId,
          sheetSlug: "contacts",
          actorId: user.id,
          environmentId: DEV_ENVIRONMENT,
        }),
      ),
    );
    expect(duplicated.status, JSON.stringify(duplicated.body)).toBe(200);
    expect((await jobOf(duplicate.id)).status).toBe("complete");

    const { commitId } = h.flatfile.seed.commit(state.sheets[RULE_ROLE]!, { insert: [{ orderId: "o-1", amount: 3, category: "books" }] });
    const committed = await h.deliver(
      commitHandler,
      devEvent(
        commitCreatedEvent({
          spaceId: space.id,
          workbookId: state.workbookId,
          sheetId: state.sheets[RULE_ROLE]!,
          commitId,
          environmentId: DEV_ENVIRONMENT,
        }),
      ),
    );
    expect(committed.status, JSON.stringify(committed.body)).toBe(200);
    expect(committed.body.ignored).toBeUndefined();

    const submit = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: space.id, workbookId: state.workbookId });
    const submitted = await h.deliver(
      actionHandler,
      devEvent(
        jobReadyEvent({
          job: "workbook:submitActionFg",
          jobId: submit.id,
          spaceId: space.id,
          workbookId: state.workbookId,
          actorId: user.id,
          environmentId: DEV_ENVIRONMENT,
        }),
      ),
    );
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    const finished: Flatfile.Job = await jobOf(submit.id);
    expect(["complete", "failed"]).toContain(finished.status);
    expect(finished.outcome?.message).toEqual(expect.any(String));
  });

  it("a dev_ id that could change a URL path is still a 400 that calls nothing", async () => {
    const start = h.flatfile.requests.length;
    const event = devEvent(
      jobReadyEvent({ job: "space:configure", jobId: "dev_jb_ok0001", spaceId: "dev_sp_../../x", environmentId: DEV_ENVIRONMENT }),
    );
    const answer = await h.deliver(configureHandler, event);
    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toMatch(/context\.spaceId/);
    expect(h.flatfile.requests.slice(start)).toEqual([]);
  });
});
