/**
 * The stand-in's state, in memory, and the views it answers with: ids, spaces, jobs, workbooks,
 * sheets and their records, commits, documents, users, guests, agents and secrets.
 */
import { randomBytes } from "node:crypto";
import type { Flatfile } from "@flatfile/api";
import { notFound, throwIt } from "./errors";
import type { PlatformBehaviour } from "./platform";
import { DEFAULT_ACCOUNT_ID, DEFAULT_ENVIRONMENT_ID } from "./types";
import type {
  Json,
  SeedCommit,
  SheetView,
  StoredAgent,
  StoredAgentLog,
  StoredCommit,
  StoredDocument,
  StoredEvent,
  StoredGuest,
  StoredJob,
  StoredRecord,
  StoredSecret,
  StoredSheet,
  StoredSpace,
  StoredApp,
  StoredUser,
  StoredWorkbook,
  WorkbookView,
} from "./types";

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
export const now = () => new Date().toISOString();
export const clone = <T>(value: T): T => (value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T));
export const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value);

export function slugify(name: string): string {
  return (
    name
      .trim()
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "") || "sheet"
  );
}

/** The actor of whatever is done through the API with the stand-in's key. */
export const API_KEY_ACTOR = "us_key_local0001";

export class Store {
  readonly spaces = new Map<string, StoredSpace>();
  readonly jobs = new Map<string, StoredJob>();
  readonly workbooks = new Map<string, StoredWorkbook>();
  readonly sheets = new Map<string, StoredSheet>();
  readonly documents = new Map<string, StoredDocument>();
  readonly users = new Map<string, StoredUser>();
  readonly apps = new Map<string, StoredApp>();
  readonly guests = new Map<string, StoredGuest>();
  readonly agents = new Map<string, StoredAgent>();
  readonly agentLogs: StoredAgentLog[] = [];
  readonly secrets = new Map<string, StoredSecret>();
  readonly commits = new Map<string, StoredCommit>();
  /** Every event raised, oldest first. */
  readonly events: StoredEvent[] = [];

  /**
   * The platform's clock: wall time plus what tests advanced it by (`standIn.clock.advance`). The
   * platform's own timers (resources/jobs.ts: jobs left unacknowledged) run on it.
   */
  clockOffsetMs = 0;
  clockNow = (): number => Date.now() + this.clockOffsetMs;
  /** Per job, when it was last acknowledged, on `clockNow`. */
  readonly lastAcks = new Map<string, number>();
  /** Jobs the platform's timer failed (resources/jobs.ts), oldest first. */
  readonly timedOut: string[] = [];
  /** Runs the platform's timers as of `clockNow` (before each request, and when the clock moves). */
  tick: () => void = () => undefined;

  /** A short random tag per stand-in, so ids from two instances never collide. */
  private readonly instance = Array.from(randomBytes(2), (b) => ALNUM[b % 36]).join("");
  private counter = 0;
  private commitSeq = 0;

  /**
   * `platform`: where the docs are silent, which way this stand-in answers (changed in place by
   * tests). `idPrefix` is the region part of every id made here: `us` by default; `dev` (or
   * `us0`…) models the other prefixes the docs and SDK examples show (`dev_sp_…`, `us0_ev_…`).
   */
  constructor(
    readonly platform: PlatformBehaviour,
    private readonly idPrefix = "us",
  ) {}

  newId(kind: string): string {
    return `${this.idPrefix}_${kind}_${this.instance}${(this.counter++).toString(36).padStart(6, "0")}`;
  }

  /** Forgets every stored thing (ids keep counting, so an old id never comes back). */
  clear(): void {
    for (const map of [
      this.spaces,
      this.jobs,
      this.workbooks,
      this.sheets,
      this.documents,
      this.users,
      this.apps,
      this.guests,
      this.agents,
      this.secrets,
      this.commits,
    ]) {
      map.clear();
    }
    this.events.length = 0;
    this.agentLogs.length = 0;
    this.lastAcks.clear();
    this.timedOut.length = 0;
    this.clockOffsetMs = 0;
  }

