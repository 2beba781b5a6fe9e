/**
 * A workbook write we gave up on (it timed out on our side) that Flatfile still applies later,
 * against the stand-in's latency injection (the request is applied after the delay, whether or
 * not the caller still waits), with the leases on DynamoDB (dynalite) as deployed.
 */
import type { Flatfile } from "@flatfile/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { handler as commitHandler } from "../../../functions/commit-created/handler";
import { UNKNOWN_WRITE_HOLD_MS } from "../../../shared/core/lease";
import { isLocked } from "../../../shared/domain/blueprint";
import { SHEET_ROLES } from "../../../shared/domain/space-state";
import { RULE_ROLE } from "../../support/blueprint";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";
import { duplicateOfContacts, expectOneCopy } from "../../support/duplicate";
import { configureSpace, useHarness } from "../../support/fixture";
import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo("late-writes");
});
afterAll(async () => {
  await dynamo?.close();
});
const h = useHarness(() => ({ env: dynamoEnv(dynamo) }));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Flatfile answers (and applies) this late; the short delivery below gives up after about 3 s. */
const LATE_MS = 4_500;
/** Lambda time left as the handler is told: its work deadline is 3 s away (route.ts keeps 1 s + 4 s for the end). */
const SHORT_DELIVERY = { remainingMs: 8_000 };

