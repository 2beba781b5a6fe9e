/**
 * Writes to a workbook or the guide that several deliveries may make at once: each re-reads the
 * resource under its lease and applies only its own change (see shared/core/lease.ts).
 */
import type { Flatfile } from "@flatfile/api";
import { judge } from "../core/failures";
import type { FlatfileApi } from "../core/flatfile-client";
import { withLease } from "../core/lease";

/**
 * Changes a workbook's configuration without losing a concurrent delivery's change: under the
 * workbook's lease, the workbook is read fresh, `change` computes the update from what is there
 * now (undefined: nothing to do), and it is written. `workbooks.update` replaces the sheets and
 * actions wholesale, so an update computed from an older read would undo whatever another job
 * wrote since (a submit's locks, say).
 */
export async function changeWorkbook(
  api: FlatfileApi,
  workbookId: string,
  leaseTable: string | undefined,
  change: (fresh: Flatfile.Workbook) => Flatfile.WorkbookUpdate | undefined,
): Promise<void> {
  await withLease(`workbook#${workbookId}`, leaseTable, async () => {
    const fresh = (await api.workbooks.get(workbookId)).data;
    const update = change(fresh);
    if (update) await api.workbooks.update(workbookId, update);
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

