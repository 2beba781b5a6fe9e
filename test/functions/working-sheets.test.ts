import type { Flatfile } from "@flatfile/api";
/**
 * One working set of sheets across duplicate, commit and submit, through the
 * handlers against the Flatfile stand-in, on a space configured by the real configure handler.
 */
import { describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../functions/action-job/handler";
import { handler as commitHandler } from "../../functions/commit-created/handler";
import { isLocked, SHEET_ACTIONS, UNKNOWN_CATEGORY_RULE, WORKBOOK_ACTIONS, WORKBOOK_NAME } from "../../shared/domain/blueprint";
import { readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { SHEET_ROLES } from "../../shared/domain/space-state";
import { blockingErrors, SUBMIT_JOB } from "../../functions/action-job/submit-workbook";
import { DUPLICATE_JOB } from "../../functions/action-job/duplicate-sheet";
import { DUPLICABLE_ROLE, recordFor, RULE_ROLE, sheetName } from "../support/blueprint";
import { workbookActionPressable } from "../support/action-constraints";
import { expectOneInertHtmlBlock, guideSection, sectionCount } from "../support/guide";
import { commitCreatedEvent, jobReadyEvent, type Harness } from "../support/harness";
import { configureSpace, useHarness } from "../support/fixture";

const h = useHarness();

type Space = Awaited<ReturnType<typeof configureSpace>>;
const configuredSpace = (userName?: string) => configureSpace(h, userName);

async function stateOf(spaceId: string): Promise<SpaceState> {
  const state = readSpaceState((await h.api.spaces.get(spaceId)).data.metadata);
  if (!state) throw new Error("no state");
  return state;
}

const workbookOf = async (s: Space) => (await h.api.workbooks.get(s.workbookId)).data;
const sheetOf = async (s: Space, id: string) => (await workbookOf(s)).sheets!.find((sheet) => sheet.id === id)!;
const guideOf = async (s: Space) => (await h.api.documents.get(s.spaceId, s.guideId)).data.body;
const jobOf = async (id: string) => (await h.api.jobs.get(id)).data;
const submitPressable = (s: Space) => workbookActionPressable(h.api, s.workbookId, WORKBOOK_ACTIONS.submit.operation);
// "contacts" is the sheet offering Duplicate, "orders" the commit-time rule's (the example's names).
const contact = (i: number) => recordFor(DUPLICABLE_ROLE, i);
const order = (i: number) => ({ ...recordFor(RULE_ROLE, i), [UNKNOWN_CATEGORY_RULE.fieldKey]: "hardware" });
const CONTACTS = sheetName(DUPLICABLE_ROLE);
const ORDERS = sheetName(RULE_ROLE);
const COPY = `${CONTACTS} (copy)`;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The guide's progress lines, as patterns, in the order of their roles (the blueprint's order). */
const inRoleOrder = (lines: [role: string, pattern: string][]) =>
  new RegExp(
    [...lines]
      .sort(([a], [b]) => SHEET_ROLES.indexOf(a) - SHEET_ROLES.indexOf(b))
      .map(([, pattern]) => pattern)
      .join("[\\s\\S]*"),
  );

function actionJob(s: Space, job: string, sheetId?: string) {
  const seeded = h.flatfile.seed.job({ job, spaceId: s.spaceId, workbookId: s.workbookId, ...(sheetId ? { sheetId } : {}) });
  const event = jobReadyEvent({
    job,
    jobId: seeded.id,
    spaceId: s.spaceId,
    workbookId: s.workbookId,
    ...(sheetId ? { sheetId } : {}),
    actorId: s.userId,
  });
  return { jobId: seeded.id, event };
}

function commitOn(s: Space, sheetId: string, change: Parameters<Harness["flatfile"]["seed"]["commit"]>[1]) {
  const { commitId } = h.flatfile.seed.commit(sheetId, change);
  return commitCreatedEvent({ spaceId: s.spaceId, workbookId: s.workbookId, sheetId, commitId });
}

describe("working sheets: duplicate → fix the copy → commit on the copy → submit", () => {
  it("completes with the progress and counts of the working sheets only, Submit pressable throughout", async () => {
    const s = await configuredSpace();
    // Three contacts, two of them with errors; one order.
    expect(
      (await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1), contact(2), contact(3)], invalid: 2 }))).status,
    ).toBe(200);
    expect((await h.deliver(commitHandler, commitOn(s, s.ordersId, { insert: [order(1)] }))).status).toBe(200);
    // Before any lock, hasAllValid keeps Submit disabled while records have errors (documented).
    expect(await submitPressable(s)).toEqual({ enabled: false, blockedBy: ["hasAllValid"] });

    // Duplicate Contacts: the copy is the working sheet, the original a locked snapshot.
    const dup = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const duplicated = await h.deliver(actionHandler, dup.event);
    expect(duplicated.body).toMatchObject({ status: "complete", lockedSheetId: s.contactsId });
    const copyId = String(duplicated.body.copySheetId);
    const state = await stateOf(s.spaceId);
    expect(state.sheets).toEqual({ ...s.state.sheets, [DUPLICABLE_ROLE]: copyId });
    expect(state.archived).toEqual([
      expect.objectContaining({ sheetId: s.contactsId, role: DUPLICABLE_ROLE, replacedBy: copyId, jobId: dup.jobId }),
    ]);
    const original = await sheetOf(s, s.contactsId);
    expect(isLocked(original.config)).toBe(true);
    expect(original.config.actions).toEqual([]);
    const copy = await sheetOf(s, copyId);
    expect(isLocked(copy.config)).toBe(false);
    expect(copy.config.actions?.map((a) => a.operation)).toEqual([SHEET_ACTIONS.duplicate.operation]);
    // The dialog links to the copy.
    expect((await jobOf(dup.jobId)).outcome).toMatchObject({ acknowledge: true, next: { type: "id", id: copyId, label: "Open the copy" } });
    // The guide's progress follows the working sheets: the copy, not the original.
    let progress = guideSection(await guideOf(s), "progress")!;
    expect(progress).toContain(`<strong>${COPY}</strong>: 3 records: 1 valid, 2 with errors`);
    expect(progress).not.toContain(`<strong>${CONTACTS}</strong>`);
    expect(guideSection(await guideOf(s), "history")).toContain(
      `<strong>${CONTACTS}</strong> was locked; keep working in <strong>${COPY}</strong>`,
    );
    // Submit dropped hasAllValid in the same write: the locked original's errors cannot block it.
    expect((await workbookOf(s)).actions?.find((a) => a.operation === WORKBOOK_ACTIONS.submit.operation)?.constraints).toEqual([
      { type: "hasData" },
    ]);

    // Fix the copy: its two error records replaced by good ones, in one commit.
    const errors = (await h.api.records.get(copyId, { filter: "error" })).data.records!.map((r) => r.id);
    expect(errors).toHaveLength(2);
    const fix = commitOn(s, copyId, { delete: errors, insert: [contact(4), contact(5)] });
    const committed = await h.deliver(commitHandler, fix);
    expect(committed.body).toMatchObject({ sheet: DUPLICABLE_ROLE, guide: "updated" });
    expect(committed.body.ignored).toBeUndefined();
    progress = guideSection(await guideOf(s), "progress")!;
    expect(progress).toMatch(
      inRoleOrder([
        [DUPLICABLE_ROLE, escaped(`<strong>${COPY}</strong>: 3 records: 3 valid, 0 with errors`)],
        [RULE_ROLE, escaped(`<strong>${ORDERS}</strong>: 1 record`)],
      ]),
    );
    expect(progress).toContain("Every record is valid: you can submit.");

    // The original still has its two errors, and Submit is pressable all the same.
    expect((await h.api.sheets.getRecordCounts(s.contactsId)).data.counts).toMatchObject({ total: 3, error: 2 });
    expect(await submitPressable(s)).toEqual({ enabled: true, blockedBy: [] });
    // A commit on the locked original (were one to happen) is not ours to act on.
    const onOriginal = await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [] }));
    expect(onOriginal.body).toMatchObject({ ignored: true, reason: expect.stringContaining("locked snapshot") });

    // Submit: the copy's 3 and the order's 1, never the original's.
    const submit = actionJob(s, SUBMIT_JOB);
    const submitted = await h.deliver(actionHandler, submit.event);
    expect(submitted.body).toMatchObject({ status: "complete", records: 4 });
    expect((submitted.body.lockedSheets as string[]).sort()).toEqual(
      [copy.slug, ...SHEET_ROLES.filter((role) => role !== DUPLICABLE_ROLE)].sort(),
    );
    expect((await jobOf(submit.jobId)).outcome?.message).toBe(`Submitted 4 records from ${WORKBOOK_NAME}. Its sheets are now read-only.`);
    for (const id of [copyId, s.ordersId]) expect(isLocked((await sheetOf(s, id)).config)).toBe(true);
    expect(guideSection(await guideOf(s), "history")).toMatch(/Submitted on <time[^>]*>[^<]+<\/time> by Ada Lovelace \(4 records\)/);
  });

  it("fails Submit naming the working sheet's errors, not the locked original's", async () => {
    const s = await configuredSpace();
    await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1), contact(2)], invalid: 1 }));
    const dup = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const copyId = String((await h.deliver(actionHandler, dup.event)).body.copySheetId);
    // The copy gets a third error; the original keeps its one.
    await h.deliver(commitHandler, commitOn(s, copyId, { insert: [contact(3)], invalid: 1 }));
    const submit = actionJob(s, SUBMIT_JOB);
    const answer = await h.deliver(actionHandler, submit.event);
    expect(answer.body).toMatchObject({ status: "failed" });
    expect((await jobOf(submit.jobId)).outcome?.message).toBe(
      `Nothing was submitted: ${COPY} has 2 records with errors. Filter the sheet by errors, fix them, then submit again.`,
    );
    expect(isLocked((await sheetOf(s, copyId)).config)).toBe(false);
  });

  it("answers a second duplicate of a sheet already locked down with the copy to work in", async () => {
    const s = await configuredSpace();
    const first = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const copyId = String((await h.deliver(actionHandler, first.event)).body.copySheetId);
    const second = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const answer = await h.deliver(actionHandler, second.event);
    expect(answer.body).toMatchObject({ status: "complete", already: true, copySheetId: copyId });
    expect((await jobOf(second.jobId)).outcome).toMatchObject({ acknowledge: true, next: { type: "id", id: copyId } });
    expect((await workbookOf(s)).sheets).toHaveLength(SHEET_ROLES.length + 1);
    // A copy of the copy is the next working sheet, named so it can be told apart.
    const third = actionJob(s, DUPLICATE_JOB, copyId);
    const again = await h.deliver(actionHandler, third.event);
    expect(again.body).toMatchObject({ status: "complete", lockedSheetId: copyId });
    const state = await stateOf(s.spaceId);
    expect(state.sheets[DUPLICABLE_ROLE]).toBe(again.body.copySheetId);
    expect((await sheetOf(s, state.sheets[DUPLICABLE_ROLE]!)).name).toBe(`${CONTACTS} (copy 2)`);
    expect(state.archived?.map((a) => a.sheetId)).toEqual([s.contactsId, copyId]);
  });
});

