/**
 * Records of a sheet: read (paged, by commit, by validity), insert, update and delete, each write
 * one commit that raises `commit:created` with sheetId, sheetSlug, workbookId, spaceId, commitId
 * (and the older versionId) and actorId in its context (events reference: "commit:created" fires
 * each time records in a Sheet change; SDK `Context`, whose `versionId` is "Deprecated, use
 * commitId"; `plugin-record-hook` reads these), and the `dataUrl` its records are read from.
 * Whether the platform then revalidates records is not modelled: validity is what the writer said
 * (cellsOf).
 */
import type { IncomingHttpHeaders } from "node:http";
import { badRequest, notFound, throwIt } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { API_KEY_ACTOR, clone, isObject, now, type Store } from "../store";
import type { Json, SeedCommit, StoredEvent, StoredRecord, StoredSheet } from "../types";

/**
 * Raises the `commit:created` of a commit on a sheet (domain "workbook", as the platform sends it),
 * with the `dataUrl` its records are read from. Sources: the SDK's `BaseEvent.dataUrl` ("The url to
 * retrieve the data associated with the event"); `@flatfile/listener`'s `event.data` GETs it and
 * `event.update` PUTs to it, relative to the API base, which is how plugin-record-hook reads and
 * writes a commit's records; a platform event sample shows it relative,
 * `v1/.../sheets/<sheetId>/records?versionId=<id>`, and the SDK's records request names
 * `versionId` "Deprecated, use `commitId` instead".
 */
export function raiseCommitCreated(store: Store, sheet: StoredSheet, commitId: string, actorId: string = API_KEY_ACTOR): StoredEvent {
  const context = { ...store.contextFor({ sheetId: sheet.id }), commitId, versionId: commitId, actorId };
  const payload = tracksChanges(store, sheet) ? { trackChanges: true } : {};
  return store.raise("commit:created", "workbook", context, payload, { dataUrl: commitDataUrl(sheet.id, commitId) });
}

/**
 * A workbook created with `settings.trackChanges` ("allows for disabling workbook and sheet
 * actions while data in the workbook is still being processed. You must run a recordHook
 * listener": SDK `WorkbookConfigSettings`) says so in each commit's payload, where
 * plugin-record-hook reads `payload.trackChanges` and then calls `commits.complete`.
 */
function tracksChanges(store: Store, sheet: StoredSheet): boolean {
  const settings = store.workbooks.get(sheet.workbookId)?.settings;
  return isObject(settings) && settings.trackChanges === true;
}

/** A commit's records as its `commit:created` names them: relative to the API base. */
export function commitDataUrl(sheetId: string, commitId: string): string {
  return `v1/sheets/${sheetId}/records?commitId=${commitId}`;
}

/**
 * Whether a records write over the API raises its `commit:created`: not when it was sent with
 * `X-Disable-Hooks: true` (as the SDK sends every records request) and the platform skips hooks
 * for such writes, unless `X-Force-Hooks: true` asks for them (local/flatfile/platform.ts).
 */
function hooksRun(store: Store, headers: IncomingHttpHeaders): boolean {
  const flag = (name: string) => String(headers[name] ?? "").toLowerCase() === "true";
  if (flag("x-force-hooks")) return true;
  return !(flag("x-disable-hooks") && store.platform.disabledHooks === "skipped");
}

/** One commit on a sheet, as a person editing records makes it, and its event. */
export function commitChange(
  store: Store,
  sheetId: string,
  change: SeedCommit,
  actorId?: string,
): { commitId: string; recordIds: string[]; event: StoredEvent } {
  const sheet = store.getSheet(sheetId);
  const result = store.applyCommit(sheet, change);
  return { ...result, event: clone(raiseCommitCreated(store, sheet, result.commitId, actorId)) };
}

/**
 * Values and validity of a record sent on the wire (`{ key: { value, valid?, messages? } }`): a
 * cell `valid: false` or a message of type "error" (what plugin-record-hook's `addError` writes
 * back) makes it invalid, a cell `valid: true` valid; a write that says neither leaves the
 * validity undefined, which an update keeps as it was. The platform revalidates its own field
 * constraints after a write, which is not modelled; so a record hook's write-back of a record in
 * error (it sends no `valid`, only its own messages) does not clear that error here either.
 */
function cellsOf(row: Json): { values: Record<string, unknown>; valid: boolean | undefined } {
  const values: Record<string, unknown> = {};
  let valid: boolean | undefined;
  for (const [key, cell] of Object.entries(row)) {
    if (!isObject(cell)) continue;
    values[key] = clone(cell.value) ?? null;
    const error = Array.isArray(cell.messages) && cell.messages.some((m) => isObject(m) && m.type === "error");
    if (cell.valid === false || error) valid = false;
    else if (cell.valid === true && valid === undefined) valid = true;
  }
  return { values, valid };
}

