/**
 * commit-created through the handler, against the Flatfile stand-in: a configured space (our
 * workbook with a sheet per role of the blueprint, the guide, our state in space.metadata) seeded
 * directly. "contacts" here is the sheet offering Duplicate, "orders" the commit-time rule's.
 */
import type { Flatfile } from "@flatfile/api";
import { beforeEach, describe, expect, it } from "vitest";
import { handler } from "../../../functions/commit-created/handler";
import { LEGACY_SUBMIT_TOOLTIP, UNKNOWN_CATEGORY_RULE, WORKBOOK_ACTIONS } from "../../../shared/domain/blueprint";
import { workbookUpdate } from "../../../shared/domain/workbook-update";
import { renderProgress } from "../../../shared/domain/guide";
import { countedAtOf, guideSection as readSection } from "../../support/guide";
import { SELF_ACTOR_ENV } from "../../../functions/commit-created/commit-created";
import { GUIDE_TITLE } from "../../../shared/flatfile/space-state";
import { CATEGORIES, seedConfiguredSpace as seed, type Configured } from "../../support/configured-space";
import { commitCreatedEvent } from "../../support/harness";
import { useHarness } from "../../support/fixture";
import { DUPLICABLE_ROLE, RULE_ROLE, sheetName } from "../../support/blueprint";
import { SHEET_ROLES } from "../../../shared/domain/space-state";

const CONTACTS = sheetName(DUPLICABLE_ROLE);
const ORDERS = sheetName(RULE_ROLE);

const h = useHarness();
beforeEach(() => {
  delete process.env[SELF_ACTOR_ENV];
});

const seedConfiguredSpace = (records: Partial<Record<string, number>> = {}) => seed(h.flatfile, records);

function eventFor(c: Configured, sheetId: string, commitId: string, extra: { actorId?: string } = {}) {
  return commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId, commitId, ...extra });
}

/** Requests made from now on. */
function mark() {
  const start = h.flatfile.requests.length;
  return {
    all: () => h.flatfile.requests.slice(start),
    writes: () => h.flatfile.requests.slice(start).filter((r) => r.method !== "GET"),
  };
}

async function progressOf(c: Configured): Promise<string> {
  const doc = (await h.api.documents.get(c.spaceId, c.guideId)).data;
  return readSection(doc.body, "progress") ?? "";
}

async function submitAction(c: Configured): Promise<Flatfile.Action | undefined> {
  const wb = (await h.api.workbooks.get(c.workbookId)).data;
  return wb.actions?.find((a) => a.operation === WORKBOOK_ACTIONS.submit.operation);
}

async function categoryOptions(c: Configured): Promise<string[]> {
  const wb = (await h.api.workbooks.get(c.workbookId)).data;
  const orders = wb.sheets?.find((s) => s.id === c.ordersId);
  const field = orders?.config.fields.find((f) => f.key === UNKNOWN_CATEGORY_RULE.fieldKey);
  return field?.type === "enum" ? field.config.options.map((o) => String(o.value)) : [];
}

const contact = (i: number) => ({ firstName: `Ada ${i}`, email: `ada${i}@example.com` });
const order = (i: number, category: string) => ({ orderId: `o-${i}`, amount: 10 + i, [UNKNOWN_CATEGORY_RULE.fieldKey]: category });

