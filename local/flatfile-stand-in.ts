/**
 * A local stand-in for the Flatfile REST API (`/v1`): a real HTTP server on 127.0.0.1 that the
 * real `@flatfile/api` SDK talks to. It keeps state in memory, validates every request body
 * strictly against the SDK's own wire schemas (an unknown key or a wrong type is a 400, where the
 * SDK itself would silently strip it), logs every request as it went over the wire, and lets tests
 * inject faults per route: status sequences, latency and requests that never answer.
 *
 * Route names are `<resource>.<method>` after the SDK method (`sheets.counts` for
 * getRecordCounts, `sheets.duplicate` for duplicateSheet, `sheets.lock`/`sheets.unlock`).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Flatfile } from "@flatfile/api";

export const DEFAULT_ENVIRONMENT_ID = "us_env_local0001";
export const DEFAULT_ACCOUNT_ID = "us_acc_local0001";
const DEFAULT_PAGE_SIZE = 10_000;
const MAX_PAGE_SIZE = 50_000;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

export type RouteName =
  | "jobs.get" | "jobs.ack" | "jobs.complete" | "jobs.fail" | "jobs.retry"
  | "spaces.get" | "spaces.update"
  | "workbooks.create" | "workbooks.get" | "workbooks.list" | "workbooks.update"
  | "sheets.get" | "sheets.counts" | "sheets.lock" | "sheets.unlock" | "sheets.duplicate"
  | "records.get" | "records.insert"
  | "documents.create" | "documents.list" | "documents.get" | "documents.update"
  | "users.get" | "guests.get"
  | "agents.create" | "agents.list" | "agents.get" | "agents.delete"
  | "secrets.list" | "secrets.upsert" | "secrets.delete"
  | "unknown";

export interface RequestLogEntry {
  method: string;
  /** `<resource>.<method>`, or "unknown" for a path the stand-in does not serve. */
  route: RouteName | string;
  /** As received, including the query string (e.g. `/v1/sheets/us_sh_x/records?commitId=...`). */
  path: string;
  /** The raw JSON body as received (undefined when there was none, the text when not JSON). */
  body?: unknown;
  /** The status answered; 0 for a request that was made to hang. */
  status: number;
  /** Epoch ms when the request arrived. */
  at: number;
}

export interface Faults {
  /** The next calls to `route` ("*" for any) answer these statuses, in order, touching nothing. */
  statuses(route: string, list: number[]): void;
  /** Extra delay before every answer on `route` ("*" for any). 0 removes it. */
  latency(route: string, ms: number): void;
  /** The next `count` calls to `route` ("*" for any) never answer (until close). */
  hang(route: string, count?: number): void;
  clear(): void;
}

type Json = Record<string, unknown>;

