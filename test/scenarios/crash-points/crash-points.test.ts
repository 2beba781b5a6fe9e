/**
 * Crash points: each flow's invocation is killed right after each Flatfile call it makes (and,
 * for Submit, each S3 and EventBridge call of its delivery), then the event is redelivered by the
 * relay's own code; every job ends complete or failed and nothing is made twice. How the crash is made exact: docs/design.md#the-crash-point-suite.
 * CRASH_POINTS_TABLE=<file> writes the table flow × crash point → outcome as Markdown.
 */
import { GetItemCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { build } from "esbuild";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submissionKey } from "../../../functions/action-job/submission";
import { startEventBridgeStandIn, type EventBridgeStandIn } from "../../../local/eventbridge-stand-in";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { startLocalS3, type LocalS3 } from "../../../local/s3-server";
import { startGateway, type LocalGateway, type ServedPath } from "../../../local/gateway";
import { routes } from "../../../local/routes";
import { defaultDeps, deliver, RELAY_BOUND } from "../../../infra/relay/forward";
import { resetSettingsCache } from "../../../shared/core/config";
import { OPEN_JOB_KEY_PREFIX } from "../../../shared/core/open-jobs";
import { FAILED_HEADINGS } from "../../../shared/core/job-outcomes";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import { resetSubmissionClients, s3Client } from "../../../shared/core/submission-clients";
import { WORKBOOK_NAME } from "../../../shared/domain/blueprint";
import { GUIDE_TITLE, readSpaceState } from "../../../shared/flatfile/space-state";
import { seedConfiguredSpace } from "../../support/configured-space";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";
import { applyEnv, commitCreatedEvent, ENVIRONMENT_ID, jobReadyEvent } from "../../support/harness";
import { invokeAndCrash, type ChildSetup, type CrashRun } from "./support";

/**
 * The crashed invocation's Lambda time: its work budget is this less 1 s and the 4 s finalize
 * reserve (route.ts), enough for the local calls and for commit-created's later rounds (each
 * needs 2.5 s left); its lock and leases lapse this long after it began. A crash point that a
 * loaded machine did not reach in time (the flow ran out of budget first) is run once more with
 * the second value. The clean run that lists the calls has a real Lambda's 25 s.
 */
const CHILD_REMAINING_MS = [10_000, 20_000];
/**
 * Crash points run side by side (each on its own space and job); most of their time is the wait
 * for the crashed invocation's lock to lapse, so a flow with many calls runs more at once: at
 * most four rounds of them.
 */
const concurrencyFor = (calls: number) => Math.max(4, Math.ceil(calls / 4));

let flatfile: FlatfileStandIn;
let dynamo: LocalDynamo;
/** Where Submit delivers: its S3 and EventBridge calls are crash points too. */
let s3: LocalS3;
let eventBus: EventBridgeStandIn;
let gateway: LocalGateway;
let raw: DynamoDBClient;
let setup: ChildSetup;
let buildDir: string;
const signingSecret = `whsec_${"c".repeat(32)}`;

interface Row {
  flow: string;
  point: string;
  redelivery: string;
  outcome: string;
}
const rows: Row[] = [];

beforeAll(async () => {
  [flatfile, dynamo, s3, eventBus] = await Promise.all([
    startFlatfileStandIn(),
    startLocalDynamo(),
    startLocalS3(),
    startEventBridgeStandIn(),
  ]);
  const env: Record<string, string> = {
    ...dynamoEnv(dynamo),
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_SIGNING_SECRET: signingSecret,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_ENVIRONMENT_ID: ENVIRONMENT_ID,
    SUBMISSIONS_BUCKET: s3.bucket,
    AWS_ENDPOINT_URL_S3: s3.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBus.url,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
  };
  applyEnv({ ...env, FLATFILE_SECRET_ID: undefined, REFERENCE_DATA_URL: undefined, COMMIT_SELF_ACTOR_IDS: undefined });
  gateway = await startGateway({ port: 0, routes });
  raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  // The child runs as one bundled file: a plain `node` start is several times quicker than tsx
  // compiling the handlers in every killed process.
  buildDir = mkdtempSync(join(tmpdir(), "crash-child-"));
  const childFile = join(buildDir, "invocation-child.cjs");
  await build({
    entryPoints: [join(__dirname, "invocation-child.ts")],
    outfile: childFile,
    bundle: true,
    platform: "node",
    target: "node24",
    format: "cjs",
    mainFields: ["module", "main"],
    logLevel: "warning",
  });
  resetSubmissionClients();
  setup = { flatfile, env, signingSecret, childFile, aws: { s3: s3.url, eventbridge: eventBus.url } };
}, 120_000);

