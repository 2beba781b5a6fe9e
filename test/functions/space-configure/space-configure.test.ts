/**
 * space-configure through the handler, against the Flatfile stand-in: what one `space:configure`
 * job builds, shaped by the space's locale, the actor and the reference data, and what retries,
 * redeliveries and concurrent copies leave behind.
 */
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import type { Flatfile } from "@flatfile/api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { waves } from "../../../bench/round-trips";
import { handler } from "../../../functions/space-configure/handler";
import { resetSettingsCache } from "../../../shared/core/config";
import { openJobStore } from "../../../shared/core/open-jobs";
import {
  SHEET_ACTIONS,
  sheetAccessFor,
  sheetActionsFor,
  UNKNOWN_CATEGORY_RULE,
  WORKBOOK_ACTIONS,
  WORKBOOK_NAME,
} from "../../../shared/domain/blueprint";
import type { Audience } from "../../../shared/domain/audience";
import { resolveCurrency } from "../../../shared/domain/currency";
import { DUPLICABLE_ROLE, moneyField, PLAIN_ROLE, plannedSheet, plannedWorkbook, RULE_ROLE, sheetList } from "../../support/blueprint";
import { guideSection as readSection } from "../../support/guide";
import { resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { GUIDE_TITLE, readSpaceState, SPACE_STATE_KEY } from "../../../shared/flatfile/space-state";
import { SHEET_ROLES } from "../../../shared/domain/space-state";
import { startLocalDynamo, dynamoEnv, type LocalDynamo } from "../../support/dynalite";
import { jobReadyEvent } from "../../support/harness";
import { useHarness } from "../../support/fixture";
import { startReferenceApi, type ReferenceApi } from "../../support/reference-api";
import { stacksFormattedDuring } from "../../support/stack-formatting";

let reference: ReferenceApi;

beforeAll(async () => {
  reference = await startReferenceApi();
});
afterAll(async () => {
  await reference?.close();
});
const h = useHarness(() => ({ env: { REFERENCE_DATA_URL: reference.url } }));
beforeEach(() => {
  reference.mode = "ok";
  resetReferenceDataCache();
});

function seedJob(metadata: Record<string, unknown> = { locale: "en-US" }, actor?: { id: string }) {
  const space = h.flatfile.seed.space({ name: "Acme onboarding", metadata });
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  const event = jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id, actorId: actor?.id });
  return { space, job, event };
}

async function workbooksIn(spaceId: string): Promise<Flatfile.Workbook[]> {
  return (await h.api.workbooks.list({ spaceId })).data;
}
async function guidesIn(spaceId: string): Promise<Flatfile.Document[]> {
  return (await h.api.documents.list(spaceId)).data.filter((d) => d.title === GUIDE_TITLE);
}
async function jobOf(jobId: string): Promise<Flatfile.Job> {
  return (await h.api.jobs.get(jobId)).data;
}
function sheetOf(workbook: Flatfile.Workbook, slug: string): Flatfile.Sheet {
  const sheet = workbook.sheets?.find((s) => s.slug === slug);
  if (!sheet) throw new Error(`no sheet ${slug} in ${workbook.id}`);
  return sheet;
}
function fieldOf(sheet: Flatfile.Sheet, key: string): Flatfile.Property | undefined {
  return sheet.config.fields.find((f) => f.key === key);
}