describe("working sheets: a duplicate interrupted after the copy was made", () => {
  for (const route of ["workbooks.update", "sheets.counts", "documents.update", "spaces.update"] as const) {
    it(`finishes on redelivery after ${route} kept failing: one copy, recorded once, one history line`, async () => {
      const s = await configuredSpace();
      await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1)] }));
      const dup = actionJob(s, DUPLICATE_JOB, s.contactsId);
      h.flatfile.faults.statuses(route, [500, 500, 500]);
      const first = await h.deliver(actionHandler, dup.event);
      expect(first.status).toBeGreaterThanOrEqual(500);
      h.flatfile.faults.clear();
      const again = await h.deliver(actionHandler, { ...dup.event, id: `${String(dup.event.id)}r` });
      expect(again.body).toMatchObject({ status: "complete", reusedCopy: true });
      const sheets = (await workbookOf(s)).sheets!;
      expect(sheets).toHaveLength(SHEET_ROLES.length + 1);
      const state = await stateOf(s.spaceId);
      expect(state.sheets[DUPLICABLE_ROLE]).toBe(again.body.copySheetId);
      expect(state.archived).toHaveLength(1);
      expect(isLocked(sheets.find((sheet) => sheet.id === s.contactsId)!.config)).toBe(true);
      expect(guideSection(await guideOf(s), "history")!.match(/was locked/g)).toHaveLength(1);
      expect((await jobOf(dup.jobId)).status).toBe("complete");
    });
  }
});