export interface StoredSpace {
  id: string;
  name: string;
  environmentId: string;
  accountId: string;
  metadata: unknown;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

export interface StoredJob {
  id: string;
  type: string;
  operation: string;
  source: string;
  status: "created" | "ready" | "scheduled" | "executing" | "complete" | "failed" | "canceled" | "planning";
  info?: string;
  progress?: number;
  outcome?: Record<string, unknown>;
  environmentId: string;
  spaceId?: string;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

export interface SheetView {
  id: string;
  workbookId: string;
  name: string;
  slug: string;
  config: Flatfile.SheetConfig;
  metadata?: unknown;
  lockedBy?: string;
  lockedAt?: string;
  createdAt: string;
  updatedAt: string;
}

export interface WorkbookView {
  id: string;
  name?: string;
  spaceId: string;
  environmentId: string;
  sheets: SheetView[];
  labels?: string[];
  actions?: Flatfile.Action[];
  settings?: unknown;
  metadata?: unknown;
  namespace?: string;
  createdAt: string;
  updatedAt: string;
}

/** A record as stored: values are generated on read for seeded records (`values` undefined). */
export interface StoredRecord {
  id: string;
  commitId: string;
  valid: boolean;
  /** Seed index, used to generate the values of a seeded record. */
  n: number;
  values?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface StoredSheet {
  id: string;
  workbookId: string;
  name: string;
  slug: string;
  config: Json;
  metadata?: unknown;
  lockedBy?: string;
  lockedAt?: string;
  createdAt: string;
  updatedAt: string;
  records: StoredRecord[];
}

export interface StoredWorkbook {
  id: string;
  spaceId: string;
  environmentId: string;
  sheetIds: string[];
  createdAt: string;
  updatedAt: string;
  /** name, labels, actions, settings, metadata, namespace... as sent. */
  [key: string]: unknown;
}

export interface StoredDocument {
  id: string;
  spaceId: string;
  environmentId: string;
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string;
  [key: string]: unknown;
}

export interface StoredUser {
  id: string;
  email: string;
  name: string;
  accountId: string;
  idp: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface StoredGuest {
  id: string;
  email: string;
  name: string;
  environmentId: string;
  spaces: { id: string }[];
  createdAt: string;
  updatedAt: string;
}

export interface StoredAgent {
  id: string;
  environmentId: string;
  slug?: string;
  topics?: string[];
  compiler?: string;
  source?: string;
  accountId?: string;
  createdAt?: string;
  updatedAt?: string;
  [key: string]: unknown;
}

export interface StoredSecret {
  id: string;
  name: string;
  value: string;
  environmentId?: string;
  spaceId?: string;
  [key: string]: unknown;
}

export interface StoredCommit {
  id: string;
  sheetId: string;
  /** Global order of commits. */
  seq: number;
  createdAt: string;
}

export interface SeedSheet {
  name: string;
  slug: string;
  /** This many valid records, in one initial commit. */
  records?: number;
  /** Defaults to firstName, lastName, email strings. */
  fields?: Flatfile.Property[];
  access?: Flatfile.SheetAccess[];
  readonly?: boolean;
  actions?: Flatfile.Action[];
}

export interface SeedCommit {
  /** Plain values, `{ key: value }`. */
  insert?: Record<string, unknown>[];
  update?: { id: string; values: Record<string, unknown> }[];
  deleteAll?: boolean;
  delete?: string[];
  /** Mark this many of the inserted records (the first ones) as error records. */
  invalid?: number;
}

export interface Seed {
  space(input?: { name?: string; metadata?: unknown; environmentId?: string; accountId?: string }): StoredSpace;
  user(input: { email: string; name: string; metadata?: Record<string, unknown>; accountId?: string }): StoredUser;
  guest(input: { email: string; name: string; environmentId?: string; spaceIds?: string[] }): StoredGuest;
  job(input: { job: string; spaceId?: string; workbookId?: string; sheetId?: string; status?: StoredJob["status"]; environmentId?: string }): StoredJob;
  workbook(input: {
    spaceId: string;
    name?: string;
    sheets: SeedSheet[];
    actions?: Flatfile.Action[];
    metadata?: unknown;
    labels?: string[];
  }): WorkbookView;
  /** Applies the change as one new commit (an empty insert still makes one). */
  commit(sheetId: string, change: SeedCommit): { commitId: string; recordIds: string[] };
  /** Inserts records as one commit; `invalid` marks the first ones as error records. */
  records(sheetId: string, values: Record<string, unknown>[], options?: { invalid?: number }): { commitId: string; recordIds: string[] };
  /** Marks existing records valid or invalid (no commit). */
  markInvalid(sheetId: string, recordIds: string[], invalid?: boolean): void;
}

export interface FlatfileStandIn {
  /** `http://127.0.0.1:<port>/v1` */
  url: string;
  /** Bearer token required on every request. */
  apiKey: string;
  /** Append-only log of every request received (cleared by reset). */
  readonly requests: RequestLogEntry[];
  seed: Seed;
  faults: Faults;
  spaces: Map<string, StoredSpace>;
  jobs: Map<string, StoredJob>;
  workbooks: Map<string, StoredWorkbook>;
  sheets: Map<string, StoredSheet>;
  documents: Map<string, StoredDocument>;
  users: Map<string, StoredUser>;
  guests: Map<string, StoredGuest>;
  agents: Map<string, StoredAgent>;
  secrets: Map<string, StoredSecret>;
  commits: Map<string, StoredCommit>;
  /** Clears all state, the request log and faults; keeps the server, port and apiKey. */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Wire validation against the SDK's serialization schemas (loaded once, lazily: it is slow)
// ---------------------------------------------------------------------------------------------

interface WireSchema {
  parse(raw: unknown, opts?: Record<string, unknown>): { ok: true; value: unknown } | { ok: false; errors: { path: string[]; message: string }[] };
}
type Serialization = Record<string, unknown> & {
  jobs: { ack: { Request: WireSchema }; complete: { Request: WireSchema }; fail: { Request: WireSchema } };
  records: { insert: { Request: WireSchema } };
};

let serializationModule: Promise<Serialization> | undefined;
function serialization(): Promise<Serialization> {
  serializationModule ??= import("@flatfile/api/serialization/index.js").then((m) => m as unknown as Serialization);
  return serializationModule;
}
const top = (name: string) => (s: Serialization) => s[name] as WireSchema;

const STRICT = {
  unrecognizedObjectKeys: "fail",
  allowUnrecognizedUnionMembers: false,
  allowUnrecognizedEnumValues: false,
  skipValidation: false,
  breadcrumbsPrefix: [],
};

function formatPath(path: readonly string[]): string {
  let out = "";
  for (const part of path) out += part.startsWith("[") ? part : out ? `.${part}` : part;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

interface RouteDef {
  method: string;
  pattern: RegExp;
  name: RouteName;
  schema?: (s: Serialization) => WireSchema;
}

const ID = "([^/]+)";
const ROUTES: RouteDef[] = [
  { method: "GET", pattern: new RegExp(`^/jobs/${ID}$`), name: "jobs.get" },
  { method: "POST", pattern: new RegExp(`^/jobs/${ID}/ack$`), name: "jobs.ack", schema: (s) => s.jobs.ack.Request },
  { method: "POST", pattern: new RegExp(`^/jobs/${ID}/complete$`), name: "jobs.complete", schema: (s) => s.jobs.complete.Request },
  { method: "POST", pattern: new RegExp(`^/jobs/${ID}/fail$`), name: "jobs.fail", schema: (s) => s.jobs.fail.Request },
  { method: "POST", pattern: new RegExp(`^/jobs/${ID}/retry$`), name: "jobs.retry" },
  { method: "GET", pattern: new RegExp(`^/spaces/${ID}$`), name: "spaces.get" },
  { method: "PATCH", pattern: new RegExp(`^/spaces/${ID}$`), name: "spaces.update", schema: top("SpaceConfig") },
  { method: "GET", pattern: /^\/workbooks$/, name: "workbooks.list" },
  { method: "POST", pattern: /^\/workbooks$/, name: "workbooks.create", schema: top("CreateWorkbookConfig") },
  { method: "GET", pattern: new RegExp(`^/workbooks/${ID}$`), name: "workbooks.get" },
  { method: "PATCH", pattern: new RegExp(`^/workbooks/${ID}$`), name: "workbooks.update", schema: top("WorkbookUpdate") },
  { method: "GET", pattern: new RegExp(`^/sheets/${ID}$`), name: "sheets.get" },
  { method: "GET", pattern: new RegExp(`^/sheets/${ID}/counts$`), name: "sheets.counts" },
  { method: "POST", pattern: new RegExp(`^/sheets/${ID}/lock$`), name: "sheets.lock" },
  { method: "POST", pattern: new RegExp(`^/sheets/${ID}/unlock$`), name: "sheets.unlock" },
  { method: "POST", pattern: new RegExp(`^/sheets/${ID}/duplicate$`), name: "sheets.duplicate", schema: top("DuplicateSheetRequest") },
  { method: "GET", pattern: new RegExp(`^/sheets/${ID}/records$`), name: "records.get" },
  { method: "POST", pattern: new RegExp(`^/sheets/${ID}/records$`), name: "records.insert", schema: (s) => s.records.insert.Request },
  { method: "GET", pattern: new RegExp(`^/spaces/${ID}/documents$`), name: "documents.list" },
  { method: "POST", pattern: new RegExp(`^/spaces/${ID}/documents$`), name: "documents.create", schema: top("DocumentConfig") },
  { method: "GET", pattern: new RegExp(`^/spaces/${ID}/documents/${ID}$`), name: "documents.get" },
  { method: "PATCH", pattern: new RegExp(`^/spaces/${ID}/documents/${ID}$`), name: "documents.update", schema: top("DocumentConfig") },
  { method: "GET", pattern: new RegExp(`^/users/${ID}$`), name: "users.get" },
  { method: "GET", pattern: new RegExp(`^/guests/${ID}$`), name: "guests.get" },
  { method: "GET", pattern: /^\/agents$/, name: "agents.list" },
  { method: "POST", pattern: /^\/agents$/, name: "agents.create", schema: top("AgentConfig") },
  { method: "GET", pattern: new RegExp(`^/agents/${ID}$`), name: "agents.get" },
  { method: "DELETE", pattern: new RegExp(`^/agents/${ID}$`), name: "agents.delete" },
  { method: "GET", pattern: /^\/secrets$/, name: "secrets.list" },
  { method: "POST", pattern: /^\/secrets$/, name: "secrets.upsert", schema: top("WriteSecret") },
  { method: "DELETE", pattern: new RegExp(`^/secrets/${ID}$`), name: "secrets.delete" },
];

function matchRoute(method: string, pathname: string): { def: RouteDef; params: string[] } | undefined {
  const rest = pathname.replace(/^\/v1(?=\/|$)/, "").replace(/\/+$/, "") || "/";
  for (const def of ROUTES) {
    if (def.method !== method) continue;
    const m = def.pattern.exec(rest);
    if (m) return { def, params: m.slice(1).map((p) => decodeURIComponent(p)) };
  }
  return undefined;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}
const notFound = (what: string, id: string) => new HttpError(404, `${what} ${id} not found`);
const badRequest = (message: string, key?: string) => new HttpError(400, message, key);

// ---------------------------------------------------------------------------------------------
// The stand-in
// ---------------------------------------------------------------------------------------------

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const now = () => new Date().toISOString();
const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));
const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);
const FINISHED = new Set(["complete", "failed", "canceled"]);

function slugify(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "sheet";
}

export async function startFlatfileStandIn(options: { port?: number; latencyMs?: number; apiKey?: string } = {}): Promise<FlatfileStandIn> {
  const apiKey = options.apiKey ?? `sk_local_${randomBytes(12).toString("hex")}`;
  const globalLatency = options.latencyMs ?? 0;
  const instance = Array.from(randomBytes(2), (b) => ALNUM[b % 36]).join("");
  let counter = 0;
  let commitSeq = 0;
  const newId = (kind: string) => `us_${kind}_${instance}${(counter++).toString(36).padStart(6, "0")}`;

  const requests: RequestLogEntry[] = [];
  const spaces = new Map<string, StoredSpace>();
  const jobs = new Map<string, StoredJob>();
  const workbooks = new Map<string, StoredWorkbook>();
  const sheets = new Map<string, StoredSheet>();
  const documents = new Map<string, StoredDocument>();
  const users = new Map<string, StoredUser>();
  const guests = new Map<string, StoredGuest>();
  const agents = new Map<string, StoredAgent>();
  const secrets = new Map<string, StoredSecret>();
  const commits = new Map<string, StoredCommit>();

  const statusFaults = new Map<string, number[]>();
  const latencyFaults = new Map<string, number>();
  const hangFaults = new Map<string, number>();
  const hung = new Set<ServerResponse>();

  const faults: Faults = {
    statuses(route, list) {
      statusFaults.set(route, [...(statusFaults.get(route) ?? []), ...list]);
    },
    latency(route, ms) {
      if (ms > 0) latencyFaults.set(route, ms);
      else latencyFaults.delete(route);
    },
    hang(route, count = Number.POSITIVE_INFINITY) {
      hangFaults.set(route, count);
    },
    clear() {
      statusFaults.clear();
      latencyFaults.clear();
      hangFaults.clear();
    },
  };

  // --- state helpers --------------------------------------------------------------------------

  const getSpace = (id: string) => spaces.get(id) ?? throwIt(notFound("Space", id));
  const getJob = (id: string) => jobs.get(id) ?? throwIt(notFound("Job", id));
  const getWorkbook = (id: string) => workbooks.get(id) ?? throwIt(notFound("Workbook", id));
  const getSheet = (id: string) => sheets.get(id) ?? throwIt(notFound("Sheet", id));

  function newCommit(sheetId: string): StoredCommit {
    const commit: StoredCommit = { id: newId("vr"), sheetId, seq: ++commitSeq, createdAt: now() };
    commits.set(commit.id, commit);
    return commit;
  }

  function fieldsOf(sheet: StoredSheet): Json[] {
    const fields = sheet.config.fields;
    return Array.isArray(fields) ? fields.filter(isObject) : [];
  }

  /** Values of a seeded record, from the sheet's field keys. */
  function generated(sheet: StoredSheet, n: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of fieldsOf(sheet)) {
      const key = String(field.key);
      switch (field.type) {
        case "number":
          out[key] = n;
          break;
        case "boolean":
          out[key] = n % 2 === 0;
          break;
        case "date":
          out[key] = "2024-01-01";
          break;
        case "enum": {
          const options = isObject(field.config) && Array.isArray(field.config.options) ? field.config.options : [];
          const first = options[0];
          out[key] = isObject(first) ? first.value : null;
          break;
        }
        default:
          out[key] = `${key} ${n}`;
      }
    }
    return out;
  }

