/**
 * One reference-data GET in a process of its own, as a cold Lambda makes it: Node creates some
 * errors once per process (the one `releaseLock()` makes, for one), so only a fresh process shows
 * whether the first read formats a stack. Prints `{ text, formatted }` as JSON.
 * Usage: node --import tsx test/support/cold-reference-fetch.ts <url>
 */
import { fetchReferenceText } from "../../shared/core/reference-fetch";
import { stacksFormattedDuring } from "./stack-formatting";

const url = process.argv[2];
if (!url) throw new Error("usage: cold-reference-fetch.ts <url>");
stacksFormattedDuring(() => fetchReferenceText(new URL(url), { fetch, budgetMs: 2_000, maxChars: 10_000 })).then(
  ({ value, formatted }) => process.stdout.write(JSON.stringify({ text: value, formatted })),
  (error: unknown) => {
    process.stderr.write(String(error));
    process.exit(1);
  },
);