  /** Appends an event to the log, as the platform raises it. */
  raise(
    topic: string,
    domain: string,
    context: StoredEvent["context"],
    payload: Record<string, unknown> = {},
    extra: Pick<StoredEvent, "dataUrl"> = {},
  ): StoredEvent {
    const event: StoredEvent = {
      id: this.newId("evt"),
      topic,
      domain,
      context: clone(context),
      payload: clone(payload),
      createdAt: now(),
      ...(extra.dataUrl ? { dataUrl: extra.dataUrl } : {}),
    };
    const namespaces = this.namespacesOf(context.spaceId);
    if (namespaces.length > 0) event.namespaces = namespaces;
    this.events.push(event);
    return event;
  }

  /**
   * An event's `namespaces` (SDK `BaseEvent.namespaces`): `space:<namespace>` for its Space's own
   * namespace and its App's, which is what Flatfile's namespace filter matches on
   * (`listener.namespace(["space:red"])`, docs "Namespaces and filters"). None without a Space.
   */
  private namespacesOf(spaceId: string | undefined): string[] {
    const space = spaceId ? this.spaces.get(spaceId) : undefined;
    if (!space) return [];
    const app = typeof space.appId === "string" ? this.apps.get(space.appId) : undefined;
    const names = [space.namespace, app?.namespace].filter((n): n is string => typeof n === "string" && n.length > 0);
    return [...new Set(names)].map((n) => `space:${n}`);
  }

  /**
   * An event's context for a sheet, workbook or space (the most specific given), filled the way
   * the platform fills it (SDK `Context`; samples in test/support/events): account and environment
   * always, then spaceId, workbookId, sheetId, sheetSlug and `slugs.sheet` as they apply.
   */
  contextFor(target: { spaceId?: string; workbookId?: string; sheetId?: string }): StoredEvent["context"] {
    const sheet = target.sheetId ? this.getSheet(target.sheetId) : undefined;
    const workbook = sheet ? this.getWorkbook(sheet.workbookId) : target.workbookId ? this.getWorkbook(target.workbookId) : undefined;
    const spaceId = workbook?.spaceId || target.spaceId;
    const space = spaceId ? this.spaces.get(spaceId) : undefined;
    if (spaceId && !space) throw notFound("Space", spaceId);
    const context: StoredEvent["context"] = {
      accountId: space?.accountId ?? DEFAULT_ACCOUNT_ID,
      environmentId: space?.environmentId ?? workbook?.environmentId ?? DEFAULT_ENVIRONMENT_ID,
    };
    if (space) context.spaceId = space.id;
    if (workbook) context.workbookId = workbook.id;
    if (sheet) {
      context.sheetId = sheet.id;
      context.sheetSlug = sheet.slug;
      context.slugs = { sheet: sheet.slug };
    }
    return context;
  }

  getSpace = (id: string) => this.spaces.get(id) ?? throwIt(notFound("Space", id));
  getJob = (id: string) => this.jobs.get(id) ?? throwIt(notFound("Job", id));
  getWorkbook = (id: string) => this.workbooks.get(id) ?? throwIt(notFound("Workbook", id));
  getSheet = (id: string) => this.sheets.get(id) ?? throwIt(notFound("Sheet", id));

  newCommit(sheetId: string): StoredCommit {
    const commit: StoredCommit = { id: this.newId("vr"), sheetId, seq: ++this.commitSeq, createdAt: now() };
    this.commits.set(commit.id, commit);
    return commit;
  }

  fieldsOf(sheet: StoredSheet): Json[] {
    const fields = sheet.config.fields;
    return Array.isArray(fields) ? fields.filter(isObject) : [];
  }