describe("commit-created", () => {
  it("keeps the guide's progress in line with the counts after each commit", async () => {
    const c = await seedConfiguredSpace();
    const first = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1), contact(2), contact(3)] });
    const a = await h.deliver(handler, eventFor(c, c.contactsId, first.commitId));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ sheet: DUPLICABLE_ROLE, guide: "updated" });
    expect(await progressOf(c)).toContain(`<strong>${CONTACTS}</strong>: 3 records`);
    expect(await progressOf(c)).toContain(`<strong>${ORDERS}</strong>: no records yet`);

    const second = h.flatfile.seed.commit(c.ordersId, { insert: [order(1, "books"), order(2, "music")] });
    const b = await h.deliver(handler, eventFor(c, c.ordersId, second.commitId));
    expect(b.status).toBe(200);
    const progress = await progressOf(c);
    expect(progress).toContain(`<strong>${CONTACTS}</strong>: 3 records`);
    expect(progress).toContain(`<strong>${ORDERS}</strong>: 2 records`);
    // The rest of the guide is kept byte for byte.
    const doc = (await h.api.documents.get(c.spaceId, c.guideId)).data;
    expect(doc.title).toBe(GUIDE_TITLE);
    expect(readSection(doc.body, "intro")).toContain("<h1>Getting started</h1>");
  });

  it("writes nothing for the same commit delivered twice, nor for a commit that changes nothing we show", async () => {
    const c = await seedConfiguredSpace();
    const commit = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1)] });
    const event = eventFor(c, c.contactsId, commit.commitId);
    const first = await h.deliver(handler, event);
    expect(first.status).toBe(200);

    const again = mark();
    const second = await h.deliver(handler, event);
    expect(second.status).toBe(200);
    expect(second.body.replayed).toBe(true);
    expect(again.all()).toEqual([]);

    // A new delivery id for the same commit (a relay redelivery) is deduplicated by commit id.
    const copy = mark();
    const third = await h.deliver(handler, { ...event, id: "us_evt_redelivered1" });
    expect(third.body.replayed).toBe(true);
    expect(copy.writes()).toEqual([]);

    // A different commit that leaves the counts as they were: everything is read, nothing written.
    const noop = h.flatfile.seed.commit(c.ordersId, { insert: [] });
    const quiet = mark();
    const fourth = await h.deliver(handler, eventFor(c, c.ordersId, noop.commitId));
    expect(fourth.status).toBe(200);
    expect(fourth.body).toMatchObject({ guide: "unchanged", workbook: [] });
    expect(quiet.writes()).toEqual([]);
  });

  it("leaves Submit to its static constraints (no toggle on the data), keeping the sheets", async () => {
    const c = await seedConfiguredSpace();
    expect((await submitAction(c))?.constraints).toEqual([{ type: "hasAllValid" }, { type: "hasData" }]);

    const added = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1)] });
    const a = await h.deliver(handler, eventFor(c, c.contactsId, added.commitId));
    expect(a.body.workbook).toEqual([]);
    expect(await submitAction(c)).toEqual({ ...WORKBOOK_ACTIONS.submit });

    const wb = (await h.api.workbooks.get(c.workbookId)).data;
    expect(wb.sheets?.map((s) => s.slug)).toEqual([...SHEET_ROLES]);
    expect(wb.sheets?.map((s) => s.id)).toEqual(SHEET_ROLES.map((role) => c.sheetIds[role]));
    expect(await categoryOptions(c)).toEqual(CATEGORIES);

    const deleted = h.flatfile.seed.commit(c.contactsId, { deleteAll: true });
    const b = await h.deliver(handler, eventFor(c, c.contactsId, deleted.commitId));
    expect(b.body.workbook).toEqual([]);
    expect(await submitAction(c)).toEqual({ ...WORKBOOK_ACTIONS.submit });
    expect(await progressOf(c)).toContain("No records yet");
  });

  it("brings a workbook made by an earlier version (toggled Submit with a tooltip) to the static constraints", async () => {
    const c = await seedConfiguredSpace();
    const wb = (await h.api.workbooks.get(c.workbookId)).data;
    const toggled = {
      ...WORKBOOK_ACTIONS.submit,
      constraints: [{ type: "hasAllValid" as const }, { type: "hasData" as const }],
      tooltip: LEGACY_SUBMIT_TOOLTIP,
    };
    await h.api.workbooks.update(c.workbookId, workbookUpdate(wb, [toggled]));
    const commit = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1)] });
    const answer = await h.deliver(handler, eventFor(c, c.contactsId, commit.commitId));
    expect(answer.body.workbook).toEqual(["actions"]);
    expect(await submitAction(c)).toEqual({ ...WORKBOOK_ACTIONS.submit });
  });

  it("extends the category options from the commit's changed records only", async () => {
    const c = await seedConfiguredSpace();
    // Data already in the sheet with a category we do not know: not this commit's business.
    const before = h.flatfile.seed.commit(c.ordersId, { insert: [order(1, "legacy")] });
    void before;
    const commit = h.flatfile.seed.commit(c.ordersId, {
      insert: [order(2, "books"), order(3, "gardening"), order(4, "gardening"), order(5, "tools")],
    });
    const log = mark();
    const answer = await h.deliver(handler, eventFor(c, c.ordersId, commit.commitId));
    expect(answer.status).toBe(200);
    expect(answer.body.categories).toMatchObject({ recordsRead: 4, pages: 1, truncated: false, added: ["gardening", "tools"] });
    expect(await categoryOptions(c)).toEqual([...CATEGORIES, "gardening", "tools"]);

    // The records were read by commit, one page, and only the rule's field.
    const reads = log.all().filter((r) => r.route === "records.get");
    expect(reads).toHaveLength(1);
    expect(reads[0]!.path).toContain(`commitId=${commit.commitId}`);
    // One workbook update carries both the new options and the submit action now offered.
    const updates = log.writes().filter((r) => r.route === "workbooks.update");
    expect(updates).toHaveLength(1);

    // Applied again (a later commit bringing the same values) it changes nothing.
    const repeat = h.flatfile.seed.commit(c.ordersId, { insert: [order(6, "tools")] });
    const quiet = mark();
    const again = await h.deliver(handler, eventFor(c, c.ordersId, repeat.commitId));
    expect(again.body.categories).toMatchObject({ added: [] });
    expect(quiet.writes().filter((r) => r.route === "workbooks.update")).toEqual([]);
  });

  it("makes the same Flatfile calls for a 100,000-record sheet as for a 1,000-record one", async () => {
    const calls = async (size: number) => {
      const c = await seedConfiguredSpace(Object.fromEntries(SHEET_ROLES.map((role) => [role, size])));
      const commit = h.flatfile.seed.commit(c.ordersId, { insert: [order(1, "books"), order(2, "hobbies")] });
      const log = mark();
      const answer = await h.deliver(handler, eventFor(c, c.ordersId, commit.commitId));
      expect(answer.status).toBe(200);
      expect(await progressOf(c)).toContain(`<strong>${ORDERS}</strong>: ${(size + 2).toLocaleString("en-US")} records`);
      return log
        .all()
        .map((r) => `${r.method} ${r.route}`)
        .sort();
    };
    const small = await calls(1_000);
    h.reset();
    const large = await calls(100_000);
    expect(large).toEqual(small);
    // spaces.get and workbooks.get (whether the state is this space's is decided from the workbook
    // read); under the space's lease spaces.get, 2 counts and documents.get (the guide is this
    // space's), beside the commit's one records page; documents.update and spaces.update; the
    // workbook write (workbooks.get, workbooks.update under its lease); and this test's own read
    // of the guide. The counts are read under the lease, so no second round re-reads them.
    // One count per working sheet: 2 in the example's workbook, 12 calls in all.
    expect(small).toHaveLength(10 + SHEET_ROLES.length);
  });

  it("ignores a commit on a sheet or workbook our blueprint did not make, with zero writes", async () => {
    const c = await seedConfiguredSpace();
    const foreign = h.flatfile.seed.workbook({
      spaceId: c.spaceId,
      name: "Theirs",
      sheets: [{ name: CONTACTS, slug: DUPLICABLE_ROLE, records: 5 }],
    });
    const foreignSheet = foreign.sheets[0]!.id as string;
    const commit = h.flatfile.seed.commit(foreignSheet, { insert: [contact(9)] });

    const log = mark();
    const onTheirWorkbook = await h.deliver(
      handler,
      commitCreatedEvent({ spaceId: c.spaceId, workbookId: foreign.id, sheetId: foreignSheet, commitId: commit.commitId }),
    );
    expect(onTheirWorkbook.status).toBe(200);
    expect(onTheirWorkbook.body).toMatchObject({ ignored: true });
    // A sheet id that is not ours, claimed to be in our workbook.
    const other = h.flatfile.seed.commit(foreignSheet, { insert: [contact(10)] });
    const onTheirSheet = await h.deliver(handler, eventFor(c, foreignSheet, other.commitId));
    expect(onTheirSheet.body).toMatchObject({ ignored: true });
    expect(log.writes()).toEqual([]);
    // The space and the workbook the event names, read at once (the state is followed only as far
    // as the workbook bears it out), and nothing else.
    expect(
      log
        .all()
        .map((r) => r.route)
        .sort(),
    ).toEqual(["spaces.get", "spaces.get", "workbooks.get", "workbooks.get"]);

    // A space that was never configured by us.
    const bare = h.flatfile.seed.space({ metadata: {} });
    const bareWb = h.flatfile.seed.workbook({ spaceId: bare.id, sheets: [{ name: CONTACTS, slug: DUPLICABLE_ROLE, records: 1 }] });
    const bareCommit = h.flatfile.seed.commit(bareWb.sheets[0]!.id, { insert: [contact(1)] });
    const unconfigured = await h.deliver(
      handler,
      commitCreatedEvent({ spaceId: bare.id, workbookId: bareWb.id, sheetId: bareWb.sheets[0]!.id, commitId: bareCommit.commitId }),
    );
    expect(unconfigured.body).toMatchObject({ ignored: true, reason: "the space was not configured by this blueprint" });
    expect(log.writes()).toEqual([]);

    // Other topics are not claimed at all.
    const otherTopic = await h.deliver(handler, { ...eventFor(c, c.contactsId, commit.commitId), topic: "sheet:updated" });
    expect(otherTopic.body).toMatchObject({ ignored: true });
  });

  it("ends a burst delivered concurrently and out of order in the state of the last commit", async () => {
    const c = await seedConfiguredSpace();
    const events: Record<string, unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      const sheetId = i % 2 === 0 ? c.contactsId : c.ordersId;
      const insert = i % 2 === 0 ? [contact(i), contact(i + 100)] : [order(i, "books")];
      events.push(eventFor(c, sheetId, h.flatfile.seed.commit(sheetId, { insert }).commitId));
    }
    // The last commit deletes every contact.
    events.push(eventFor(c, c.contactsId, h.flatfile.seed.commit(c.contactsId, { deleteAll: true }).commitId));

    const answers = await Promise.all([...events].reverse().map((event) => h.deliver(handler, event)));
    expect(answers.every((a) => a.status === 200)).toBe(true);

    const expected = renderProgress(
      SHEET_ROLES.map((role) => {
        const total = role === RULE_ROLE ? 3 : 0;
        return { role, sheetName: sheetName(role), total, valid: total, error: 0 };
      }),
      undefined,
      countedAtOf(h.flatfile.spaces.get(c.spaceId)?.metadata),
    );
    expect((await progressOf(c)).trim()).toBe(expected.trim());

    // A later commit that changes nothing finds the state settled: nothing to write.
    const settle = mark();
    const extra = h.flatfile.seed.commit(c.ordersId, { insert: [] });
    await h.deliver(handler, eventFor(c, c.ordersId, extra.commitId));
    expect(settle.writes()).toEqual([]);
  });

  it("ends in the latest state when commits land while deliveries are in flight", async () => {
    const c = await seedConfiguredSpace();
    const deliveries: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      const commit = h.flatfile.seed.commit(c.contactsId, { insert: [contact(i)] });
      deliveries.push(h.deliver(handler, eventFor(c, c.contactsId, commit.commitId)));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(deliveries);
    expect(await progressOf(c)).toContain(`<strong>${CONTACTS}</strong>: 5 records`);
  });

  it("answers 5xx when Flatfile keeps failing, and a redelivery then succeeds", async () => {
    const c = await seedConfiguredSpace();
    const commit = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1)] });
    const event = eventFor(c, c.contactsId, commit.commitId);
    // Every working sheet is counted in parallel, each with three attempts: three 500s a sheet exhaust them all.
    h.flatfile.faults.statuses("sheets.counts", Array(3 * SHEET_ROLES.length).fill(500));
    const failed = await h.deliver(handler, event);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const log = mark();
    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    expect(retried.body.replayed).toBeUndefined();
    expect(log.writes().map((r) => r.route)).toContain("documents.update");
  });

  it("answers 404, not retryable, when the space is gone", async () => {
    const answer = await h.deliver(
      handler,
      commitCreatedEvent({
        spaceId: "us_sp_gone0001",
        workbookId: "us_wb_gone0001",
        sheetId: "us_sh_gone0001",
        commitId: "us_vr_gone0001",
      }),
    );
    expect(answer.status).toBe(404);
  });

  it("rejects a commit event without the ids it needs", async () => {
    const c = await seedConfiguredSpace();
    const event = eventFor(c, c.contactsId, "us_vr_abc00001") as { context: Record<string, unknown> };
    delete event.context.sheetId;
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toContain("sheetId");
  });

  it("skips a commit made by our own actor before any call", async () => {
    const c = await seedConfiguredSpace();
    process.env[SELF_ACTOR_ENV] = "us_key_ourselves1";
    const commit = h.flatfile.seed.commit(c.contactsId, { insert: [contact(1)] });
    const log = mark();
    const answer = await h.deliver(handler, eventFor(c, c.contactsId, commit.commitId, { actorId: "us_key_ourselves1" }));
    expect(answer.body).toMatchObject({ ignored: true });
    expect(log.all()).toEqual([]);
  });
});