afterAll(async () => {
  raw?.destroy();
  await Promise.allSettled([gateway?.close(), flatfile?.close(), dynamo?.close(), s3?.close(), eventBus?.close()]);
  resetSubmissionClients();
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
  resetSettingsCache();
  if (rows.length === 0) return;
  const flows = [...new Set(rows.map((r) => r.flow))];
  console.log(
    `crash points: ${rows.length} over ${flows.map((f) => `${f} ${rows.filter((r) => r.flow === f).length}`).join(", ")}; every job ended complete (a listener job taken and not seen ending: failed with a sentence, not run again), nothing made twice`,
  );
  if (process.env.CRASH_POINTS_TABLE) {
    const table = [
      "| flow | killed right after | redelivery (relay) answers | outcome |",
      "| --- | --- | --- | --- |",
      ...rows.map((r) => `| ${r.flow} | ${r.point} | ${r.redelivery} | ${r.outcome} |`),
    ].join("\n");
    writeFileSync(process.env.CRASH_POINTS_TABLE, `${table}\n`);
  }
});

// ---------------------------------------------------------------------------------------------
// Flows: a fresh scenario each, its event, and what must hold once the redelivery is done
// ---------------------------------------------------------------------------------------------

interface Scenario {
  event: Record<string, unknown>;
  jobId?: string;
  /** Throws unless the end state is right; returns a short note for the table. `point`: the call the crash came right after. */
  check(finalBody: Record<string, unknown>, point?: string): Promise<string>;
}

interface Flow {
  name: string;
  path: ServedPath;
  prepare(): Promise<Scenario>;
}

const workbooksIn = (spaceId: string) => [...flatfile.workbooks.values()].filter((w) => w.spaceId === spaceId && w.name === WORKBOOK_NAME);
const guidesIn = (spaceId: string) => [...flatfile.documents.values()].filter((d) => d.spaceId === spaceId && d.title === GUIDE_TITLE);
const sheetsOf = (workbookId: string) => (flatfile.workbooks.get(workbookId)?.sheetIds ?? []).map((id) => flatfile.sheets.get(id)!);
const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: `Lovelace ${i}`, email: `ada${i}@example.com` });

async function trackedAsOpen(jobId: string): Promise<boolean> {
  const item = await raw.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: `${OPEN_JOB_KEY_PREFIX}${jobId}` } } }));
  return item.Item !== undefined;
}

/** The job ended complete, and is no longer tracked for the sweep. */
async function expectJobComplete(jobId: string): Promise<void> {
  const job = flatfile.jobs.get(jobId)!;
  expect(job.status, `job ${jobId}: ${JSON.stringify(job.outcome)} ${job.info}`).toBe("complete");
  expect(typeof job.outcome?.message === "string" && job.outcome.message.length > 0).toBe(true);
  expect(await trackedAsOpen(jobId), "a finished job is no longer tracked as open").toBe(false);
}

/** What reached the customer's AWS for one submission: objects under its key, its lines, its events. */
async function deliveredSubmission(of: { spaceId: string; workbookId: string; jobId: string }) {
  const key = submissionKey({ environmentId: ENVIRONMENT_ID, ...of });
  const listed = await s3Client().send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: key }));
  const objects = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k === key);
  const body = objects.length
    ? await (await s3Client().send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }))).Body!.transformToString()
    : "";
  const events = eventBus.events.filter((e) => (e.detail as { jobId?: string }).jobId === of.jobId);
  const eventIds = [...new Set(events.map((e) => (e.detail as { id?: string }).id))];
  return { key, objects, lines: body.split("\n").filter(Boolean).length, events: events.length, eventIds };
}

