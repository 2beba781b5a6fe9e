/**
 * The stand-in's public types: what it stores, what tests seed, the request log and faults.
 */
import type { Flatfile } from "@flatfile/api";
import type { PlatformBehaviour } from "./platform";

export const DEFAULT_ENVIRONMENT_ID = "us_env_local0001";
export const DEFAULT_ACCOUNT_ID = "us_acc_local0001";

export type RouteName =
  | "commits.complete"
  | "jobs.create"
  | "jobs.get"
  | "jobs.ack"
  | "jobs.complete"
  | "jobs.fail"
  | "jobs.cancel"
  | "jobs.execute"
  | "jobs.retry"
  | "spaces.create"
  | "spaces.get"
  | "spaces.update"
  | "spaces.delete"
  | "workbooks.create"
  | "workbooks.get"
  | "workbooks.list"
  | "workbooks.update"
  | "sheets.get"
  | "sheets.counts"
  | "sheets.lock"
  | "sheets.unlock"
  | "sheets.duplicate"
  | "records.get"
  | "records.insert"
  | "records.update"
  | "records.delete"
  | "events.list"
  | "events.get"
  | "events.ack"
  | "documents.create"
  | "documents.list"
  | "documents.get"
  | "documents.update"
  | "users.get"
  | "apps.get"
  | "guests.get"
  | "agents.create"
  | "agents.list"
  | "agents.get"
  | "agents.delete"
  | "agents.getAgentLogs"
  | "secrets.list"
  | "secrets.upsert"
  | "secrets.delete"
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

export type Json = Record<string, unknown>;

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