describe("working sheets: writers at once on one workbook", () => {
  it("a duplicate, a duplicate of a sheet that offers none, and commits at once: one copy, one lock, the refused one changes nothing", async () => {
    const s = await configuredSpace();
    await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1), contact(2)] }));
    await h.deliver(commitHandler, commitOn(s, s.ordersId, { insert: [order(1)] }));
    // The copy takes a while on Flatfile's side, so every writer reads before any writes.
    h.flatfile.faults.latency("sheets.duplicate", 150);
    const dupContacts = actionJob(s, DUPLICATE_JOB, s.contactsId);
    // Orders has no Duplicate action in the blueprint: a job for it (made through the API) is refused.
    const dupOrders = actionJob(s, DUPLICATE_JOB, s.ordersId);
    const commits = [
      commitOn(s, s.contactsId, { insert: [contact(3)] }),
      commitOn(s, s.ordersId, { insert: [{ ...order(2), [UNKNOWN_CATEGORY_RULE.fieldKey]: "vinyl" }] }),
      commitOn(s, s.ordersId, { insert: [order(3)] }),
    ];
    const answers = await Promise.all([
      h.deliver(actionHandler, dupContacts.event),
      h.deliver(actionHandler, dupOrders.event),
      ...commits.map((e) => h.deliver(commitHandler, e)),
    ]);
    for (const a of answers) expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(answers[0]!.body).toMatchObject({ status: "complete" });
    expect(answers[1]!.body).toMatchObject({ status: "failed" });
    const contactsCopy = String(answers[0]!.body.copySheetId);

    const sheets = (await workbookOf(s)).sheets!;
    expect(sheets.map((sheet) => sheet.id).sort()).toEqual([...Object.values(s.state.sheets), contactsCopy].sort());
    expect(isLocked(sheets.find((sheet) => sheet.id === s.contactsId)!.config)).toBe(true);
    for (const id of [contactsCopy, s.ordersId]) expect(isLocked(sheets.find((sheet) => sheet.id === id)!.config), id).toBe(false);
    // The commits' change to Orders (the category added from data) survived the duplicate's write.
    const orders = sheets.find((sheet) => sheet.id === s.ordersId)!;
    const category = orders.config.fields.find((f) => f.key === UNKNOWN_CATEGORY_RULE.fieldKey) as Flatfile.Property.Enum;
    expect(category.config.options.map((o) => o.value)).toContain("vinyl");
    const state = await stateOf(s.spaceId);
    expect(state.sheets).toEqual({ ...s.state.sheets, [DUPLICABLE_ROLE]: contactsCopy });
    expect(state.archived?.map((a) => a.sheetId)).toEqual([s.contactsId]);
    const body = await guideOf(s);
    expect(sectionCount(body, "progress")).toBe(1);
    const progress = guideSection(body, "progress")!;
    // The roles' order, whichever sheet plays them (the example's Contacts first).
    expect(progress).toMatch(
      inRoleOrder([
        [DUPLICABLE_ROLE, escaped(`<strong>${COPY}</strong>`)],
        [RULE_ROLE, escaped(`<strong>${ORDERS}</strong>`)],
      ]),
    );
    expect(guideSection(body, "history")!.match(/was locked/g)).toHaveLength(1);
    expect((await jobOf(dupContacts.jobId)).status).toBe("complete");
    expect((await jobOf(dupOrders.jobId)).outcome?.message).toMatch(new RegExp(`^${escaped(ORDERS)} cannot be duplicated in this Space`));
  });

  it("two duplicates of the same sheet at once make one copy and one lock", async () => {
    const s = await configuredSpace();
    await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1)] }));
    h.flatfile.faults.latency("sheets.duplicate", 150);
    const a = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const b = actionJob(s, DUPLICATE_JOB, s.contactsId);
    const answers = await Promise.all([
      h.deliver(actionHandler, a.event),
      h.deliver(actionHandler, b.event),
      h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(2)] })),
    ]);
    for (const answer of answers) expect(answer.status).toBe(200);
    const sheets = (await workbookOf(s)).sheets!;
    expect(sheets).toHaveLength(SHEET_ROLES.length + 1);
    const state = await stateOf(s.spaceId);
    expect(answers.slice(0, 2).map((x) => x.body.copySheetId)).toEqual([state.sheets[DUPLICABLE_ROLE], state.sheets[DUPLICABLE_ROLE]]);
    expect(answers.slice(0, 2).filter((x) => x.body.already === true)).toHaveLength(1);
    expect(state.archived).toHaveLength(1);
    expect(isLocked(sheets.find((sheet) => sheet.id === s.contactsId)!.config)).toBe(true);
  });
});

