/**
 * action-job through the handler, against the Flatfile stand-in. Each space is configured by the
 * real space-configure handler first, so the actions run on exactly what the blueprint builds.
 */
import type { Flatfile } from "@flatfile/api";
import { describe, expect, it } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { OWNED_ACTION_JOBS, SHEET_ACTIONS, WORKBOOK_NAME } from "../../../shared/domain/blueprint";
import { guideSection as readSection } from "../../support/guide";
import { actionJobRoute } from "../../../functions/action-job/actions";
import { copySlugFor, DUPLICATE_JOB } from "../../../functions/action-job/duplicate-sheet";
import { SUBMIT_JOB } from "../../../functions/action-job/submit-workbook";
import { DUPLICABLE_ROLE, PLAIN_ROLE, recordFor, RULE_ROLE, sheetName } from "../../support/blueprint";
import { jobReadyEvent } from "../../support/harness";
import { configureSpace, useHarness } from "../../support/fixture";
import { SHEET_ROLES, SPACE_STATE_KEY } from "../../../shared/domain/space-state";

const h = useHarness();

type Configured = Awaited<ReturnType<typeof configureSpace>>;
const configuredSpace = () => configureSpace(h);

/** The names of a sheet a member can duplicate (the example's Contacts), of its first copy, and of one that offers none (Orders). */
const DUP = sheetName(DUPLICABLE_ROLE);
const PLAIN = sheetName(PLAIN_ROLE);
const DUP_COPY = `${DUP} (copy)`;
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The working sheets as the guide lists them after the first copy: in the roles' order, the copy in its original's place. */
function workInAfterCopy(): string {
  const working = SHEET_ROLES.map((role) => `<strong>${role === DUPLICABLE_ROLE ? DUP_COPY : sheetName(role)}</strong>`);
  return working.length > 1 ? `${working.slice(0, -1).join(", ")} and ${working.at(-1)}` : working[0]!;
}

function duplicateJob(c: Configured, sheetSlug = DUPLICABLE_ROLE) {
  const sheetId = c.state.sheets[sheetSlug]!;
  const job = h.flatfile.seed.job({ job: DUPLICATE_JOB, spaceId: c.spaceId, workbookId: c.state.workbookId, sheetId });
  const event = jobReadyEvent({
    job: DUPLICATE_JOB,
    jobId: job.id,
    spaceId: c.spaceId,
    workbookId: c.state.workbookId,
    sheetId,
    sheetSlug,
    actorId: c.userId,
  });
  return { job, event, sheetId };
}

function submitJob(c: Configured) {
  const job = h.flatfile.seed.job({ job: SUBMIT_JOB, spaceId: c.spaceId, workbookId: c.state.workbookId });
  const event = jobReadyEvent({
    job: SUBMIT_JOB,
    jobId: job.id,
    spaceId: c.spaceId,
    workbookId: c.state.workbookId,
    actorId: c.userId,
  });
  return { job, event };
}

function mark() {
  const start = h.flatfile.requests.length;
  return {
    all: () => h.flatfile.requests.slice(start),
    writes: () => h.flatfile.requests.slice(start).filter((r) => r.method !== "GET"),
  };
}