  function valuesOf(sheet: StoredSheet, record: StoredRecord): Record<string, unknown> {
    return record.values ?? generated(sheet, record.n);
  }

  function recordView(sheet: StoredSheet, record: StoredRecord, fields?: Set<string>): Json {
    const raw = valuesOf(sheet, record);
    const values: Record<string, Json> = {};
    let flagged = record.valid;
    for (const [key, value] of Object.entries(raw)) {
      if (fields && !fields.has(key)) continue;
      if (!flagged) {
        values[key] = { value, valid: false, messages: [{ field: key, type: "error", source: "custom-logic", message: "Invalid value" }] };
        flagged = true;
      } else {
        values[key] = { value, valid: true, messages: [] };
      }
    }
    return {
      id: record.id,
      values,
      valid: record.valid,
      messages: [],
      metadata: record.metadata ?? {},
      commitId: record.commitId,
      versionId: record.commitId,
    };
  }

  function countsOf(records: readonly StoredRecord[]): { total: number; valid: number; error: number } {
    let valid = 0;
    for (const r of records) if (r.valid) valid += 1;
    return { total: records.length, valid, error: records.length - valid };
  }

  /** Records changed by a commit, or by commits after one. */
  function byCommit(sheet: StoredSheet, query: URLSearchParams): StoredRecord[] {
    const commitId = query.get("commitId") ?? query.get("versionId");
    const sinceId = query.get("sinceCommitId") ?? query.get("sinceVersionId");
    let records = sheet.records;
    if (commitId) {
      if (!commits.has(commitId)) throw notFound("Commit", commitId);
      records = records.filter((r) => r.commitId === commitId);
    }
    if (sinceId) {
      const since = commits.get(sinceId) ?? throwIt(notFound("Commit", sinceId));
      records = records.filter((r) => (commits.get(r.commitId)?.seq ?? 0) > since.seq);
    }
    const ids = query.getAll("ids");
    if (ids.length) {
      const wanted = new Set(ids);
      records = records.filter((r) => wanted.has(r.id));
    }
    return records;
  }