/** An App (`apps.get`): its namespace decides which listeners its Spaces' events reach. */
export interface StoredApp {
  id: string;
  name: string;
  namespace: string;
  type: "CUSTOM";
  entity: string;
  entityPlural: string;
  environmentId: string;
  accountId: string;
  createdAt: string;
  updatedAt: string;
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

/** One run of an agent on one event, as `GET /v1/agents/{agentId}/logs` lists it (SDK `AgentLog`). */
export interface StoredAgentLog {
  id: string;
  agentId: string;
  eventId: string;
  success: boolean;
  createdAt: string;
  completedAt: string;
  /** What the agent printed (stdout and stderr). */
  log?: string;
  topic?: string;
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
  /** Set by `commits.complete` (records.ts). */
  completedAt?: string;
}

/** An event the platform raised, as `events.list` answers it (SDK `GenericEvent`). */
export interface StoredEvent {
  id: string;
  topic: string;
  domain: string;
  context: { accountId: string; environmentId: string; spaceId?: string; [key: string]: unknown };
  payload: Record<string, unknown>;
  createdAt: string;
  /** Where the event's data is read, relative to the API base (a commit's records: records.ts). */
  dataUrl?: string;
  /** `space:<namespace>` of its Space and App (store.ts, namespacesOf). */
  namespaces?: string[];
  acknowledgedAt?: string;
  acknowledgedBy?: string;
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
  /** New values; `valid` also marks the record valid or in error. */
  update?: { id: string; values: Record<string, unknown>; valid?: boolean }[];
  deleteAll?: boolean;
  delete?: string[];
  /** Mark this many of the inserted records (the first ones) as error records. */
  invalid?: number;
}

export interface Seed {
  space(input?: {
    name?: string;
    metadata?: unknown;
    environmentId?: string;
    accountId?: string;
    namespace?: string;
    appId?: string;
  }): StoredSpace;
  app(input: { name?: string; namespace: string; environmentId?: string }): StoredApp;
  user(input: { email: string; name: string; metadata?: Record<string, unknown>; accountId?: string }): StoredUser;
  guest(input: { email: string; name: string; environmentId?: string; spaceIds?: string[] }): StoredGuest;
  job(input: {
    job: string;
    spaceId?: string;
    workbookId?: string;
    sheetId?: string;
    status?: StoredJob["status"];
    environmentId?: string;
  }): StoredJob;
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
  /** What people and the platform do, each raising its event as the platform would (see act.ts). */
  act: PlatformActions;
  /** Every event raised, oldest first (cleared by reset). */
  readonly events: StoredEvent[];
  /** Where the docs are silent, which way this stand-in answers; change it in place per test. */
  platform: PlatformBehaviour;
  faults: Faults;
  spaces: Map<string, StoredSpace>;
  jobs: Map<string, StoredJob>;
  workbooks: Map<string, StoredWorkbook>;
  sheets: Map<string, StoredSheet>;
  documents: Map<string, StoredDocument>;
  users: Map<string, StoredUser>;
  apps: Map<string, StoredApp>;
  guests: Map<string, StoredGuest>;
  agents: Map<string, StoredAgent>;
  /** Every agent run, oldest first (`act.agentRan` adds one). */
  agentLogs: StoredAgentLog[];
  secrets: Map<string, StoredSecret>;
  commits: Map<string, StoredCommit>;
  /**
   * The platform's clock (epoch ms): wall time plus every `advance`. Moving it runs the
   * platform's timers at once (resources/jobs.ts: a job executing 5 minutes after its last ack is
   * failed). Reset puts it back to wall time.
   */
  clock: { now(): number; advance(ms: number): void };
  /** Ids of the jobs the platform's 5-minute timer failed, oldest first (cleared by reset). */
  readonly timedOutJobs: readonly string[];
  /** Clears all state, the request log and faults, and restores `platform` as started; keeps the server, port and apiKey. */
  reset(): void;
  close(): Promise<void>;
}

export type OutcomeSeen =
  | { dialog: false; reason: string }
  | { dialog: true; heading?: string; message?: string; next?: Record<string, unknown>; event: StoredEvent };

export interface CreatedSpace {
  space: StoredSpace;
  /** The `space:configure` job, when the space was created with autoConfigure. */
  job?: StoredJob;
  /** The `job:ready` event of that job, when there is one. */
  event?: StoredEvent;
}

/**
 * What people and the platform do, in process, each the way the HTTP API does it (same code) and
 * raising the same events. Every function answers with the event a listener would be sent.
 */
export interface PlatformActions {
  /**
   * A Space created as the dashboard, an embedded app or `POST /v1/spaces` with
   * `autoConfigure: true` creates it: `space:created`, then a `space:configure` job, ready at once,
   * with `job:created` and `job:ready` (answered as `event`). `autoConfigure: false` makes no job.
   */
  createSpace(input?: {
    name?: string;
    metadata?: unknown;
    environmentId?: string;
    accountId?: string;
    /** Who created it: a user (`us_usr_…`), a guest (`us_g_…`) or anything else. Default: the API key. */
    actorId?: string;
    autoConfigure?: boolean;
  }): CreatedSpace;
  /**
   * A person presses an action button: a job `<domain>:<operation>` on the sheet, workbook or
   * space, ready at once (`job:created`, then `job:ready`, answered as `event`), with `actionName`
   * in the event's context.
   */
  runAction(input: {
    /** `<domain>:<operation>`, e.g. `sheet:duplicate`, `workbook:submitActionFg`. */
    job: string;
    sheetId?: string;
    workbookId?: string;
    spaceId?: string;
    actorId?: string;
    input?: Record<string, unknown>;
  }): { job: StoredJob; event: StoredEvent };
  /**
   * What the person who ran a finished job sees of its outcome, and their closing it: the outcome
   * dialog, with its `next` button, only for a job not in the background whose outcome asks to be
   * acknowledged; closing it raises `job:outcome-acknowledged` (answered as `event`). A background
   * job shows none and raises nothing (see resources/jobs.ts `closeOutcome` for the sources).
   */
  closeOutcome(jobId: string): OutcomeSeen;
  /** A person changes records: one commit on the sheet and its `commit:created` event. */
  commit(
    sheetId: string,
    change: SeedCommit,
    options?: { actorId?: string },
  ): { commitId: string; recordIds: string[]; event: StoredEvent };
  /**
   * The platform ran an agent on an event and kept what it printed: one entry of the agent's logs.
   * `completedAt` defaults to the platform's clock, `createdAt` to one second before it.
   */
  agentRan(agentId: string, run: { eventId: string; log: string; success?: boolean; topic?: string; completedAt?: string }): StoredAgentLog;
}