const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` });
const categoriesOf = (sheet: Flatfile.Sheet | undefined) =>
  (sheet?.config.fields.find((f) => f.key === "category") as Flatfile.Property.Enum | undefined)?.config.options.map((o) => o.value) ?? [];

describe("action-job: a workbook write given up on still lands", () => {
  it(
    "keeps the workbook's lease after the timed-out write, so a Submit after it stays locked once the write lands",
    async () => {
      const c = await configureSpace(h);
      h.flatfile.seed.commit(c.state.sheets.contacts!, { insert: [contact(1), contact(2)] });
      const ordersId = c.state.sheets[RULE_ROLE]!;
      // A commit with a category the options lack: its workbooks.update (the options, computed from
      // the open sheets) is answered after LATE_MS, past this delivery's deadline, and applied then.
      const { commitId } = h.flatfile.seed.commit(ordersId, { insert: [{ orderId: "o-1", amount: 12, category: "vinyl" }] });
      h.flatfile.faults.latency("workbooks.update", LATE_MS);
      const sentAt = Date.now();
      const commit = await h.deliver(
        commitHandler,
        commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: ordersId, commitId }),
        SHORT_DELIVERY,
      );
      expect(commit.status, JSON.stringify(commit.body)).toBeGreaterThanOrEqual(500);
      expect(String(commit.body.error)).toMatch(/did not answer in time/);
      h.flatfile.faults.latency("workbooks.update", 0);

      // Submit, redelivered as the relay does while the workbook's lease is kept.
      const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.workbookId });
      const event = jobReadyEvent({
        job: "workbook:submitActionFg",
        jobId: job.id,
        spaceId: c.spaceId,
        workbookId: c.workbookId,
        actorId: c.userId,
      });
      const answers = await h.deliverUntilSettled(handler, event, { pauseMs: 500, attempts: 12 });
      expect(answers.at(-1)).toMatchObject({ status: 200, body: { status: "complete", records: 3 } });
      expect((await h.api.jobs.get(job.id)).data.outcome?.message).toMatch(/Its sheets are now read-only\.$/);
      // It waited for the lease rather than writing before the late write could land.
      expect(Date.now() - sentAt).toBeGreaterThanOrEqual(UNKNOWN_WRITE_HOLD_MS);

      await sleep(Math.max(0, sentAt + LATE_MS + 500 - Date.now()));
      const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
      // The late write landed (its option is there) and did not undo the lock written after it.
      expect(categoriesOf(sheets.find((s) => s.id === ordersId))).toContain("vinyl");
      for (const id of Object.values(c.state.sheets)) expect(isLocked(sheets.find((s) => s.id === id)!.config), id).toBe(true);
    },
    UNKNOWN_WRITE_HOLD_MS + 30_000,
  );

  /**
   * Once the flow's workbooks.update has been answered, the sheets' configs are put back as they
   * were before (a late write of ours or someone outside our leases undoing the lock), while the
   * flow's read-back waits on workbooks.get's latency.
   */
  async function undoNextUpdate(sheetIds: readonly string[], run: () => Promise<unknown>): Promise<void> {
    const before = new Map(sheetIds.map((id) => [id, structuredClone(h.flatfile.sheets.get(id)!.config)]));
    const start = h.flatfile.requests.length;
    h.flatfile.faults.latency("workbooks.get", 300);
    let undone = false;
    const watch = setInterval(() => {
      if (undone || !h.flatfile.requests.slice(start).some((r) => r.route === "workbooks.update" && r.status === 200)) return;
      undone = true;
      for (const [id, config] of before) h.flatfile.sheets.get(id)!.config = structuredClone(config);
    }, 5);
    try {
      await run();
    } finally {
      clearInterval(watch);
      h.flatfile.faults.latency("workbooks.get", 0);
    }
    expect(undone, "the lock was undone").toBe(true);
  }

  it("Submit reads its lock back before it reports it, and writes it again when it was undone", async () => {
    const c = await configureSpace(h);
    h.flatfile.seed.commit(c.state.sheets.contacts!, { insert: [contact(1)] });
    const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.workbookId });
    const event = jobReadyEvent({
      job: "workbook:submitActionFg",
      jobId: job.id,
      spaceId: c.spaceId,
      workbookId: c.workbookId,
      actorId: c.userId,
    });
    const start = h.flatfile.requests.length;
    await undoNextUpdate(Object.values(c.state.sheets), async () => {
      expect((await h.deliver(handler, event)).body).toMatchObject({ status: "complete", records: 1 });
    });
    const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
    for (const id of Object.values(c.state.sheets)) expect(isLocked(sheets.find((s) => s.id === id)!.config), id).toBe(true);
    // Its lock, then its lock again after the read-back found it undone.
    expect(h.flatfile.requests.slice(start).filter((r) => r.route === "workbooks.update")).toHaveLength(2);
  });

  it("Duplicate reads the original's lock back before it reports it, and writes it again when it was undone", async () => {
    const { c, sheetId, event } = await duplicateOfContacts(h);
    let copyId = "";
    await undoNextUpdate([sheetId], async () => {
      const answer = await h.deliver(handler, event);
      expect(answer.body).toMatchObject({ status: "complete", lockedSheetId: sheetId });
      copyId = String(answer.body.copySheetId);
    });
    const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
    expect(isLocked(sheets.find((s) => s.id === sheetId)!.config)).toBe(true);
    expect(sheets.find((s) => s.id === copyId)?.config.readonly).not.toBe(true);
  });

  it("a retry whose copy is refused because the earlier attempt's timed-out copy landed meanwhile carries on with that copy", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    // The first copy is applied 6 s after it was asked for, long after this delivery gave up (3 s).
    h.flatfile.faults.latency("sheets.duplicate", 6_000);
    const first = await h.deliver(handler, event, SHORT_DELIVERY);
    expect(first.status, JSON.stringify(first.body)).toBeGreaterThanOrEqual(500);
    expect((await h.api.jobs.get(job.id)).data.status).toBe("executing");
    expect((await h.api.workbooks.get(c.workbookId)).data.sheets).toHaveLength(SHEET_ROLES.length);
    // The retry reads before the copy lands and asks for it again; its request is handled
    // after the first one landed, so Flatfile refuses the slug.
    h.flatfile.faults.latency("sheets.duplicate", 4_500);
    const answers = await h.deliverUntilSettled(handler, event, { pauseMs: 100, attempts: 6 });
    expect(answers.at(-1), JSON.stringify(answers.at(-1)?.body)).toMatchObject({
      status: 200,
      body: { status: "complete", reusedCopy: true },
    });
    const duplicates = h.flatfile.requests.slice(start).filter((r) => r.route === "sheets.duplicate");
    expect(duplicates.map((r) => r.status)).toEqual([200, 400]);
    await expectOneCopy(h, c, sheetId, job.id);
  }, 30_000);

  it("a retry that finds the timed-out copy already there carries on with it without asking again", async () => {
    const { c, sheetId, job, event } = await duplicateOfContacts(h);
    const start = h.flatfile.requests.length;
    h.flatfile.faults.latency("sheets.duplicate", LATE_MS);
    const sentAt = Date.now();
    expect((await h.deliver(handler, event, SHORT_DELIVERY)).status).toBeGreaterThanOrEqual(500);
    h.flatfile.faults.latency("sheets.duplicate", 0);
    await sleep(Math.max(0, sentAt + LATE_MS + 500 - Date.now()));
    const answers = await h.deliverUntilSettled(handler, event, { pauseMs: 100, attempts: 6 });
    expect(answers.at(-1)).toMatchObject({ status: 200, body: { status: "complete", reusedCopy: true } });
    expect(h.flatfile.requests.slice(start).filter((r) => r.route === "sheets.duplicate")).toHaveLength(1);
    await expectOneCopy(h, c, sheetId, job.id);
  }, 30_000);
});
