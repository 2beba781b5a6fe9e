/**
 * Reliability and security suite (issue 9): the three routes over HTTP through the local gateway,
 * against the Flatfile stand-in, a local DynamoDB and a local Secrets Manager, under faults, floods
 * and hostile input. Fixed seeds, bounded counts and times. After every scenario: every answer
 * matches the contract, rejected input made no Flatfile call, no acknowledged job is left open and
 * nothing was made twice. Ends with one summary line.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { startFlatfileStandIn, type FlatfileStandIn, type RequestLogEntry } from "../../../local/flatfile-stand-in";
import { startGateway, type LocalGateway, type RoutePath } from "../../../local/gateway";
import { routes } from "../../../local/routes";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../../local/secrets-manager-stand-in";
import { resetSettingsCache } from "../../../shared/core/config";
import { MAX_BODY_BYTES } from "../../../shared/core/envelope";
import { logger } from "../../../shared/core/logger";
import { signPayload } from "../../../shared/core/signature";
import { WORKBOOK_NAME } from "../../../shared/domain/blueprint";
import { renderProgress } from "../../../shared/domain/guide";
import { guideSection as readSection } from "../../support/guide";
import { resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { copySlugFor } from "../../../functions/action-job/duplicate-sheet";
import { GUIDE_TITLE, readSpaceState, type SpaceState } from "../../../shared/flatfile/space-state";
import { createFlatfileClient } from "../../../shared/core/flatfile-client";
import { OPEN_JOB_BOUND_MS, openJobStore } from "../../../shared/core/open-jobs";
import { sweepOpenJobs, type SweepReport } from "../../../functions/job-sweep/sweep";
import {
  defaultDeps,
  relayEvent,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  type RelayDeps,
  type RetryBound,
} from "../../../infra/relay/forward";
import { MAX_SPACE_METADATA_CHARS } from "../../../shared/core/bounds";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";
import { startRecorder, startRedirector, startStreamer } from "../../support/hostile-servers";
import { ACCOUNT_ID, ENVIRONMENT_ID, commitCreatedEvent, jobReadyEvent } from "../../support/harness";
import { relayUnderFlood, SHORT_BOUND, SHORT_WINDOW_MS } from "../../support/virtual-flood";
import {
  attack,
  captureLogs,
  counters,
  fault,
  newSigningSecret,
  prng,
  send,
  shuffle,
  sleep,
  startBlackHole,
  startReferenceApi,
  type Answer,
  type LogCapture,
  type ReferenceApi,
  type SendOptions,
} from "./support";

const SECRET_ID = "flatfile/space-configurator/chaos";
const FC_SEED = 90_2024;
const FC_RUNS = 300;
/** The Lambda timeout the short gateway tells handlers: work deadline 1 s, final deadline 5 s. */
const SHORT_TIMEOUT_MS = 6_000;

let flatfile: FlatfileStandIn;
let dynamo: LocalDynamo;
let secrets: SecretsManagerStandIn;
let reference: ReferenceApi;
let hangingReference: ReferenceApi;
let gateway: LocalGateway;
let shortGateway: LocalGateway;
let smallGateway: LocalGateway;
let signingSecret: string;
let logs: LogCapture | undefined;

/** Jobs an owned delivery reached, with the scenario that made them: each must end complete or failed with a message. */
const ownedJobs = new Map<string, number>();
const own = (jobId: string) => ownedJobs.set(jobId, counters.scenarios);
/** Duplicate-sheet jobs delivered, by workbook: each may leave exactly one copy. */
const duplicateJobs = new Map<string, Set<string>>();

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
  dynamo = await startLocalDynamo();
  signingSecret = newSigningSecret();
  secrets = await startSecretsManagerStandIn({ [SECRET_ID]: { apiKey: flatfile.apiKey, signingSecret } });
  reference = await startReferenceApi({ mode: "ok" });
  hangingReference = await startReferenceApi({ mode: "hang" });
  const env: Record<string, string | undefined> = {
    ...dynamoEnv(dynamo),
    FLATFILE_SECRET_ID: SECRET_ID,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_ENVIRONMENT_ID: ENVIRONMENT_ID,
    REFERENCE_DATA_URL: reference.url,
    FLATFILE_API_KEY: undefined,
    FLATFILE_SIGNING_SECRET: undefined,
    COMMIT_SELF_ACTOR_IDS: undefined,
    POWERTOOLS_LOG_LEVEL: "DEBUG",
  };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  resetSettingsCache();
  resetReferenceDataCache();
  logger.setLogLevel("DEBUG");
  // Unthrottled: this suite drives the handlers faster than the stage's throttle lets anyone
  // (300 hostile inputs in a few seconds); the flood scenarios run their own throttled gateway.
  gateway = await startGateway({ port: 0, routes, throttle: false });
  shortGateway = await startGateway({ port: 0, routes, timeoutMs: SHORT_TIMEOUT_MS, throttle: false });
  smallGateway = await startGateway({ port: 0, routes, maxBodyBytes: 2 * MAX_BODY_BYTES, throttle: false });
  logs = captureLogs();
});

afterAll(async () => {
  const lines = logs?.lines ?? [];
  logs?.restore();
  const secretsInLogs = lines.filter(
    (l) => (flatfile && l.includes(flatfile.apiKey)) || (signingSecret && l.includes(signingSecret)),
  ).length;
  const open = flatfile ? openJobs() : [];
  const dups = flatfile ? duplicates() : [];
  const retried = flatfile ? flatfile.requests.filter((r) => r.route === "jobs.retry").length : 0;
  // Every job tracked as open must have ended: a sweep as late as it can be fails nothing.
  const lateSweep: SweepReport | undefined = flatfile && dynamo ? await sweepEverything().catch(() => undefined) : undefined;
  console.log(
    `reliability: ${counters.scenarios} scenarios, ${counters.faults} faults injected, ${counters.hostile} hostile inputs, ${counters.attacks} attacks, ` +
      `jobs left open ${open.length}, duplicates ${dups.length}, secrets in logs ${secretsInLogs}, ` +
      `jobs.retry calls ${retried}, jobs left for the sweep ${lateSweep ? lateSweep.swept.length + lateSweep.deferred.length : "?"}`,
  );
  await Promise.allSettled([gateway?.close(), shortGateway?.close(), smallGateway?.close()]);
  await Promise.allSettled([flatfile?.close(), dynamo?.close(), secrets?.close(), reference?.close(), hangingReference?.close()]);
  if (counters.scenarios > 0) expect(lines.length, "the log capture saw the handlers' log lines").toBeGreaterThan(0);
  expect(open, "jobs left open").toEqual([]);
  expect(dups, "duplicates").toEqual([]);
  expect(retried, "jobs.retry is never called").toBe(0);
  expect(lateSweep, "the late sweep ran").toBeDefined();
  expect(lateSweep!.swept, "jobs only the sweep would have ended").toEqual([]);
  expect(lateSweep!.deferred).toEqual([]);
  expect(secretsInLogs, "log lines with a secret").toBe(0);
  expect(counters.contractViolations, "answers outside the contract").toEqual([]);
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Event = Record<string, unknown>;

interface DeliverOptions extends SendOptions {
  via?: LocalGateway;
}

function deliver(path: RoutePath, event: Event | string | Buffer, options: DeliverOptions = {}): Promise<Answer> {
  const body = typeof event === "string" || Buffer.isBuffer(event) ? event : JSON.stringify(event);
  return send((options.via ?? gateway).url, path, body, signingSecret, options);
}

/** The sweep as the schedule runs it, over the suite's table; `now` past the bound by `lateByMs`. */
function sweepEverything(lateByMs = 1_000): Promise<SweepReport> {
  const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  return sweepOpenJobs({ api, store: openJobStore(dynamo.table), now: Date.now() + OPEN_JOB_BOUND_MS + lateByMs, batch: 10_000 });
}

/** Flatfile requests from now on. */
function mark() {
  const start = flatfile.requests.length;
  return {
    all: (): RequestLogEntry[] => flatfile.requests.slice(start),
    writes: (): RequestLogEntry[] => flatfile.requests.slice(start).filter((r) => r.method !== "GET"),
  };
}

const routesOf = (entries: RequestLogEntry[]) => entries.map((r) => `${r.route}:${r.status}`);

/** As the relay does after a 5xx: the fault is gone, the same event is delivered again. */
async function redeliver(path: RoutePath, event: Event, options: DeliverOptions = {}): Promise<Answer> {
  flatfile.faults.clear();
  let answer = await deliver(path, event, options);
  for (let attempt = 1; attempt < 4 && answer.status >= 500; attempt++) {
    await sleep(100 * attempt);
    answer = await deliver(path, event, options);
  }
  return answer;
}

/** Input the contract rejects: the status expected, and no Flatfile request of any kind. */
async function rejected(path: RoutePath, event: Event | string | Buffer, status: number, options: DeliverOptions = {}): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).toBe(status);
  expect(routesOf(m.all()), "a rejected input called Flatfile").toEqual([]);
  return answer;
}

