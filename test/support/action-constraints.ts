/**
 * Whether a person could press a workbook action in Flatfile's UI, by the documented semantics of
 * its constraints (the stand-in stores actions, it does not run the UI):
 *   - `hasAllValid`: disabled while ANY sheet of the workbook has invalid records
 *     (changelog 2023-09-06; shared/flatfile-notes.md "Platform behaviour");
 *   - `hasData`: disabled while the workbook has no records (actions docs);
 *   - `hasSelection` / `hasColumnEnabled` concern a selection or a column in the sheet view, not a
 *     workbook action, and are treated as disabling (the less convenient reading).
 * Counts come from the API, one call per sheet, as the UI would show them.
 */
import type { FlatfileApi } from "../../shared/core/flatfile-client";

export interface Pressable {
  enabled: boolean;
  /** The constraints that disable it. */
  blockedBy: string[];
}

export async function workbookActionPressable(api: FlatfileApi, workbookId: string, operation: string): Promise<Pressable> {
  const workbook = (await api.workbooks.get(workbookId)).data;
  const action = workbook.actions?.find((a) => a.operation === operation);
  if (!action) return { enabled: false, blockedBy: ["missing"] };
  const counts = await Promise.all((workbook.sheets ?? []).map(async (s) => (await api.sheets.getRecordCounts(s.id)).data.counts));
  const total = counts.reduce((sum, c) => sum + c.total, 0);
  const errors = counts.reduce((sum, c) => sum + c.error, 0);
  const blockedBy: string[] = [];
  for (const constraint of action.constraints ?? []) {
    if (constraint.type === "hasAllValid" && errors > 0) blockedBy.push("hasAllValid");
    else if (constraint.type === "hasData" && total === 0) blockedBy.push("hasData");
    else if (constraint.type === "hasSelection" || constraint.type === "hasColumnEnabled") blockedBy.push(constraint.type);
  }
  return { enabled: blockedBy.length === 0, blockedBy };
}
