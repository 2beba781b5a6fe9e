/** Records of a sheet: read (paged, by commit, by validity) and insert (one commit per call). */
import { badRequest } from "../errors";
import { ID, ok, type Route } from "../router";
import { clone, isObject, now } from "../store";
import type { Json, StoredRecord } from "../types";

const DEFAULT_PAGE_SIZE = 10_000;
const MAX_PAGE_SIZE = 50_000;

export const recordRoutes: Route[] = [
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
        filter === "valid" ? changed.filter((r) => r.valid) : filter === "error" ? changed.filter((r) => !r.valid) : filter === "none" ? [] : changed;
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
    handle: (store, [id], body) => {
      const sheet = store.getSheet(id!);
      const rows = Array.isArray(body) ? (body as Json[]) : [];
      const commit = store.newCommit(sheet.id);
      const inserted = rows.map((row) => {
        const values: Record<string, unknown> = {};
        let valid = true;
        for (const [key, cell] of Object.entries(row)) {
          if (!isObject(cell)) continue;
          values[key] = clone(cell.value) ?? null;
          if (cell.valid === false) valid = false;
        }
        const record: StoredRecord = { id: store.newId("rc"), commitId: commit.id, valid, n: sheet.records.length, values };
        sheet.records.push(record);
        return record;
      });
      sheet.updatedAt = now();
      return ok({ success: true, records: inserted.map((r) => store.recordView(sheet, r)), commitId: commit.id, versionId: commit.id });
    },
  },
];