  /** Values of a seeded record, from the sheet's field keys. */
  generated(sheet: StoredSheet, n: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const field of this.fieldsOf(sheet)) {
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

  valuesOf(sheet: StoredSheet, record: StoredRecord): Record<string, unknown> {
    return record.values ?? this.generated(sheet, record.n);
  }

  /**
   * Where an invalid record's error is: each field whose `required` constraint its value breaks
   * (the platform flags the cell, ValidationSource "required-constraint"); when none does, the
   * record was put in error by other logic, shown on its first field.
   */
  private fieldsInError(sheet: StoredSheet, raw: Record<string, unknown>): Map<string, string> {
    const declared = isObject(sheet.config) && Array.isArray(sheet.config.fields) ? sheet.config.fields : [];
    const empty = (value: unknown) => value === null || value === undefined || (typeof value === "string" && value.trim() === "");
    const out = new Map<string, string>();
    for (const field of declared) {
      if (!isObject(field) || typeof field.key !== "string" || !(field.key in raw)) continue;
      const required = Array.isArray(field.constraints) && field.constraints.some((c) => isObject(c) && c.type === "required");
      if (required && empty(raw[field.key])) out.set(field.key, "required-constraint");
    }
    const first = Object.keys(raw)[0];
    if (out.size === 0 && first !== undefined) out.set(first, "custom-logic");
    return out;
  }

  recordView(sheet: StoredSheet, record: StoredRecord, fields?: Set<string>): Json {
    const raw = this.valuesOf(sheet, record);
    const values: Record<string, Json> = {};
    const inError = record.valid ? new Map<string, string>() : this.fieldsInError(sheet, raw);
    for (const [key, value] of Object.entries(raw)) {
      if (fields && !fields.has(key)) continue;
      const source = inError.get(key);
      values[key] = source
        ? { value, valid: false, messages: [{ field: key, type: "error", source, message: "Invalid value" }] }
        : { value, valid: true, messages: [] };
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

  countsOf(records: readonly StoredRecord[]): { total: number; valid: number; error: number } {
    let valid = 0;
    for (const r of records) if (r.valid) valid += 1;
    return { total: records.length, valid, error: records.length - valid };
  }

  /** Records changed by a commit, or by commits after one. */
  byCommit(sheet: StoredSheet, query: URLSearchParams): StoredRecord[] {
    const commitId = query.get("commitId") ?? query.get("versionId");
    const sinceId = query.get("sinceCommitId") ?? query.get("sinceVersionId");
    let records = sheet.records;
    if (commitId) {
      if (!this.commits.has(commitId)) throw notFound("Commit", commitId);
      records = records.filter((r) => r.commitId === commitId);
    }
    if (sinceId) {
      const since = this.commits.get(sinceId) ?? throwIt(notFound("Commit", sinceId));
      records = records.filter((r) => (this.commits.get(r.commitId)?.seq ?? 0) > since.seq);
    }
    const ids = query.getAll("ids");
    if (ids.length) {
      const wanted = new Set(ids);
      records = records.filter((r) => wanted.has(r.id));
    }
    return records;
  }

  sheetView(sheet: StoredSheet): SheetView {
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

  workbookView(workbook: StoredWorkbook, includeSheets = true): WorkbookView {
    const { sheetIds, ...rest } = workbook;
    const view = clone(rest) as unknown as WorkbookView;
    view.sheets = includeSheets
      ? sheetIds
          .map((id) => this.sheets.get(id))
          .filter((s): s is StoredSheet => !!s)
          .map((s) => this.sheetView(s))
      : [];
    return view;
  }

  createSheet(workbookId: string, config: Json, records: StoredRecord[] = []): StoredSheet {
    const name = typeof config.name === "string" ? config.name : "Sheet";
    const slug = typeof config.slug === "string" ? config.slug : slugify(name);
    const at = now();
    const sheet: StoredSheet = {
      id: this.newId("sh"),
      workbookId,
      name,
      slug,
      config: { ...config, name, slug },
      createdAt: at,
      updatedAt: at,
      records,
    };
    this.sheets.set(sheet.id, sheet);
    return sheet;
  }

  applyCommit(sheet: StoredSheet, change: SeedCommit): { commitId: string; recordIds: string[] } {
    const commit = this.newCommit(sheet.id);
    if (change.deleteAll) sheet.records = [];
    if (change.delete?.length) {
      const gone = new Set(change.delete);
      sheet.records = sheet.records.filter((r) => !gone.has(r.id));
    }
    if (change.update?.length) {
      const byId = new Map(sheet.records.map((r) => [r.id, r]));
      for (const u of change.update) {
        const record = byId.get(u.id) ?? throwIt(notFound("Record", u.id));
        record.values = { ...this.valuesOf(sheet, record), ...clone(u.values) };
        if (u.valid !== undefined) record.valid = u.valid;
        record.commitId = commit.id;
      }
    }
    const recordIds: string[] = [];
    const invalid = change.invalid ?? 0;
    (change.insert ?? []).forEach((values, i) => {
      const record: StoredRecord = {
        id: this.newId("rc"),
        commitId: commit.id,
        valid: i >= invalid,
        n: sheet.records.length,
        values: clone(values),
      };
      sheet.records.push(record);
      recordIds.push(record.id);
    });
    sheet.updatedAt = now();
    return { commitId: commit.id, recordIds };
  }
}