function noteOf(body: Record<string, unknown>, keys: string[]): string {
  const parts = keys
    .filter((k) => body[k] !== undefined && body[k] !== false)
    .map((k) => (body[k] === true ? k : `${k} ${JSON.stringify(body[k])}`));
  return parts.join(", ");
}

const FLOWS: Flow[] = [
  {
    name: "configure",
    path: "/space-configure",
    async prepare() {
      const space = flatfile.seed.space({ name: "Crash", metadata: { locale: "en-US" } });
      const user = flatfile.seed.user({ email: "ada@example.com", name: "Ada" });
      const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id });
      return {
        event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id, actorId: user.id }),
        jobId: job.id,
        async check(body) {
          await expectJobComplete(job.id);
          const books = workbooksIn(space.id);
          expect(books, "workbooks").toHaveLength(1);
          expect(guidesIn(space.id), "guides").toHaveLength(1);
          const state = readSpaceState(flatfile.spaces.get(space.id)?.metadata);
          expect(state?.workbookId).toBe(books[0]!.id);
          expect(state?.guideDocumentId).toBe(guidesIn(space.id)[0]!.id);
          return `job complete; 1 workbook, 1 guide${noteOf(body, ["status", "reused", "repaired", "replayed"]) ? `; ${noteOf(body, ["status", "reused", "repaired", "replayed"])}` : ""}`;
        },
      };
    },
  },
  {
    name: "duplicate",
    path: "/action-job",
    async prepare() {
      const c = await seedConfiguredSpace(flatfile, { contacts: 3, orders: 1 });
      const job = flatfile.seed.job({ job: "sheet:duplicate", spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId });
      return {
        event: jobReadyEvent({
          job: "sheet:duplicate",
          jobId: job.id,
          spaceId: c.spaceId,
          workbookId: c.workbookId,
          sheetId: c.contactsId,
          sheetSlug: "contacts",
        }),
        jobId: job.id,
        async check(body) {
          await expectJobComplete(job.id);
          const sheets = sheetsOf(c.workbookId);
          const copies = sheets.filter((s) => s.slug.includes("-copy-"));
          expect(
            copies.map((s) => s.slug),
            "copies",
          ).toHaveLength(1);
          expect(flatfile.sheets.get(c.contactsId)?.config.readonly, "the original is locked").toBe(true);
          expect(guidesIn(c.spaceId), "guides").toHaveLength(1);
          return `job complete; 1 copy, original locked${noteOf(body, ["status", "reusedCopy", "replayed"]) ? `; ${noteOf(body, ["status", "reusedCopy", "replayed"])}` : ""}`;
        },
      };
    },
  },
  {
    name: "submit",
    path: "/action-job",
    async prepare() {
      const c = await seedConfiguredSpace(flatfile, { contacts: 2, orders: 1 });
      const user = flatfile.seed.user({ email: "grace@example.com", name: "Grace" });
      const job = flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.workbookId });
      return {
        event: jobReadyEvent({
          job: "workbook:submitActionFg",
          jobId: job.id,
          spaceId: c.spaceId,
          workbookId: c.workbookId,
          actorId: user.id,
        }),
        jobId: job.id,
        async check(body, point) {
          await expectJobComplete(job.id);
          expect(flatfile.jobs.get(job.id)?.outcome?.heading).toBe("Submitted");
          const delivered = await deliveredSubmission({ spaceId: c.spaceId, workbookId: c.workbookId, jobId: job.id });
          expect(delivered.objects, "one object for the submission").toEqual([delivered.key]);
          expect(delivered.lines, "the object holds every record once").toBe(3);
          // The one point where "once" cannot hold: EventBridge took the event and the invocation
          // died before the marker was written, so the retry cannot know (docs/submissions.md#once).
          const unmarked = point?.endsWith("eventbridge.PutEvents") === true;
          expect(delivered.eventIds, "one event id for the submission").toEqual([job.id]);
          expect(delivered.events, "events for the submission").toBe(unmarked ? 2 : 1);
          if (unmarked) return `job complete; sheets locked; 1 object, 2 events with one detail.id (the marker was not written)`;
          expect(
            sheetsOf(c.workbookId).every((s) => s.config.readonly === true),
            "every sheet read-only",
          ).toBe(true);
          expect(guidesIn(c.spaceId), "guides").toHaveLength(1);
          return `job complete; sheets locked; 1 object, 1 event${noteOf(body, ["status", "replayed"]) ? `; ${noteOf(body, ["status", "replayed"])}` : ""}`;
        },
      };
    },
  },
  {
    name: "commit",
    path: "/commit-created",
    async prepare() {
      const c = await seedConfiguredSpace(flatfile, { contacts: 0, orders: 0 });
      const { commitId } = flatfile.seed.commit(c.contactsId, { insert: [contact(1), contact(2)] });
      return {
        event: commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, commitId }),
        async check(body) {
          expect(body.ignored, JSON.stringify(body)).not.toBe(true);
          expect(guidesIn(c.spaceId), "guides").toHaveLength(1);
          expect(workbooksIn(c.spaceId), "workbooks").toHaveLength(1);
          const guide = guidesIn(c.spaceId)[0]!;
          expect(guide.body, "the guide shows the commit's count").toMatch(/Contacts<\/strong>: 2 records/);
          return `guide shows 2 records${noteOf(body, ["guide", "replayed"]) ? `; ${noteOf(body, ["guide", "replayed"])}` : ""}`;
        },
      };
    },
  },
  {
    // The customer's listener (listener/index.ts): its plugin-job-handler action, run at most once.
    name: "listener action",
    path: "/listener",
    async prepare() {
      const space = flatfile.seed.space({ name: "Crash listener" });
      const job = flatfile.seed.job({ job: "workbook:myAction", spaceId: space.id });
      return {
        event: jobReadyEvent({ job: "workbook:myAction", jobId: job.id, spaceId: space.id }),
        jobId: job.id,
        async check(body) {
          const ended = flatfile.jobs.get(job.id)!;
          const completes = flatfile.requests.filter((r) => r.route === "jobs.complete" && r.path.includes(job.id));
          expect(completes.length, "the listener's job completed at most once").toBeLessThanOrEqual(1);
          expect(await trackedAsOpen(job.id), "an ended job is no longer tracked as open").toBe(false);
          if (ended.status === "complete") {
            expect(ended.outcome?.message).toBe("The example action ran.");
            return `job complete${noteOf(body, ["job", "replayed"]) ? `; ${noteOf(body, ["job", "replayed"])}` : ""}`;
          }
          // Taken and not seen ending (or, on a slow machine, out of time before the kill): ended
          // with the route's sentence, not run a second time.
          expect(ended.status, `job ${job.id}: ${JSON.stringify(ended.outcome)} ${ended.info}`).toBe("failed");
          expect(ended.outcome?.heading).toBe(FAILED_HEADINGS.unexpected);
          const message = String(ended.outcome?.message);
          expect(message).toMatch(/^This job did not finish: (it was interrupted|it did not finish within)/);
          expect(completes, "not run again").toHaveLength(0);
          return `job failed: ${/interrupted/.test(message) ? "interrupted" : "out of time"}, not run again`;
        },
      };
    },
  },
  {
    name: "listener commit",
    path: "/listener",
    async prepare() {
      const c = await seedConfiguredSpace(flatfile, { contacts: 0, orders: 0 });
      const { commitId } = flatfile.seed.commit(c.contactsId, {
        insert: [
          { ...contact(1), email: " Ada1@Example.COM" },
          { ...contact(2), email: "ada2@example.com " },
        ],
      });
      return {
        event: {
          ...commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, sheetSlug: "contacts", commitId }),
          dataUrl: `v1/sheets/${c.contactsId}/records?commitId=${commitId}`,
        },
        async check(body) {
          expect(body.ignored, JSON.stringify(body)).not.toBe(true);
          const { data } = await createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url }).records.get(c.contactsId);
          expect(data.records.map((r) => r.values.email?.value)).toEqual(["ada1@example.com", "ada2@example.com"]);
          return `addresses written back normalised${noteOf(body, ["handlers", "replayed"]) ? `; ${noteOf(body, ["handlers", "replayed"])}` : ""}`;
        },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// The relay's redelivery
