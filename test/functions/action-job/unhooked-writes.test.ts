/**
 * Records an embedding app writes through the SDK (which sends `X-Disable-Hooks: true`) may raise
 * no `commit:created`, so nothing recounts after them. Submit and Duplicate count again before
 * they decide and report, so their counts hold either way; the stand-in's default raises nothing,
 * the second vitest project runs this file with the event raised.
 */
import { describe, expect, it } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import { configureSpace, useHarness } from "../../support/fixture";
import { guideSection } from "../../support/guide";
import { jobReadyEvent } from "../../support/harness";

const h = useHarness();

const contact = (i: number) => ({
  firstName: { value: `Ada ${i}` },
  lastName: { value: "Lovelace" },
  email: { value: `ada${i}@example.com` },
});

/** Writes as an embedding app does, with the SDK's own headers; answers how many commit:created it raised. */
async function appWrites(sheetId: string, records: number): Promise<number> {
  const app = createSdkClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
  const before = h.flatfile.events.filter((e) => e.topic === "commit:created").length;
  await app.records.insert(
    sheetId,
    Array.from({ length: records }, (_, i) => contact(i)),
  );
  return h.flatfile.events.filter((e) => e.topic === "commit:created").length - before;
}

describe("records written with X-Disable-Hooks", () => {
  it("are counted by Submit, which reports and records them, whether or not they raised a commit", async () => {
    const c = await configureSpace(h);
    const raised = await appWrites(c.state.sheets.contacts!, 4);
    expect(raised).toBe(h.flatfile.platform.disabledHooks === "raised" ? 1 : 0);
    // No commit:created is delivered here: the guide was last counted before the app's write.
    const guideBefore = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    expect(guideSection(guideBefore, "progress")).toContain("<strong>Contacts</strong>: no records yet");

    const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.state.workbookId });
    const answer = await h.deliver(
      handler,
      jobReadyEvent({
        job: "workbook:submitActionFg",
        jobId: job.id,
        spaceId: c.spaceId,
        workbookId: c.state.workbookId,
        actorId: c.userId,
      }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete", records: 4 });
    expect((await h.api.jobs.get(job.id)).data.outcome?.message).toContain("Submitted 4 records");
    const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    expect(guideSection(guide, "progress")).toContain("<strong>Contacts</strong>: 4 records: 4 valid, 0 with errors");
  });

  it("are in the copy a Duplicate makes and in the counts the guide shows for it", async () => {
    const c = await configureSpace(h);
    const sheetId = c.state.sheets.contacts!;
    await appWrites(sheetId, 3);
    const job = h.flatfile.seed.job({ job: "sheet:duplicate", spaceId: c.spaceId, workbookId: c.state.workbookId, sheetId });
    const answer = await h.deliver(
      handler,
      jobReadyEvent({
        job: "sheet:duplicate",
        jobId: job.id,
        spaceId: c.spaceId,
        workbookId: c.state.workbookId,
        sheetId,
        sheetSlug: "contacts",
        actorId: c.userId,
      }),
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete" });
    const copyId = String(answer.body.copySheetId);
    expect((await h.api.sheets.getRecordCounts(copyId)).data.counts.total).toBe(3);
    const guide = (await h.api.documents.get(c.spaceId, c.state.guideDocumentId)).data.body;
    expect(guideSection(guide, "progress")).toMatch(/3 records: 3 valid, 0 with errors/);
  });
});
