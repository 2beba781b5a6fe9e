/**
 * The customer's listener: the one module the listener function hands each verified event to. It
 * is ordinary `@flatfile/listener` code, as a hosted agent would run it; this example can be
 * replaced or deleted. What it registers is read at build time too: the relay forwards only the
 * events it matches (infra/relay/plan.ts).
 */
import type { FlatfileListener } from "@flatfile/listener";
import { jobHandler } from "@flatfile/plugin-job-handler";
import { bulkRecordHook } from "@flatfile/plugin-record-hook";

/** The Contacts sheet of our blueprint and its e-mail field. */
export const CONTACTS_SHEET = "contacts";
export const EMAIL_FIELD = "email";
/** The example's custom action: a workbook action whose job the listener runs. */
export const EXAMPLE_ACTION_JOB = "workbook:myAction";

/** Trimmed and lower-cased, so that one address is written one way; anything not text is left as it is. */
export function normalizeEmail(value: unknown): unknown {
  return typeof value === "string" ? value.trim().toLowerCase() : value;
}

export default function (listener: FlatfileListener): void {
  listener.use(
    bulkRecordHook(CONTACTS_SHEET, (records) => {
      for (const record of records) {
        const email = record.get(EMAIL_FIELD);
        const normalized = normalizeEmail(email);
        // Only a changed value is set: an unchanged record is not written back.
        if (normalized !== email) record.set(EMAIL_FIELD, normalized as string);
      }
      return records;
    }),
  );
  listener.filter({ job: EXAMPLE_ACTION_JOB }, (scoped) => {
    scoped.use(
      jobHandler(EXAMPLE_ACTION_JOB, async (_event, tick) => {
        await tick(50, "Working");
        return { outcome: { message: "The example action ran." } };
      }),
    );
  });
}