/** Malformed in a way the contract lets the route answer 400 or ignore: either way, no Flatfile request. */
async function refused(path: RoutePath, event: Event | string, options: DeliverOptions = {}): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  const ok = answer.status === 400 || (answer.status === 200 && answer.body.ignored === true);
  expect(ok, `${path}: ${answer.status} ${answer.text.slice(0, 200)}`).toBe(true);
  expect(routesOf(m.all()), "a refused input called Flatfile").toEqual([]);
  return answer;
}

/** An event the route does not own: 200 ignored, no Flatfile request. */
async function ignored(path: RoutePath, event: Event | string, options: DeliverOptions = {}): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body).toMatchObject({ ignored: true, reason: expect.any(String) });
  expect(routesOf(m.all()), "an ignored event called Flatfile").toEqual([]);
  return answer;
}

function stateOf(spaceId: string): SpaceState | undefined {
  return readSpaceState(flatfile.spaces.get(spaceId)?.metadata);
}

function jobStatus(jobId: string): { status: string | undefined; message: unknown; heading: unknown; info: unknown } {
  const job = flatfile.jobs.get(jobId);
  return { status: job?.status, message: job?.outcome?.message, heading: job?.outcome?.heading, info: job?.info };
}

/** What a temporary failure leaves: the job executing, saying it retries, for the redelivery to resume. */
const LEFT_OPEN_FOR_RETRY = { status: "executing", info: expect.stringMatching(/temporarily unavailable .*retrying automatically/) };

interface ConfigureJob {
  spaceId: string;
  jobId: string;
  event: Event;
}

function newConfigureJob(name: string, metadata: Record<string, unknown> = { locale: "en-US" }): ConfigureJob {
  const space = flatfile.seed.space({ name, metadata });
  const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  own(job.id);
  return { spaceId: space.id, jobId: job.id, event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }) };
}

interface Configured {
  spaceId: string;
  state: SpaceState;
  workbookId: string;
  contactsId: string;
  ordersId: string;
}

async function configuredSpace(name: string): Promise<Configured> {
  const c = newConfigureJob(name);
  const answer = await deliver("/space-configure", c.event);
  expect(answer.status, answer.text).toBe(200);
  return configuredFrom(c.spaceId);
}

function configuredFrom(spaceId: string): Configured {
  const state = stateOf(spaceId);
  if (!state) throw new Error(`space ${spaceId} was not configured`);
  const contactsId = state.sheets.contacts;
  const ordersId = state.sheets.orders;
  if (!contactsId || !ordersId) throw new Error(`space ${spaceId} has no contacts/orders sheets`);
  return { spaceId, state, workbookId: state.workbookId, contactsId, ordersId };
}

function actionJob(c: Configured, job: "sheet:duplicate" | "workbook:submitActionFg"): { jobId: string; event: Event } {
  // Duplicate the Contacts sheet people work in now: after a duplicate, that is the copy.
  const sheetId = job === "sheet:duplicate" ? (stateOf(c.spaceId)?.sheets.contacts ?? c.contactsId) : undefined;
  const seeded = flatfile.seed.job({ job, spaceId: c.spaceId, workbookId: c.workbookId, ...(sheetId ? { sheetId } : {}) });
  own(seeded.id);
  if (job === "sheet:duplicate") {
    const set = duplicateJobs.get(c.workbookId) ?? new Set<string>();
    set.add(seeded.id);
    duplicateJobs.set(c.workbookId, set);
  }
  const event = jobReadyEvent({
    job,
    jobId: seeded.id,
    spaceId: c.spaceId,
    workbookId: c.workbookId,
    ...(sheetId ? { sheetId, sheetSlug: "contacts" } : {}),
  });
  return { jobId: seeded.id, event };
}

const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: `Lovelace ${i}`, email: `ada${i}@example.com` });

function commitOn(c: Configured, sheetId: string, rows: Record<string, unknown>[], invalid = 0): Event {
  const { commitId } = flatfile.seed.commit(sheetId, { insert: rows, invalid });
  return commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId, commitId });
}

/** Acknowledged jobs (of one scenario, or all) that are not `complete`/`failed` with a message. */
function openJobs(scenarioNo?: number): string[] {
  const open: string[] = [];
  for (const [id, no] of ownedJobs) {
    if (scenarioNo !== undefined && no !== scenarioNo) continue;
    const { status, message } = jobStatus(id);
    if ((status !== "complete" && status !== "failed") || typeof message !== "string" || message.trim() === "") {
      open.push(`${id}: ${status} ${JSON.stringify(message)}`);
    }
  }
  return open;
}

/** Workbooks, sheets or guide documents made more than once. */
function duplicates(): string[] {
  const found: string[] = [];
  for (const space of flatfile.spaces.values()) {
    const books = [...flatfile.workbooks.values()].filter((w) => w.spaceId === space.id && w.name === WORKBOOK_NAME);
    if (books.length > 1) found.push(`${space.id}: ${books.length} workbooks`);
    const guides = [...flatfile.documents.values()].filter((d) => d.spaceId === space.id && d.title === GUIDE_TITLE);
    if (guides.length > 1) found.push(`${space.id}: ${guides.length} guides`);
    for (const book of books) {
      const slugs = book.sheetIds.map((id) => flatfile.sheets.get(id)?.slug ?? "?");
      if (new Set(slugs).size !== slugs.length) found.push(`${book.id}: repeated sheet slugs ${slugs.join(",")}`);
      const copies = slugs.filter((s) => s.includes("-copy-"));
      const jobs = duplicateJobs.get(book.id) ?? new Set<string>();
      const expected = new Set([...jobs].map((jobId) => copySlugFor("contacts", jobId)));
      const strays = copies.filter((s) => !expected.has(s));
      if (strays.length > 0 || copies.length > jobs.size) found.push(`${book.id}: ${copies.length} copies for ${jobs.size} duplicate jobs`);
    }
  }
  return found;
}

/**
 * One working set per space: every working sheet in our state is in our workbook and is not a
 * snapshot; every snapshot is in the workbook, locked; the guide has one progress section.
 */
function workingSetViolations(): string[] {
  const found: string[] = [];
  for (const space of flatfile.spaces.values()) {
    const state = stateOf(space.id);
    if (!state) continue;
    const book = flatfile.workbooks.get(state.workbookId);
    if (!book) continue;
    const archived = new Set((state.archived ?? []).map((a) => a.sheetId));
    for (const [role, id] of Object.entries(state.sheets)) {
      if (!book.sheetIds.includes(id)) found.push(`${space.id}: working ${role} sheet ${id} is not in the workbook`);
      if (archived.has(id)) found.push(`${space.id}: working ${role} sheet ${id} is also a snapshot`);
    }
    for (const id of archived) {
      const config = flatfile.sheets.get(id)?.config;
      if (!config || config.readonly !== true || !Array.isArray(config.access) || config.access.length > 0)
        found.push(`${space.id}: snapshot ${id} is not locked`);
    }
    const body = flatfile.documents.get(state.guideDocumentId)?.body ?? "";
    if (body.split("<h2>Progress</h2>").length > 2) found.push(`${space.id}: the guide has more than one progress section`);
  }
  return found;
}

