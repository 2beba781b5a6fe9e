import type { Flatfile } from "@flatfile/api";

/**
 * The whole workbook as a `WorkbookUpdate`. Flatfile's own examples of `workbooks.update` send
 * the name, every sheet (slug, name, fields, actions, access) and the actions, because what an
 * update leaves out is not guaranteed to survive it: a sheet missing from `sheets` can be
 * dropped, missing `actions` cleared. So every sheet goes back by id and slug with its whole
 * current config (only the sheet a rule changed is replaced), with the workbook's name, labels,
 * metadata and settings as they are.
 */
export function workbookUpdate(
  workbook: Flatfile.Workbook,
  actions: Flatfile.Action[],
  replaced: ReadonlyMap<string, Flatfile.SheetConfig> = new Map(),
): Flatfile.WorkbookUpdate {
  const sheets: Flatfile.SheetConfigOrUpdate[] = (workbook.sheets ?? []).map((sheet) => {
    const config = replaced.get(sheet.id) ?? sheet.config;
    return { ...config, id: sheet.id, name: config.name ?? sheet.name, slug: config.slug ?? sheet.slug };
  });
  return {
    ...(workbook.name !== undefined ? { name: workbook.name } : {}),
    ...(workbook.labels !== undefined ? { labels: workbook.labels } : {}),
    ...(workbook.metadata !== undefined ? { metadata: workbook.metadata } : {}),
    ...(workbook.settings !== undefined ? { settings: workbook.settings } : {}),
    sheets,
    actions,
  };
}

/** The workbook with some sheets' configs replaced and everything else as it is; undefined when none is. */
export function withSheetConfigs(workbook: Flatfile.Workbook, replaced: ReadonlyMap<string, Flatfile.SheetConfig>): Flatfile.WorkbookUpdate | undefined {
  return replaced.size > 0 ? workbookUpdate(workbook, workbook.actions ?? [], replaced) : undefined;
}
