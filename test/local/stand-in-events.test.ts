/**
 * The stand-in raises events the way the platform does and serves them to a poller: spaces
 * created with autoConfigure, jobs created for actions, records changed through the API, the
 * in-process actions the playground uses, and events.list / events.ack through the real SDK.
 */
import { Events } from "@flatfile/api/api/resources/events/client/Client";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn, type StoredEvent } from "../../local/flatfile-stand-in";
import { createSdkClient, createSdkFetcher, type SdkApi } from "../../shared/core/flatfile-sdk";

const ENV = "us_env_local0001";
let ff: FlatfileStandIn;
let api: SdkApi & { events: Events };

beforeAll(async () => {
  ff = await startFlatfileStandIn();
  const products = createSdkClient({ token: ff.apiKey, baseUrl: ff.url, retry: { maxRetries: 0 } });
  // Our product's client has no events resource: the SDK's own, on the same fetcher.
  const events = new Events({ token: ff.apiKey, environment: ff.url, fetcher: createSdkFetcher({ retry: { maxRetries: 0 } }) });
  api = Object.assign(Object.create(products) as SdkApi, { events });
});
afterAll(async () => {
  await ff?.close();
});
beforeEach(() => ff.reset());

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return error instanceof FlatfileError ? error.statusCode : undefined;
  }
}

/** Every event of the environment through the SDK, oldest first (the API answers newest first). */
async function listed(query: Parameters<Events["list"]>[0] = { environmentId: ENV, pageSize: 1_000 }) {
  return [...(await api.events.list(query)).data].reverse();
}

describe("spaces created through POST /v1/spaces", () => {
  it("with autoConfigure: space:created, then a ready space:configure job with job:created and job:ready", async () => {
    const space = (await api.spaces.create({ name: "Created", autoConfigure: true, metadata: { locale: "fr-CH" } })).data;
    expect(space.id).toMatch(/^us_sp_/);
    expect(ff.spaces.get(space.id)!.metadata).toEqual({ locale: "fr-CH" });
    const events = await listed();
    expect(events.map((e) => e.topic)).toEqual(["space:created", "job:created", "job:ready"]);
    const ready = events[2]!;
    expect(ready.domain).toBe("job");
    expect(ready.context).toMatchObject({
      accountId: "us_acc_local0001",
      environmentId: ENV,
      spaceId: space.id,
      actorId: "us_key_local0001",
    });
    expect(ready.payload).toMatchObject({
      job: "space:configure",
      domain: "space",
      operation: "configure",
      status: "ready",
      isPart: false,
    });
    const job = (await api.jobs.get(ready.context.jobId!)).data;
    expect(job).toMatchObject({ type: "space", operation: "configure", source: space.id, status: "ready" });
  });

  it("without autoConfigure: space:created only, no job", async () => {
    await api.spaces.create({ name: "Plain" });
    expect((await listed()).map((e) => e.topic)).toEqual(["space:created"]);
    expect(ff.jobs.size).toBe(0);
  });

  it("deletes a space with its workbooks, sheets and documents", async () => {
    const space = (await api.spaces.create({ name: "Gone" })).data;
    const wb = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "A", slug: "a", records: 2 }] });
    await api.documents.create(space.id, { title: "Guide", body: "x" });
    await api.spaces.delete(space.id);
    expect([ff.spaces.size, ff.workbooks.size, ff.sheets.size, ff.documents.size]).toEqual([0, 0, 0, 0]);
    expect(await statusOf(api.workbooks.get(wb.id))).toBe(404);
  });
});