  function sheetView(sheet: StoredSheet): SheetView {
    const view: SheetView = {
      id: sheet.id,
      workbookId: sheet.workbookId,
      name: sheet.name,
      slug: sheet.slug,
      config: clone(sheet.config) as unknown as Flatfile.SheetConfig,
      createdAt: sheet.createdAt,
      updatedAt: sheet.updatedAt,
    };
    if (sheet.metadata !== undefined) view.metadata = clone(sheet.metadata);
    if (sheet.lockedBy) view.lockedBy = sheet.lockedBy;
    if (sheet.lockedAt) view.lockedAt = sheet.lockedAt;
    return view;
  }

  function workbookView(workbook: StoredWorkbook, includeSheets = true): WorkbookView {
    const { sheetIds, ...rest } = workbook;
    const view = clone(rest) as unknown as WorkbookView;
    view.sheets = includeSheets ? sheetIds.map((id) => sheets.get(id)).filter((s): s is StoredSheet => !!s).map(sheetView) : [];
    return view;
  }

  function createSheet(workbookId: string, config: Json, records: StoredRecord[] = []): StoredSheet {
    const name = typeof config.name === "string" ? config.name : "Sheet";
    const slug = typeof config.slug === "string" ? config.slug : slugify(name);
    const at = now();
    const sheet: StoredSheet = {
      id: newId("sh"),
      workbookId,
      name,
      slug,
      config: { ...config, name, slug },
      createdAt: at,
      updatedAt: at,
      records,
    };
    sheets.set(sheet.id, sheet);
    return sheet;
  }

  function applyCommit(sheet: StoredSheet, change: SeedCommit): { commitId: string; recordIds: string[] } {
    const commit = newCommit(sheet.id);
    if (change.deleteAll) sheet.records = [];
    if (change.delete?.length) {
      const gone = new Set(change.delete);
      sheet.records = sheet.records.filter((r) => !gone.has(r.id));
    }
    if (change.update?.length) {
      const byId = new Map(sheet.records.map((r) => [r.id, r]));
      for (const u of change.update) {
        const record = byId.get(u.id) ?? throwIt(notFound("Record", u.id));
        record.values = { ...valuesOf(sheet, record), ...clone(u.values) };
        record.commitId = commit.id;
      }
    }
    const recordIds: string[] = [];
    const invalid = change.invalid ?? 0;
    (change.insert ?? []).forEach((values, i) => {
      const record: StoredRecord = { id: newId("rc"), commitId: commit.id, valid: i >= invalid, n: sheet.records.length, values: clone(values) };
      sheet.records.push(record);
      recordIds.push(record.id);
    });
    sheet.updatedAt = now();
    return { commitId: commit.id, recordIds };
  }

  // --- seed -----------------------------------------------------------------------------------