describe("names are text in the guide, never Markdown", () => {
  it("keeps a hostile user name inert in the welcome line and, as the submitter, in the history", async () => {
    const hostile = "Ada\n\n[click here](https://evil.example/login)\n\n![](https://evil.example/p.png)";
    const s = await configuredSpace(hostile);
    await h.deliver(commitHandler, commitOn(s, s.contactsId, { insert: [contact(1)] }));
    const submit = actionJob(s, SUBMIT_JOB);
    expect((await h.deliver(actionHandler, submit.event)).body).toMatchObject({ status: "complete" });
    const body = await guideOf(s);
    expectOneInertHtmlBlock(body);
    const flat = "Ada [click here](https://evil.example/login) ![](https://evil.example/p.png)";
    expect(guideSection(body, "intro")).toContain(`Welcome, ${flat}!`);
    expect(guideSection(body, "history")).toContain(`by ${flat} (1 record)`);
  });
});

describe("sheet names in job messages", () => {
  it("are one line without control characters, capped", () => {
    const message = blockingErrors([
      {
        role: "contacts",
        sheetId: "us_sh_1",
        name: `Con\u0000tacts\n\nclick [here](https://evil.example)${"x".repeat(500)}`,
        total: 2,
        valid: 1,
        error: 1,
      },
    ])!;
    expect(message).not.toMatch(/[\u0000-\u001f]/);
    expect(message).toMatch(/^Nothing was submitted: Contacts click \[here\]\(https:\/\/evil\.example\)x+… has 1 record with errors\./);
    expect(message.length).toBeLessThan(250);
  });
});