// ---------------------------------------------------------------------------------------------

interface Redelivery {
  ok: boolean;
  statuses: string[];
  finalBody: Record<string, unknown>;
}

/** What the relay does next: its own delivery loop (backoff, Retry-After) within its bound. */
async function redeliverAsRelay(path: ServedPath, event: Record<string, unknown>): Promise<Redelivery> {
  const statuses: string[] = [];
  let finalBody: Record<string, unknown> = {};
  const deps = {
    ...defaultDeps(),
    log: () => undefined,
    fetch: (async (url: string | URL | Request, init?: RequestInit) => {
      const response = await fetch(url, init);
      const text = await response.clone().text();
      const retryAfter = response.headers.get("retry-after");
      statuses.push(retryAfter ? `${response.status} (Retry-After ${retryAfter})` : String(response.status));
      try {
        finalBody = JSON.parse(text) as Record<string, unknown>;
      } catch {
        finalBody = { raw: text };
      }
      return response;
    }) as typeof fetch,
  };
  const started = Date.now();
  const result = await deliver(
    {
      url: `${gateway.url}${path}`,
      rawBody: JSON.stringify(event),
      signingSecret,
      deadline: started + RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs,
    },
    deps,
  );
  return { ok: result.ok, statuses, finalBody };
}

// ---------------------------------------------------------------------------------------------
// The suite
// ---------------------------------------------------------------------------------------------

