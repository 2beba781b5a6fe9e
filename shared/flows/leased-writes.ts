/**
 * Writes to a workbook that several deliveries may make at once: each re-reads the workbook under
 * its lease and applies only its own change (see shared/core/lease.ts). Our state and the guide
 * rendered from it are written the same way, under the space's lease (./space-state.ts).
 */
import type { Flatfile } from "@flatfile/api";
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