  const seed: Seed = {
    space(input = {}) {
      const at = now();
      const space: StoredSpace = {
        id: newId("sp"),
        name: input.name ?? "Space",
        environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        accountId: input.accountId ?? DEFAULT_ACCOUNT_ID,
        metadata: clone(input.metadata ?? {}),
        guestAuthentication: ["magic_link", "shared_link"],
        createdAt: at,
        updatedAt: at,
      };
      spaces.set(space.id, space);
      return clone(space);
    },
    user(input) {
      const at = now();
      const user: StoredUser = {
        id: newId("usr"),
        email: input.email,
        name: input.name,
        accountId: input.accountId ?? DEFAULT_ACCOUNT_ID,
        idp: "local",
        metadata: clone(input.metadata ?? {}),
        createdAt: at,
        updatedAt: at,
      };
      users.set(user.id, user);
      return clone(user);
    },
    guest(input) {
      const at = now();
      const guest: StoredGuest = {
        id: newId("g"),
        email: input.email,
        name: input.name,
        environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        spaces: (input.spaceIds ?? []).map((id) => ({ id })),
        createdAt: at,
        updatedAt: at,
      };
      guests.set(guest.id, guest);
      return clone(guest);
    },
    job(input) {
      const [domain = "space", operation = ""] = input.job.split(":");
      const source =
        domain === "sheet" ? input.sheetId : domain === "workbook" ? input.workbookId : domain === "space" ? input.spaceId : undefined;
      const space = input.spaceId ? spaces.get(input.spaceId) : undefined;
      const at = now();
      const job: StoredJob = {
        id: newId("jb"),
        type: domain,
        operation,
        source: source ?? input.spaceId ?? input.workbookId ?? input.sheetId ?? "",
        status: input.status ?? "ready",
        progress: 0,
        mode: "foreground",
        managed: true,
        input: {},
        environmentId: input.environmentId ?? space?.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        createdBy: "us_usr_local0001",
        createdAt: at,
        updatedAt: at,
      };
      if (input.spaceId) job.spaceId = input.spaceId;
      jobs.set(job.id, job);
      return clone(job);
    },
    workbook(input) {
      const space = getSpace(input.spaceId);
      const at = now();
      const workbook: StoredWorkbook = {
        id: newId("wb"),
        name: input.name ?? "Workbook",
        spaceId: space.id,
        environmentId: space.environmentId,
        sheetIds: [],
        createdAt: at,
        updatedAt: at,
      };
      if (input.actions) workbook.actions = clone(input.actions);
      if (input.metadata !== undefined) workbook.metadata = clone(input.metadata);
      if (input.labels) workbook.labels = clone(input.labels);
      workbooks.set(workbook.id, workbook);
      for (const s of input.sheets) {
        const config: Json = {
          name: s.name,
          slug: s.slug,
          fields: clone(
            s.fields ?? [
              { key: "firstName", type: "string", label: "First name" },
              { key: "lastName", type: "string", label: "Last name" },
              { key: "email", type: "string", label: "Email" },
            ],
          ),
        };
        if (s.access) config.access = clone(s.access);
        if (s.readonly !== undefined) config.readonly = s.readonly;
        if (s.actions) config.actions = clone(s.actions);
        const sheet = createSheet(workbook.id, config);
        workbook.sheetIds.push(sheet.id);
        const count = s.records ?? 0;
        if (count > 0) {
          const commit = newCommit(sheet.id);
          const records = new Array<StoredRecord>(count);
          for (let n = 0; n < count; n++) records[n] = { id: newId("rc"), commitId: commit.id, valid: true, n };
          sheet.records = records;
        }
      }
      return workbookView(workbook);
    },
    commit(sheetId, change) {
      return applyCommit(getSheet(sheetId), change);
    },
    records(sheetId, values, opts = {}) {
      return applyCommit(getSheet(sheetId), { insert: values, invalid: opts.invalid });
    },
    markInvalid(sheetId, recordIds, invalid = true) {
      const wanted = new Set(recordIds);
      for (const r of getSheet(sheetId).records) if (wanted.has(r.id)) r.valid = !invalid;
    },
  };

  // --- handlers -------------------------------------------------------------------------------

  type Handler = (params: string[], body: unknown, query: URLSearchParams) => unknown;
  const ok = (data: unknown) => ({ data });

  function finishJob(id: string, status: "complete" | "failed", body: unknown): Json {
    const job = getJob(id);
    if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be marked ${status}`);
    const details = isObject(body) ? body : {};
    job.status = status;
    if (details.outcome !== undefined) job.outcome = clone(details.outcome) as Record<string, unknown>;
    if (typeof details.info === "string") job.info = details.info;
    if (status === "complete") job.progress = 100;
    const at = now();
    job.finishedAt = at;
    job.updatedAt = at;
    return ok(clone(job));
  }

  const handlers: Record<Exclude<RouteName, "unknown">, Handler> = {
    "jobs.get": ([id]) => ok(clone(getJob(id!))),
    "jobs.ack": ([id], body) => {
      const job = getJob(id!);
      if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be acknowledged`);
      const details = isObject(body) ? body : {};
      job.status = "executing";
      if (typeof details.info === "string") job.info = details.info;
      if (typeof details.progress === "number") job.progress = details.progress;
      if (typeof details.estimatedCompletionAt === "string") job.estimatedCompletionAt = details.estimatedCompletionAt;
      job.startedAt ??= now();
      job.updatedAt = now();
      return ok(clone(job));
    },
    "jobs.complete": ([id], body) => finishJob(id!, "complete", body),
    "jobs.fail": ([id], body) => finishJob(id!, "failed", body),
    "jobs.retry": ([id]) => {
      const job = getJob(id!);
      if (job.status !== "failed" && job.status !== "canceled") throw badRequest(`Job ${id} is ${job.status}: only a failed or canceled job can be retried`);
      job.status = "ready";
      delete job.outcome;
      delete job.finishedAt;
      job.progress = 0;
      job.updatedAt = now();
      return ok(clone(job));
    },