describe("jobs created through POST /v1/jobs", () => {
  it("an immediate trigger is ready at once with job:ready carrying the sheet's context", async () => {
    const space = ff.seed.space();
    const sheet = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] }).sheets[0]!;
    const job = (await api.jobs.create({ type: "sheet", operation: "duplicate", source: sheet.id, trigger: "immediate", input: {} })).data;
    expect(job.status).toBe("ready");
    const ready = (await listed()).at(-1)!;
    expect(ready.topic).toBe("job:ready");
    expect(ready.context).toMatchObject({
      spaceId: space.id,
      workbookId: sheet.workbookId,
      sheetId: sheet.id,
      sheetSlug: "contacts",
      jobId: job.id,
    });
    expect(ready.payload).toMatchObject({ job: "sheet:duplicate", status: "ready", input: {} });
  });

  it("any other trigger stays created (ack refused) until executed, then moves ready → executing → complete", async () => {
    const space = ff.seed.space();
    const job = (await api.jobs.create({ type: "space", operation: "configure", source: space.id })).data;
    expect(job.status).toBe("created");
    expect((await listed()).map((e) => e.topic)).toEqual(["job:created"]);
    expect(await statusOf(api.jobs.ack(job.id, { info: "too soon" }))).toBe(400);
    await api.jobs.execute(job.id);
    expect((await listed()).map((e) => e.topic)).toEqual(["job:created", "job:ready"]);
    expect(await statusOf(api.jobs.execute(job.id))).toBe(400);
    expect((await api.jobs.ack(job.id, { info: "working", progress: 10 })).data.status).toBe("executing");
    expect((await api.jobs.ack(job.id, { info: "half", progress: 50 })).data).toMatchObject({ status: "executing", progress: 50 });
    expect((await api.jobs.complete(job.id, { outcome: { message: "Done" } })).data.status).toBe("complete");
    expect((await listed()).at(-1)).toMatchObject({ topic: "job:completed", payload: { status: "complete" } });
    for (const call of [api.jobs.ack(job.id), api.jobs.complete(job.id), api.jobs.fail(job.id), api.jobs.cancel(job.id)]) {
      expect(await statusOf(call)).toBe(400);
    }
  });

  it("a failed job raises job:failed, a canceled one refuses to finish", async () => {
    const { job } = ff.act.runAction({
      job: "workbook:submitActionFg",
      workbookId: ff.seed.workbook({ spaceId: ff.seed.space().id, sheets: [] }).id,
    });
    await api.jobs.ack(job.id);
    await api.jobs.fail(job.id, { info: "No" });
    expect(ff.events.at(-1)).toMatchObject({ topic: "job:failed", payload: { status: "failed", info: "No" } });
    const { job: other } = ff.act.runAction({ job: "workbook:submitActionFg", workbookId: job.source });
    expect((await api.jobs.cancel(other.id, { info: "Stop" })).data.status).toBe("canceled");
    expect(await statusOf(api.jobs.complete(other.id))).toBe(400);
  });
});

describe("records written through the API", () => {
  // As Flatfile's test helpers write before they wait for commit:created.
  const forced = { headers: { "X-Force-Hooks": "true" } };

  it("insert, update and delete with X-Force-Hooks each raise commit:created naming the sheet, workbook, commit and actor", async () => {
    const space = ff.seed.space();
    const sheet = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] }).sheets[0]!;
    const inserted = (await api.records.insert(sheet.id, [{ firstName: { value: "Ada" } }, { firstName: { value: "Bob" } }], forced)).data;
    const ids = inserted.records!.map((r) => r.id);
    const updated = (await api.records.update(sheet.id, [{ id: ids[0]!, values: { firstName: { value: "", valid: false } } }], forced))
      .data;
    await api.records.delete(sheet.id, { ids: [ids[1]!] }, forced);
    const commits = (await listed()).filter((e) => e.topic === "commit:created");
    expect(commits).toHaveLength(3);
    for (const event of commits) {
      expect(event.domain).toBe("workbook");
      expect(event.context).toMatchObject({
        spaceId: space.id,
        workbookId: sheet.workbookId,
        sheetId: sheet.id,
        sheetSlug: "contacts",
        actorId: "us_key_local0001",
      });
      expect(event.context.commitId).toBe(event.context.versionId);
    }
    expect(commits[0]!.context.commitId).toBe(inserted.commitId);
    expect(commits[1]!.context.commitId).toBe(updated.versionId);
    expect(new Set(commits.map((e) => e.context.commitId)).size).toBe(3);
    const left = (await api.records.get(sheet.id)).data.records;
    expect(left.map((r) => [r.id, r.valid])).toEqual([[ids[0], false]]);
    expect(await statusOf(api.records.delete(sheet.id, { ids: ["us_rc_missing0"] }))).toBe(404);
  });
});

