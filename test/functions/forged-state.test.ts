/**
 * Our state in `space.metadata` is input: anyone who can write the Space's metadata can write it.
 * Forged states (padded, naming another Space's sheets or guide, copied from another Space, with
 * ids that would change a URL path) driven through the real handlers against the stand-in: none
 * is followed, and the calls a delivery makes stay bounded by the blueprint.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../functions/action-job/handler";
import { SUBMIT_JOB } from "../../functions/action-job/submit-workbook";
import { handler as commitHandler } from "../../functions/commit-created/handler";
import { handler as configureHandler } from "../../functions/space-configure/handler";
import { jsonExceeds, MAX_SPACE_STATE_CHARS } from "../../shared/core/bounds";
import { createSdkClient, type SdkApi } from "../../shared/core/flatfile-sdk";
import { SHEET_ROLES } from "../../shared/domain/space-state";
import { readSpaceState, SPACE_STATE_KEY, type SpaceState } from "../../shared/flatfile/space-state";
import { seedConfiguredSpace, type Configured } from "../support/configured-space";
import { guideSection } from "../support/guide";
import { commitCreatedEvent, jobReadyEvent, startHarness, type Harness } from "../support/harness";

let h: Harness;
let api: SdkApi;

beforeAll(async () => {
  h = await startHarness();
  api = createSdkClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => h.reset());

const contact = (i: number) => ({ firstName: `Ada ${i}`, email: `ada${i}@example.com` });

async function metadataOf(spaceId: string): Promise<Record<string, unknown>> {
  return ((await api.spaces.get(spaceId)).data.metadata ?? {}) as Record<string, unknown>;
}

async function stateOf(spaceId: string): Promise<SpaceState> {
  return (await metadataOf(spaceId))[SPACE_STATE_KEY] as SpaceState;
}

/** Writes our key as someone with the Space's metadata could. */
async function forge(spaceId: string, state: unknown): Promise<void> {
  await api.spaces.update(spaceId, { metadata: { ...(await metadataOf(spaceId)), [SPACE_STATE_KEY]: state } });
}

function mark() {
  const start = h.flatfile.requests.length;
  return () => h.flatfile.requests.slice(start);
}

function commitOn(c: Configured, sheetId: string, insert: Record<string, unknown>[]) {
  const { commitId } = h.flatfile.seed.commit(sheetId, { insert });
  return commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId, commitId });
}

function submitJob(c: Configured) {
  const job = h.flatfile.seed.job({ job: SUBMIT_JOB, spaceId: c.spaceId, workbookId: c.workbookId, status: "ready" });
  return { jobId: job.id, event: jobReadyEvent({ job: SUBMIT_JOB, jobId: job.id, spaceId: c.spaceId, workbookId: c.workbookId }) };
}

const progressOf = async (c: Configured) => guideSection((await api.documents.get(c.spaceId, c.guideId)).data.body, "progress") ?? "";

