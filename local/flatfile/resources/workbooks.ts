/**
 * Workbooks and their sheets: create, read, update (sheets by id or slug), counts, lock, duplicate.
 *
 * Modelled beyond request validation, with sources (see ../shared/flatfile-notes.md,
 * "Platform behaviour, with evidence"):
 * - `workbooks.update` matches sent sheets to existing ones by `slug` (SDK `SheetConfigUpdate.slug`:
 *   "required when updating a Workbook"; also by `id`), keeps their records (support article
 *   "updating sheets": a schema change alone does not rewrite records) and stores the sheet config
 *   as sent, which is the documented way to change `access`/`readonly` (same article).
 * - Sheets left out of an update: undocumented, `platform.omittedSheets` (see ../platform.ts).
 * - Enum options above 100: rejected (see `checkEnumOptions`).
 */
import { badRequest, throwIt } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { clone, isObject, now, slugify } from "../store";
import { DEFAULT_ENVIRONMENT_ID, type Json, type StoredRecord, type StoredSheet, type StoredWorkbook } from "../types";

/**
 * Flatfile's field-types docs allow at most 100 `config.options` on an enum field ("more
 * technically works but degrades", support article). What the API does above that is
 * undocumented: the least convenient plausible behaviour is to refuse the whole write, so a
 * blueprint or a commit-time rule that can grow past 100 fails here rather than on the platform.
 */
export const MAX_ENUM_OPTIONS = 100;

function checkEnumOptions(sheetConfigs: readonly Json[]): void {
  for (const [i, sheet] of sheetConfigs.entries()) {
    const nested = isObject(sheet.config) ? sheet.config : {};
    const fields = Array.isArray(sheet.fields) ? sheet.fields : Array.isArray(nested.fields) ? nested.fields : [];
    for (const [j, field] of (fields as unknown[]).entries()) {
      if (!isObject(field) || (field.type !== "enum" && field.type !== "enum-list")) continue;
      const options = isObject(field.config) && Array.isArray(field.config.options) ? field.config.options : [];
      if (options.length > MAX_ENUM_OPTIONS) {
        throw badRequest(
          `Field "${String(field.key)}" has ${options.length} enum options; at most ${MAX_ENUM_OPTIONS} are allowed`,
          `sheets[${i}].fields[${j}].config.options`,
        );
      }
    }
  }
}