describe("space-configure: one event", () => {
  it("builds one workbook and one guide, sets the primary workbook, merges the metadata and completes the job", async () => {
    const user = h.flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" });
    const { space, job, event } = seedJob({ locale: "de-DE", fromTheApp: { plan: "pro" } }, user);

    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ status: "complete", currency: "EUR", audience: "member", referenceData: "remote" });

    const [workbook, ...others] = await workbooksIn(space.id);
    expect(others).toEqual([]);
    expect(workbook!.name).toBe(WORKBOOK_NAME);
    const guides = await guidesIn(space.id);
    expect(guides).toHaveLength(1);

    const after = (await h.api.spaces.get(space.id)).data;
    expect(after.primaryWorkbookId).toBe(workbook!.id);
    expect(after.metadata).toMatchObject({ locale: "de-DE", fromTheApp: { plan: "pro" } });
    const state = readSpaceState(after.metadata);
    expect(state).toMatchObject({ workbookId: workbook!.id, guideDocumentId: guides[0]!.id, currency: "EUR", configureJobId: job.id });
    expect(state!.sheets).toEqual(Object.fromEntries(SHEET_ROLES.map((role) => [role, sheetOf(workbook!, role).id])));

    const finished = await jobOf(job.id);
    expect(finished.status).toBe("complete");
    expect(finished.outcome?.message).toBe(`${sheetList()} ready · prices in EUR`);
    // A toast: `next` links are shown only in the dialog (acknowledge: true), so none is sent.
    expect(finished.outcome).toMatchObject({ acknowledge: false });
    expect(finished.outcome?.next).toBeUndefined();
    // The guide's state is kept with ours, and the guide is it rendered.
    expect(state!.guide).toMatchObject({ actorName: "Ada Lovelace", currency: { code: "EUR" }, history: [] });
    expect(state!.guide!.progress.map((p) => p.role)).toEqual([...SHEET_ROLES]);
  });

  it("gives each sheet its fields and constraints, the duplicate action where the blueprint offers it, and the workbook its primary submit action", async () => {
    const { space, event } = seedJob();
    expect((await h.deliver(handler, event)).status).toBe(200);
    const [workbook] = await workbooksIn(space.id);
    // The blueprint's own fields for this Space's audience, whatever they are.
    const audience = (workbook!.metadata as { audience: Audience }).audience;
    expect(workbook!.sheets!.map((sheet) => sheet.slug)).toEqual([...SHEET_ROLES]);
    for (const role of SHEET_ROLES) {
      const planned = plannedSheet(role, audience);
      const fields = sheetOf(workbook!, role).config.fields;
      expect(fields.map((f) => [f.key, f.constraints ?? []])).toEqual(planned.fields.map((f) => [f.key, f.constraints ?? []]));
    }
    expect(sheetOf(workbook!, DUPLICABLE_ROLE).config.actions).toEqual([
      expect.objectContaining({ operation: SHEET_ACTIONS.duplicate.operation, mode: "foreground", label: SHEET_ACTIONS.duplicate.label }),
    ]);
    expect(sheetOf(workbook!, PLAIN_ROLE).config.actions ?? []).toEqual([]);
    const submit = workbook!.actions?.find((a) => a.operation === WORKBOOK_ACTIONS.submit.operation);
    expect(submit).toMatchObject({ mode: "foreground", primary: true });
    expect(submit?.constraints).toEqual(expect.arrayContaining([{ type: "hasAllValid" }]));
  });

  it("writes only what the SDK's strict schemas accept (the stand-in rejects anything else)", async () => {
    const { event } = seedJob();
    await h.deliver(handler, event);
    const rejected = h.flatfile.requests.filter((r) => r.status === 400);
    expect(rejected).toEqual([]);
    const create = h.flatfile.requests.find((r) => r.route === "workbooks.create");
    // What went over the wire carries the money field's currency in its config and metadata.
    const { field: amount } = moneyField((create!.body as { sheets: Flatfile.SheetConfig[] }).sheets);
    expect(amount.config).toEqual({ decimalPlaces: 2 });
    expect(amount.metadata).toMatchObject({ currency: "USD" });
  });
});

describe("space-configure: where the space is", () => {
  it.each([
    [{ locale: "ja-JP" }, "JPY", 0],
    [{ locale: "de-DE" }, "EUR", 2],
    [{ currency: "BHD", locale: "en-US" }, "BHD", 3],
  ])("%j gives %s with %d decimals, end to end", async (metadata, code, decimals) => {
    const { space, job, event } = seedJob(metadata);
    expect((await h.deliver(handler, event)).status).toBe(200);
    const [workbook] = await workbooksIn(space.id);
    const { field: amount } = moneyField(workbook!.sheets!);
    expect(amount.label).toBe(moneyField(plannedWorkbook("default", resolveCurrency(metadata)).sheets!).field.label);
    expect(amount.label).toContain(code);
    expect(amount.config?.decimalPlaces).toBe(decimals);
    expect(amount.metadata).toMatchObject({ currency: code });
    const guide = (await guidesIn(space.id))[0]!;
    const body = (await h.api.documents.get(space.id, guide.id)).data.body;
    expect(readSection(body, "currency")).toContain(`(${code})`);
    expect((await jobOf(job.id)).outcome?.message).toContain(`prices in ${code}`);
  });
});