const workbookOf = async (c: Configured) => (await h.api.workbooks.get(c.state.workbookId)).data;
const jobOf = async (id: string) => (await h.api.jobs.get(id)).data;
const historyOf = async (c: Configured) =>
  readSection((await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body, "history") ?? "";
const contact = (i: number) => recordFor(DUPLICABLE_ROLE, i);

async function recordsOf(sheetId: string): Promise<Record<string, unknown>[]> {
  const { data } = await h.api.records.get(sheetId, { pageSize: 50_000 });
  return (data.records ?? []).map((r) => Object.fromEntries(Object.entries(r.values).map(([k, v]) => [k, v.value])));
}

describe("action-job: sheet:duplicate", () => {
  it("copies the sheet with every record, locks the original, updates the guide and points at the copy", async () => {
    const c = await configuredSpace();
    const { job, event, sheetId } = duplicateJob(c);
    h.flatfile.seed.commit(sheetId, { insert: [contact(1), contact(2), contact(3)] });
    const log = mark();

    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete", lockedSheetId: sheetId });
    const copyId = String(answer.body.copySheetId);

    const workbook = await workbookOf(c);
    const original = workbook.sheets!.find((s) => s.id === sheetId)!;
    const copy = workbook.sheets!.find((s) => s.id === copyId)!;
    expect(copy.name).toBe(DUP_COPY);
    expect(copy.slug).toBe(copySlugFor(DUPLICABLE_ROLE, job.id));
    expect(await recordsOf(copyId)).toEqual(await recordsOf(sheetId));
    expect(await recordsOf(copyId)).toHaveLength(3);

    // The original is read-only, and that is what went over the wire.
    expect(original.config.access).toEqual([]);
    expect(original.config.readonly).toBe(true);
    const update = log.writes().find((r) => r.route === "workbooks.update");
    const sent = (update?.body as { sheets: (Flatfile.SheetConfigOrUpdate & { id?: string })[] }).sheets;
    expect(sent.find((s) => s.slug === DUPLICABLE_ROLE)).toMatchObject({ access: [], readonly: true });
    // Every other sheet went back as it was, and the copy stays editable.
    expect(sent.map((s) => s.slug).sort()).toEqual([...SHEET_ROLES, copy.slug].sort());
    expect(workbook.sheets!.find((s) => s.slug === PLAIN_ROLE)!.config.readonly).toBeUndefined();
    expect(copy.config.readonly).toBeUndefined();

    const history = await historyOf(c);
    expect(history).toContain(`<strong>${DUP}</strong> was locked; keep working in <strong>${DUP_COPY}</strong>`);
    expect(history).toMatch(/<time datetime="\d{4}-\d\d-\d\dT/);
    const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    expect(readSection(guide, "intro")).toContain("Getting started");

    const finished = await jobOf(job.id);
    expect(finished.status).toBe("complete");
    // The link to the copy is in the outcome dialog (acknowledge: true), where Flatfile shows `next`.
    expect(finished.outcome).toMatchObject({ acknowledge: true, next: { type: "id", id: copyId, label: "Open the copy" } });
  });

  it("makes the same Flatfile calls for a 10-record sheet as for a 25,000-record one", async () => {
    const calls = async (records: number) => {
      const c = await configuredSpace();
      const { event, sheetId } = duplicateJob(c);
      h.flatfile.seed.commit(sheetId, { insert: Array.from({ length: records }, (_, i) => contact(i)) });
      const log = mark();
      const answer = await h.deliver(handler, event);
      expect(answer.status).toBe(200);
      const counts = await h.api.sheets.getRecordCounts(String(answer.body.copySheetId));
      expect(counts.data.counts.total).toBe(records);
      return log
        .all()
        .map((r) => `${r.method} ${r.route}`)
        .sort();
    };
    const small = await calls(10);
    h.reset();
    const large = await calls(25_000);
    expect(large).toEqual(small);
    expect(small.filter((c) => c.includes("records."))).toEqual([]);
  });

  it("finishes with one copy when a retry follows a failure after the copy was made", async () => {
    const c = await configuredSpace();
    const { job, event, sheetId } = duplicateJob(c);
    h.flatfile.seed.commit(sheetId, { insert: [contact(1)] });
    h.flatfile.faults.statuses("workbooks.update", [500, 500, 500]);

    const failed = await h.deliver(handler, event);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const afterFailure = await jobOf(job.id);
    expect(afterFailure.status).toBe("executing");
    expect(afterFailure.info).toMatch(/^Duplicating this sheet is waiting on a service that is temporarily unavailable/);
    expect((await workbookOf(c)).sheets).toHaveLength(SHEET_ROLES.length + 1);

    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: "complete", reusedCopy: true });
    const sheets = (await workbookOf(c)).sheets!;
    expect(sheets).toHaveLength(SHEET_ROLES.length + 1);
    expect(sheets.find((s) => s.id === sheetId)!.config.access).toEqual([]);
    expect((await jobOf(job.id)).status).toBe("complete");
    // The guide's line was written once.
    expect((await historyOf(c)).match(/was locked/g)).toHaveLength(1);
  });

  it("writes the guide on the redelivery when it failed beside a state write that landed", async () => {
    const c = await configuredSpace();
    const { job, event } = duplicateJob(c);
    h.flatfile.faults.statuses("documents.update", [503, 503, 503]);
    expect((await h.deliver(handler, event)).status).toBeGreaterThanOrEqual(500);
    expect((await jobOf(job.id)).status).toBe("executing");
    expect(await historyOf(c)).not.toMatch(/was locked/);
    h.flatfile.faults.clear();
    const retried = await h.deliver(handler, event);
    expect(retried.body).toMatchObject({ status: "complete", reusedCopy: true, guide: "updated" });
    expect((await historyOf(c)).match(/was locked/g)).toHaveLength(1);
  });

  it("makes one copy from concurrent copies of the event, and a redelivery of the finished job changes nothing", async () => {
    const c = await configuredSpace();
    const { job, event } = duplicateJob(c);
    const answers = await Promise.all(Array.from({ length: 4 }, () => h.deliverUntilSettled(handler, event)));
    expect(answers.map((a) => a.at(-1)!.status)).toEqual([200, 200, 200, 200]);
    expect((await workbookOf(c)).sheets).toHaveLength(SHEET_ROLES.length + 1);
    expect((await jobOf(job.id)).status).toBe("complete");

    const log = mark();
    const redelivered = await h.deliver(handler, { ...event, id: "us_evt_redeliver1" });
    expect(redelivered.status).toBe(200);
    expect(log.writes()).toEqual([]);
    expect((await workbookOf(c)).sheets).toHaveLength(SHEET_ROLES.length + 1);
  });

  it("answers 400 when the event lacks the sheet, before any call", async () => {
    const c = await configuredSpace();
    const { event } = duplicateJob(c);
    delete (event.context as Record<string, unknown>).sheetId;
    const log = mark();
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toContain("sheetId");
    expect(log.all()).toEqual([]);
  });
});