    "spaces.get": ([id]) => ok(clone(getSpace(id!))),
    "spaces.update": ([id], body) => {
      const space = getSpace(id!);
      for (const [key, value] of Object.entries(isObject(body) ? body : {})) {
        if (value === undefined) continue;
        space[key] = clone(value); // metadata is replaced wholesale, not merged
      }
      space.updatedAt = now();
      return ok(clone(space));
    },

    "workbooks.list": (_p, _b, query) => {
      const spaceId = query.get("spaceId");
      const name = query.get("name");
      const namespace = query.get("namespace");
      const label = query.get("label");
      const includeSheets = query.get("includeSheets") !== "false";
      const list = [...workbooks.values()].filter(
        (w) =>
          (!spaceId || w.spaceId === spaceId) &&
          (!name || w.name === name) &&
          (!namespace || w.namespace === namespace) &&
          (!label || (Array.isArray(w.labels) && w.labels.includes(label))),
      );
      return ok(list.map((w) => workbookView(w, includeSheets)));
    },
    "workbooks.create": (_p, body) => {
      const config = body as Json;
      let environmentId = typeof config.environmentId === "string" ? config.environmentId : DEFAULT_ENVIRONMENT_ID;
      if (typeof config.spaceId === "string") {
        const space = spaces.get(config.spaceId) ?? throwIt(badRequest(`Space ${config.spaceId} not found`, "spaceId"));
        if (typeof config.environmentId !== "string") environmentId = space.environmentId;
      }
      const slugs = new Set<string>();
      const sheetConfigs = Array.isArray(config.sheets) ? (config.sheets as Json[]) : [];
      for (const [i, s] of sheetConfigs.entries()) {
        const slug = typeof s.slug === "string" ? s.slug : slugify(String(s.name));
        if (slugs.has(slug)) throw badRequest(`Duplicate sheet slug "${slug}"`, `sheets[${i}].slug`);
        slugs.add(slug);
      }
      const at = now();
      const { sheets: _sheets, ...rest } = config;
      void _sheets;
      const workbook: StoredWorkbook = {
        ...clone(rest),
        id: newId("wb"),
        spaceId: typeof config.spaceId === "string" ? config.spaceId : "",
        environmentId,
        sheetIds: [],
        createdAt: at,
        updatedAt: at,
      };
      workbooks.set(workbook.id, workbook);
      for (const s of sheetConfigs) workbook.sheetIds.push(createSheet(workbook.id, clone(s)).id);
      return ok(workbookView(workbook));
    },
    "workbooks.get": ([id]) => ok(workbookView(getWorkbook(id!))),
    "workbooks.update": ([id], body) => {
      const workbook = getWorkbook(id!);
      const update = isObject(body) ? body : {};
      if (Array.isArray(update.sheets)) {
        const current = workbook.sheetIds.map((sid) => sheets.get(sid)).filter((s): s is StoredSheet => !!s);
        const bySlug = new Map(current.map((s) => [s.slug, s]));
        const byId = new Map(current.map((s) => [s.id, s]));
        const kept: string[] = [];
        const seen = new Set<string>();
        for (const [i, entry] of (update.sheets as Json[]).entries()) {
          const { id: sheetId, workbookId: _w, config: nested, createdAt: _c, updatedAt: _u, ...flat } = entry;
          void _w;
          void _c;
          void _u;
          const config: Json = { ...(isObject(nested) ? clone(nested) : {}), ...clone(flat) };
          const existing =
            (typeof sheetId === "string" ? byId.get(sheetId) : undefined) ??
            (typeof config.slug === "string" ? bySlug.get(config.slug) : undefined);
          const slug = typeof config.slug === "string" ? config.slug : existing?.slug ?? slugify(String(config.name ?? ""));
          if (seen.has(slug)) throw badRequest(`Duplicate sheet slug "${slug}"`, `sheets[${i}].slug`);
          seen.add(slug);
          if (existing) {
            const name = typeof config.name === "string" ? config.name : existing.name;
            const fields = config.fields ?? existing.config.fields;
            existing.config = { ...config, name, slug, fields };
            existing.name = name;
            existing.slug = slug;
            if (config.metadata !== undefined) existing.metadata = clone(config.metadata);
            existing.updatedAt = now();
            kept.push(existing.id);
          } else {
            if (!Array.isArray(config.fields)) throw badRequest(`A new sheet needs fields`, `sheets[${i}].fields`);
            kept.push(createSheet(workbook.id, { ...config, slug }).id);
          }
        }
        for (const s of current) if (!kept.includes(s.id)) sheets.delete(s.id);
        workbook.sheetIds = kept;
      }
      for (const [key, value] of Object.entries(update)) {
        if (key === "sheets" || value === undefined) continue;
        workbook[key] = clone(value);
      }
      workbook.updatedAt = now();
      return ok(workbookView(workbook));
    },