describe("a forged state in space.metadata", () => {
  it("padded with thousands of sheets: a commit and a Submit make the calls the blueprint bounds, and Submit counts nothing twice", async () => {
    const c = await seedConfiguredSpace(h.flatfile, { contacts: 2, orders: 1 });
    const honest = mark();
    const first = await h.deliver(commitHandler, commitOn(c, c.contactsId, [contact(1)]));
    expect(first.status).toBe(200);
    const honestCalls = honest().length;

    const state = await stateOf(c.spaceId);
    const padded: Record<string, string> = { ...state.sheets };
    for (let i = 0; i < 4_500; i++) padded[i.toString(36)] = c.ordersId;
    const forged = { ...state, sheets: padded };
    // Inside the bound on our key's size: only its shape can tell it is not ours.
    expect(jsonExceeds(forged, MAX_SPACE_STATE_CHARS)).toBe(false);
    await forge(c.spaceId, forged);

    const commit = mark();
    const answer = await h.deliver(commitHandler, commitOn(c, c.contactsId, [contact(2)]));
    expect(answer.status).toBe(200);
    expect(commit().length).toBeLessThanOrEqual(honestCalls);
    expect(commit().filter((r) => r.route === "sheets.counts").length).toBeLessThanOrEqual(2);

    const submit = submitJob(c);
    const submitting = mark();
    const submitted = await h.deliver(actionHandler, submit.event);
    expect(submitted.status).toBe(200);
    expect(submitting().filter((r) => r.route === "sheets.counts").length).toBeLessThanOrEqual(2);
    expect(submitting().length).toBeLessThanOrEqual(12);
    // Never a count of one sheet multiplied by the padding.
    expect(JSON.stringify(submitted.body)).not.toMatch(/"records":\s*[1-9]\d{2,}/);
  });

  it("naming another Space's sheet: its counts are never read, nor shown in this Space's guide or Submit message", async () => {
    const other = await seedConfiguredSpace(h.flatfile, { contacts: 0, orders: 777 });
    const c = await seedConfiguredSpace(h.flatfile, { contacts: 1, orders: 0 });
    const state = await stateOf(c.spaceId);
    await forge(c.spaceId, { ...state, sheets: { contacts: c.contactsId, orders: other.ordersId } });

    const log = mark();
    const answer = await h.deliver(commitHandler, commitOn(c, c.contactsId, [contact(1)]));
    expect(answer.status).toBe(200);
    const submit = submitJob(c);
    const submitted = await h.deliver(actionHandler, submit.event);
    expect(submitted.status).toBe(200);
    const touched = log().filter((r) => r.path.includes(other.ordersId) || r.path.includes(other.workbookId));
    expect(touched).toEqual([]);
    expect(await progressOf(c)).not.toContain("777");
    const job = (await api.jobs.get(submit.jobId)).data;
    expect(`${job.outcome?.message ?? ""} ${job.info ?? ""}`).not.toContain("777");
  });

  it("naming another Space's guide: that document is never written", async () => {
    const other = await seedConfiguredSpace(h.flatfile);
    const c = await seedConfiguredSpace(h.flatfile);
    const theirs = (await api.documents.get(other.spaceId, other.guideId)).data.body;
    const state = await stateOf(c.spaceId);
    await forge(c.spaceId, { ...state, guideDocumentId: other.guideId });

    const log = mark();
    const answer = await h.deliver(commitHandler, commitOn(c, c.contactsId, [contact(1), contact(2)]));
    expect(answer.status).toBe(200);
    expect(log().filter((r) => r.method !== "GET" && r.path.includes(other.guideId))).toEqual([]);
    expect((await api.documents.get(other.spaceId, other.guideId)).data.body).toBe(theirs);
    // Repaired from what this Space holds: its own guide shows the progress, and the state names it.
    expect(await progressOf(c)).toContain("<strong>Contacts</strong>: 2 records");
    expect((await stateOf(c.spaceId)).guideDocumentId).toBe(c.guideId);
  });

  it("copied from another Space: space:configure still sets this Space up, with its own workbook and guide", async () => {
    const other = await seedConfiguredSpace(h.flatfile);
    const space = h.flatfile.seed.space({ metadata: { locale: "en-US", [SPACE_STATE_KEY]: await stateOf(other.spaceId) } });
    const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const answer = await h.deliver(configureHandler, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
    expect(answer.status).toBe(200);
    expect(answer.body.alreadyConfigured).toBeUndefined();
    const workbooks = (await api.workbooks.list({ spaceId: space.id })).data;
    expect(workbooks).toHaveLength(1);
    const documents = (await api.documents.list(space.id)).data;
    expect(documents).toHaveLength(1);
    const state = readSpaceState(await metadataOf(space.id))!;
    expect(state.workbookId).toBe(workbooks[0]!.id);
    expect(state.guideDocumentId).toBe(documents[0]!.id);
    expect((await api.jobs.get(job.id)).data.status).toBe("complete");
  });

  it("with ids that would change a URL path: nothing is called on a path but the event's own resources", async () => {
    const c = await seedConfiguredSpace(h.flatfile, { contacts: 1 });
    const state = await stateOf(c.spaceId);
    await forge(c.spaceId, { ...state, guideDocumentId: "..", sheets: { contacts: c.contactsId, orders: "../.." } });

    const log = mark();
    const answer = await h.deliver(commitHandler, commitOn(c, c.contactsId, [contact(1)]));
    expect(answer.status).toBe(200);
    for (const request of log()) expect(request.path, `${request.method} ${request.path}`).not.toMatch(/\.\.|\/v1\/counts|\/documents\/?$/);
    expect(log().filter((r) => r.method === "PATCH" && r.route === "spaces.update")).toEqual([]);
  });
});

describe("reading the state", () => {
  it("takes only the blueprint's roles, and ids that pass the event ids' check", () => {
    const valid: SpaceState = {
      version: 1,
      workbookId: "us_wb_1",
      guideDocumentId: "us_dc_1",
      sheets: Object.fromEntries(SHEET_ROLES.map((role, i) => [role, `us_sh_${i}`])),
      currency: "USD",
      audience: "member",
      configuredAt: "2026-11-24T10:00:00.000Z",
      configureJobId: "us_jb_cfg",
    };
    const read = (state: unknown) => readSpaceState({ [SPACE_STATE_KEY]: state });
    expect(read(valid)).toEqual(valid);
    expect(read({ ...valid, sheets: { ...valid.sheets, extra: "us_sh_x" } })).toBeUndefined();
    for (const bad of ["..", "us_sh/../x", "us sh", "%2e%2e", ""]) {
      expect(read({ ...valid, sheets: { contacts: bad } }), bad).toBeUndefined();
      expect(read({ ...valid, workbookId: bad }), bad).toBeUndefined();
      expect(read({ ...valid, guideDocumentId: bad }), bad).toBeUndefined();
    }
    const snapshot = { sheetId: "us_sh_c", role: "contacts", name: "C", replacedBy: "us_sh_x", jobId: "us_jb_1", lockedAt: "t" };
    expect(read({ ...valid, archived: [{ ...snapshot, replacedBy: "../x" }] })).toBeUndefined();
    expect(read({ ...valid, archived: Array(51).fill(snapshot) })).toBeUndefined();
  });
});