describe("action-job: workbook:submitActionFg", () => {
  it("fails the job naming the sheet and the count while records have errors, and locks nothing", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1), contact(2), contact(3)], invalid: 2 });
    const { job, event } = submitJob(c);
    const log = mark();
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "failed" });
    const failed = await jobOf(job.id);
    expect(failed.status).toBe("failed");
    expect(failed.outcome?.message).toBe(
      `Nothing was submitted: ${DUP} has 2 records with errors. Filter the sheet by errors, fix them, then submit again.`,
    );
    expect(
      log
        .writes()
        .map((r) => r.route)
        .sort(),
    ).toEqual(["jobs.ack", "jobs.fail"]);
  });

  it("locks every sheet, records the submission in the guide and completes with the count", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1), contact(2)] });
    h.flatfile.seed.commit(c.state.sheets[RULE_ROLE]!, { insert: [recordFor(RULE_ROLE, 1)] });
    const { job, event } = submitJob(c);
    const log = mark();
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete", records: 3 });

    for (const sheet of (await workbookOf(c)).sheets!) {
      expect(sheet.config.access).toEqual([]);
      expect(sheet.config.readonly).toBe(true);
    }
    const sent = (log.writes().find((r) => r.route === "workbooks.update")?.body as { sheets: Flatfile.SheetConfigUpdate[] }).sheets;
    expect(sent.every((s) => s.readonly === true && Array.isArray(s.access) && s.access.length === 0)).toBe(true);
    expect(await historyOf(c)).toMatch(/Submitted on <time[^>]*>[^<]+<\/time> by Ada Lovelace \(3 records\)/);
    const done = await jobOf(job.id);
    expect(done.status).toBe("complete");
    expect(done.outcome?.message).toBe(`Submitted 3 records from ${WORKBOOK_NAME}. Its sheets are now read-only.`);
  });

  it("records the submission on the redelivery when its state write failed beside complete, delivering nothing twice", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1)] });
    const { job, event } = submitJob(c);
    h.flatfile.faults.statuses("spaces.update", [503, 503, 503]);
    expect((await h.deliver(handler, event)).status).toBeGreaterThanOrEqual(500);
    expect((await jobOf(job.id)).status).toBe("complete");
    h.flatfile.faults.clear();
    const log = mark();
    const retried = await h.deliver(handler, event);
    expect(retried.body).toMatchObject({ status: "skipped", finished: { guide: "updated" } });
    expect(
      log
        .writes()
        .map((r) => r.route)
        .sort(),
    ).toEqual(["documents.update", "spaces.update"]);
    const metadata = (await h.api.spaces.get(c.spaceId)).data.metadata as Record<string, { submitted?: { jobId: string } }>;
    expect(metadata[SPACE_STATE_KEY]?.submitted?.jobId).toBe(job.id);
    expect((await historyOf(c)).match(/Submitted on/g)).toHaveLength(1);
  });

  it("changes nothing on a second press and says when the workbook was submitted; the guide says it was", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1), contact(2)] });
    const first = submitJob(c);
    expect((await h.deliver(handler, first.event)).body).toMatchObject({ status: "complete", records: 2 });
    const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    expect(guide).toMatch(/This workbook was submitted on <time[^>]*>[^<]+<\/time> by Ada Lovelace; its sheets are now read-only/);
    expect(guide).not.toContain("you can submit");
    const history = await historyOf(c);

    const second = submitJob(c);
    const log = mark();
    const answer = await h.deliver(handler, second.event);
    expect(answer.body).toMatchObject({ status: "complete", alreadySubmitted: { jobId: first.job.id } });
    expect(
      log
        .writes()
        .map((r) => r.route)
        .sort(),
    ).toEqual(["jobs.ack", "jobs.complete"]);
    expect(await historyOf(c)).toBe(history);
    const done = await jobOf(second.job.id);
    expect(done.outcome?.message).toMatch(
      new RegExp(
        `^${escaped(WORKBOOK_NAME)} was already submitted on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC by Ada Lovelace \\(2 records\\)\\. Nothing was submitted again\\.$`,
      ),
    );
  });

  it("submits once when two Submit jobs run at the same time", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1)] });
    const a = submitJob(c);
    const b = submitJob(c);
    const log = mark();
    const answers = await Promise.all([h.deliver(handler, a.event), h.deliver(handler, b.event)]);
    const bodies = answers.map((x) => x.body as Record<string, unknown>);
    expect(bodies.every((body) => body.status === "complete")).toBe(true);
    expect(bodies.filter((body) => body.alreadySubmitted !== undefined)).toHaveLength(1);
    expect(log.writes().filter((r) => r.route === "workbooks.update")).toHaveLength(1);
    expect((await historyOf(c)).match(/Submitted on/g)).toHaveLength(1);
  });

  it("fails with a message when there is nothing to submit", async () => {
    const c = await configuredSpace();
    const { job, event } = submitJob(c);
    await h.deliver(handler, event);
    const failed = await jobOf(job.id);
    expect(failed.status).toBe("failed");
    expect(failed.outcome?.message).toMatch(/no records yet/);
  });
});