async function pool<T>(items: T[], size: number, run: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(size, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(item);
    }),
  );
}

const labelOf = (run: CrashRun) => {
  const last = run.calls.at(-1);
  return last ? `call ${last.index}: ${last.route ?? `${last.method} ${last.path}`}` : "no call";
};

describe.concurrent("crash points: killed right after each Flatfile call, then redelivered by the relay", () => {
  for (const flow of FLOWS) {
    it(`${flow.name}: every crash point ends with the job complete (a listener job it had taken: failed with a sentence) and nothing made twice`, async () => {
      // A clean run through the same proxy lists the calls the flow makes.
      const clean = await flow.prepare();
      const baseline = await invokeAndCrash(setup, flow.path, clean.event, { remainingMs: 25_000 });
      expect(baseline.crashed).toBe(false);
      expect(baseline.answer?.status, baseline.answer?.body).toBe(200);
      await clean.check(JSON.parse(baseline.answer!.body) as Record<string, unknown>);
      const calls = baseline.calls.length;
      expect(calls, "the flow calls Flatfile").toBeGreaterThan(1);
      expect(baseline.calls.map((c) => c.route)).not.toContain("jobs.retry");

      const results: { n: number; row: Row; problem?: string }[] = [];
      await pool(
        Array.from({ length: calls }, (_, i) => i + 1),
        concurrencyFor(calls),
        async (n) => {
          let scenario = await flow.prepare();
          let crash = await invokeAndCrash(setup, flow.path, scenario.event, { cutAfter: n, remainingMs: CHILD_REMAINING_MS[0]! });
          if (!crash.crashed) {
            scenario = await flow.prepare();
            crash = await invokeAndCrash(setup, flow.path, scenario.event, { cutAfter: n, remainingMs: CHILD_REMAINING_MS[1]! });
          }
          const point = crash.crashed
            ? labelOf(crash)
            : `(answered ${crash.answer?.status} after ${crash.calls.length} calls, before call ${n})`;
          const redelivery = await redeliverAsRelay(flow.path, scenario.event);
          const row: Row = { flow: flow.name, point, redelivery: redelivery.statuses.join(" → "), outcome: "" };
          try {
            expect(crash.crashed, `crash point ${n} was reached`).toBe(true);
            expect(redelivery.ok, `the relay's redelivery got through: ${row.redelivery}`).toBe(true);
            row.outcome = await scenario.check(redelivery.finalBody, point);
            results.push({ n, row });
          } catch (error) {
            row.outcome = `FAILED: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`;
            results.push({ n, row, problem: `${flow.name} ${point}: ${row.outcome} (redelivery ${row.redelivery})` });
          }
        },
      );
      results.sort((a, b) => a.n - b.n);
      rows.push(...results.map((r) => r.row));
      expect(results.filter((r) => r.problem).map((r) => r.problem)).toEqual([]);
      expect(flatfile.requests.filter((r) => r.route === "jobs.retry")).toEqual([]);
    }, 240_000);
  }
});
