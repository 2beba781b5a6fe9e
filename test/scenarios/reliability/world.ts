/**
 * The reliability suite's world and its scenario helpers: the routes over HTTP through the local
 * gateway, against the Flatfile stand-in, a local DynamoDB, a local Secrets Manager and the
 * reference-data APIs. Each part of the suite (a test file) calls useReliabilityWorld once and gets
 * a world of its own; `scenario` checks the invariants after every scenario (every answer within the
 * contract, no acknowledged job left open, nothing made twice), and the world checks them across the
 * part at the end and prints the part's summary line.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn, type RequestLogEntry } from "../../../local/flatfile-stand-in";
import { startGateway, type LocalGateway, type RoutePath } from "../../../local/gateway";
import { routes } from "../../../local/routes";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../../local/secrets-manager-stand-in";
import { MAX_BODY_BYTES } from "../../../shared/core/envelope";
import { logger } from "../../../shared/core/logger";
import { WORKBOOK_NAME } from "../../../shared/domain/blueprint";
import { resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import { copySlugFor } from "../../../functions/action-job/duplicate-sheet";
import { GUIDE_TITLE, readSpaceState, type SpaceState } from "../../../shared/flatfile/space-state";
import { createFlatfileClient } from "../../../shared/core/flatfile-client";
import { OPEN_JOB_BOUND_MS, openJobStore, PLATFORM_ACK_TIMEOUT_MS } from "../../../shared/core/open-jobs";
import { sweepOpenJobs, type SweepReport } from "../../../functions/job-sweep/sweep";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";
import { configuredFrom as configuredFromMetadata, type ConfiguredSpace } from "../../support/configured-space";
import { ENVIRONMENT_ID, applyEnv, commitCreatedEvent, jobReadyEvent } from "../../support/harness";
import {
  captureLogs,
  counters,
  newSigningSecret,
  send,
  sleep,
  startReferenceApi,
  type Answer,
  type LogCapture,
  type ReferenceApi,
  type SendOptions,
} from "./support";

export const SECRET_ID = "flatfile/space-configurator/chaos";
export const FC_SEED = 90_2024;
export const FC_RUNS = 300;
/** The Lambda timeout the short gateway tells handlers: work deadline 1 s, final deadline 5 s. */
export const SHORT_TIMEOUT_MS = 6_000;

export let flatfile: FlatfileStandIn;
export let dynamo: LocalDynamo;
export let secrets: SecretsManagerStandIn;
export let reference: ReferenceApi;
export let hangingReference: ReferenceApi;
export let gateway: LocalGateway;
export let shortGateway: LocalGateway;
export let smallGateway: LocalGateway;
export let signingSecret: string;
export let logs: LogCapture | undefined;

/** Jobs an owned delivery reached, with the scenario that made them: each must end complete or failed with a message. */
export const ownedJobs = new Map<string, number>();
export const own = (jobId: string) => ownedJobs.set(jobId, counters.scenarios);
/** Duplicate-sheet jobs delivered, by workbook: each may leave exactly one copy. */
export const duplicateJobs = new Map<string, Set<string>>();

/** The world one part of the suite runs in, started before its scenarios and checked after them all. */
export function useReliabilityWorld(part: string): void {
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
    applyEnv(env);
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
    // Then the platform's 5-minute timer gets its turn: it must find no job of ours still executing.
    flatfile?.clock.advance(PLATFORM_ACK_TIMEOUT_MS + 60_000);
    const failedByPlatform = flatfile ? flatfile.timedOutJobs.filter((id) => ownedJobs.has(id)) : [];
    console.log(
      `reliability (${part}): ${counters.scenarios} scenarios, ${counters.faults} faults injected, ${counters.hostile} hostile inputs, ${counters.attacks} attacks, ` +
        `jobs left open ${open.length}, duplicates ${dups.length}, secrets in logs ${secretsInLogs}, ` +
        `jobs.retry calls ${retried}, jobs left for the sweep ${lateSweep ? lateSweep.swept.length + lateSweep.deferred.length : "?"}, ` +
        `${failedByPlatform.length} of our jobs failed by the platform, foreign objects touched ${counters.foreignTouched.length}`,
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
    expect(failedByPlatform, "our jobs failed by the platform's 5-minute timer").toEqual([]);
    expect(counters.foreignTouched, "another listener's objects written by us").toEqual([]);
    expect(secretsInLogs, "log lines with a secret").toBe(0);
    expect(counters.contractViolations, "answers outside the contract").toEqual([]);
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

export type Event = Record<string, unknown>;

export interface DeliverOptions extends SendOptions {
  via?: LocalGateway;
}

export function deliver(path: RoutePath, event: Event | string | Buffer, options: DeliverOptions = {}): Promise<Answer> {
  const body = typeof event === "string" || Buffer.isBuffer(event) ? event : JSON.stringify(event);
  return send((options.via ?? gateway).url, path, body, signingSecret, options);
}

/** The sweep as the schedule runs it, over the suite's table; `now` past the bound by `lateByMs`. */
export function sweepEverything(lateByMs = 1_000): Promise<SweepReport> {
  const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  return sweepOpenJobs({ api, store: openJobStore(dynamo.table), now: Date.now() + OPEN_JOB_BOUND_MS + lateByMs, batch: 10_000 });
}

/** Flatfile requests from now on. */
export function mark() {
  const start = flatfile.requests.length;
  return {
    all: (): RequestLogEntry[] => flatfile.requests.slice(start),
    writes: (): RequestLogEntry[] => flatfile.requests.slice(start).filter((r) => r.method !== "GET"),
  };
}

export const routesOf = (entries: RequestLogEntry[]) => entries.map((r) => `${r.route}:${r.status}`);

/** As the relay does after a 5xx: the fault is gone, the same event is delivered again. */
export async function redeliver(path: RoutePath, event: Event, options: DeliverOptions = {}): Promise<Answer> {
  flatfile.faults.clear();
  let answer = await deliver(path, event, options);
  for (let attempt = 1; attempt < 4 && answer.status >= 500; attempt++) {
    await sleep(100 * attempt);
    answer = await deliver(path, event, options);
  }
  return answer;
}

/** Input the contract rejects: the status expected, and no Flatfile request of any kind. */
export async function rejected(
  path: RoutePath,
  event: Event | string | Buffer,
  status: number,
  options: DeliverOptions = {},
): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  expect(answer.status, `${path}: ${answer.text.slice(0, 200)}`).toBe(status);
  expect(routesOf(m.all()), "a rejected input called Flatfile").toEqual([]);
  return answer;
}

/** Malformed in a way the contract lets the route answer 400 or ignore: either way, no Flatfile request. */
export async function refused(path: RoutePath, event: Event | string, options: DeliverOptions = {}): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  const ok = answer.status === 400 || (answer.status === 200 && answer.body.ignored === true);
  expect(ok, `${path}: ${answer.status} ${answer.text.slice(0, 200)}`).toBe(true);
  expect(routesOf(m.all()), "a refused input called Flatfile").toEqual([]);
  return answer;
}

