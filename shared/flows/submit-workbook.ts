/**
 * `workbook:submitActionFg`: submit the workbook once every record is valid.
 *
 * The counts (one call per sheet, never the records) decide: a sheet with records in error fails
 * the job with a message naming the sheet and the count; otherwise every sheet is made read-only,
 * the guide records who submitted what and when, and the job completes with the number submitted.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileEvent } from "../core/envelope";
import { JobFailure } from "../core/errors";
import type { JobSummary } from "../core/job-lifecycle";
import type { RouteDeps } from "../core/route";
import { WORKBOOK_ACTIONS } from "../domain/blueprint";
import { appendHistory, plural, renderSubmitted } from "../domain/guide";
import { isLocked, lockedConfig, runActionJob } from "./action-context";
import { findGuideId } from "./space-state";
import { changeGuide, changeWorkbook } from "./leased-writes";
import { withSheetConfigs } from "./workbook-update";

export const SUBMIT_JOB = `workbook:${WORKBOOK_ACTIONS.submit.operation}`;

interface SheetTally {
  sheet: Flatfile.Sheet;
  total: number;
  error: number;
}

/** The message for records still in error, or undefined when there are none. Pure. */
export function blockingErrors(tallies: readonly SheetTally[]): string | undefined {
  const blocking = tallies.filter((t) => t.error > 0);
  if (blocking.length === 0) return undefined;
  const list = blocking.map((t) => `${t.sheet.name} has ${plural(t.error, "record", "records")} with errors`).join("; ");
  return `Nothing was submitted: ${list}. Filter the sheet by errors, fix them, then submit again.`;
}

export async function submitWorkbook(event: FlatfileEvent, deps: RouteDeps): Promise<JobSummary> {
  const { api } = deps;

  return runActionJob(event, deps, {
    what: "Submitting this workbook",
    ackInfo: "Checking the records",
    needsActor: true,
    work: async (context, { spaceId, workbookId }, progress) => {
      const sheets = context.workbook.sheets ?? [];
      const [tallies, guideId] = await Promise.all([
        Promise.all(
          sheets.map(async (sheet): Promise<SheetTally> => {
            const { counts } = (await api.sheets.getRecordCounts(sheet.id)).data;
            return { sheet, total: counts.total, error: counts.error };
          }),
        ),
        findGuideId(api, spaceId, context.state),
      ]);
      const errors = blockingErrors(tallies);
      if (errors) throw new JobFailure(errors);
      const records = tallies.reduce((sum, t) => sum + t.total, 0);
      if (records === 0) throw new JobFailure("Nothing was submitted: the workbook has no records yet. Add records, then submit.");
      progress(60, "Locking the sheets");

      // The event's time, not now: a redelivery writes the same line, which the history keeps once.
      const line = renderSubmitted({ at: event.createdAt ?? new Date(), actorName: context.actor?.name ?? context.actor?.email, records });
      const [, guide] = await Promise.all([
        changeWorkbook(api, workbookId, deps.settings.idempotencyTable, (fresh) => {
          const unlocked = (fresh.sheets ?? []).filter((sheet) => !isLocked(sheet.config));
          const replaced = new Map(unlocked.map((sheet) => [sheet.id, lockedConfig(sheet.config)]));
          return withSheetConfigs(fresh, replaced);
        }),
        guideId ? changeGuide(api, spaceId, guideId, deps.settings.idempotencyTable, (body) => appendHistory(body, line)) : "missing",
      ]);

      const name = context.workbook.name ?? "this workbook";
      return {
        outcome: {
          heading: "Submitted",
          message: `Submitted ${plural(records, "record", "records")} from ${name}. Its sheets are now read-only.`,
          acknowledge: true,
        },
        summary: { operation: SUBMIT_JOB, records, lockedSheets: sheets.map((s) => s.slug), guide },
      };
    },
  });
}