describe("space-configure: who made the space", () => {
  /** Every sheet has the fields, access and actions the blueprint plans for `audience`. */
  const expectPlannedFor = async (spaceId: string, audience: Audience) => {
    const [workbook] = await workbooksIn(spaceId);
    for (const role of SHEET_ROLES) {
      const sheet = sheetOf(workbook!, role);
      expect(
        sheet.config.fields.map((f) => f.key),
        role,
      ).toEqual(plannedSheet(role, audience).fields.map((f) => f.key));
      expect(sheet.config.access, role).toEqual(sheetAccessFor(audience, role));
      expect(
        (sheet.config.actions ?? []).map((a) => a.operation),
        role,
      ).toEqual(sheetActionsFor(audience, role).map((a) => a.operation));
    }
  };

  it("gives staff the internal audience's fields on every sheet", async () => {
    const staff = h.flatfile.seed.user({ email: "grace@acme.test", name: "Grace", metadata: { staff: true } });
    const { space, event } = seedJob({ locale: "en-US" }, staff);
    expect((await h.deliver(handler, event)).body).toMatchObject({ audience: "internal" });
    await expectPlannedFor(space.id, "internal");
  });

  it("gives an ordinary user the standard workbook", async () => {
    const user = h.flatfile.seed.user({ email: "ada@example.com", name: "Ada" });
    const { space, event } = seedJob({ locale: "en-US" }, user);
    expect((await h.deliver(handler, event)).body).toMatchObject({ audience: "member" });
    await expectPlannedFor(space.id, "member");
    const [workbook] = await workbooksIn(space.id);
    expect(sheetOf(workbook!, DUPLICABLE_ROLE).config.access).toBeUndefined();
  });

  it("gives a guest a simpler workbook: no deleting, no duplicate action, the guest's fields", async () => {
    const guest = h.flatfile.seed.guest({ email: "guest@example.com", name: "Gus" });
    const { space, event } = seedJob({ locale: "en-US" }, guest);
    expect((await h.deliver(handler, event)).body).toMatchObject({ audience: "guest" });
    await expectPlannedFor(space.id, "guest");
    const [workbook] = await workbooksIn(space.id);
    for (const sheet of workbook!.sheets!) {
      expect(sheet.config.access).toEqual(["add", "edit"]);
      expect(sheet.config.actions ?? []).toEqual([]);
    }
  });

  it("falls back to the default audience when the actor cannot be looked up", async () => {
    const { space, job, event } = seedJob({ locale: "en-US" }, { id: "us_usr_doesnotexist" });
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ audience: "default" });
    expect(await workbooksIn(space.id)).toHaveLength(1);
    expect((await jobOf(job.id)).status).toBe("complete");
  });
});

describe("space-configure: reference data", () => {
  it("fills the category options from the reference API", async () => {
    const { space, event } = seedJob();
    await h.deliver(handler, event);
    const [workbook] = await workbooksIn(space.id);
    const category = fieldOf(sheetOf(workbook!, RULE_ROLE), UNKNOWN_CATEGORY_RULE.fieldKey) as Flatfile.Property.Enum;
    expect(category.config.options.map((o) => o.value)).toEqual(["books", "music"]);
  });

  it.each(["hang", "500", "garbage"] as const)(
    "configures the space with the bundled list when the API answers %s, within budget, and the guide says so",
    async (mode) => {
      reference.mode = mode;
      const { space, job, event } = seedJob();
      const started = Date.now();
      const answer = await h.deliver(handler, event);
      const elapsed = Date.now() - started;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ referenceData: "bundled" });
      // The reference call's budget is 2 s at most; the whole delivery stays well inside the gateway's 29 s.
      expect(elapsed).toBeLessThan(10_000);
      const [workbook] = await workbooksIn(space.id);
      const category = fieldOf(sheetOf(workbook!, RULE_ROLE), UNKNOWN_CATEGORY_RULE.fieldKey) as Flatfile.Property.Enum;
      expect(category.config.options.map((o) => o.value)).toContain("hardware");
      const guide = (await guidesIn(space.id))[0]!;
      const body = (await h.api.documents.get(space.id, guide.id)).data.body;
      expect(readSection(body, "reference-data")).toContain("bundled default list");
      expect((await jobOf(job.id)).status).toBe("complete");
    },
  );
});

