/**
 * `sheet:duplicate`: "Duplicate this Sheet and lock down the original".
 *
 * Flatfile copies the sheet with its records on its side (`sheets.duplicateSheet`), so the cost
 * does not grow with the sheet. The original is then made read-only through `workbooks.update`
 * (the only place `access`/`readonly` can change), the guide says what was locked and where to
 * continue, and the job completes pointing at the copy.
 *
 * The workbook is changed under its lease, from a fresh read (see `changeWorkbook`), so a submit
 * or a commit changing the same workbook at the same moment keeps its change.
 *
 * The copy's slug is derived from the job id, so a retry of the same job (say the lock failed
 * after the copy was made) finds the copy it made and finishes, instead of making a second.
 *
 * `sheets.lockSheet` is deliberately not used: it is Flatfile's transient processing lock, which
 * anyone with access can lift with `unlockSheet`; read-only access in the sheet's configuration
 * is the lasting "lock down" the action promises.
 *
 * Round trips: (job ∥ space ∥ workbook) → (ack ∥ duplicate) → (workbook read → update ∥
 * guide read → update) → complete.
 */
import type { Flatfile } from "@flatfile/api";
import { requireContext, type FlatfileEvent } from "../core/envelope";
import { NotFoundError } from "../core/errors";
import type { JobSummary } from "../core/job-lifecycle";
import type { RouteDeps } from "../core/route";
import { SHEET_ACTIONS } from "../domain/blueprint";
import { appendHistory, renderLocked } from "../domain/guide";
import { isLocked, lockedConfig, runActionJob } from "./action-context";
import { findGuideId } from "./space-state";
import { changeGuide, changeWorkbook } from "./leased-writes";
import { withSheetConfigs } from "./workbook-update";

export const DUPLICATE_JOB = `sheet:${SHEET_ACTIONS.duplicate.operation}`;

/** Unique per job, and the same for every attempt at that job. */
export function copySlugFor(slug: string, jobId: string): string {
  return `${slug}-copy-${jobId.replace(/^[a-z]{2}_jb_/, "").toLowerCase()}`;
}

export function copyNameFor(name: string): string {
  return `${name} (copy)`;
}

/** The copy's configuration without the lock it inherited. */
function workingConfig(config: Flatfile.SheetConfig, copy: Flatfile.Sheet): Flatfile.SheetConfig {
  const { readonly: _readonly, access: _access, ...rest } = config;
  return { ...rest, name: copy.name, slug: copy.slug };
}

export async function duplicateAndLock(event: FlatfileEvent, deps: RouteDeps): Promise<JobSummary> {
  const { api } = deps;
  const sheetId = requireContext(event, "sheetId");

  return runActionJob(event, deps, {
    what: "Duplicating this sheet",
    ackInfo: "Copying the sheet with its records",
    work: async (context, { jobId, spaceId, workbookId }, progress) => {
      const sheets = context.workbook.sheets ?? [];
      const original = sheets.find((sheet) => sheet.id === sheetId);
      if (!original) throw new NotFoundError(`sheet ${sheetId} is not in workbook ${workbookId}`);
      const slug = copySlugFor(original.slug, jobId);
      const leftover = sheets.find((sheet) => sheet.slug === slug);

      const [copy, guideId] = await Promise.all([
        leftover ?? api.sheets.duplicateSheet(sheetId, { name: copyNameFor(original.name), slug }).then((r) => r.data),
        findGuideId(api, spaceId, context.state),
      ]);
      progress(60, `Locking ${original.name}`);

      const inheritedLock = isLocked(original.config);
      // The copy's creation time, not now: a retry then writes the same line, which the history keeps once.
      const line = renderLocked({ sheetName: original.name, at: copy.createdAt ?? new Date(), continueSheetName: copy.name });
      const [, guide] = await Promise.all([
        changeWorkbook(api, workbookId, deps.settings.idempotencyTable, (fresh) => {
          const now = fresh.sheets ?? [];
          const lockedNow = now.find((sheet) => sheet.id === original.id);
          const copyNow = now.find((sheet) => sheet.id === copy.id);
          const replaced = new Map<string, Flatfile.SheetConfig>();
          if (lockedNow && !isLocked(lockedNow.config)) replaced.set(lockedNow.id, lockedConfig(lockedNow.config));
          // A copy of a sheet that was already locked down inherits its lock: open it up.
          if (copyNow && inheritedLock && isLocked(copyNow.config)) replaced.set(copyNow.id, workingConfig(copyNow.config, copyNow));
          return withSheetConfigs(fresh, replaced);
        }),
        guideId ? changeGuide(api, spaceId, guideId, deps.settings.idempotencyTable, (body) => appendHistory(body, line)) : "missing",
      ]);

      const label = `Open ${copy.name}`;
      return {
        outcome: {
          heading: "Sheet duplicated",
          message: `${original.name} is now read-only. Keep working in ${copy.name}, which has all its records.`,
          acknowledge: false,
          next: { type: "id", id: copy.id, label },
        },
        summary: { operation: DUPLICATE_JOB, lockedSheetId: original.id, copySheetId: copy.id, copySlug: copy.slug, reusedCopy: Boolean(leftover), guide },
      };
    },
  });
}
