import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../core/flatfile-client";
import { judge } from "../core/failures";
import { withLease } from "../core/lease";

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
 * Changes a workbook's configuration without losing a concurrent delivery's change: under the
 * workbook's lease, the workbook is read fresh, `change` computes the update from what is there
 * now (undefined: nothing to do), and it is written. `workbooks.update` replaces the sheets and
 * actions wholesale, so an update computed from an older read would undo whatever another job
 * wrote since (a submit's locks, say).
 */
export async function changeWorkbook<R>(
  api: FlatfileApi,
  workbookId: string,
  leaseTable: string | undefined,
  change: (fresh: Flatfile.Workbook) => { update?: Flatfile.WorkbookUpdate; result: R },
): Promise<R> {
  return withLease(`workbook#${workbookId}`, leaseTable, async () => {
    const fresh = (await api.workbooks.get(workbookId)).data;
    const { update, result } = change(fresh);
    if (update) await api.workbooks.update(workbookId, update);
    return result;
  });
}

/**
 * Changes the guide's body the same way: under the document's lease, from a fresh read, so an
 * action's history line and a commit's progress section written at the same moment both stay.
 */
export async function changeGuide(
  api: FlatfileApi,
  spaceId: string,
  guideId: string,
  leaseTable: string | undefined,
  change: (body: string) => string,
): Promise<"updated" | "unchanged" | "missing"> {
  return withLease(`document#${guideId}`, leaseTable, async () => {
    let guide: Flatfile.Document;
    try {
      guide = (await api.documents.get(spaceId, guideId)).data;
    } catch (error) {
      // Someone deleted the guide: there is nothing to keep current.
      if (judge(error).kind === "not-found") return "missing";
      throw error;
    }
    const body = change(guide.body);
    if (body === guide.body) return "unchanged";
    await api.documents.update(spaceId, guideId, { title: guide.title, body });
    return "updated";
  });
}