describe("space-configure: three rounds, and the space recorded from a fresh read", () => {
  const LATENCY = 150;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("reads the space under its lease beside the creates, and writes it beside complete", async () => {
    const { space, event } = seedJob({ locale: "en-US", fromTheApp: { plan: "pro" } });
    h.flatfile.faults.latency("*", LATENCY);
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    const rounds = waves(h.flatfile.requests, LATENCY).map((w) => w.requests.map((r) => r.route).sort());
    expect(rounds).toEqual([
      ["jobs.get", "spaces.get"],
      ["documents.create", "jobs.ack", "spaces.get", "workbooks.create"],
      ["jobs.complete", "spaces.update"],
    ]);
    const after = (await h.api.spaces.get(space.id)).data;
    expect(after.metadata).toMatchObject({ locale: "en-US", fromTheApp: { plan: "pro" } });
    expect(readSpaceState(after.metadata)?.workbookId).toBe(after.primaryWorkbookId);
  });

  it("keeps metadata the App wrote while the workbook was being made: a read older than a round trip is read again", async () => {
    const { space, job, event } = seedJob({ locale: "en-US" });
    h.flatfile.faults.latency("workbooks.create", 600);
    const delivered = h.deliver(handler, event);
    // The App's own read-modify-write, once our fresh read (the second spaces.get) has been answered.
    const freshRead = () => h.flatfile.requests.filter((r) => r.route === "spaces.get" && r.status === 200).length >= 2;
    while (!freshRead()) await sleep(5);
    const { data: now } = await h.api.spaces.get(space.id);
    await h.api.spaces.update(space.id, { metadata: { ...(now.metadata as object), fromTheApp: { plan: "pro" } } });
    expect((await delivered).status).toBe(200);

    const after = (await h.api.spaces.get(space.id)).data;
    expect(after.metadata).toMatchObject({ locale: "en-US", fromTheApp: { plan: "pro" } });
    expect(readSpaceState(after.metadata)).toMatchObject({ configureJobId: job.id, workbookId: after.primaryWorkbookId });
  });

  it("formats no error stack on the way (with source maps on, the first one decodes the whole map)", async () => {
    const { event } = seedJob();
    const { value: answer, formatted } = await stacksFormattedDuring(() => h.deliver(handler, event));
    expect(answer.status).toBe(200);
    expect(formatted).toEqual([]);
  });
});

describe("space-configure: a resumed attempt takes only what it made", () => {
  const APP_GUIDE = "<p>Our own onboarding notes, written by the App.</p>\n";
  const appGuideIn = (spaceId: string) => h.api.documents.create(spaceId, { title: GUIDE_TITLE, body: APP_GUIDE }).then((r) => r.data);

  it("leaves an App's own 'Getting started' document alone and makes its own guide", async () => {
    const { space, job, event } = seedJob();
    const appGuide = await appGuideIn(space.id);
    // Executing: an earlier attempt of ours got past the ack (and recorded it), so this one looks
    // for what it left behind.
    h.flatfile.jobs.get(job.id)!.status = "executing";
    await openJobStore(undefined).track({ jobId: job.id, what: "Setting up this Space", spaceId: space.id });

    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(200);
    const state = readSpaceState((await h.api.spaces.get(space.id)).data.metadata);
    expect(state?.guideDocumentId).toBeDefined();
    expect(state?.guideDocumentId).not.toBe(appGuide.id);
    expect(await guidesIn(space.id)).toHaveLength(2);
    expect(h.flatfile.documents.get(appGuide.id)?.body).toBe(APP_GUIDE);
    expect(h.flatfile.requests.filter((r) => r.route === "documents.update")).toEqual([]);
  });

  it("reuses the guide an earlier attempt made, found by its marker, not the App's document of the same title", async () => {
    const { space, job, event } = seedJob();
    const appGuide = await appGuideIn(space.id);
    h.flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    expect((await h.deliver(handler, event)).status).toBeGreaterThanOrEqual(500);
    const ours = (await guidesIn(space.id)).filter((d) => d.id !== appGuide.id);
    expect(ours).toHaveLength(1);

    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ guideDocumentId: ours[0]!.id });
    expect(await guidesIn(space.id)).toHaveLength(2);
    expect(readSpaceState((await h.api.spaces.get(space.id)).data.metadata)?.guideDocumentId).toBe(ours[0]!.id);
    expect(h.flatfile.documents.get(appGuide.id)?.body).toBe(APP_GUIDE);
    expect((await jobOf(job.id)).status).toBe("complete");
  });

  it("does not repair a space from an App's document when the job completed before our state was recorded", async () => {
    const { space, job, event } = seedJob();
    h.flatfile.faults.statuses("spaces.update", [500, 500, 500]);
    expect((await h.deliver(handler, event)).status).toBeGreaterThanOrEqual(500);
    expect((await jobOf(job.id)).status).toBe("complete");
    // Our guide is gone (someone deleted it); an App's document has the same title.
    const ours = await guidesIn(space.id);
    for (const doc of ours) h.flatfile.documents.delete(doc.id);
    const appGuide = await appGuideIn(space.id);

    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ repaired: false });
    expect(readSpaceState((await h.api.spaces.get(space.id)).data.metadata)).toBeUndefined();
    expect(h.flatfile.documents.get(appGuide.id)?.body).toBe(APP_GUIDE);
  });
});