    "sheets.get": ([id]) => ok(sheetView(getSheet(id!))),
    "sheets.counts": ([id], _b, query) => {
      const sheet = getSheet(id!);
      return ok({ success: true, counts: countsOf(byCommit(sheet, query)) });
    },
    "sheets.lock": ([id]) => {
      const sheet = getSheet(id!);
      sheet.lockedBy = "us_key_local0001";
      sheet.lockedAt = now();
      return ok({ success: true });
    },
    "sheets.unlock": ([id]) => {
      const sheet = getSheet(id!);
      delete sheet.lockedBy;
      delete sheet.lockedAt;
      return ok({ success: true });
    },
    "sheets.duplicate": ([id], body) => {
      const source = getSheet(id!);
      const workbook = getWorkbook(source.workbookId);
      const request = isObject(body) ? body : {};
      const slug = typeof request.slug === "string" ? request.slug : `${source.slug}-copy`;
      const name = typeof request.name === "string" ? request.name : `${source.name} (copy)`;
      const taken = workbook.sheetIds.some((sid) => sheets.get(sid)?.slug === slug);
      if (taken) throw badRequest(`A sheet with slug "${slug}" already exists in workbook ${workbook.id}`, "slug");
      const copy = createSheet(workbook.id, { ...clone(source.config), name, slug });
      const commit = newCommit(copy.id);
      copy.records = source.records.map((r) => {
        const record: StoredRecord = { id: newId("rc"), commitId: commit.id, valid: r.valid, n: r.n };
        if (r.values) record.values = { ...r.values };
        if (r.metadata) record.metadata = { ...r.metadata };
        return record;
      });
      if (source.metadata !== undefined) copy.metadata = clone(source.metadata);
      workbook.sheetIds.push(copy.id);
      workbook.updatedAt = now();
      return ok(sheetView(copy));
    },