export const workbookRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/workbooks$/,
    name: "workbooks.list",
    handle: (store, _p, _b, query) => {
      const spaceId = query.get("spaceId");
      const name = query.get("name");
      const namespace = query.get("namespace");
      const label = query.get("label");
      const includeSheets = query.get("includeSheets") !== "false";
      const list = [...store.workbooks.values()].filter(
        (w) =>
          (!spaceId || w.spaceId === spaceId) &&
          (!name || w.name === name) &&
          (!namespace || w.namespace === namespace) &&
          (!label || (Array.isArray(w.labels) && w.labels.includes(label))),
      );
      return ok(list.map((w) => store.workbookView(w, includeSheets)));
    },
  },
  {
    method: "POST",
    pattern: /^\/workbooks$/,
    name: "workbooks.create",
    schema: top("CreateWorkbookConfig"),
    handle: (store, _p, body) => {
      const config = body as Json;
      let environmentId = typeof config.environmentId === "string" ? config.environmentId : DEFAULT_ENVIRONMENT_ID;
      if (typeof config.spaceId === "string") {
        const space = store.spaces.get(config.spaceId) ?? throwIt(badRequest(`Space ${config.spaceId} not found`, "spaceId"));
        if (typeof config.environmentId !== "string") environmentId = space.environmentId;
      }
      const slugs = new Set<string>();
      const sheetConfigs = Array.isArray(config.sheets) ? (config.sheets as Json[]) : [];
      checkEnumOptions(sheetConfigs);
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
        id: store.newId("wb"),
        spaceId: typeof config.spaceId === "string" ? config.spaceId : "",
        environmentId,
        sheetIds: [],
        createdAt: at,
        updatedAt: at,
      };
      store.workbooks.set(workbook.id, workbook);
      for (const s of sheetConfigs) workbook.sheetIds.push(store.createSheet(workbook.id, clone(s)).id);
      return ok(store.workbookView(workbook));
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/workbooks/${ID}$`),
    name: "workbooks.get",
    handle: (store, [id]) => ok(store.workbookView(store.getWorkbook(id!))),
  },
  {
    method: "PATCH",
    pattern: new RegExp(`^/workbooks/${ID}$`),
    name: "workbooks.update",
    schema: top("WorkbookUpdate"),
    handle: (store, [id], body) => {
      const workbook = store.getWorkbook(id!);
      const update = isObject(body) ? body : {};
      if (Array.isArray(update.sheets)) {
        checkEnumOptions(update.sheets as Json[]);
        const current = workbook.sheetIds.map((sid) => store.sheets.get(sid)).filter((s): s is StoredSheet => !!s);
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
          const slug = typeof config.slug === "string" ? config.slug : (existing?.slug ?? slugify(String(config.name ?? "")));
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
            kept.push(store.createSheet(workbook.id, { ...config, slug }).id);
          }
        }
        const omitted = current.filter((s) => !kept.includes(s.id));
        if (store.platform.omittedSheets === "dropped") {
          for (const s of omitted) store.sheets.delete(s.id);
          workbook.sheetIds = kept;
        } else {
          workbook.sheetIds = [...kept, ...omitted.map((s) => s.id)];
        }
      }
      for (const [key, value] of Object.entries(update)) {
        if (key === "sheets" || value === undefined) continue;
        workbook[key] = clone(value);
      }
      workbook.updatedAt = now();
      return ok(store.workbookView(workbook));
    },
  },
];

export const sheetRoutes: Route[] = [
  {
    method: "GET",
    pattern: new RegExp(`^/sheets/${ID}$`),
    name: "sheets.get",
    handle: (store, [id]) => ok(store.sheetView(store.getSheet(id!))),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/sheets/${ID}/counts$`),
    name: "sheets.counts",
    handle: (store, [id], _b, query) => {
      const sheet = store.getSheet(id!);
      return ok({ success: true, counts: store.countsOf(store.byCommit(sheet, query)) });
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sheets/${ID}/lock$`),
    name: "sheets.lock",
    // SDK: "Locks a sheet". What a lock stops is not documented beyond the UI; the stand-in only
    // records it (`lockedBy`, `lockedAt`, read back by sheets.get), and leaves config unchanged.
    handle: (store, [id]) => {
      const sheet = store.getSheet(id!);
      sheet.lockedBy = "us_key_local0001";
      sheet.lockedAt = now();
      return ok({ success: true });
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sheets/${ID}/unlock$`),
    name: "sheets.unlock",
    handle: (store, [id]) => {
      const sheet = store.getSheet(id!);
      delete sheet.lockedBy;
      delete sheet.lockedAt;
      return ok({ success: true });
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/sheets/${ID}/duplicate$`),
    name: "sheets.duplicate",
    schema: top("DuplicateSheetRequest"),
    handle: (store, [id], body) => {
      const source = store.getSheet(id!);
      const workbook = store.getWorkbook(source.workbookId);
      const request = isObject(body) ? body : {};
      // Defaults from the SDK's `DuplicateSheetRequest` doc comments.
      const slug = typeof request.slug === "string" ? request.slug : `${source.slug}-copy-${Date.now()}`;
      const name = typeof request.name === "string" ? request.name : `Copy of ${source.name}`;
      // Undocumented: a slug already used in the workbook. Refused, nothing copied: a slug names one
      // sheet of a workbook (workbooks.update matches sheets by it, SDK `SheetConfigUpdate.slug`
      // "required when updating a Workbook"), and a request of unknown outcome asked again under
      // the same slug must not make a second copy. Checked when the request is applied, after its
      // latency, so a late request is refused too.
      const taken = workbook.sheetIds.some((sid) => store.sheets.get(sid)?.slug === slug);
      if (taken) throw badRequest(`A sheet with slug "${slug}" already exists in workbook ${workbook.id}`, "slug");
      // Undocumented: whether the copy takes the config (access, readonly, actions). Modelled as a
      // copy of the whole config, so a copy of a read-only sheet is read-only too: the caller must
      // set the copy's config itself (our flows send every sheet on the next workbook write).
      const copy = store.createSheet(workbook.id, { ...clone(source.config), name, slug });
      // SDK doc comment: "Creates a copy of a sheet including all its data within the same
      // workbook". Undocumented: whether validity and messages are copied (modelled: copied as
      // they are, the same values giving the same messages) and whether the copy raises a commit.
      const commit = store.newCommit(copy.id);
      copy.records = source.records.map((r) => {
        const record: StoredRecord = { id: store.newId("rc"), commitId: commit.id, valid: r.valid, n: r.n };
        if (r.values) record.values = { ...r.values };
        if (r.metadata) record.metadata = { ...r.metadata };
        return record;
      });
      if (source.metadata !== undefined) copy.metadata = clone(source.metadata);
      workbook.sheetIds.push(copy.id);
      workbook.updatedAt = now();
      return ok(store.sheetView(copy));
    },
  },
];
