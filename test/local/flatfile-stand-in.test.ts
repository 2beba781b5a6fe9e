/**
 * The Flatfile stand-in, through the real SDK (our client factory) and raw fetch: strict wire
 * validation, auth, state transitions, records and commits, and injected faults.
 */
import type { Flatfile } from "@flatfile/api";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createSdkClient, type SdkApi } from "../../shared/core/flatfile-sdk";

let ff: FlatfileStandIn;
let api: SdkApi;
/** No retries: every injected status is seen as is. */
let once: SdkApi;

beforeAll(async () => {
  ff = await startFlatfileStandIn();
  api = createSdkClient({ token: ff.apiKey, baseUrl: ff.url });
  once = createSdkClient({ token: ff.apiKey, baseUrl: ff.url, retry: { maxRetries: 0 } });
});
afterAll(async () => {
  await ff?.close();
});
beforeEach(() => ff.reset());

const fields: Flatfile.Property[] = [
  { type: "string", key: "firstName", label: "First name" },
  { type: "number", key: "age", label: "Age" },
  {
    type: "enum",
    key: "tier",
    label: "Tier",
    config: {
      options: [
        { value: "gold", label: "Gold" },
        { value: "silver", label: "Silver" },
      ],
    },
  },
];

function raw(path: string, init: { method?: string; body?: unknown; token?: string | null; rawBody?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const token = init.token === undefined ? ff.apiKey : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${ff.url}${path}`, {
    method: init.method ?? "GET",
    headers,
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
}

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return error instanceof FlatfileError ? error.statusCode : undefined;
  }
}

describe("wire validation and auth", () => {
  it("rejects an unknown key with a 400 naming it, and creates nothing", async () => {
    const space = ff.seed.space();
    const body = {
      name: "WB",
      spaceId: space.id,
      sheets: [{ name: "A", slug: "a", fields: [{ key: "k", type: "string" }] }],
      colour: "blue",
    };
    const answer = await raw("/workbooks", { method: "POST", body });
    expect(answer.status).toBe(400);
    const json = (await answer.json()) as { errors: { key?: string; message: string }[] };
    expect(json.errors[0]).toMatchObject({ key: "colour" });
    expect(json.errors[0]!.message).toContain("colour");
    expect(ff.workbooks.size).toBe(0);
    expect(ff.sheets.size).toBe(0);
    // The log keeps the raw body as it went over the wire, with its status.
    expect(ff.requests.at(-1)).toMatchObject({ method: "POST", route: "workbooks.create", status: 400, body });

    // Nested unknown keys are named by their path.
    const nested = await raw("/workbooks", {
      method: "POST",
      body: { name: "WB", sheets: [{ name: "A", slug: "a", fields: [{ key: "k", type: "string", colour: 1 }] }] },
    });
    expect(nested.status).toBe(400);
    expect(((await nested.json()) as { errors: { key?: string }[] }).errors[0]!.key).toBe("sheets[0].fields[0].colour");
  });

  it("rejects a wrong type and malformed JSON with a 400, and creates nothing", async () => {
    const wrongType = await raw("/workbooks", { method: "POST", body: { name: 42 } });
    expect(wrongType.status).toBe(400);
    const json = (await wrongType.json()) as { errors: { key?: string; message: string }[] };
    expect(json.errors[0]!.key).toBe("name");
    expect(json.errors[0]!.message).toMatch(/string/i);

    const badEnum = await raw("/workbooks", {
      method: "POST",
      body: { name: "x", sheets: [{ name: "A", fields: [{ key: "k", type: "strang" }] }] },
    });
    expect(badEnum.status).toBe(400);

    const malformed = await raw("/workbooks", { method: "POST", rawBody: "{not json" });
    expect(malformed.status).toBe(400);
    expect(ff.requests.at(-1)).toMatchObject({ status: 400, body: "{not json" });
    expect(ff.workbooks.size).toBe(0);
  });

  it("answers 401 for a wrong or missing token, 404 for an unknown route or id", async () => {
    const space = ff.seed.space({ name: "S" });
    const wrong = await raw(`/spaces/${space.id}`, { token: "sk_wrong" });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { errors: { message: string }[] }).errors[0]!.message).toBeTruthy();
    expect((await raw(`/spaces/${space.id}`, { token: null })).status).toBe(401);
    const sdkWrong = createSdkClient({ token: "sk_wrong", baseUrl: ff.url, retry: { maxRetries: 0 } });
    expect(await statusOf(sdkWrong.spaces.get(space.id))).toBe(401);

    const unknown = await raw("/nothing/here");
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    expect(ff.requests.at(-1)).toMatchObject({ route: "unknown", status: 404 });
    expect(await statusOf(once.spaces.get("us_sp_missing01"))).toBe(404);
    expect((await api.spaces.get(space.id)).data.name).toBe("S");
  });
});

describe("spaces, workbooks and documents through the SDK", () => {
  it("creates a workbook, then updates its sheets by slug keeping config as sent", async () => {
    const space = ff.seed.space({ name: "Round trip" });
    const created = (
      await api.workbooks.create({
        name: "Contacts",
        spaceId: space.id,
        sheets: [
          { name: "Contacts", slug: "contacts", fields },
          { name: "Old", slug: "old", fields },
        ],
        metadata: { v: 1 },
      })
    ).data;
    expect(created.id).toMatch(/^us_wb_[a-z0-9]{8}$/);
    expect(created.environmentId).toBe("us_env_local0001");
    const contacts = created.sheets!.find((s) => s.slug === "contacts")!;
    expect(contacts.id).toMatch(/^us_sh_[a-z0-9]{8}$/);
    const seeded = ff.seed.commit(contacts.id, { insert: [{ firstName: "Ada", age: 36, tier: "gold" }] });

    const mark = ff.requests.length;
    const updated = (
      await api.workbooks.update(created.id, {
        sheets: [
          { name: "Contacts", slug: "contacts", fields, access: [], readonly: true },
          { name: "New", slug: "new", fields },
        ],
        actions: [{ operation: "submit", label: "Submit", mode: "foreground" }],
      })
    ).data;
    // Matched by slug: same id and records; "new" created; "old", left out, kept (the default:
    // stand-in-platform.test.ts covers "dropped").
    expect(updated.sheets!.map((s) => s.slug)).toEqual(["contacts", "new", "old"]);
    expect(updated.sheets![0]!.id).toBe(contacts.id);
    expect(ff.sheets.get(contacts.id)!.records.map((r) => r.id)).toEqual(seeded.recordIds);
    expect(ff.sheets.size).toBe(3);
    // Stored as sent, access: [] included; other keys kept unless given.
    const stored = (await api.workbooks.get(created.id)).data;
    const sheet = stored.sheets!.find((s) => s.slug === "contacts")!;
    expect(sheet.config.access).toEqual([]);
    expect(sheet.config.readonly).toBe(true);
    expect(stored.metadata).toEqual({ v: 1 });
    expect(stored.actions).toEqual([{ operation: "submit", label: "Submit", mode: "foreground" }]);
    const logged = ff.requests.slice(mark).find((r) => r.route === "workbooks.update")!;
    expect(logged.method).toBe("PATCH");
    expect((logged.body as { sheets: { access?: unknown }[] }).sheets[0]!.access).toEqual([]);

    const listed = (await api.workbooks.list({ spaceId: space.id })).data;
    expect(listed.map((w) => w.id)).toEqual([created.id]);
    expect((await api.workbooks.list({ spaceId: "us_sp_other001" })).data).toEqual([]);
  });

  it("replaces space metadata wholesale and keeps documents per space", async () => {
    const space = ff.seed.space({ metadata: { a: 1, b: 2 } });
    const updated = (await api.spaces.update(space.id, { metadata: { c: 3 } })).data;
    expect(updated.metadata).toEqual({ c: 3 });
    expect(ff.spaces.get(space.id)!.metadata).toEqual({ c: 3 });

    const doc = (await api.documents.create(space.id, { title: "Guide", body: "<p>one</p>" })).data;
    expect(doc.id).toMatch(/^us_dc_/);
    await api.documents.update(space.id, doc.id, { title: "Guide", body: "<p>two</p>" });
    expect((await api.documents.get(space.id, doc.id)).data.body).toBe("<p>two</p>");
    expect((await api.documents.list(space.id)).data.map((d) => d.id)).toEqual([doc.id]);
    const other = ff.seed.space();
    expect(await statusOf(once.documents.get(other.id, doc.id))).toBe(404);

    const user = ff.seed.user({ email: "ada@example.com", name: "Ada" });
    const guest = ff.seed.guest({ email: "g@example.com", name: "Guest" });
    expect(user.id).toMatch(/^us_usr_/);
    expect(guest.id).toMatch(/^us_g_/);
    expect((await api.users.get(user.id)).data.email).toBe("ada@example.com");
    expect((await api.guests.get(guest.id)).data.name).toBe("Guest");
  });

  it("keeps agents and secrets per environment, secrets upserted by name", async () => {
    const env = "us_env_test0001";
    const agent = (
      await api.agents.create({ environmentId: env, body: { topics: ["job:ready"], compiler: "js", source: "x", slug: "a1" } })
    ).data!;
    expect(agent.id).toMatch(/^us_ag_/);
    expect(ff.agents.get(agent.id)).toMatchObject({ slug: "a1", environmentId: env });
    expect((await api.agents.list({ environmentId: env })).data?.map((a) => a.id)).toEqual([agent.id]);
    expect((await api.agents.list({ environmentId: "us_env_other001" })).data).toEqual([]);
    await api.agents.delete(agent.id);
    expect(await statusOf(once.agents.get(agent.id))).toBe(404);

    await api.secrets.upsert({ name: "K", value: "1", environmentId: env });
    await api.secrets.upsert({ name: "K", value: "2", environmentId: env });
    const listed = (await api.secrets.list({ environmentId: env })).data;
    expect(listed.map((s) => [s.name, s.value])).toEqual([["K", "2"]]);
    await api.secrets.delete(listed[0]!.id);
    expect(ff.secrets.size).toBe(0);
  });

  it("lists an environment's secrets, and for a Space those with the Space's overrides by name", async () => {
    const env = "us_env_secrets01";
    const space = ff.seed.space({});
    const other = ff.seed.space({});
    await api.secrets.upsert({ name: "A", value: "env-a", environmentId: env });
    await api.secrets.upsert({ name: "B", value: "env-b", environmentId: env });
    await api.secrets.upsert({ name: "A", value: "space-a", environmentId: env, spaceId: space.id });
    await api.secrets.upsert({ name: "C", value: "space-c", environmentId: env, spaceId: space.id });
    const values = async (query: { environmentId: string; spaceId?: string }) =>
      Object.fromEntries((await api.secrets.list(query)).data.map((s) => [s.name, s.value]));
    expect(await values({ environmentId: env })).toEqual({ A: "env-a", B: "env-b" });
    expect(await values({ environmentId: env, spaceId: space.id })).toEqual({ A: "space-a", B: "env-b", C: "space-c" });
    expect(await values({ environmentId: env, spaceId: other.id })).toEqual({ A: "env-a", B: "env-b" });
  });

  it("reset forgets state, the log and faults", async () => {
    ff.seed.space();
    ff.faults.statuses("spaces.get", [500]);
    await raw("/spaces/x");
    ff.reset();
    expect(ff.spaces.size + ff.requests.length).toBe(0);
    const space = ff.seed.space();
    expect((await once.spaces.get(space.id)).data.id).toBe(space.id);
  });
});

describe("records, commits and counts", () => {
  it("pages, filters by commit and validity, and counts error records", async () => {
    const space = ff.seed.space();
    const wb = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "People", slug: "people", records: 25, fields }] });
    const sheetId = wb.sheets[0]!.id;
    const added = ff.seed.commit(sheetId, {
      insert: [1, 2, 3, 4, 5].map((i) => ({ firstName: `New ${i}`, age: i, tier: "silver" })),
      invalid: 2,
    });

    const counts = (await api.sheets.getRecordCounts(sheetId)).data.counts;
    expect(counts).toMatchObject({ total: 30, valid: 28, error: 2 });

    const page3 = (await api.records.get(sheetId, { pageSize: 10, pageNumber: 3 })).data;
    expect(page3.records.map((r) => r.values.firstName?.value)).toEqual([
      ...[20, 21, 22, 23, 24].map((n) => `firstName ${n}`),
      ...[1, 2, 3, 4, 5].map((i) => `New ${i}`),
    ]);
    expect(page3.records[0]!.values.age?.value).toBe(20);
    expect(page3.records[0]!.values.tier?.value).toBe("gold");
    expect(page3.counts).toMatchObject({ total: 30 });
    expect((await api.records.get(sheetId, { pageSize: 10, pageNumber: 4 })).data.records).toEqual([]);

    const byCommit = (await api.records.get(sheetId, { commitId: added.commitId, fields: ["firstName"] })).data.records;
    expect(byCommit.map((r) => r.id)).toEqual(added.recordIds);
    expect(Object.keys(byCommit[0]!.values)).toEqual(["firstName"]);
    expect(ff.requests.at(-1)!.path).toContain("fields=firstName");

    const errors = (await api.records.get(sheetId, { filter: "error" })).data.records;
    expect(errors.map((r) => r.id)).toEqual(added.recordIds.slice(0, 2));
    expect(errors[0]!.valid).toBe(false);

    const later = ff.seed.commit(sheetId, { update: [{ id: added.recordIds[4]!, values: { age: 99 } }], delete: [added.recordIds[3]!] });
    const since = (await api.records.get(sheetId, { sinceCommitId: added.commitId })).data.records;
    expect(since.map((r) => [r.id, (r as { commitId?: string }).commitId, r.values.age?.value])).toEqual([
      [added.recordIds[4], later.commitId, 99],
    ]);
    expect((await api.sheets.getRecordCounts(sheetId)).data.counts.total).toBe(29);

    // Inserted through the API: a new commit, found by its id.
    const inserted = (await api.records.insert(sheetId, [{ firstName: { value: "Api" }, age: { value: 1 } }])).data;
    expect(inserted.commitId).toMatch(/^us_vr_/);
    const viaCommit = (await api.records.get(sheetId, { commitId: inserted.commitId! })).data.records;
    expect(viaCommit.map((r) => r.values.firstName?.value)).toEqual(["Api"]);
    expect(await statusOf(once.records.get(sheetId, { pageSize: 50_001 }))).toBe(400);

    ff.seed.commit(sheetId, { deleteAll: true });
    expect((await api.sheets.getRecordCounts(sheetId)).data.counts).toMatchObject({ total: 0, valid: 0, error: 0 });
  });

  it("flags the cell whose required constraint an invalid record breaks, and the first cell when none does", async () => {
    const space = ff.seed.space();
    const contactFields: Flatfile.Property[] = [
      { type: "string", key: "firstName", label: "First name", constraints: [{ type: "required" }] },
      { type: "string", key: "email", label: "Email", constraints: [{ type: "required" }] },
    ];
    const wb = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts", fields: contactFields }] });
    const sheetId = wb.sheets[0]!.id;
    ff.seed.commit(sheetId, {
      insert: [
        { firstName: "Ada", email: "" },
        { firstName: "Grace", email: "grace@example.com" },
      ],
      invalid: 2,
    });

    const [missingEmail, otherLogic] = (await api.records.get(sheetId)).data.records;
    expect(missingEmail!.values.email).toMatchObject({
      valid: false,
      messages: [{ field: "email", type: "error", source: "required-constraint" }],
    });
    expect(missingEmail!.values.firstName).toMatchObject({ valid: true, messages: [] });
    // Nothing in the sheet's config says why this one is in error: shown on its first cell.
    expect(otherLogic!.values.firstName).toMatchObject({ valid: false, messages: [{ source: "custom-logic" }] });
    expect(otherLogic!.values.email).toMatchObject({ valid: true, messages: [] });
  });

  it("duplicates a sheet with all its records, refuses a slug already used, locks and unlocks", async () => {
    const space = ff.seed.space();
    const wb = ff.seed.workbook({ spaceId: space.id, sheets: [{ name: "People", slug: "people", records: 12, fields, access: ["add"] }] });
    const sheetId = wb.sheets[0]!.id;
    ff.seed.commit(sheetId, { insert: [{ firstName: "x" }], invalid: 1 });

    const copy = (await api.sheets.duplicateSheet(sheetId, { name: "People copy", slug: "people-copy" })).data;
    expect(copy.id).not.toBe(sheetId);
    expect(copy.slug).toBe("people-copy");
    expect(copy.config.access).toEqual(["add"]);
    expect((await api.sheets.getRecordCounts(copy.id)).data.counts).toMatchObject({ total: 13, valid: 12, error: 1 });
    const originalIds = new Set(ff.sheets.get(sheetId)!.records.map((r) => r.id));
    const copied = (await api.records.get(copy.id)).data.records;
    expect(copied).toHaveLength(13);
    expect(copied.some((r) => originalIds.has(r.id))).toBe(false);
    expect(copied[12]!.values.firstName?.value).toBe("x");
    expect((await api.workbooks.get(wb.id)).data.sheets!.map((s) => s.slug)).toEqual(["people", "people-copy"]);
    expect(await statusOf(once.sheets.duplicateSheet(sheetId, { slug: "people-copy" }))).toBe(400);
    expect(ff.sheets.size).toBe(2);

    expect((await api.sheets.lockSheet(sheetId)).data?.success).toBe(true);
    expect((await api.sheets.get(sheetId)).data.lockedBy).toBeTruthy();
    await api.sheets.unlockSheet(sheetId);
    expect((await api.sheets.get(sheetId)).data.lockedBy).toBeUndefined();
  });

  it("seeds two sheets of 100,000 records and counts and pages them", async () => {
    const space = ff.seed.space();
    const wb = ff.seed.workbook({
      spaceId: space.id,
      sheets: [
        { name: "A", slug: "a", records: 100_000 },
        { name: "B", slug: "b", records: 100_000, fields },
      ],
    });
    for (const sheet of wb.sheets) {
      expect((await api.sheets.getRecordCounts(sheet.id)).data.counts).toMatchObject({ total: 100_000, valid: 100_000, error: 0 });
    }
    // The largest page, over the wire (the SDK's own response parsing is slow at this size).
    const answer = await raw(`/sheets/${wb.sheets[0]!.id}/records?pageSize=50000&pageNumber=2`);
    const last = ((await answer.json()) as { data: { records: Flatfile.RecordWithLinks[] } }).data.records;
    expect(last).toHaveLength(50_000);
    expect(last.at(-1)!.values.email?.value).toBe("email 99999");
    expect(new Set(last.map((r) => r.id)).size).toBe(50_000);
    const viaSdk = (await api.records.get(wb.sheets[1]!.id, { pageSize: 1_000, pageNumber: 100 })).data.records;
    expect(viaSdk.map((r) => r.values.age?.value)).toEqual(Array.from({ length: 1_000 }, (_, i) => 99_000 + i));
  });
});

describe("jobs", () => {
  it("moves through ack, complete and refuses to finish a finished job", async () => {
    const space = ff.seed.space();
    const job = ff.seed.job({ job: "space:configure", spaceId: space.id });
    expect(job.id).toMatch(/^us_jb_/);
    expect((await api.jobs.get(job.id)).data).toMatchObject({ type: "space", operation: "configure", source: space.id, status: "ready" });

    const acked = (await api.jobs.ack(job.id, { info: "working", progress: 10 })).data;
    expect(acked).toMatchObject({ status: "executing", info: "working", progress: 10 });
    const done = (await api.jobs.complete(job.id, { outcome: { message: "Done", acknowledge: true }, info: "Done" })).data;
    expect(done).toMatchObject({ status: "complete", outcome: { message: "Done" } });

    expect(await statusOf(once.jobs.complete(job.id, { info: "again" }))).toBe(400);
    expect(await statusOf(once.jobs.fail(job.id, { info: "late" }))).toBe(400);
    expect(await statusOf(once.jobs.ack(job.id, { info: "late" }))).toBe(400);
    expect(ff.jobs.get(job.id)).toMatchObject({ status: "complete", info: "Done" });
    // Strict validation applies to job bodies too.
    expect((await raw(`/jobs/${job.id}/complete`, { method: "POST", body: { outcome: { mesage: "typo" } } })).status).toBe(400);
  });

  it("fails a job, and answers jobs.retry 404 (undocumented: modelled as absent), leaving it failed", async () => {
    const job = ff.seed.job({ job: "workbook:submit", workbookId: "us_wb_x0000001" });
    expect(job.source).toBe("us_wb_x0000001");
    const failed = (await api.jobs.fail(job.id, { outcome: { message: "Temporary" }, info: "Temporary" })).data;
    expect(failed.status).toBe("failed");
    expect(await statusOf(once.jobs.retry(job.id))).toBe(404);
    expect(ff.requests.at(-1)).toMatchObject({ route: "jobs.retry", status: 404 });
    expect((await api.jobs.get(job.id)).data).toMatchObject({ status: "failed", outcome: { message: "Temporary" } });
  });
});

describe("events", () => {
  it("carry the namespaces of their Space and its App, as space:<namespace>, and none for a Space without", async () => {
    const app = ff.seed.app({ namespace: "red" });
    const spaces = [ff.seed.space({ appId: app.id }), ff.seed.space({ namespace: "blue", appId: app.id }), ff.seed.space()];
    for (const space of spaces) {
      await api.jobs.create({ type: "space", operation: "configure", source: space.id, trigger: "immediate" });
    }
    const namespaces = spaces.map(
      (space) => ff.events.find((e) => e.topic === "job:ready" && e.context.spaceId === space.id)?.namespaces ?? "none",
    );
    expect(namespaces).toEqual([["space:red"], ["space:blue", "space:red"], "none"]);
  });
});

describe("faults", () => {
  it("answers a status sequence, then normal service, touching no state", async () => {
    const space = ff.seed.space();
    ff.faults.statuses("workbooks.create", [429, 500, 503]);
    const create = () => once.workbooks.create({ name: "WB", spaceId: space.id, sheets: [] });
    const seen = [await statusOf(create()), await statusOf(create()), await statusOf(create())];
    expect(seen).toEqual([429, 500, 503]);
    expect(ff.workbooks.size).toBe(0);
    expect(await statusOf(create())).toBe(200);
    expect(ff.workbooks.size).toBe(1);
    expect(ff.requests.filter((r) => r.route === "workbooks.create").map((r) => r.status)).toEqual([429, 500, 503, 200]);

    const answer = await (async () => {
      ff.faults.statuses("*", [503]);
      return raw(`/spaces/${space.id}`);
    })();
    expect(answer.status).toBe(503);
    expect(answer.headers.get("retry-after")).toBeNull();
    expect(((await answer.json()) as { errors: unknown[] }).errors).toHaveLength(1);
    // The client's retries see the faults and then recover.
    ff.faults.statuses("spaces.get", [500]);
    const tries: unknown[] = [];
    const retrying = createSdkClient({
      token: ff.apiKey,
      baseUrl: ff.url,
      retry: { baseDelayMs: 1 },
      onAttempt: (a) => tries.push(a.status),
    });
    expect((await retrying.spaces.get(space.id)).data.id).toBe(space.id);
    expect(tries).toEqual([500, 200]);
  });

  it("hangs a route until the client times out, logged with status 0", async () => {
    const space = ff.seed.space();
    ff.faults.hang("spaces.get", 1);
    const attempts: unknown[] = [];
    const impatient = createSdkClient({
      token: ff.apiKey,
      baseUrl: ff.url,
      retry: { maxRetries: 0, attemptTimeoutMs: 200 },
      onAttempt: (a) => attempts.push(a.status),
    });
    const started = Date.now();
    await expect(impatient.spaces.get(space.id)).rejects.toThrow(/timeout/i);
    // One attempt, cut by the client's attempt timeout (the SDK reports the abort as "timeout").
    expect(attempts).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(ff.requests.at(-1)).toMatchObject({ route: "spaces.get", status: 0 });
    // Only one call hung.
    expect((await impatient.spaces.get(space.id)).data.id).toBe(space.id);
  });

  it("adds latency per route and globally", async () => {
    const space = ff.seed.space();
    ff.faults.latency("spaces.get", 150);
    let started = Date.now();
    await api.spaces.get(space.id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    ff.faults.clear();
    started = Date.now();
    await api.spaces.get(space.id);
    expect(Date.now() - started).toBeLessThan(140);

    const slow = await startFlatfileStandIn({ latencyMs: 100 });
    try {
      const s = slow.seed.space();
      started = Date.now();
      await createSdkClient({ token: slow.apiKey, baseUrl: slow.url }).spaces.get(s.id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    } finally {
      await slow.close();
    }
  });

  it("closes promptly with a request still hanging", async () => {
    const other = await startFlatfileStandIn({ apiKey: "sk_fixed_key" });
    expect(other.apiKey).toBe("sk_fixed_key");
    other.faults.hang("*");
    const pending = fetch(`${other.url}/spaces/x`, { headers: { authorization: "Bearer sk_fixed_key" } }).then(
      () => "answered",
      () => "dropped",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await other.close();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await pending).toBe("dropped");
    expect(other.requests.map((r) => r.status)).toEqual([0]);
  });
});