/** An event the route does not own: 200 ignored, no Flatfile request. */
export async function ignored(path: RoutePath, event: Event | string, options: DeliverOptions = {}): Promise<Answer> {
  counters.hostile += 1;
  const m = mark();
  const answer = await deliver(path, event, options);
  expect(answer.status, answer.text).toBe(200);
  expect(answer.body).toMatchObject({ ignored: true, reason: expect.any(String) });
  expect(routesOf(m.all()), "an ignored event called Flatfile").toEqual([]);
  return answer;
}

export function stateOf(spaceId: string): SpaceState | undefined {
  return readSpaceState(flatfile.spaces.get(spaceId)?.metadata);
}

export function jobStatus(jobId: string): { status: string | undefined; message: unknown; heading: unknown; info: unknown } {
  const job = flatfile.jobs.get(jobId);
  return { status: job?.status, message: job?.outcome?.message, heading: job?.outcome?.heading, info: job?.info };
}

/** What a temporary failure leaves: the job executing, saying it retries, for the redelivery to resume. */
export const LEFT_OPEN_FOR_RETRY = { status: "executing", info: expect.stringMatching(/temporarily unavailable .*retrying automatically/) };

export interface ConfigureJob {
  spaceId: string;
  jobId: string;
  event: Event;
}

export function newConfigureJob(name: string, metadata: Record<string, unknown> = { locale: "en-US" }): ConfigureJob {
  const space = flatfile.seed.space({ name, metadata });
  const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  own(job.id);
  return { spaceId: space.id, jobId: job.id, event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }) };
}

export type Configured = ConfiguredSpace;

export async function configuredSpace(name: string): Promise<Configured> {
  const c = newConfigureJob(name);
  const answer = await deliver("/space-configure", c.event);
  expect(answer.status, answer.text).toBe(200);
  return configuredFrom(c.spaceId);
}

export function configuredFrom(spaceId: string): Configured {
  return configuredFromMetadata(spaceId, flatfile.spaces.get(spaceId)?.metadata);
}

export function actionJob(c: Configured, job: "sheet:duplicate" | "workbook:submitActionFg"): { jobId: string; event: Event } {
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

export const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: `Lovelace ${i}`, email: `ada${i}@example.com` });

export function commitOn(c: Configured, sheetId: string, rows: Record<string, unknown>[], invalid = 0): Event {
  const { commitId } = flatfile.seed.commit(sheetId, { insert: rows, invalid });
  return commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId, commitId });
}

/** Acknowledged jobs (of one scenario, or all) that are not `complete`/`failed` with a message. */
export function openJobs(scenarioNo?: number): string[] {
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
export function duplicates(): string[] {
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
export function workingSetViolations(): string[] {
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
export function scenario(name: string, body: () => Promise<void>, timeoutMs = 20_000): void {
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
export function expectConfigured(c: ConfigureJob): void {
  const state = stateOf(c.spaceId);
  expect(state, `space ${c.spaceId} has our state`).toBeDefined();
  expect(flatfile.spaces.get(c.spaceId)?.primaryWorkbookId).toBe(state!.workbookId);
  expect(flatfile.workbooks.has(state!.workbookId)).toBe(true);
  expect(flatfile.documents.get(state!.guideDocumentId)?.title).toBe(GUIDE_TITLE);
  expect(jobStatus(c.jobId)).toMatchObject({ status: "complete", message: expect.stringContaining("ready") });
}

/** An event shaped right, for a job that exists nowhere. */
export function ghostEvent(job = "space:configure"): Event {
  return jobReadyEvent({
    job,
    jobId: "us_jb_ghost0001",
    spaceId: "us_sp_ghost0001",
    workbookId: "us_wb_ghost0001",
    sheetId: "us_sh_ghost0001",
  });
}

export function without(event: Event, path: string[]): Event {
  const copy = JSON.parse(JSON.stringify(event)) as Event;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  delete node[path.at(-1)!];
  return copy;
}

export function withValue(event: Event, path: string[], value: unknown): Event {
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