describe("space-configure: failures and retries", () => {
  it("leaves the job executing, saying it retries, when workbooks.create keeps answering 500; the redelivery finishes with one workbook and one guide, without jobs.retry", async () => {
    const { space, job, event } = seedJob();
    h.flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    const failed = await h.deliver(handler, event);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    const afterFailure = await jobOf(job.id);
    expect(afterFailure.status).toBe("executing");
    expect(afterFailure.info).toMatch(/temporarily unavailable .*retrying automatically/);
    expect(await workbooksIn(space.id)).toEqual([]);
    expect(readSpaceState((await h.api.spaces.get(space.id)).data.metadata)).toBeUndefined();

    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    expect(await workbooksIn(space.id)).toHaveLength(1);
    expect(await guidesIn(space.id)).toHaveLength(1);
    expect((await jobOf(job.id)).status).toBe("complete");
    expect(h.flatfile.requests.map((r) => r.route)).not.toContain("jobs.retry");
    expect(h.flatfile.requests.map((r) => r.route)).not.toContain("jobs.fail");
  });

  it("finishes without a second workbook when the workbook was made but the space update failed", async () => {
    const { space, job, event } = seedJob({ locale: "en-US", keep: "me" });
    h.flatfile.faults.statuses("spaces.update", [500, 500, 500]);
    const first = await h.deliver(handler, event);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(await workbooksIn(space.id)).toHaveLength(1);

    const retried = await h.deliver(handler, event);
    expect(retried.status).toBe(200);
    const workbooks = await workbooksIn(space.id);
    expect(workbooks).toHaveLength(1);
    expect(await guidesIn(space.id)).toHaveLength(1);
    const after = (await h.api.spaces.get(space.id)).data;
    expect(after.primaryWorkbookId).toBe(workbooks[0]!.id);
    expect(after.metadata).toMatchObject({ keep: "me", [SPACE_STATE_KEY]: { workbookId: workbooks[0]!.id } });
    expect((await jobOf(job.id)).status).toBe("complete");
  });

  it("answers 404 for a job Flatfile does not know, without writing", async () => {
    const { space } = seedJob();
    const answer = await h.deliver(handler, jobReadyEvent({ job: "space:configure", jobId: "us_jb_unknown01", spaceId: space.id }));
    expect(answer.status).toBe(404);
    expect(h.flatfile.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("answers 400 for a malformed id, before any call", async () => {
    const { event } = seedJob();
    (event.context as Record<string, unknown>).spaceId = "us_sp_a/../b";
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(400);
    expect(String(answer.body.error)).toContain("spaceId");
    expect(h.flatfile.requests).toEqual([]);
  });

  it("ignores other jobs untouched", async () => {
    const { space } = seedJob();
    const other = h.flatfile.seed.job({ job: "workbook:somethingElse", spaceId: space.id });
    const answer = await h.deliver(handler, jobReadyEvent({ job: "workbook:somethingElse", jobId: other.id, spaceId: space.id }));
    expect(answer.body).toMatchObject({ ignored: true });
    expect(h.flatfile.requests).toEqual([]);
    expect((await jobOf(other.id)).status).toBe("ready");
  });
});

describe("space-configure: duplicates", () => {
  it("changes nothing when the same event is delivered again, or a new job arrives for a configured space", async () => {
    const { space, job, event } = seedJob();
    await h.deliver(handler, event);
    const writesBefore = h.flatfile.requests.filter((r) => r.method !== "GET").length;

    const again = await h.deliver(handler, event);
    expect(again.status).toBe(200);
    expect(again.body.replayed).toBe(true);
    // A copy with a new delivery id, once the in-process record is gone: the job is found complete.
    h.flatfile.requests.length = 0;
    const redelivered = await h.deliver(handler, { ...event, id: "us_evt_redelivery" });
    expect(redelivered.status).toBe(200);
    expect(h.flatfile.requests.filter((r) => r.method !== "GET").length).toBe(0);

    const second = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const onConfigured = await h.deliver(handler, jobReadyEvent({ job: "space:configure", jobId: second.id, spaceId: space.id }));
    expect(onConfigured.body).toMatchObject({ alreadyConfigured: true });
    expect(await workbooksIn(space.id)).toHaveLength(1);
    expect(await guidesIn(space.id)).toHaveLength(1);
    expect((await jobOf(job.id)).status).toBe("complete");
    expect((await jobOf(second.id)).status).toBe("complete");
    expect(writesBefore).toBeGreaterThan(0);
  });

  it("makes one workbook and one guide from concurrent copies (in-process store)", async () => {
    const { space, job, event } = seedJob();
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.deliverUntilSettled(handler, event)));
    expect(answers.map((a) => a.at(-1)!.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await workbooksIn(space.id)).toHaveLength(1);
    expect(await guidesIn(space.id)).toHaveLength(1);
    expect((await jobOf(job.id)).status).toBe("complete");
  });

  describe("with DynamoDB as the idempotency store", () => {
    let dynamo: LocalDynamo;
    const saved: Record<string, string | undefined> = {};
    beforeAll(async () => {
      dynamo = await startLocalDynamo();
      for (const [key, value] of Object.entries(dynamoEnv(dynamo))) {
        saved[key] = process.env[key];
        process.env[key] = value;
      }
      resetSettingsCache();
    });
    afterAll(async () => {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      resetSettingsCache();
      await dynamo.close();
    });

    it("makes one workbook and one guide from concurrent copies and replays the answer afterwards", async () => {
      const { space, job, event } = seedJob();
      const copies = [event, event, { ...event }, event, event, event];
      const answers = await Promise.all(copies.map((e) => h.deliver(handler, e)));
      // One copy did the work; the others were told to retry while it was in progress (not
      // acknowledged, so a crash of the first could not strand the job), or got its stored answer.
      expect(answers.filter((a) => a.status === 200 && a.body.status === "complete" && !a.body.replayed)).toHaveLength(1);
      const inFlight = answers.filter((a) => a.status !== 200);
      for (const a of inFlight) {
        expect(a.status).toBe(503);
        expect(Number(a.headers["retry-after"]), "Retry-After in whole seconds, within the in-progress window").toBeGreaterThanOrEqual(1);
        expect(Number(a.headers["retry-after"])).toBeLessThanOrEqual(8);
      }
      expect(answers.filter((a) => a.status === 200).every((a) => a.body.status === "complete")).toBe(true);
      expect(await workbooksIn(space.id)).toHaveLength(1);
      expect(await guidesIn(space.id)).toHaveLength(1);
      expect((await jobOf(job.id)).status).toBe("complete");

      const later = await h.deliver(handler, event);
      expect(later.body).toMatchObject({ replayed: true, status: "complete" });
    });

    it("gives the space's lease back at once when the job fails between the creates and complete", async () => {
      const client = new DynamoDBClient({
        endpoint: dynamo.endpoint,
        region: "eu-west-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      });
      const leaseOf = async (spaceId: string) =>
        (await client.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: `lease#space#${spaceId}` } } }))).Item;
      try {
        for (const failing of ["jobs.ack", "workbooks.create"]) {
          const { space, job, event } = seedJob();
          h.flatfile.faults.statuses(failing, [400]);
          const answer = await h.deliver(handler, event);
          expect(answer.status, failing).toBe(500);
          expect((await jobOf(job.id)).status, failing).toBe("failed");
          expect(
            h.flatfile.requests.filter((r) => r.route === "spaces.get"),
            failing,
          ).toHaveLength(2);
          // Held, it would stay for the section lease's 30 s and make the next writer wait and 503.
          expect(await leaseOf(space.id), failing).toBeUndefined();
          h.flatfile.requests.length = 0;
        }
      } finally {
        client.destroy();
      }
    });

    it("answers 503 before touching Flatfile when the table cannot be reached", async () => {
      const { event } = seedJob();
      await dynamo.stop();
      try {
        const answer = await h.deliver(handler, event);
        expect(answer.status).toBe(503);
        expect(h.flatfile.requests).toEqual([]);
      } finally {
        await dynamo.start();
      }
    });
  });
});
