/**
 * A Duplicate of Contacts as the duplicate suites set it up and judge it: a Space the real
 * configure handler made, two records, the job and its job:ready event; and the one check of its
 * end. Vitest-only, like fixture.ts.
 */
import { expect } from "vitest";
import { copySlugFor } from "../../functions/action-job/duplicate-sheet";
import type { FlatfileEvent } from "../../shared/core/envelope";
import { isLocked } from "../../shared/domain/blueprint";
import { SHEET_ROLES } from "../../shared/domain/space-state";
import { configureSpace } from "./fixture";
import { guideSection } from "./guide";
import { jobReadyEvent, type Harness } from "./harness";

export type DuplicatedSpace = Awaited<ReturnType<typeof configureSpace>>;

const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` });

/** A Duplicate of Contacts with two records, and its job:ready event. */
export async function duplicateOfContacts(h: Harness) {
  const c = await configureSpace(h);
  const sheetId = c.state.sheets.contacts!;
  h.flatfile.seed.commit(sheetId, { insert: [contact(1), contact(2)] });
  const job = h.flatfile.seed.job({ job: "sheet:duplicate", spaceId: c.spaceId, workbookId: c.workbookId, sheetId });
  const event = jobReadyEvent({
    job: "sheet:duplicate",
    jobId: job.id,
    spaceId: c.spaceId,
    workbookId: c.workbookId,
    sheetId,
    actorId: c.userId,
  }) as FlatfileEvent;
  return { c, sheetId, job, event };
}

/** The copies of Contacts in the workbook, and the job's end: one copy, locked original, complete, linking it. */
export async function expectOneCopy(h: Harness, c: DuplicatedSpace, sheetId: string, jobId: string): Promise<void> {
  const sheets = (await h.api.workbooks.get(c.workbookId)).data.sheets ?? [];
  expect(sheets).toHaveLength(SHEET_ROLES.length + 1);
  const copies = sheets.filter((s) => s.slug === copySlugFor("contacts", jobId));
  expect(copies).toHaveLength(1);
  const copy = copies[0]!;
  expect(isLocked(sheets.find((s) => s.id === sheetId)!.config)).toBe(true);
  expect(copy.config.readonly).not.toBe(true);
  expect((await h.api.sheets.getRecordCounts(copy.id)).data.counts.total).toBe(2);
  const job = (await h.api.jobs.get(jobId)).data;
  expect(job.status).toBe("complete");
  expect(job.outcome).toMatchObject({ next: { type: "id", id: copy.id } });
  const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
  expect((guideSection(guide, "history") ?? "").match(/was locked/g)).toHaveLength(1);
}