/** Every scenario: counted, faults cleared after, invariants checked. */
function scenario(name: string, body: () => Promise<void>, timeoutMs = 20_000): void {
  it(
    name,
    async () => {
      counters.scenarios += 1;
      const violations = counters.contractViolations.length;
      try {
        await body();
      } finally {
        flatfile.faults.clear();
        secrets.faults = { latencyMs: 0, down: false };
        process.env.REFERENCE_DATA_URL = reference.url;
      }
      expect(counters.contractViolations.slice(violations), "answers outside the contract").toEqual([]);
      expect(openJobs(counters.scenarios), "jobs left open").toEqual([]);
      expect(duplicates(), "duplicates").toEqual([]);
      expect(workingSetViolations(), "working sets").toEqual([]);
    },
    timeoutMs,
  );
}

/** The space as a finished configure leaves it: state, one workbook, one guide, job complete. */
function expectConfigured(c: ConfigureJob): void {
  const state = stateOf(c.spaceId);
  expect(state, `space ${c.spaceId} has our state`).toBeDefined();
  expect(flatfile.spaces.get(c.spaceId)?.primaryWorkbookId).toBe(state!.workbookId);
  expect(flatfile.workbooks.has(state!.workbookId)).toBe(true);
  expect(flatfile.documents.get(state!.guideDocumentId)?.title).toBe(GUIDE_TITLE);
  expect(jobStatus(c.jobId)).toMatchObject({ status: "complete", message: expect.stringContaining("ready") });
}

// ---------------------------------------------------------------------------------------------
// Baseline
// ---------------------------------------------------------------------------------------------

describe("baseline: each route handles a good event over HTTP", () => {
  scenario("configure, commit, submit and duplicate all answer 200 and finish their jobs", async () => {
    const c = await configuredSpace("Baseline");
    const commit = await deliver("/commit-created", commitOn(c, c.contactsId, [contact(1), contact(2)]));
    expect(commit.status, commit.text).toBe(200);
    expect(commit.body).toMatchObject({ sheet: "contacts", guide: "updated" });
    const submit = actionJob(c, "workbook:submitActionFg");
    const s = await deliver("/action-job", submit.event);
    expect(s.status, s.text).toBe(200);
    expect(s.body).toMatchObject({ status: "complete", records: 2 });
    const dup = actionJob(c, "sheet:duplicate");
    const d = await deliver("/action-job", dup.event);
    expect(d.status, d.text).toBe(200);
    expect(d.body).toMatchObject({ status: "complete" });
  });
});

// ---------------------------------------------------------------------------------------------
// Flatfile faults
// ---------------------------------------------------------------------------------------------