describe("the guide whatever the renderer keeps", () => {
  it("six commits with a stand-in that drops HTML comments leave one progress section, rendered from our state", async () => {
    const s = await configuredSpace();
    // The stand-in takes the least convenient plausible reading: comments in a body are dropped.
    const probe = (await h.api.documents.create(s.spaceId, { title: "probe", body: "<p>a</p><!-- section:progress --><p>b</p>" })).data;
    expect((await h.api.documents.get(s.spaceId, probe.id)).data.body).toBe("<p>a</p><p>b</p>");
    for (let i = 0; i < 6; i++) {
      const answer = await h.deliver(
        commitHandler,
        commitOn(s, i % 2 ? s.ordersId : s.contactsId, { insert: [i % 2 ? order(i) : contact(i)] }),
      );
      expect(answer.status).toBe(200);
    }
    const body = await guideOf(s);
    expect(body).not.toContain("<!--");
    for (const name of ["intro", "currency", "reference-data", "progress", "history"] as const)
      expect(sectionCount(body, name), name).toBe(1);
    expect(guideSection(body, "progress")).toContain(`<strong>${CONTACTS}</strong>: 3 records`);
    expect(guideSection(body, "progress")).toContain(`<strong>${ORDERS}</strong>: 3 records`);
    expect((await stateOf(s.spaceId)).guide?.progress).toEqual(
      SHEET_ROLES.map((role) => {
        const total = role === DUPLICABLE_ROLE || role === RULE_ROLE ? 3 : 0;
        return { role, sheetName: sheetName(role), total, valid: total, error: 0 };
      }),
    );
  });
});