    "records.get": ([id], _b, query) => {
      const sheet = getSheet(id!);
      const pageSize = query.has("pageSize") ? Number(query.get("pageSize")) : DEFAULT_PAGE_SIZE;
      const pageNumber = query.has("pageNumber") ? Number(query.get("pageNumber")) : 1;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
        throw badRequest(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`, "pageSize");
      }
      if (!Number.isInteger(pageNumber) || pageNumber < 1) throw badRequest("pageNumber must be an integer from 1", "pageNumber");
      const filter = query.get("filter") ?? "all";
      if (!["all", "valid", "error", "none"].includes(filter)) throw badRequest(`Unknown filter "${filter}"`, "filter");
      const changed = byCommit(sheet, query);
      const filtered =
        filter === "valid" ? changed.filter((r) => r.valid) : filter === "error" ? changed.filter((r) => !r.valid) : filter === "none" ? [] : changed;
      const start = (pageNumber - 1) * pageSize;
      const fieldList = query.getAll("fields");
      const fields = fieldList.length ? new Set(fieldList) : undefined;
      const records = filtered.slice(start, start + pageSize).map((r) => recordView(sheet, r, fields));
      return ok({ success: true, records, counts: countsOf(changed) });
    },
    "records.insert": ([id], body) => {
      const sheet = getSheet(id!);
      const rows = Array.isArray(body) ? (body as Json[]) : [];
      const commit = newCommit(sheet.id);
      const inserted = rows.map((row) => {
        const values: Record<string, unknown> = {};
        let valid = true;
        for (const [key, cell] of Object.entries(row)) {
          if (!isObject(cell)) continue;
          values[key] = clone(cell.value) ?? null;
          if (cell.valid === false) valid = false;
        }
        const record: StoredRecord = { id: newId("rc"), commitId: commit.id, valid, n: sheet.records.length, values };
        sheet.records.push(record);
        return record;
      });
      sheet.updatedAt = now();
      return ok({ success: true, records: inserted.map((r) => recordView(sheet, r)), commitId: commit.id, versionId: commit.id });
    },

    "documents.list": ([spaceId]) => {
      getSpace(spaceId!);
      return ok([...documents.values()].filter((d) => d.spaceId === spaceId).map((d) => clone(d)));
    },
    "documents.create": ([spaceId], body) => {
      const space = getSpace(spaceId!);
      const at = now();
      const doc: StoredDocument = {
        ...(clone(body) as Json),
        id: newId("dc"),
        spaceId: space.id,
        environmentId: space.environmentId,
        title: String((body as Json).title),
        body: String((body as Json).body),
        createdAt: at,
        updatedAt: at,
      };
      documents.set(doc.id, doc);
      return ok(clone(doc));
    },
    "documents.get": ([spaceId, documentId]) => {
      const doc = documents.get(documentId!);
      if (!doc || doc.spaceId !== spaceId) throw notFound("Document", documentId!);
      return ok(clone(doc));
    },
    "documents.update": ([spaceId, documentId], body) => {
      const doc = documents.get(documentId!);
      if (!doc || doc.spaceId !== spaceId) throw notFound("Document", documentId!);
      for (const [key, value] of Object.entries(isObject(body) ? body : {})) if (value !== undefined) doc[key] = clone(value);
      doc.updatedAt = now();
      return ok(clone(doc));
    },

    "users.get": ([id]) => ok(clone(users.get(id!) ?? throwIt(notFound("User", id!)))),
    "guests.get": ([id]) => ok(clone(guests.get(id!) ?? throwIt(notFound("Guest", id!)))),

    "agents.list": (_p, _b, query) => {
      const environmentId = query.get("environmentId");
      if (!environmentId) throw badRequest("environmentId is required", "environmentId");
      return ok([...agents.values()].filter((a) => a.environmentId === environmentId).map((a) => clone(a)));
    },
    "agents.create": (_p, body, query) => {
      const environmentId = query.get("environmentId");
      if (!environmentId) throw badRequest("environmentId is required", "environmentId");
      const at = now();
      const agent: StoredAgent = {
        ...(clone(body) as Json),
        id: newId("ag"),
        environmentId,
        accountId: DEFAULT_ACCOUNT_ID,
        createdAt: at,
        updatedAt: at,
      };
      agents.set(agent.id, agent);
      return ok(clone(agent));
    },
    "agents.get": ([id]) => ok(clone(agents.get(id!) ?? throwIt(notFound("Agent", id!)))),
    "agents.delete": ([id]) => {
      if (!agents.delete(id!)) throw notFound("Agent", id!);
      return ok({ success: true });
    },

    "secrets.list": (_p, _b, query) => {
      const environmentId = query.get("environmentId");
      const spaceId = query.get("spaceId");
      if (!environmentId && !spaceId) throw badRequest("environmentId or spaceId is required", "environmentId");
      const list = [...secrets.values()].filter(
        (s) => (!environmentId || s.environmentId === environmentId) && (!spaceId || s.spaceId === spaceId),
      );
      return ok(list.map((s) => clone(s)));
    },
    "secrets.upsert": (_p, body) => {
      const write = body as Json;
      const environmentId = typeof write.environmentId === "string" ? write.environmentId : undefined;
      const spaceId = typeof write.spaceId === "string" ? write.spaceId : undefined;
      if (!environmentId && !spaceId) throw badRequest("environmentId or spaceId is required", "environmentId");
      const existing = [...secrets.values()].find((s) => s.name === write.name && s.environmentId === environmentId && s.spaceId === spaceId);
      const secret: StoredSecret = { ...(clone(write) as Json), id: existing?.id ?? newId("sec"), name: String(write.name), value: String(write.value) };
      secrets.set(secret.id, secret);
      return ok([clone(secret)]);
    },
    "secrets.delete": ([id]) => {
      if (!secrets.delete(id!)) throw notFound("Secret", id!);
      return ok([]);
    },
  };

  // --- HTTP -----------------------------------------------------------------------------------

  function takeFault<T>(map: Map<string, T>, route: string): { key: string; value: T } | undefined {
    for (const key of [route, "*"]) {
      const value = map.get(key);
      if (value !== undefined) return { key, value };
    }
    return undefined;
  }

  function send(response: ServerResponse, entry: RequestLogEntry, status: number, body: unknown): void {
    entry.status = status;
    if (response.destroyed || response.writableEnded) return;
    const text = JSON.stringify(body);
    response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    response.end(text);
  }

  async function handle(request: IncomingMessage, response: ServerResponse, rawText: string): Promise<void> {
    const method = (request.method ?? "GET").toUpperCase();
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const matched = matchRoute(method, url.pathname);
    const route: string = matched?.def.name ?? "unknown";

    let parsed: unknown;
    let malformed = false;
    if (rawText.length > 0) {
      try {
        parsed = JSON.parse(rawText);
      } catch {
        malformed = true;
      }
    }
    const entry: RequestLogEntry = { method, route, path: request.url ?? "/", status: 0, at: Date.now() };
    if (rawText.length > 0) entry.body = malformed ? rawText : parsed;
    requests.push(entry);

    const latency = globalLatency + (takeFault(latencyFaults, route)?.value ?? 0);
    if (latency > 0) await sleep(latency);

    const auth = request.headers.authorization;
    if (auth !== `Bearer ${apiKey}`) {
      send(response, entry, 401, { errors: [{ message: auth ? "The API key was not accepted" : "Missing bearer token" }] });
      return;
    }

    const hang = takeFault(hangFaults, route);
    if (hang && hang.value > 0) {
      hangFaults.set(hang.key, hang.value - 1);
      entry.status = 0;
      hung.add(response);
      response.on("close", () => hung.delete(response));
      return;
    }
    const scripted = takeFault(statusFaults, route);
    if (scripted && scripted.value.length > 0) {
      const status = scripted.value.shift()!;
      if (scripted.value.length === 0) statusFaults.delete(scripted.key);
      send(response, entry, status, { errors: [{ message: `Injected fault: HTTP ${status} on ${route}` }] });
      return;
    }

    if (!matched) {
      send(response, entry, 404, { errors: [{ message: `No route for ${method} ${url.pathname}` }] });
      return;
    }
    if (malformed) {
      send(response, entry, 400, { errors: [{ message: "The request body is not valid JSON" }] });
      return;
    }
    if (matched.def.schema) {
      const result = matched.def.schema(await serialization()).parse(parsed, STRICT);
      if (!result.ok) {
        send(response, entry, 400, {
          errors: result.errors.map((e) => {
            const key = formatPath(e.path);
            return key ? { key, message: `${key}: ${e.message}` } : { message: e.message };
          }),
        });
        return;
      }
    }
    try {
      const answer = handlers[matched.def.name as Exclude<RouteName, "unknown">](matched.params, parsed, url.searchParams);
      send(response, entry, 200, answer);
    } catch (error) {
      if (error instanceof HttpError) {
        send(response, entry, error.status, { errors: [error.key ? { key: error.key, message: error.message } : { message: error.message }] });
      } else {
        send(response, entry, 500, { errors: [{ message: error instanceof Error ? error.message : String(error) }] });
      }
    }
  }

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      handle(request, response, Buffer.concat(chunks).toString("utf8")).catch((error: unknown) => {
        if (!response.headersSent && !response.destroyed) {
          response.writeHead(500, { "content-type": "application/json" });
          response.end(JSON.stringify({ errors: [{ message: String(error) }] }));
        }
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    apiKey,
    requests,
    seed,
    faults,
    spaces,
    jobs,
    workbooks,
    sheets,
    documents,
    users,
    guests,
    agents,
    secrets,
    commits,
    reset() {
      requests.length = 0;
      for (const map of [spaces, jobs, workbooks, sheets, documents, users, guests, agents, secrets, commits]) map.clear();
      faults.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hung) response.destroy();
        hung.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function throwIt(error: Error): never {
  throw error;
}