describe("records written with the SDK's X-Disable-Hooks", () => {
  const write = async () => {
    const space = ff.seed.space();
    const sheet = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] }).sheets[0]!;
    // The SDK's own default header, unchanged.
    const inserted = (await api.records.insert(sheet.id, [{ firstName: { value: "Ada" } }])).data;
    await api.records.update(sheet.id, [{ id: inserted.records![0]!.id, values: { firstName: { value: "Ada L." } } }]);
    await api.records.delete(sheet.id, { ids: [inserted.records![0]!.id] });
    expect(ff.requests.filter((r) => r.route.startsWith("records.")).length).toBe(3);
    return (await listed()).filter((e) => e.topic === "commit:created").length;
  };

  it("raise no commit:created by default (the less convenient answer), though the commits happen", async () => {
    ff.platform.disabledHooks = "skipped";
    expect(await write()).toBe(0);
  });

  it("raise one each when the stand-in runs the other way", async () => {
    ff.platform.disabledHooks = "raised";
    try {
      expect(await write()).toBe(3);
    } finally {
      ff.platform.disabledHooks = "skipped";
    }
  });
});

describe("events.list and events.ack", () => {
  it("filters by environment, space, topic and since (inclusive), pages newest first, hides acknowledged events", async () => {
    const a = ff.act.createSpace({ name: "A" });
    const b = ff.act.createSpace({ name: "B", environmentId: "dev_env_other0001" });
    expect(await statusOf(api.events.list({}))).toBe(400);
    expect((await listed({ environmentId: "dev_env_other0001" })).map((e) => e.context.spaceId)).toEqual([
      b.space.id,
      b.space.id,
      b.space.id,
    ]);
    expect((await listed({ spaceId: a.space.id, topic: "job:ready" })).map((e) => e.id)).toEqual([a.event!.id]);
    // Default page: 10, newest first.
    for (let i = 0; i < 4; i++) ff.act.createSpace();
    const page = (await api.events.list({ environmentId: ENV })).data;
    expect(page).toHaveLength(10);
    expect(page[0]!.id).toBe(ff.events.filter((e) => e.context.environmentId === ENV).at(-1)!.id);
    const second = (await api.events.list({ environmentId: ENV, pageNumber: 2 })).data;
    expect(second).toHaveLength(5);
    // since is inclusive: the event at that instant is answered again.
    const at = new Date(a.event!.createdAt);
    expect((await listed({ environmentId: ENV, since: at, pageSize: 100 })).map((e) => e.id)).toContain(a.event!.id);

    await api.events.ack(a.event!.id);
    const all = await listed({ environmentId: ENV, pageSize: 100 });
    expect(all.map((e) => e.id)).not.toContain(a.event!.id);
    const withAcked = await listed({ environmentId: ENV, pageSize: 100, includeAcknowledged: true });
    expect(withAcked.find((e) => e.id === a.event!.id)).toMatchObject({ acknowledgedBy: "us_key_local0001" });
    expect(withAcked).toHaveLength(all.length + 1);
    expect(await statusOf(api.events.ack(a.event!.id))).toBe(200);
    expect(await statusOf(api.events.ack("us_evt_missing0"))).toBe(404);
    expect((await api.events.get(a.event!.id)).data.id).toBe(a.event!.id);
  });

  it("reset forgets the events", () => {
    ff.act.createSpace();
    ff.reset();
    expect(ff.events).toHaveLength(0);
  });
});