const DEFAULT_PAGE_SIZE = 10_000;
const MAX_PAGE_SIZE = 50_000;

export const recordRoutes: Route[] = [
  {
    // SDK `commits.complete`: "marks the commit as complete and acknowledges that the changes have
    // been applied to the sheet"; what the platform then re-enables is not modelled.
    method: "POST",
    pattern: new RegExp(`^/commits/${ID}/complete$`),
    name: "commits.complete",
    handle: (store, [id]) => {
      const commit = store.commits.get(id!) ?? throwIt(notFound("Commit", id!));
      commit.completedAt ??= now();
      return ok({ success: true });
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/sheets/${ID}/records$`),
    name: "records.get",
    handle: (store, [id], _b, query) => {
      const sheet = store.getSheet(id!);
      const pageSize = query.has("pageSize") ? Number(query.get("pageSize")) : DEFAULT_PAGE_SIZE;
      const pageNumber = query.has("pageNumber") ? Number(query.get("pageNumber")) : 1;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
        throw badRequest(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`, "pageSize");
      }
      if (!Number.isInteger(pageNumber) || pageNumber < 1) throw badRequest("pageNumber must be an integer from 1", "pageNumber");
      const filter = query.get("filter") ?? "all";
      if (!["all", "valid", "error", "none"].includes(filter)) throw badRequest(`Unknown filter "${filter}"`, "filter");
      const changed = store.byCommit(sheet, query);
      const filtered =
        filter === "valid"
          ? changed.filter((r) => r.valid)
          : filter === "error"
            ? changed.filter((r) => !r.valid)
            : filter === "none"
              ? []
              : changed;
      const start = (pageNumber - 1) * pageSize;
      const fieldList = query.getAll("fields");
      const fields = fieldList.length ? new Set(fieldList) : undefined;
      const records = filtered.slice(start, start + pageSize).map((r) => store.recordView(sheet, r, fields));
      return ok({ success: true, records, counts: store.countsOf(changed) });
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sheets/${ID}/records$`),
    name: "records.insert",
    schema: (s) => s.records.insert.Request,
    handle: (store, [id], body, _q, headers) => {
      const sheet = store.getSheet(id!);
      const rows = Array.isArray(body) ? (body as Json[]) : [];
      const commit = store.newCommit(sheet.id);
      const inserted = rows.map((row) => {
        const { values, valid } = cellsOf(row);
        const record: StoredRecord = { id: store.newId("rc"), commitId: commit.id, valid: valid ?? true, n: sheet.records.length, values };
        sheet.records.push(record);
        return record;
      });
      sheet.updatedAt = now();
      if (hooksRun(store, headers)) raiseCommitCreated(store, sheet, commit.id);
      return ok({ success: true, records: inserted.map((r) => store.recordView(sheet, r)), commitId: commit.id, versionId: commit.id });
    },
  },
  {
    method: "PUT",
    pattern: new RegExp(`^/sheets/${ID}/records$`),
    name: "records.update",
    schema: top("Records"),
    // SDK: "Updates existing records in a workbook sheet"; answers a VersionResponse (`{ versionId }`).
    handle: (store, [id], body, _q, headers) => {
      const sheet = store.getSheet(id!);
      const rows = Array.isArray(body) ? (body as Json[]) : [];
      const byId = new Map(sheet.records.map((r) => [r.id, r]));
      for (const row of rows) if (!byId.has(String(row.id))) throw notFound("Record", String(row.id));
      const update = rows.map((row) => {
        const { values, valid } = cellsOf(isObject(row.values) ? row.values : {});
        return { id: String(row.id), values, valid };
      });
      const { commitId } = store.applyCommit(sheet, { update });
      if (hooksRun(store, headers)) raiseCommitCreated(store, sheet, commitId);
      return ok({ versionId: commitId });
    },
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/sheets/${ID}/records$`),
    name: "records.delete",
    // SDK `DeleteRecordsRequest { ids }`, sent as repeated `ids` query parameters; answers Success.
    handle: (store, [id], _b, query, headers) => {
      const sheet = store.getSheet(id!);
      const ids = query.getAll("ids");
      if (ids.length === 0) throw badRequest("ids is required", "ids");
      const present = new Set(sheet.records.map((r) => r.id));
      for (const recordId of ids) if (!present.has(recordId)) throwIt(notFound("Record", recordId));
      const { commitId } = store.applyCommit(sheet, { delete: ids });
      if (hooksRun(store, headers)) raiseCommitCreated(store, sheet, commitId);
      return ok({ success: true });
    },
  },
];