describe("Flatfile faults", () => {
  scenario("a 429 burst on every endpoint is absorbed by the client's retries", async () => {
    const c = newConfigureJob("429 burst");
    flatfile.faults.statuses("*", [429, 429]);
    fault(2);
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("a 429 storm on the job lookup answers 5xx with no write, and a redelivery finishes", async () => {
    const c = newConfigureJob("429 storm");
    flatfile.faults.statuses("jobs.get", [429, 429, 429]);
    fault(3);
    const m = mark();
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.writes()), "writes while the job could not be looked up").toEqual([]);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  const configureWrites = ["workbooks.create", "documents.create", "spaces.update", "jobs.ack", "jobs.complete"] as const;
  for (const status of [500, 502, 503]) {
    for (const route of configureWrites) {
      scenario(`space-configure: ${status} on ${route} → 5xx, then a redelivery finishes once`, async () => {
        const c = newConfigureJob(`${status} on ${route}`);
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/space-configure", c.event);
        expect(a.status, a.text).toBeGreaterThanOrEqual(500);
        // Right after the 5xx the job is left executing for the retry, and says so (never failed as
        // temporary); after a failed space update the job is already complete.
        if (route !== "spaces.update") expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
        const b = await redeliver("/space-configure", c.event);
        expect(b.status, b.text).toBe(200);
        expectConfigured(c);
      });
    }
  }

  scenario(
    "action jobs and commit-created: 5xx on each of their writes, then a redelivery finishes",
    async () => {
      const c = await configuredSpace("Action writes");
      // commit-created: the guide update, then the workbook update (the submit action appears).
      // The first records make the submit action available; an unknown category extends the enum.
      const changes = [
        ["documents.update", 500, c.contactsId, [contact(10)]],
        ["workbooks.update", 502, c.ordersId, [{ orderId: "o-1", amount: 12, category: "vinyl" }]],
      ] as const;
      for (const [route, status, sheetId, rows] of changes) {
        const event = commitOn(c, sheetId, [...rows]);
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/commit-created", event);
        expect(a.status, `${route}: ${a.text}`).toBeGreaterThanOrEqual(500);
        const b = await redeliver("/commit-created", event);
        expect(b.status, b.text).toBe(200);
      }
      const guide = flatfile.documents.get(c.state.guideDocumentId)!;
      expect(readSection(guide.body, "progress")).toContain("<strong>Contacts</strong>: 1 record");
      expect(readSection(guide.body, "progress")).toContain("<strong>Orders</strong>: 1 record");
      const orders = flatfile.sheets.get(c.ordersId)!;
      expect(JSON.stringify(orders.config.fields)).toContain('"value":"vinyl"');

      // duplicate: the copy, the lock, the guide, the completion.
      for (const [route, status] of [
        ["sheets.duplicate", 500],
        ["workbooks.update", 502],
        ["documents.update", 503],
        ["jobs.complete", 500],
      ] as const) {
        const job = actionJob(c, "sheet:duplicate");
        flatfile.faults.statuses(route, [status, status, status]);
        fault(3);
        const a = await deliver("/action-job", job.event);
        expect(a.status, `${route}: ${a.text}`).toBeGreaterThanOrEqual(500);
        const b = await redeliver("/action-job", job.event);
        expect(b.status, b.text).toBe(200);
        expect(jobStatus(job.jobId)).toMatchObject({ status: "complete" });
      }
      // submit: the lock.
      const submit = actionJob(c, "workbook:submitActionFg");
      flatfile.faults.statuses("workbooks.update", [503, 503, 503]);
      fault(3);
      const a = await deliver("/action-job", submit.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      const b = await redeliver("/action-job", submit.event);
      expect(b.status, b.text).toBe(200);
      expect(jobStatus(submit.jobId)).toMatchObject({ status: "complete" });
    },
    30_000,
  );

  for (const route of ["workbooks.create", "spaces.get"] as const) {
    scenario(`a hang on ${route} past the client timeout → 5xx inside the Lambda timeout, then a redelivery finishes`, async () => {
      const c = newConfigureJob(`hang on ${route}`);
      flatfile.faults.hang(route, 1);
      fault();
      const a = await deliver("/space-configure", c.event, { via: shortGateway });
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(a.ms).toBeLessThan(SHORT_TIMEOUT_MS);
      expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
      const b = await redeliver("/space-configure", c.event);
      expect(b.status, b.text).toBe(200);
      expectConfigured(c);
    });
  }

  scenario("a hang on jobs.complete itself → 5xx inside the Lambda timeout; a redelivery completes the job", async () => {
    const c = newConfigureJob("hang on complete");
    flatfile.faults.hang("jobs.complete", 1);
    fault();
    const a = await deliver("/space-configure", c.event, { via: shortGateway });
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(a.ms).toBeLessThan(SHORT_TIMEOUT_MS);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("jobs.complete and jobs.fail both failing → 5xx; a redelivery completes the job", async () => {
    const c = newConfigureJob("complete and fail down");
    flatfile.faults.statuses("jobs.complete", [500, 500, 500]);
    flatfile.faults.statuses("jobs.fail", [503, 503, 503]);
    fault(6);
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });
});

// ---------------------------------------------------------------------------------------------
// A copy in flight, a relay that gives up, the sweep
// ---------------------------------------------------------------------------------------------

describe("no job left open", () => {
  scenario(
    "a copy arriving while the first is in progress → 503 with Retry-After, nothing written; the retry gets the first's answer",
    async () => {
      const c = newConfigureJob("copy in flight");
      flatfile.faults.latency("workbooks.create", 400);
      fault();
      const m = mark();
      const first = deliver("/space-configure", c.event);
      // The first is past its lock and waiting on Flatfile.
      for (let i = 0; i < 200 && !m.all().some((r) => r.route === "workbooks.create" && r.status === 0); i++) await sleep(10);
      const copy = await deliver("/space-configure", c.event);
      const whileCopy = m.all().length;
      expect(copy.status, copy.text).toBe(503);
      expect(Number(copy.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(Number(copy.headers["retry-after"])).toBeLessThanOrEqual(8);
      expect((await first).status).toBe(200);
      // Only the first worked: the copy added no call of its own (one job lookup per delivery that runs).
      expect(m.all().filter((r) => r.route === "jobs.get").length, `calls seen while the copy was answered: ${whileCopy}`).toBe(1);
      const retry = await deliver("/space-configure", c.event);
      expect(retry.status, retry.text).toBe(200);
      expect(retry.body).toMatchObject({ replayed: true, status: "complete" });
      expectConfigured(c);
    },
  );

  scenario(
    "a temporary failure the relay gives up on → the job stays executing, saying so, until the sweep fails it with a message",
    async () => {
      const c = newConfigureJob("relay gave up");
      flatfile.faults.statuses("documents.create", [503, 503, 503]);
      fault(3);
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(jobStatus(c.jobId)).toMatchObject(LEFT_OPEN_FOR_RETRY);
      // No redelivery comes. Inside the bound the sweep leaves it; past it, the sweep fails it.
      const early = await sweepOpenJobs({
        api: createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url }),
        store: openJobStore(dynamo.table),
        batch: 10_000,
      });
      expect(early.swept).not.toContain(c.jobId);
      const late = await sweepEverything();
      expect(late.swept).toContain(c.jobId);
      expect(jobStatus(c.jobId)).toMatchObject({
        status: "failed",
        heading: "Stopped",
        message: expect.stringMatching(/^Setting up this Space was stopped: .*create a new Space/),
      });
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Faults in the other parts
// ---------------------------------------------------------------------------------------------

describe("faults in Secrets Manager, DynamoDB and the reference-data API", () => {
  for (const kind of ["down", "500"] as const) {
    scenario(`Secrets Manager ${kind} → 5xx with no Flatfile call; a redelivery after recovery finishes`, async () => {
      const c = newConfigureJob(`secrets ${kind}`);
      resetSettingsCache();
      secrets.faults = kind === "down" ? { latencyMs: 0, down: true } : { latencyMs: 0, down: false, status: 500 };
      fault();
      const m = mark();
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(routesOf(m.all())).toEqual([]);
      secrets.faults = { latencyMs: 0, down: false };
      const b = await redeliver("/space-configure", c.event);
      expect(b.status, b.text).toBe(200);
      expectConfigured(c);
    });
  }

  scenario("Secrets Manager slow but inside its timeout → 200", async () => {
    const c = newConfigureJob("secrets slow");
    resetSettingsCache();
    secrets.faults = { latencyMs: 600, down: false };
    fault();
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("Secrets Manager slower than its timeout → 5xx in time, no Flatfile call", async () => {
    const c = newConfigureJob("secrets too slow");
    resetSettingsCache();
    secrets.faults = { latencyMs: 7_000, down: false };
    fault();
    const m = mark();
    // The config gives Secrets Manager 2 attempts of 2.5 s: the answer must come well before 8 s.
    const a = await deliver("/space-configure", c.event, { timeoutMs: 6_500 });
    expect.soft(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.all())).toEqual([]);
    secrets.faults = { latencyMs: 0, down: false };
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB down before the delivery → 5xx with no Flatfile call; a redelivery after restart finishes", async () => {
    const c = newConfigureJob("dynamo down");
    await dynamo.stop();
    fault();
    const m = mark();
    const a = await deliver("/space-configure", c.event);
    await dynamo.start();
    expect(a.status, a.text).toBeGreaterThanOrEqual(500);
    expect(routesOf(m.all())).toEqual([]);
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB hanging (accepts, never answers) → 5xx inside the Lambda timeout, no Flatfile call", async () => {
    const hole = await startBlackHole();
    const c = newConfigureJob("dynamo hangs");
    // A new table name makes the idempotency layer build a new client, on the hanging endpoint.
    process.env.IDEMPOTENCY_TABLE = "idempotency-blackhole";
    process.env.AWS_ENDPOINT_URL_DYNAMODB = hole.url;
    fault();
    const m = mark();
    try {
      // The layer gives DynamoDB 2 attempts of 2 s; the short gateway's Lambda has 6 s.
      const a = await deliver("/space-configure", c.event, { via: shortGateway, timeoutMs: SHORT_TIMEOUT_MS });
      expect.soft(a.status, a.text).toBeGreaterThanOrEqual(500);
      expect(routesOf(m.all())).toEqual([]);
    } finally {
      Object.assign(process.env, dynamoEnv(dynamo));
      await hole.close();
    }
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expectConfigured(c);
  });

  scenario("DynamoDB stopped part-way through a delivery → 5xx; a redelivery after restart changes nothing more", async () => {
    const c = newConfigureJob("dynamo part-way");
    flatfile.faults.latency("jobs.complete", 400);
    fault(2);
    const pending = deliver("/space-configure", c.event);
    // Stop once the handler is past the idempotency lock, while it waits on jobs.complete.
    for (let i = 0; i < 100 && !flatfile.requests.some((r) => r.route === "jobs.complete" && r.path.includes(c.jobId)); i++)
      await sleep(20);
    await dynamo.stop();
    const a = await pending;
    await dynamo.start();
    flatfile.faults.clear();
    expect([200, 500, 502, 503]).toContain(a.status);
    const before = mark();
    const b = await redeliver("/space-configure", c.event);
    expect(b.status, b.text).toBe(200);
    expect(routesOf(before.writes()).filter((r) => r.startsWith("workbooks.create") || r.startsWith("documents.create"))).toEqual([]);
    expectConfigured(c);
  });

  scenario("the reference-data API hanging → the bundled list, inside the budget", async () => {
    process.env.REFERENCE_DATA_URL = hangingReference.url;
    resetReferenceDataCache();
    fault();
    const c = newConfigureJob("reference hangs");
    const a = await deliver("/space-configure", c.event);
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ referenceData: "bundled" });
    expect(a.ms).toBeLessThan(5_000);
    expect(hangingReference.calls).toBeGreaterThan(0);
    expectConfigured(c);
    resetReferenceDataCache();
  });
});

// ---------------------------------------------------------------------------------------------
// Floods
// ---------------------------------------------------------------------------------------------

describe("floods", () => {
  const flooded: ConfigureJob[] = [];

  scenario(
    "50 concurrent configure deliveries over 10 spaces, with duplicates → one workbook and guide each",
    async () => {
      const random = prng(4242);
      const deliveries: { job: ConfigureJob; body: string }[] = [];
      for (let i = 0; i < 10; i++) {
        const job = newConfigureJob(`flood ${i}`, { locale: i % 2 ? "de-DE" : "en-GB" });
        flooded.push(job);
        const same = JSON.stringify(job.event);
        // Three copies of one event, and two more events (new event ids) for the same job.
        const again = () => JSON.stringify({ ...job.event, id: `us_evt_again${i}x${deliveries.length}` });
        deliveries.push({ job, body: same }, { job, body: same }, { job, body: same }, { job, body: again() }, { job, body: again() });
      }
      const answers = await Promise.all(
        shuffle(deliveries, random).map(async (d) => ({ d, a: await deliver("/space-configure", d.body) })),
      );
      for (const { d, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/space-configure", d.job.event)).status).toBe(200);
      }
      expect(answers.filter(({ a }) => a.status === 200 && a.body.status === "complete").length).toBeGreaterThanOrEqual(1);
      for (const job of flooded) expectConfigured(job);
    },
    30_000,
  );

  scenario(
    "50 concurrent action deliveries (duplicate and submit) over 10 spaces, with duplicates",
    async () => {
      expect(flooded).toHaveLength(10);
      const random = prng(777);
      const spaces = flooded.map((f) => configuredFrom(f.spaceId));
      spaces.slice(5, 8).forEach((c, i) => flatfile.seed.commit(c.contactsId, { insert: [contact(i), contact(i + 100)] }));
      const jobs = spaces.map((c, i) => ({ c, i, ...actionJob(c, i < 5 ? "sheet:duplicate" : "workbook:submitActionFg") }));
      const deliveries = jobs.flatMap((j) => [
        j,
        j,
        j,
        { ...j, event: { ...j.event, id: `us_evt_act${j.i}a` } },
        { ...j, event: { ...j.event, id: `us_evt_act${j.i}b` } },
      ]);
      const answers = await Promise.all(shuffle(deliveries, random).map(async (d) => ({ d, a: await deliver("/action-job", d.event) })));
      for (const { d, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/action-job", d.event)).status).toBe(200);
      }
      for (const j of jobs) {
        const expected = j.i < 8 ? "complete" : "failed";
        expect(jobStatus(j.jobId), `space ${j.i}`).toMatchObject({ status: expected, message: expect.any(String) });
        if (j.i < 5) {
          const book = flatfile.workbooks.get(j.c.workbookId)!;
          const copies = book.sheetIds
            .map((id) => flatfile.sheets.get(id)?.slug ?? "")
            .filter((s) => s === copySlugFor("contacts", j.jobId));
          expect(copies).toHaveLength(1);
        }
      }
    },
    30_000,
  );

  scenario("duplicate, submit and a commit on one workbook at once → every job's promise still holds afterwards", async () => {
    const c = await configuredSpace("one workbook, three writers");
    const commit = commitOn(c, c.contactsId, [contact(1), contact(2)]);
    const dup = actionJob(c, "sheet:duplicate");
    const submit = actionJob(c, "workbook:submitActionFg");
    // The copy takes a moment: submit locks the sheets meanwhile, from the same first read.
    flatfile.faults.latency("sheets.duplicate", 300);
    fault();
    const answers = await Promise.all([
      deliver("/action-job", dup.event),
      deliver("/action-job", submit.event),
      deliver("/commit-created", commit),
    ]);
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const submitted = answers[1]!.body;
    expect(submitted).toMatchObject({ status: "complete" });
    const book = flatfile.workbooks.get(c.workbookId)!;
    const sheets = book.sheetIds.map((id) => flatfile.sheets.get(id)!);
    const bySlug = (slug: string) => sheets.find((s) => s.slug === slug);
    // duplicate: the copy exists and the original is locked.
    expect(bySlug(copySlugFor("contacts", dup.jobId)), "the copy the duplicate job points to").toBeDefined();
    expect(bySlug("contacts")?.config).toMatchObject({ readonly: true, access: [] });
    // submit: "Its sheets are now read-only" — every sheet it reports locked still is.
    for (const slug of submitted.lockedSheets as string[]) {
      expect(bySlug(slug)?.config, `sheet ${slug}, locked by the submit job, is still read-only`).toMatchObject({
        readonly: true,
        access: [],
      });
    }
  });

  scenario(
    "a burst of 20 commits on one sheet, delivered at once with duplicates → the guide shows the last count",
    async () => {
      const c = await configuredSpace("commit burst");
      const random = prng(99);
      const events: Event[] = [];
      for (let i = 0; i < 20; i++) events.push(commitOn(c, c.contactsId, [contact(i)], i % 5 === 0 ? 1 : 0));
      const deliveries = [...events, ...events.slice(0, 10)];
      const answers = await Promise.all(shuffle(deliveries, random).map(async (e) => ({ e, a: await deliver("/commit-created", e) })));
      for (const { e, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/commit-created", e)).status).toBe(200);
      }
      // A late, single delivery of the last commit (as a relay retry would) settles nothing new.
      const m = mark();
      const last = await deliver("/commit-created", events.at(-1)!);
      expect(last.status).toBe(200);
      expect(routesOf(m.writes())).toEqual([]);
      const guide = flatfile.documents.get(c.state.guideDocumentId)!;
      const expected = renderProgress([
        { role: "contacts", sheetName: "Contacts", total: 20, valid: 16, error: 4 },
        { role: "orders", sheetName: "Orders", total: 0, valid: 0, error: 0 },
      ]);
      expect(readSection(guide.body, "progress")?.trim()).toBe(expected.trim());
    },
    30_000,
  );

  // Floods from strangers (issue 13 §5): unsigned requests through a gateway that throttles like
  // the stage, while the relay's own code delivers real events (virtual time, short bound;
  // test/support/virtual-flood.ts).
  const relayFlooded = (plan: Parameters<typeof relayUnderFlood>[0]["plan"], jobs: ConfigureJob[]) =>
    relayUnderFlood({
      routes,
      flatfile: { url: flatfile.url, apiKey: flatfile.apiKey },
      signingSecret,
      plan,
      deliveries: jobs.map((job, i) => ({ name: `job ${i}`, event: job.event, jobId: job.jobId })),
    });

  scenario(
    "a flood of unsigned requests at 4x the route limit that stops within the relay's window delays relayed deliveries, loses none",
    async () => {
      attack();
      const jobs = [newConfigureJob("flooded 1"), newConfigureJob("flooded 2"), newConfigureJob("flooded 3")];
      const { relayed, flood } = await relayFlooded(
        (start) => ({
          kind: "paced",
          routes: ["/space-configure", "/action-job", "/commit-created"],
          timesLimit: 4,
          from: start - 1_000,
          until: start + SHORT_WINDOW_MS / 3,
        }),
        jobs,
      );
      expect(Object.keys(flood.tally.statuses).sort(), "the flood met the throttle and the signature check only").toEqual(["401", "429"]);
      for (const { outcome } of relayed) expect(outcome).toMatchObject({ kind: "delivered", status: 200 });
      for (const job of jobs) expectConfigured(job);
    },
  );

  scenario("a flood that takes every token and outlasts the relay's window → each job ends failed, saying it was flooded", async () => {
    attack();
    const jobs = [newConfigureJob("starved 1"), newConfigureJob("starved 2")];
    const m = mark();
    const { relayed } = await relayFlooded(
      (start) => ({ kind: "saturating", routes: ["/space-configure"], from: start - 1_000, until: start + SHORT_BOUND.totalMs * 2 }),
      jobs,
    );
    for (const { outcome } of relayed) expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
    // Nothing reached the handlers but the flood's unsigned requests: the only Flatfile calls are the relay failing the jobs.
    expect(routesOf(m.all())).toEqual(jobs.map(() => "jobs.fail:200"));
    for (const job of jobs) {
      expect(stateOf(job.spaceId), "nothing was configured").toBeUndefined();
      expect(jobStatus(job.jobId)).toMatchObject({
        status: "failed",
        message: expect.stringContaining("most likely a flood from elsewhere"),
      });
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

/** An event shaped right, for a job that exists nowhere. */
function ghostEvent(job = "space:configure"): Event {
  return jobReadyEvent({
    job,
    jobId: "us_jb_ghost0001",
    spaceId: "us_sp_ghost0001",
    workbookId: "us_wb_ghost0001",
    sheetId: "us_sh_ghost0001",
  });
}

function without(event: Event, path: string[]): Event {
  const copy = JSON.parse(JSON.stringify(event)) as Event;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path.at(-1)!];
  return copy;
}

function withValue(event: Event, path: string[], value: unknown): Event {
  const copy = JSON.parse(JSON.stringify(event)) as Event;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== "object" || node[key] === null || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return copy;
}

describe("hostile input", () => {
  scenario("truncated JSON, wrong types and non-events → 400 with no Flatfile call", async () => {
    const c = newConfigureJob("truncated");
    ownedJobs.delete(c.jobId); // never delivered whole: stays ready
    const whole = JSON.stringify(c.event);
    for (const cut of [1, 10, Math.floor(whole.length / 2), whole.length - 1]) await rejected("/space-configure", whole.slice(0, cut), 400);
    for (const body of ["", " ", "null", "42", '"text"', "[]", "[{}]", "{}", "true", '{"id":1}']) await rejected("/action-job", body, 400);
    const wrongTypes: [string[], unknown][] = [
      [["id"], 123],
      [["topic"], ["job:ready"]],
      [["context"], "us_sp_x"],
      [["context", "spaceId"], 42],
      [["context", "jobId"], { id: c.jobId }],
      [["context", "environmentId"], null],
      [["context", "spaceId"], "us_sp_../../etc"],
      [["context", "jobId"], "us_jb_" + "a".repeat(65)],
    ];
    for (const [path, value] of wrongTypes) await rejected("/space-configure", withValue(c.event, path, value), 400);
    // A job name that is not a job name: not ours (ignored) or malformed (400), never a call.
    // A payload that is not an object carries no job: not ours (ignored) or 400, never a call.
    await refused("/space-configure", withValue(c.event, ["payload"], "space:configure"));
    for (const job of ["space configure", 42, null, ["space:configure"], "SPACE:CONFIGURE"]) {
      await refused("/space-configure", withValue(c.event, ["payload", "job"], job));
      await refused("/action-job", withValue(c.event, ["payload", "job"], job));
    }
    expect(jobStatus(c.jobId).status).toBe("ready");
  });

  scenario("a body over 1 MB → 400 from the handler; over the gateway's cap → 413; neither calls Flatfile", async () => {
    const big = withValue(ghostEvent(), ["payload", "input"], { blob: "x".repeat(MAX_BODY_BYTES) });
    await rejected("/space-configure", big, 400);
    const multibyte = withValue(ghostEvent(), ["payload", "input"], { blob: "é".repeat(MAX_BODY_BYTES / 2 + 10) });
    await rejected("/action-job", multibyte, 400);
    await rejected("/commit-created", "x".repeat(2 * MAX_BODY_BYTES + 1), 413, { via: smallGateway });
  });

  scenario("odd Unicode: in ids and topics → 400; in free text of a real event → handled normally", async () => {
    const odd = [
      "\u0000",
      "\uFEFF",
      "\u202Eevil",
      "us_sp_\u0661\u0662",
      "us_sp_ａｂｃ",
      "us_sp_a\u200Bb",
      "\uD800",
      "\uDFFF\uD800",
      "💥".repeat(50),
      "e\u0301",
    ];
    for (const s of odd) {
      await rejected("/space-configure", withValue(ghostEvent(), ["context", "spaceId"], s), 400);
      await rejected("/commit-created", withValue(ghostEvent(), ["id"], s), 400);
      await rejected("/action-job", withValue(ghostEvent(), ["topic"], `job:${s}`), 400);
    }
    await rejected("/space-configure", "\uFEFF" + JSON.stringify(ghostEvent()), 400);
    // Bytes that are not UTF-8, signed as bytes: what the handler verifies is the decoded text.
    const bytes = Buffer.concat([
      Buffer.from('{"id":"us_evt_'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(JSON.stringify(ghostEvent()).slice(1)),
    ]);
    const t = Math.floor(Date.now() / 1000);
    const overBytes = createHmac("sha256", signingSecret)
      .update(Buffer.concat([Buffer.from(`${t}.`), bytes]))
      .digest("hex");
    counters.hostile += 1;
    const m = mark();
    const raw = await deliver("/space-configure", bytes, { signature: `t=${t},v1=${overBytes}` });
    expect([400, 401], raw.text).toContain(raw.status);
    expect(routesOf(m.all())).toEqual([]);
    await rejected("/space-configure", bytes, 400, { signature: signPayload(bytes.toString("utf8"), signingSecret, t) });
    // Lone surrogates and control characters in fields nobody validates do not break a real job.
    const c = newConfigureJob("unicode \u202E 💥 \uD800");
    const event = withValue(withValue(c.event, ["payload", "input"], { note: "\uD800\u0000\u202E💥" }), ["context", "slugs"], {
      space: "ＳＰＡＣＥ\u200B",
    });
    const a = await deliver("/space-configure", event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("missing context fields → 400 with no Flatfile call", async () => {
    const configure = ghostEvent();
    // accountId is read by no route, so its absence is not a 400 (issue 12 §4).
    for (const key of ["environmentId", "spaceId", "jobId"]) await rejected("/space-configure", without(configure, ["context", key]), 400);
    await rejected("/space-configure", without(configure, ["context"]), 400);
    await rejected("/space-configure", without(configure, ["id"]), 400);
    await rejected("/space-configure", without(configure, ["topic"]), 400);
    const dup = ghostEvent("sheet:duplicate");
    for (const key of ["workbookId", "sheetId", "spaceId", "jobId"]) await rejected("/action-job", without(dup, ["context", key]), 400);
    await ignored("/action-job", without(dup, ["payload", "job"]));
    const commit = commitCreatedEvent({
      spaceId: "us_sp_ghost0001",
      workbookId: "us_wb_ghost0001",
      sheetId: "us_sh_ghost0001",
      commitId: "us_vr_ghost0001",
    });
    for (const key of ["sheetId", "workbookId", "spaceId"]) await rejected("/commit-created", without(commit, ["context", key]), 400);
    await rejected("/commit-created", without(without(commit, ["context", "commitId"]), ["context", "versionId"]), 400);
  });

  scenario("the wrong topic or job for a route → 200 ignored, nothing touched", async () => {
    const c = await configuredSpace("wrong topic");
    const configure = newConfigureJob("wrong topic job");
    ownedJobs.delete(configure.jobId);
    const commit = commitOn(c, c.contactsId, [contact(1)]);
    const dup = actionJob(c, "sheet:duplicate");
    ownedJobs.delete(dup.jobId);
    duplicateJobs.get(c.workbookId)?.delete(dup.jobId);
    await ignored("/commit-created", configure.event);
    await ignored("/action-job", configure.event);
    await ignored("/space-configure", commit);
    await ignored("/action-job", commit);
    await ignored("/space-configure", dup.event);
    await ignored("/commit-created", dup.event);
    await ignored("/action-job", withValue(dup.event, ["payload", "job"], "sheet:somebodyElses"));
    await ignored("/space-configure", withValue(configure.event, ["topic"], "job:completed"));
    await ignored("/action-job", withValue(dup.event, ["topic"], "job:failed"));
    await ignored("/space-configure", withValue(configure.event, ["topic"], "space:created"));
    expect(jobStatus(configure.jobId).status).toBe("ready");
    expect(jobStatus(dup.jobId).status).toBe("ready");
  });

  scenario("an action on a workbook this blueprint did not make → ignored, no write, job untouched", async () => {
    const space = flatfile.seed.space({ name: "foreign" });
    const book = flatfile.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] });
    const sheetId = book.sheets[0]!.id;
    const job = flatfile.seed.job({ job: "sheet:duplicate", spaceId: space.id, workbookId: book.id, sheetId });
    counters.hostile += 1;
    const m = mark();
    const a = await deliver(
      "/action-job",
      jobReadyEvent({ job: "sheet:duplicate", jobId: job.id, spaceId: space.id, workbookId: book.id, sheetId }),
    );
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ ignored: true });
    expect(routesOf(m.writes())).toEqual([]);
    expect(jobStatus(job.id).status).toBe("ready");
  });

  scenario("forged, stale, future and malformed signatures → 401 with no Flatfile call", async () => {
    const c = newConfigureJob("signatures");
    const body = JSON.stringify(c.event);
    const now = Math.floor(Date.now() / 1000);
    const good = signPayload(body, signingSecret, now);
    const v1 = good.split("v1=")[1]!;
    const headers: (string | null)[] = [
      null,
      "",
      signPayload(body, newSigningSecret(), now), // forged: another secret
      signPayload(body.replace("job:ready", "job:READY"), signingSecret, now), // another body
      `t=${now}`,
      `v1=${v1}`,
      `t=${now},v1=${v1.slice(0, 63)}`,
      `t=${now},v1=${v1}zz`,
      `t=${now},v1=${"g".repeat(64)}`,
      `t=${now},t=${now},v1=${v1}`,
      `t=${now}.5,v1=${v1}`,
      `t=-${now},v1=${v1}`,
      `t=${now},v0=${v1}`,
      `t=${now};v1=${v1}`,
      `t=${now},=${v1}`,
      `garbage`,
      `t=${now},v1=${v1},v1`,
      `T=${now},V1=${v1}`,
      `t=${"9".repeat(13)},v1=${v1}`,
      `t=${now},v1=${"0".repeat(64)},v1=${"f".repeat(64)}`,
    ];
    for (const signature of headers) await rejected("/space-configure", body, 401, { signature });
    // Just outside the window either way, signed at the moment of sending (a slow run must not
    // bring "the future" inside the window).
    for (const skew of [-301, 301]) {
      await rejected("/space-configure", body, 401, { signature: signPayload(body, signingSecret, Math.floor(Date.now() / 1000) + skew) });
    }
    // HMAC over the body with the timestamp of another request.
    await rejected("/space-configure", body, 401, { signature: `t=${now - 10},v1=${v1}` });
    // The same, right, body to the other routes with a forged signature.
    await rejected("/action-job", body, 401, { secret: "not-the-secret-at-all" });
    await rejected("/commit-created", body, 401, { secret: "not-the-secret-at-all" });
    expect(jobStatus(c.jobId).status).toBe("ready");
    // A rotation: a wrong v1 beside the right one is accepted, as are an unknown scheme and upper-case hex.
    const a = await deliver("/space-configure", body, { signature: `t=${now},v0=abc,v1=${"0".repeat(64)},v1=${v1.toUpperCase()}` });
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("replay of a valid request: inside the window it changes nothing; an old one → 401", async () => {
    const c = newConfigureJob("replay");
    const body = JSON.stringify(c.event);
    const signature = signPayload(body, signingSecret);
    const first = await deliver("/space-configure", body, { signature });
    expect(first.status, first.text).toBe(200);
    expectConfigured(c);
    counters.hostile += 1;
    const m = mark();
    const again = await deliver("/space-configure", body, { signature });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ replayed: true });
    expect(routesOf(m.all())).toEqual([]);
    // The same request as captured 10 minutes ago.
    const old = Math.floor(Date.now() / 1000) - 600;
    await rejected("/space-configure", body, 401, { signature: signPayload(body, signingSecret, old) });
  });

  scenario("an event from another environment → 403 with no Flatfile call", async () => {
    const c = newConfigureJob("other environment");
    ownedJobs.delete(c.jobId);
    const other = withValue(c.event, ["context", "environmentId"], "us_env_other0001");
    await rejected("/space-configure", other, 403);
    await rejected("/action-job", withValue(ghostEvent("sheet:duplicate"), ["context", "environmentId"], "us_env_other0001"), 403);
    const commit = commitCreatedEvent({
      spaceId: "us_sp_ghost0001",
      workbookId: "us_wb_ghost0001",
      sheetId: "us_sh_ghost0001",
      commitId: "us_vr_ghost0001",
      environmentId: "us_env_zz99",
    });
    await rejected("/commit-created", commit, 403);
    expect(jobStatus(c.jobId).status).toBe("ready");
  });

  scenario(
    `${FC_RUNS} generated hostile inputs (fast-check, seed ${FC_SEED}) → 4xx or ignored, never a write`,
    async () => {
      const paths: string[][] = [
        ["id"],
        ["topic"],
        ["context"],
        ["payload"],
        ["createdAt"],
        ["context", "accountId"],
        ["context", "environmentId"],
        ["context", "spaceId"],
        ["context", "jobId"],
        ["context", "workbookId"],
        ["context", "sheetId"],
        ["context", "commitId"],
        ["context", "versionId"],
        ["context", "actorId"],
        ["payload", "job"],
        ["payload", "input"],
        ["payload", "domain"],
        ["payload", "operation"],
      ];
      const oddStrings = fc.constantFrom(
        "",
        " ",
        "\u0000",
        "\uD800",
        "\uFEFF",
        "\u202E",
        "💥",
        "us_sp_ｘ",
        "us_env_other0001",
        "us_jb_ghost0002",
        "job:ready",
        "commit:created",
        "space:configure",
        "sheet:duplicate",
        "workbook:submitActionFg",
        "__proto__",
        "constructor",
      );
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.string({ unit: "binary", maxLength: 30 }),
        oddStrings,
        fc.constant(undefined),
      );
      const base = fc.constantFrom(
        ghostEvent("space:configure"),
        ghostEvent("sheet:duplicate"),
        ghostEvent("workbook:submitActionFg"),
        commitCreatedEvent({
          spaceId: "us_sp_ghost0001",
          workbookId: "us_wb_ghost0001",
          sheetId: "us_sh_ghost0001",
          commitId: "us_vr_ghost0001",
        }),
      );
      const mutated = fc
        .tuple(base, fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 3 }))
        .map(([event, edits]) => JSON.stringify(edits.reduce((e, [path, v]) => withValue(e, path, v), event)));
      const body = fc.oneof(
        { arbitrary: mutated, weight: 6 },
        {
          arbitrary: fc.tuple(base, fc.nat()).map(([e, n]) => {
            const s = JSON.stringify(e);
            return s.slice(0, n % s.length);
          }),
          weight: 2,
        },
        { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null"), weight: 1 },
        { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 1 },
      );
      const printable = fc.string({ unit: "grapheme-ascii", maxLength: 120 });
      const signing = fc.oneof(
        { arbitrary: fc.constant({ kind: "valid" as const }), weight: 6 },
        {
          arbitrary: fc.constantFrom(
            { kind: "forged" as const },
            { kind: "stale" as const },
            { kind: "future" as const },
            { kind: "missing" as const },
          ),
          weight: 2,
        },
        { arbitrary: printable.map((header) => ({ kind: "junk" as const, header })), weight: 2 },
      );
      const route = fc.constantFrom<RoutePath>("/space-configure", "/action-job", "/commit-created");
      const seen: Record<number, number> = {};

      await fc.assert(
        fc.asyncProperty(route, body, signing, async (path, raw, sig) => {
          counters.hostile += 1;
          const now = Math.floor(Date.now() / 1000);
          const options: DeliverOptions =
            sig.kind === "valid"
              ? {}
              : sig.kind === "forged"
                ? { secret: "whsec_forged_forged_forged" }
                : sig.kind === "stale"
                  ? { t: now - 1_000 }
                  : sig.kind === "future"
                    ? { t: now + 1_000 }
                    : sig.kind === "missing"
                      ? { signature: null }
                      : { signature: sig.header };
          const m = mark();
          const a = await deliver(path, raw, options);
          seen[a.status] = (seen[a.status] ?? 0) + 1;
          const detail = `${path} ${sig.kind} ${raw.slice(0, 300)} → ${a.status} ${a.text.slice(0, 300)}`;
          expect([200, 400, 401, 403, 404], detail).toContain(a.status);
          if (sig.kind !== "valid") expect(a.status, detail).toBe(401);
          if (a.status === 200) expect(a.body.ignored, detail).toBe(true);
          if ([400, 401, 403].includes(a.status)) expect(routesOf(m.all()), detail).toEqual([]);
          expect(routesOf(m.writes()), detail).toEqual([]);
        }),
        { seed: FC_SEED, numRuns: FC_RUNS, endOnFailure: true },
      );
      // The generator reaches past the signature and the parser, not only into 400s.
      expect(seen[401] ?? 0).toBeGreaterThan(20);
      expect(seen[400] ?? 0).toBeGreaterThan(20);
      expect((seen[200] ?? 0) + (seen[403] ?? 0) + (seen[404] ?? 0)).toBeGreaterThan(5);
      // 300 requests one after another through the gateway and the handlers: ~4 s idle, 14 s seen
      // beside two CPU burners; the budget follows the count, nothing here is timed.
    },
    120_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Attacks from outside (issue 13 §2-§4, §6; issue 12 §4): each one counted in the summary line
// ---------------------------------------------------------------------------------------------

/** A scenario that is an attack someone who knows the URL (or runs a server we call) can make. */
function attackScenario(name: string, body: () => Promise<void>, timeoutMs?: number): void {
  scenario(
    `attack: ${name}`,
    async () => {
      attack();
      await body();
    },
    timeoutMs,
  );
}

const RELAY_TEST_BOUND: RetryBound = {
  totalMs: 4_000,
  failReserveMs: 1_000,
  attemptTimeoutMs: 2_000,
  baseDelayMs: 20,
  maxDelayMs: 50,
  throttledBaseDelayMs: 20,
  throttledMaxDelayMs: 50,
};

/** The relay as Flatfile runs it, its secrets pointing at `baseUrl`, failing jobs through the stand-in. */
function relayTo(baseUrl: string, event: Record<string, unknown>): ReturnType<typeof relayEvent> {
  const relaySecrets: Record<string, string> = { [RELAY_SECRET_BASE_URL]: baseUrl, [RELAY_SECRET_SIGNING]: signingSecret };
  const deps: RelayDeps = { ...defaultDeps(), log: () => undefined };
  return relayEvent(
    event,
    { readSecret: async (name) => relaySecrets[name]!, flatfileApi: { url: flatfile.url, token: flatfile.apiKey } },
    deps,
    RELAY_TEST_BOUND,
  );
}

function guideBodyOf(spaceId: string): string {
  const state = stateOf(spaceId);
  return (state && flatfile.documents.get(state.guideDocumentId)?.body) ?? "";
}

describe("attacks", () => {
  attackScenario(
    "an unsigned POST {} while the secret holds the placeholder → 401 that names nothing; signed → the 500 that says why",
    async () => {
      const original = secrets.secrets.get(SECRET_ID)!;
      secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: "REPLACE_ME", signingSecret }));
      resetSettingsCache();
      try {
        for (const signature of [null, "garbage", signPayload("{}", newSigningSecret())]) {
          const a = await rejected("/space-configure", "{}", 401, { signature });
          expect(a.text).not.toMatch(/arn:|REPLACE_ME|placeholder|secretsmanager/i);
        }
        const signed = await rejected("/space-configure", "{}", 500);
        expect(String(signed.body.error)).toContain("placeholder");
      } finally {
        secrets.secrets.set(SECRET_ID, original);
        resetSettingsCache();
      }
    },
  );

  attackScenario("with Secrets Manager down, no signature → 401 without reading it; a forged well-formed one → a generic 500", async () => {
    resetSettingsCache();
    secrets.faults.down = true;
    fault();
    const body = JSON.stringify(ghostEvent("sheet:duplicate"));
    const before = secrets.calls;
    await rejected("/action-job", body, 401, { signature: null });
    await rejected("/action-job", body, 401, { t: Math.floor(Date.now() / 1000) - 3_600 });
    expect(secrets.calls, "a header no secret could match read the secret").toBe(before);
    const forged = await rejected("/action-job", body, 500, { secret: newSigningSecret() });
    expect(forged.body).toEqual({ error: "internal error" });
    secrets.faults.down = false;
    resetSettingsCache();
  });

  attackScenario(
    "a reference API streaming 64 MB without Content-Length → abandoned at the cap, bundled list, configure completes",
    async () => {
      const streamer = await startStreamer();
      try {
        process.env.REFERENCE_DATA_URL = `${streamer.url}/categories`;
        resetReferenceDataCache();
        const c = newConfigureJob("streaming reference");
        const a = await deliver("/space-configure", c.event);
        expect(a.status, a.text).toBe(200);
        expectConfigured(c);
        expect(guideBodyOf(c.spaceId)).toContain("too large");
        await sleep(50);
        expect(streamer.written, "bytes the reference API got to send").toBeLessThan(16 * 1024 * 1024);
      } finally {
        resetReferenceDataCache();
        await streamer.close();
      }
    },
  );

  attackScenario("a reference API redirecting to another origin → not followed, bundled list, the guide says why", async () => {
    const planted = await startRecorder({ categories: ["Planted"] });
    const redirector = await startRedirector(planted.url, 307);
    try {
      process.env.REFERENCE_DATA_URL = `${redirector.url}/categories`;
      resetReferenceDataCache();
      const c = newConfigureJob("redirecting reference");
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBe(200);
      expectConfigured(c);
      expect(guideBodyOf(c.spaceId)).toContain("redirected to another origin");
      expect(planted.hits).toEqual([]);
    } finally {
      resetReferenceDataCache();
      await Promise.all([planted.close(), redirector.close()]);
    }
  });

  attackScenario(
    "the API's address redirected (307, 302) → the relay re-posts nothing elsewhere and fails the job saying why",
    async () => {
      const elsewhere = await startRecorder();
      try {
        for (const status of [307, 302]) {
          const redirector = await startRedirector(elsewhere.url, status);
          try {
            const c = newConfigureJob(`relay redirected ${status}`);
            const outcome = await relayTo(redirector.url, c.event);
            expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
            const job = jobStatus(c.jobId);
            expect(job.status).toBe("failed");
            expect(String(job.message)).toContain(`HTTP ${status}`);
          } finally {
            await redirector.close();
          }
        }
        expect(elsewhere.hits, "requests that reached the other origin").toEqual([]);
      } finally {
        await elsewhere.close();
      }
    },
  );

  attackScenario("an http:// relay address that is not this machine → nothing is sent, the job fails saying why", async () => {
    const c = newConfigureJob("relay over http");
    const outcome = await relayTo("http://api.example.invalid", c.event);
    expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
    expect(String(jobStatus(c.jobId).message)).toContain("https");
  });

  attackScenario(
    "what the runtime hangs on the event (token, secrets, callback URL) never reaches the API; the job completes",
    async () => {
      const c = newConfigureJob("relay extra fields");
      const hung = {
        ...c.event,
        _accessToken: flatfile.apiKey,
        secrets: { RELAY_SIGNING_SECRET: signingSecret },
        callbackUrl: "https://platform.example/ack?token=abc",
        dataUrl: "https://platform.example/data",
      };
      const recorder = await startRecorder();
      try {
        // What the relay sends, as a server sees it…
        expect((await relayTo(recorder.url, hung)).kind).toBe("delivered");
        const sent = recorder.hits[0]!.body;
        expect(Object.keys(JSON.parse(sent)).sort()).toEqual(Object.keys(c.event).sort());
        for (const leaked of [flatfile.apiKey, signingSecret, "callbackUrl", "dataUrl"]) expect(sent).not.toContain(leaked);
      } finally {
        await recorder.close();
      }
      // …and the same delivery through the gateway configures the space.
      expect((await relayTo(gateway.url, hung)).kind).toBe("delivered");
      expectConfigured(c);
    },
  );

  attackScenario("unexpected shapes in fields no route reads (payload.input, createdAt, accountId, slugs) → handled normally", async () => {
    const c = newConfigureJob("odd unused fields");
    let event = withValue(c.event, ["payload", "input"], ["not", "a", "record"]);
    event = withValue(event, ["payload", "operation"], null);
    event = withValue(event, ["createdAt"], 1_764_400_000_000);
    event = withValue(event, ["context", "accountId"], 42);
    event = withValue(event, ["context", "slugs"], "space");
    const a = await deliver("/space-configure", event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  attackScenario("a space's metadata bloated past its bound → the action fails saying why and nothing is written", async () => {
    const c = await configuredSpace("bloated metadata");
    const stored = flatfile.spaces.get(c.spaceId)!;
    stored.metadata = { ...(stored.metadata as Record<string, unknown>), appBlob: "x".repeat(MAX_SPACE_METADATA_CHARS) };
    const dup = actionJob(c, "sheet:duplicate");
    const m = mark();
    const a = await deliver("/action-job", dup.event);
    expect(a.status, a.text).toBe(200);
    expect(jobStatus(dup.jobId)).toMatchObject({ status: "failed", message: expect.stringMatching(/metadata is larger than/) });
    expect(routesOf(m.writes()).filter((r) => !r.startsWith("jobs."))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

describe("secrets", () => {
  scenario("a signed body carrying the secrets, and failures with them in reach, leave them out of every log line", async () => {
    // Bodies that put the secrets where a log line might echo them: invalid JSON, a bad id, an ignored topic.
    await rejected("/space-configure", `${flatfile.apiKey} ${signingSecret}`, 400);
    await rejected("/space-configure", withValue(ghostEvent(), ["context", "spaceId"], `${flatfile.apiKey}/..`), 400);
    await ignored("/commit-created", withValue(ghostEvent(), ["payload", "job"], signingSecret));
    counters.hostile += 1;
    const ghost = await deliver(
      "/action-job",
      withValue(ghostEvent("sheet:duplicate"), ["context", "actorId"], `us_usr_${flatfile.apiKey.replace(/[^A-Za-z0-9]/g, "")}`),
    );
    expect(ghost.status, ghost.text).toBe(404);
    // A Flatfile failure, whose request carried the API key, logged at every level.
    const c = newConfigureJob("secrets in failures");
    flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    fault(3);
    expect((await deliver("/space-configure", c.event)).status).toBeGreaterThanOrEqual(500);
    expect((await redeliver("/space-configure", c.event)).status).toBe(200);
    const leaked = (logs?.lines ?? []).filter((l) => l.includes(flatfile.apiKey) || l.includes(signingSecret));
    expect(leaked.slice(0, 3)).toEqual([]);
  });
});
