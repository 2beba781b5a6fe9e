/**
 * A workbook that tracks changes (SDK `WorkbookConfigSettings.trackChanges`) keeps its actions
 * off until a commit is completed: plugin-record-hook reads `payload.trackChanges` and calls
 * `commits.complete` when it finds nothing to change, which for a commit it changed happens on its
 * own write-back's commit. The route never gives that write-back to the listener (it would loop),
 * so it completes it itself. Through POST /listener against the stand-in.
 */
import type { FlatfileListener } from "@flatfile/listener";
import { bulkRecordHook } from "@flatfile/plugin-record-hook";
import { afterEach, describe, expect, it } from "vitest";
import { SELF_ACTOR_ENV } from "../../../functions/commit-created/commit-created";
import { createListenerRoute } from "../../../functions/listener/listener";
import { API_KEY_ACTOR } from "../../../local/flatfile/store";
import { createRoute } from "../../../shared/core/route";
import { useHarness } from "../../support/fixture";

const h = useHarness();
afterEach(() => {
  delete process.env[SELF_ACTOR_ENV];
});

let runs = 0;
const upperCasing = createRoute(
  createListenerRoute(async () => ({
    default: (listener: FlatfileListener) =>
      listener.use(
        bulkRecordHook("people", (records) => {
          runs++;
          for (const record of records) record.set("name", String(record.get("name")).toUpperCase());
          return records;
        }),
      ),
  })),
);

async function commitIn(trackChanges: boolean) {
  const space = h.flatfile.seed.space({});
  const { data: workbook } = await h.api.workbooks.create({
    spaceId: space.id,
    name: "People",
    sheets: [{ name: "People", slug: "people", fields: [{ type: "string", key: "name", label: "Name" }] }],
    ...(trackChanges ? { settings: { trackChanges: true } } : {}),
  });
  const sheetId = workbook.sheets?.[0]?.id ?? "";
  const made = h.flatfile.act.commit(sheetId, { insert: [{ name: "ada" }] }, { actorId: "us_usr_person01" });
  return { sheetId, ...made };
}

const completed = (commitId: string) => h.flatfile.commits.get(commitId)?.completedAt;

describe("a commit in a workbook that tracks changes", () => {
  it("ends with the write-back's commit completed by the route, the write-back never given to the listener", async () => {
    process.env[SELF_ACTOR_ENV] = API_KEY_ACTOR;
    // The write-back raises its commit:created only where the platform runs hooks for SDK writes.
    h.flatfile.platform.disabledHooks = "raised";
    const { sheetId, event } = await commitIn(true);
    expect(event.payload).toMatchObject({ trackChanges: true });
    runs = 0;
    await h.deliver(upperCasing, event);
    const writeBack = h.flatfile.events.filter((e) => e.topic === "commit:created").at(-1)!;
    expect(writeBack.context.actorId).toBe(API_KEY_ACTOR);
    expect(writeBack.payload).toMatchObject({ trackChanges: true });
    const writeBackCommit = String(writeBack.context.commitId);
    expect(completed(writeBackCommit)).toBeUndefined();

    const answer = await h.deliver(upperCasing, writeBack);
    expect(answer).toMatchObject({ status: 200, body: { handlers: 0, commitCompleted: writeBackCommit } });
    expect(runs).toBe(1);
    expect(completed(writeBackCommit)).toEqual(expect.any(String));
    const { data } = await h.api.records.get(sheetId);
    expect(data.records?.map((r) => r.values.name?.value)).toEqual(["ADA"]);
  });

  it("without trackChanges: no flag, no commit completed, and the write-back is ignored with nothing called", async () => {
    process.env[SELF_ACTOR_ENV] = API_KEY_ACTOR;
    h.flatfile.platform.disabledHooks = "raised";
    const { event } = await commitIn(false);
    expect(event.payload).not.toHaveProperty("trackChanges");
    await h.deliver(upperCasing, event);
    const writeBack = h.flatfile.events.filter((e) => e.topic === "commit:created").at(-1)!;
    const before = h.flatfile.requests.length;
    expect((await h.deliver(upperCasing, writeBack)).body).toMatchObject({ ignored: true });
    expect(h.flatfile.requests.length).toBe(before);
    expect(h.flatfile.requests.some((r) => r.route === "commits.complete")).toBe(false);
  });

  it("is refused by the stand-in for a commit that does not exist", async () => {
    const answer = await fetch(`${h.flatfile.url}/commits/us_vr_nothere1/complete`, {
      method: "POST",
      headers: { authorization: `Bearer ${h.flatfile.apiKey}` },
    });
    expect(answer.status).toBe(404);
  });
});
