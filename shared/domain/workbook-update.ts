import type { Flatfile } from "@flatfile/api";
import { isLocked, withSubmitConstraints } from "./blueprint";

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

/**
 * The update that replaces some sheets' configs and brings Submit's constraints in line with the
 * locks that result (see `withSubmitConstraints`); undefined when neither changes anything.
 */
export function withSheetsAndSubmit(
  workbook: Flatfile.Workbook,
  replaced: ReadonlyMap<string, Flatfile.SheetConfig>,
): Flatfile.WorkbookUpdate | undefined {
  const configs = (workbook.sheets ?? []).map((sheet) => replaced.get(sheet.id) ?? sheet.config);
  const current = workbook.actions ?? [];
  const actions = withSubmitConstraints(current, configs.some(isLocked));
  const actionsChanged = actions.some((action, i) => action !== current[i]);
  return replaced.size > 0 || actionsChanged ? workbookUpdate(workbook, actions, replaced) : undefined;
}