describe("the in-process actions (tests and the playground)", () => {
  it("createSpace answers the job:ready a listener is sent, with the creator as actor", () => {
    const created = ff.act.createSpace({ name: "Mine", metadata: { country: "CH" }, actorId: "us_usr_ada00001" });
    expect(created.job).toMatchObject({ type: "space", operation: "configure", status: "ready" });
    expect(created.event).toMatchObject({
      topic: "job:ready",
      context: { spaceId: created.space.id, jobId: created.job!.id, actorId: "us_usr_ada00001" },
      payload: { job: "space:configure" },
    });
    expect(ff.act.createSpace({ autoConfigure: false }).event).toBeUndefined();
  });

  it("runAction answers the action's job:ready with actionName, and refuses an action without its target", () => {
    const space = ff.seed.space();
    const sheet = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] }).sheets[0]!;
    const { job, event } = ff.act.runAction({ job: "sheet:duplicate", sheetId: sheet.id, actorId: "us_g_guest0001" });
    expect(job.status).toBe("ready");
    expect(event.context).toMatchObject({
      sheetId: sheet.id,
      workbookId: sheet.workbookId,
      jobId: job.id,
      actionName: "duplicate",
      actorId: "us_g_guest0001",
    });
    expect(() => ff.act.runAction({ job: "sheet:duplicate" })).toThrow(/sheetId/);
    expect(() => ff.act.runAction({ job: "sheet:duplicate", sheetId: "us_sh_missing0" })).toThrow(/not found/);
  });

  it("runAction runs the job in the mounted action's mode; closeOutcome shows the dialog only where the docs say there is one", async () => {
    const space = ff.seed.space();
    const action = (mode: "foreground" | "background") => ({ operation: "duplicate", mode, label: "Duplicate" });
    const workbook = ff.seed.workbook({
      spaceId: space.id,
      sheets: [
        { name: "Fg", slug: "fg", actions: [action("foreground")] },
        { name: "Bg", slug: "bg", actions: [action("background")] },
      ],
    });
    const [fg, bg] = workbook.sheets;
    const outcome = { acknowledge: true, message: "Done", next: { type: "id", id: fg!.id, label: "Open" } };
    const run = async (sheetId: string, details: Record<string, unknown>) => {
      const { job } = ff.act.runAction({ job: "sheet:duplicate", sheetId });
      expect(() => ff.act.closeOutcome(job.id)).toThrow(/no outcome yet/);
      await api.jobs.ack(job.id);
      await api.jobs.complete(job.id, details);
      return job;
    };
    const foreground = await run(fg!.id, { outcome });
    expect(foreground.mode).toBe("foreground");
    expect(ff.act.closeOutcome(foreground.id)).toMatchObject({ dialog: true, message: "Done", next: outcome.next });
    expect(ff.events.at(-1)).toMatchObject({ topic: "job:outcome-acknowledged", context: { jobId: foreground.id } });

    const background = await run(bg!.id, { outcome });
    expect(background.mode).toBe("background");
    const before = ff.events.length;
    expect(ff.act.closeOutcome(background.id)).toMatchObject({ dialog: false });
    const toast = await run(fg!.id, { outcome: { message: "Done", next: outcome.next } });
    expect(ff.act.closeOutcome(toast.id)).toMatchObject({ dialog: false });
    expect(ff.events.slice(before).map((e) => e.topic)).not.toContain("job:outcome-acknowledged");
  });

  it("commit applies the change as one commit and answers its commit:created", async () => {
    const space = ff.seed.space();
    const sheet = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] }).sheets[0]!;
    const first = ff.act.commit(sheet.id, { insert: [{ firstName: "A" }, { firstName: "B" }], invalid: 1 }, { actorId: "us_usr_ada00001" });
    expect(first.event).toMatchObject({
      topic: "commit:created",
      context: { sheetId: sheet.id, commitId: first.commitId, actorId: "us_usr_ada00001" },
    });
    const fixed = ff.act.commit(sheet.id, { update: [{ id: first.recordIds[0]!, values: { firstName: "Fixed" }, valid: true }] });
    expect(fixed.event.context.actorId).toBe("us_key_local0001");
    expect((await api.sheets.getRecordCounts(sheet.id)).data.counts).toMatchObject({ total: 2, valid: 2, error: 0 });
    const changed = (await api.records.get(sheet.id, { commitId: fixed.commitId })).data.records;
    expect(changed.map((r) => r.values.firstName?.value)).toEqual(["Fixed"]);
    const events: StoredEvent[] = ff.events.filter((e) => e.topic === "commit:created");
    expect(events.map((e) => e.context.commitId)).toEqual([first.commitId, fixed.commitId]);
  });
});