describe("action-job: jobs on one workbook at the same time", () => {
  it("keeps both a duplicate's and a submit's changes to the workbook and to the guide", async () => {
    const c = await configuredSpace();
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1), contact(2)] });
    const duplicate = duplicateJob(c);
    const submit = submitJob(c);
    // The copy takes a while on Flatfile's side, so both jobs read the workbook before either writes.
    h.flatfile.faults.latency("sheets.duplicate", 150);
    const [dup, sub] = await Promise.all([h.deliver(handler, duplicate.event), h.deliver(handler, submit.event)]);
    expect(dup.body).toMatchObject({ status: "complete" });
    expect(sub.body).toMatchObject({ status: "complete" });

    const sheets = (await workbookOf(c)).sheets!;
    expect(sheets.find((s) => s.slug === PLAIN_ROLE)!.config.readonly).toBe(true);
    expect(sheets.find((s) => s.slug === DUPLICABLE_ROLE)!.config.readonly).toBe(true);
    const history = await historyOf(c);
    expect(history).toContain("was locked; keep working in");
    expect(history).toContain("Submitted on");
  });
});

describe("action-job: the copy's link reaches the person", () => {
  it("a Duplicate pressed in the UI ends in the outcome dialog with the link to the copy, and the guide names the sheet to work in", async () => {
    const c = await configuredSpace();
    const sheetId = c.state.sheets[DUPLICABLE_ROLE]!;
    // Pressed as a person does: the job runs in the mode of the action configure mounted.
    const { job, event } = h.flatfile.act.runAction({ job: DUPLICATE_JOB, sheetId, actorId: c.userId });
    const answer = await h.deliver(handler, event);
    expect(answer.body).toMatchObject({ status: "complete" });
    const copyId = String(answer.body.copySheetId);

    const seen = h.flatfile.act.closeOutcome(job.id);
    expect(seen).toMatchObject({ dialog: true, next: { type: "id", id: copyId, label: "Open the copy" } });
    const intro = readSection((await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body, "intro") ?? "";
    expect(intro).toContain(`and work in ${workInAfterCopy()}. <strong>${DUP}</strong> is a locked copy, kept as it was.`);
  });

  it("a copy of a sheet an earlier version gave a background Duplicate gets the foreground one; the guide still names the copy", async () => {
    const c = await configuredSpace();
    const sheetId = c.state.sheets[DUPLICABLE_ROLE]!;
    const workbook = await workbookOf(c);
    await h.api.workbooks.update(c.state.workbookId, {
      sheets: workbook.sheets!.map((s) => ({
        ...s.config,
        id: s.id,
        ...(s.id === sheetId ? { actions: (s.config.actions ?? []).map((a) => ({ ...a, mode: "background" as const })) } : {}),
      })),
      actions: workbook.actions,
    });
    const { job, event } = h.flatfile.act.runAction({ job: DUPLICATE_JOB, sheetId, actorId: c.userId });
    const answer = await h.deliver(handler, event);
    expect(answer.body).toMatchObject({ status: "complete" });
    // That job ran in the background: no dialog, so no link; the guide is where the person finds the copy.
    expect(h.flatfile.act.closeOutcome(job.id)).toMatchObject({ dialog: false });
    const intro = readSection((await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body, "intro") ?? "";
    expect(intro).toContain(`work in ${workInAfterCopy()}`);
    const copy = (await workbookOf(c)).sheets!.find((s) => s.id === answer.body.copySheetId)!;
    expect(copy.config.actions?.map((a) => [a.operation, a.mode])).toEqual([[SHEET_ACTIONS.duplicate.operation, "foreground"]]);
  });
});

const configureGuestSpace = () => configureSpace(h, "Grace Hopper", "guest");

/**
 * Delivers a Duplicate of the `sheetSlug` sheet, which must fail the job saying the action is not
 * offered on `sheetName`, and write nothing but the job's ack and its failure.
 */
async function expectDuplicateRefused(c: Configured, sheetSlug: string, sheetName: string) {
  const { job, event } = duplicateJob(c, sheetSlug);
  const log = mark();
  const answer = await h.deliver(handler, event);
  const message = `${sheetName} cannot be duplicated in this Space: that action is not offered here. Nothing was changed.`;
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ status: "failed" });
  const failed = await jobOf(job.id);
  expect(failed.status).toBe("failed");
  expect(failed.outcome?.message).toBe(message);
  expect(
    log
      .writes()
      .map((r) => r.route)
      .sort(),
  ).toEqual(["jobs.ack", "jobs.fail"]);
}

