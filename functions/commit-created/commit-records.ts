/**
 * Reads only what one commit changed, page by page, folding each page into an accumulator so
 * memory is bounded by one page plus the accumulator, never by the sheet or the commit.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../../shared/core/flatfile-client";

/** A page is small enough to hold, large enough that a typical commit is one or two calls. */
export const COMMIT_PAGE_SIZE = 5_000;
/** Past this many pages (25,000 changed records) the rest of the commit is left unread. */
export const COMMIT_MAX_PAGES = 5;

export interface ScanOptions {
  pageSize?: number;
  maxPages?: number;
  /** Only these fields are fetched (smaller pages). */
  fields?: string[];
  /** Stop before starting a page when this returns false (time budget). */
  canContinue?: () => boolean;
}

export interface ScanResult<A> {
  acc: A;
  pages: number;
  records: number;
  /** True when the commit had more records than the bounds let us read. */
  truncated: boolean;
}

export async function scanCommitRecords<A>(
  api: FlatfileApi,
  sheetId: string,
  commitId: string,
  initial: A,
  reduce: (acc: A, page: Flatfile.RecordWithLinks[]) => A,
  options: ScanOptions = {},
): Promise<ScanResult<A>> {
  const pageSize = options.pageSize ?? COMMIT_PAGE_SIZE;
  const maxPages = options.maxPages ?? COMMIT_MAX_PAGES;
  let acc = initial;
  let pages = 0;
  let records = 0;
  for (let pageNumber = 1; ; pageNumber++) {
    if (pageNumber > maxPages || (options.canContinue && !options.canContinue())) {
      return { acc, pages, records, truncated: true };
    }
    const { data } = await api.records.get(sheetId, {
      commitId,
      pageSize,
      pageNumber,
      ...(options.fields?.length ? { fields: options.fields } : {}),
    });
    pages += 1;
    const page = data.records ?? [];
    records += page.length;
    acc = reduce(acc, page);
    if (page.length < pageSize) return { acc, pages, records, truncated: false };
  }
}