describe("action-job: only the actions the person was offered", () => {
  it("fails a duplicate on a guest's Space, which has no Duplicate action, even after a Submit, and changes nothing", async () => {
    const c = await configureGuestSpace();
    expect(c.state.audience).toBe("guest");
    h.flatfile.seed.commit(c.state.sheets[DUPLICABLE_ROLE]!, { insert: [contact(1)] });
    expect((await h.deliver(handler, submitJob(c).event)).body).toMatchObject({ status: "complete" });
    const before = await workbookOf(c);
    const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    await expectDuplicateRefused(c, DUPLICABLE_ROLE, DUP);
    expect(await workbookOf(c)).toEqual(before);
    expect((await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body).toBe(guide);
  });

  it("fails a duplicate on a guest's Space whose state was rewritten to another audience", async () => {
    const c = await configureGuestSpace();
    const space = (await h.api.spaces.get(c.spaceId)).data;
    const forged = { ...(space.metadata as Record<string, unknown>), [SPACE_STATE_KEY]: { ...c.state, audience: "internal" } };
    await h.api.spaces.update(c.spaceId, { metadata: forged });
    await expectDuplicateRefused(c, DUPLICABLE_ROLE, DUP);
    expect((await workbookOf(c)).sheets).toHaveLength(SHEET_ROLES.length);
  });

  it("fails a duplicate of a sheet the blueprint puts no Duplicate on (the example's Orders), and changes nothing", async () => {
    const c = await configuredSpace();
    await expectDuplicateRefused(c, PLAIN_ROLE, PLAIN);
    expect((await workbookOf(c)).sheets).toHaveLength(SHEET_ROLES.length);
  });

  it("opens the copy with the audience's access whatever state the original was in (made read-only by hand)", async () => {
    const c = await configuredSpace();
    const sheetId = c.state.sheets[DUPLICABLE_ROLE]!;
    const workbook = await workbookOf(c);
    // Someone made the sheet read-only outside our flows (not our lock: its access is left as it was).
    await h.api.workbooks.update(c.state.workbookId, {
      sheets: workbook.sheets!.map((s) => ({ ...s.config, id: s.id, ...(s.id === sheetId ? { readonly: true, access: ["add"] } : {}) })),
      actions: workbook.actions,
    });
    const { event } = duplicateJob(c);
    const answer = await h.deliver(handler, event);
    expect(answer.body).toMatchObject({ status: "complete" });
    const copy = (await workbookOf(c)).sheets!.find((s) => s.id === answer.body.copySheetId)!;
    expect(copy.config.readonly).not.toBe(true);
    // A member's sheet has every access (none listed), as configure made it.
    expect(copy.config.access).toBeUndefined();
    expect(copy.config.actions?.map((a) => a.operation)).toEqual([SHEET_ACTIONS.duplicate.operation]);
  });
});

describe("action-job: what it does not own", () => {
  it("ignores an operation the blueprint does not define, with zero calls, and leaves the job ready", async () => {
    const c = await configuredSpace();
    const job = h.flatfile.seed.job({ job: "workbook:exportToErp", spaceId: c.spaceId, workbookId: c.state.workbookId });
    const log = mark();
    const answer = await h.deliver(
      handler,
      jobReadyEvent({ job: "workbook:exportToErp", jobId: job.id, spaceId: c.spaceId, workbookId: c.state.workbookId }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ignored: true });
    expect(log.all()).toEqual([]);
    expect((await jobOf(job.id)).status).toBe("ready");
  });

  it("declines our action on a workbook the blueprint did not make, with zero writes", async () => {
    const c = await configuredSpace();
    const theirs = h.flatfile.seed.workbook({
      spaceId: c.spaceId,
      name: "Theirs",
      sheets: [{ name: DUP, slug: DUPLICABLE_ROLE, records: 3 }],
    });
    const sheetId = theirs.sheets![0]!.id;
    const job = h.flatfile.seed.job({ job: DUPLICATE_JOB, spaceId: c.spaceId, workbookId: theirs.id, sheetId });
    const log = mark();
    const answer = await h.deliver(
      handler,
      jobReadyEvent({ job: DUPLICATE_JOB, jobId: job.id, spaceId: c.spaceId, workbookId: theirs.id, sheetId }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ignored: true });
    expect(log.writes()).toEqual([]);
    expect((await jobOf(job.id)).status).toBe("ready");
  });

  it("claims exactly the blueprint's actions", () => {
    for (const job of OWNED_ACTION_JOBS) {
      const [domain, operation] = job.split(":");
      const event = {
        id: "us_evt_x1",
        topic: "job:ready",
        context: { accountId: "us_acc_1", environmentId: "us_env_1", jobId: "us_jb_1" },
        payload: { job, domain, operation },
      };
      expect(actionJobRoute.claim(event as never)).toMatchObject({ owned: true });
    }
    const foreign = {
      id: "us_evt_x1",
      topic: "job:ready",
      context: { accountId: "us_acc_1", environmentId: "us_env_1" },
      payload: { job: "space:configure" },
    };
    expect(actionJobRoute.claim(foreign as never)).toMatchObject({ owned: false });
  });
});
