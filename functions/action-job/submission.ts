/**
 * A successful Submit hands its records to the customer's AWS: one S3 object per submission, written
 * page by page as a multipart upload so memory stays flat and a large sheet resumes on the next
 * delivery, and one EventBridge event that announces it, kept to once by a marker. S3 and
 * EventBridge failures are temporary. Format, resumption and what "once" means: docs/submissions.md.
 */
import { RetryableError, WorkInProgress } from "../../shared/core/errors";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { logger } from "../../shared/core/logger";
import { traceAwsClient } from "../../shared/core/observability";

/** The S3 and EventBridge SDK, a file of its own in the bundle (infra/bundling.ts), required on first use. */
type AwsSdk = typeof import("../../shared/core/submission-clients.js");
let loading: Promise<AwsSdk> | undefined;
const loadSdk = (): Promise<AwsSdk> =>
  (loading ??= import("../../shared/core/submission-clients.js").catch((error: unknown) => {
    loading = undefined;
    throw error;
  }));

export const SUBMISSION_SOURCE = "flatfile-space-configurator";
export const SUBMISSION_DETAIL_TYPE = "Workbook submitted";
/**
 * Records read per call: half Flatfile's default page (10,000), so a page's parsed records stay
 * small beside the part being written (`npm run bench`: memory at 1,000 and 100,000 records).
 */
export const RECORDS_PAGE_SIZE = 5_000;

export interface SubmittedSheet {
  sheetId: string;
  slug: string;
  /** Records in the sheet when it was locked (the counts Submit checked). */
  total: number;
}

export interface Submission {
  environmentId: string;
  spaceId: string;
  workbookId: string;
  jobId: string;
  sheets: readonly SubmittedSheet[];
  submittedBy?: string;
  submittedAt: string;
}

export interface SubmissionTarget {
  bucket: string;
  /** Unset: the account's default bus. */
  eventBus?: string;
}

export interface SubmissionDetail {
  id: string;
  environmentId: string;
  spaceId: string;
  workbookId: string;
  jobId: string;
  bucket: string;
  key: string;
  format: "ndjson";
  counts: Record<string, number>;
  records: number;
  submittedBy?: string;
  submittedAt: string;
}

export interface Delivered {
  detail: SubmissionDetail;
  objectWritten: boolean;
  eventPublished: boolean;
}

/** Where a submission's records go: one object per job, under its environment, space and workbook. */
export function submissionKey(s: Pick<Submission, "environmentId" | "spaceId" | "workbookId" | "jobId">): string {
  return `submissions/${s.environmentId}/${s.spaceId}/${s.workbookId}/${s.jobId}.ndjson`;
}

/** Where an unfinished upload stands: S3's upload id, the parts written, and the next page to read. */
interface UploadProgress {
  uploadId: string;
  parts: { PartNumber: number; ETag: string }[];
  sheetIndex: number;
  pageNumber: number;
}

/** S3's smallest part but the last is 5 MiB; a part is cut once this much is read. */
export const PART_BYTES = 6 * 1024 * 1024;
/** Room for the page that crosses PART_BYTES (a page of RECORDS_PAGE_SIZE plain records fits). */
const PART_SLACK_BYTES = 2 * 1024 * 1024;
/** Time kept back for the part, the progress write and the answer once a page is read. */
const PART_RESERVE_MS = 4_000;

const progressKeyOf = (key: string) => `${key}.progress.json`;
const markerKeyOf = (key: string) => `${key}.announced`;

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

async function exists(bucket: string, key: string): Promise<boolean> {
  const sdk = await loadSdk();
  try {
    await sdk.s3Client(traceAwsClient).send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if (statusOf(error) === 404) return false;
    throw error;
  }
}

async function readProgress(bucket: string, key: string): Promise<UploadProgress | undefined> {
  const sdk = await loadSdk();
  try {
    const answer = await sdk.s3Client(traceAwsClient).send(new sdk.GetObjectCommand({ Bucket: bucket, Key: progressKeyOf(key) }));
    const parsed = JSON.parse(await answer.Body!.transformToString("utf8")) as UploadProgress;
    // Written only by us, in a bucket only the stack's functions write; still checked before use.
    const ok =
      typeof parsed.uploadId === "string" &&
      Array.isArray(parsed.parts) &&
      parsed.parts.every((p) => Number.isInteger(p.PartNumber) && typeof p.ETag === "string") &&
      Number.isInteger(parsed.sheetIndex) &&
      Number.isInteger(parsed.pageNumber);
    return ok ? parsed : undefined;
  } catch (error) {
    if (statusOf(error) === 404 || (error as Error).name === "NoSuchKey") return undefined;
    throw error;
  }
}

/** The lines of one page of a sheet's records: its sheet (slug and id), its id, its values by field key. */
async function pageLines(
  api: FlatfileApi,
  sheet: SubmittedSheet,
  pageNumber: number,
  pageSize: number,
): Promise<{ text: string; count: number }> {
  const { records } = (await api.records.get(sheet.sheetId, { pageSize, pageNumber })).data;
  let text = "";
  for (const record of records) {
    const values: Record<string, unknown> = {};
    for (const [field, cell] of Object.entries(record.values ?? {})) values[field] = cell?.value ?? null;
    text += `${JSON.stringify({ sheet: sheet.slug, sheetId: sheet.sheetId, id: record.id, values })}\n`;
  }
  return { text, count: records.length };
}

function temporary(what: string, error: unknown): RetryableError {
  const name = error instanceof Error ? error.name : "Error";
  return new RetryableError(`${what} failed (${name}); the job stays open and the retry finishes it`, { cause: error });
}

/** Raised when the invocation ran out of time with the upload part-way: the next delivery goes on. */
export class SubmissionInProgress extends WorkInProgress {
  constructor(readonly partsWritten: number) {
    super(`the submission is still being written (${partsWritten} parts so far); the next delivery carries on`);
  }
}

/**
 * Writes the object, resuming an upload an earlier delivery started. Flatfile's errors pass
 * through as themselves (judged as any Flatfile failure); S3's become temporary failures.
 */
async function writeObject(
  api: FlatfileApi,
  bucket: string,
  key: string,
  sheets: readonly SubmittedSheet[],
  deadline: number,
  pageSize: number,
  beside: () => Promise<unknown>,
) {
  const sdk = await loadSdk();
  const s3 = sdk.s3Client(traceAwsClient);
  const aws = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw temporary(what, error);
    }
  };
  let progress = await aws("Reading the submission's progress", () => readProgress(bucket, key));
  if (!progress) {
    const created = await aws("Starting the submission's upload", () =>
      s3.send(new sdk.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: "application/x-ndjson" })),
    );
    progress = { uploadId: created.UploadId!, parts: [], sheetIndex: 0, pageNumber: 1 };
  }
  const state = progress;
  // One part's bytes in one buffer, written page by page and reused for every part (each is sent
  // and answered before the next page is read), so a large sheet makes no garbage of parts.
  let partBuffer = Buffer.allocUnsafe(PART_BYTES + PART_SLACK_BYTES);
  let bufferedBytes = 0;
  const append = (text: string) => {
    const needed = bufferedBytes + Buffer.byteLength(text, "utf8");
    if (needed > partBuffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, partBuffer.length * 2));
      partBuffer.copy(grown, 0, 0, bufferedBytes);
      partBuffer = grown;
    }
    bufferedBytes += partBuffer.write(text, bufferedBytes, "utf8");
  };
  const flush = async (next: { sheetIndex: number; pageNumber: number }) => {
    const PartNumber = state.parts.length + 1;
    const part = await aws("Writing a part of the submission", () =>
      s3.send(
        new sdk.UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: state.uploadId,
          PartNumber,
          Body: partBuffer.subarray(0, bufferedBytes),
        }),
      ),
    );
    state.parts.push({ PartNumber, ETag: part.ETag! });
    state.sheetIndex = next.sheetIndex;
    state.pageNumber = next.pageNumber;
    bufferedBytes = 0;
    await aws("Saving the submission's progress", () =>
      s3.send(
        new sdk.PutObjectCommand({ Bucket: bucket, Key: progressKeyOf(key), Body: JSON.stringify(state), ContentType: "application/json" }),
      ),
    );
  };

  let { sheetIndex, pageNumber } = state;
  // The first page of every sheet still to read is asked for at once: small sheets take one round
  // between them, not one each. At most one page per sheet waits its turn.
  const firstPages = new Map<number, Promise<{ text: string; count: number }>>();
  beside().catch(() => undefined);
  for (let i = pageNumber === 1 ? sheetIndex : sheetIndex + 1; i < sheets.length; i++) {
    const page = pageLines(api, sheets[i]!, 1, pageSize);
    page.catch(() => undefined);
    firstPages.set(i, page);
  }
  while (sheetIndex < sheets.length) {
    if (deadline - Date.now() < PART_RESERVE_MS * 2) {
      if (bufferedBytes > 0) await flush({ sheetIndex, pageNumber });
      throw new SubmissionInProgress(state.parts.length);
    }
    const prefetched = pageNumber === 1 ? firstPages.get(sheetIndex) : undefined;
    firstPages.delete(sheetIndex);
    const [{ text, count }] = await Promise.all([prefetched ?? pageLines(api, sheets[sheetIndex]!, pageNumber, pageSize), beside()]);
    append(text);
    if (count < pageSize) {
      sheetIndex += 1;
      pageNumber = 1;
    } else pageNumber += 1;
    if (bufferedBytes >= PART_BYTES) await flush({ sheetIndex, pageNumber });
  }
  // The last part may be short (or empty, for a workbook whose sheets are all empty).
  if (bufferedBytes > 0 || state.parts.length === 0) await flush({ sheetIndex, pageNumber });
  await aws("Completing the submission's upload", () =>
    s3.send(
      new sdk.CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: state.uploadId,
        MultipartUpload: { Parts: state.parts },
      }),
    ),
  );
  await aws("Cleaning up the submission's progress", () =>
    s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: progressKeyOf(key) })),
  );
}

export async function deliverSubmission(
  api: FlatfileApi,
  target: SubmissionTarget,
  submission: Submission,
  options: {
    deadline: number;
    pageSize?: number;
    /** Run once beside the first records page (no round of its own), and in any case before the event is published. */
    besideFirstRead?: () => Promise<unknown>;
  },
): Promise<Delivered> {
  let besideRun: Promise<unknown> | undefined;
  const beside = () => {
    besideRun ??= options.besideFirstRead ? options.besideFirstRead() : Promise.resolve();
    return besideRun;
  };
  const key = submissionKey(submission);
  const counts = Object.fromEntries(submission.sheets.map((sheet) => [sheet.slug, sheet.total]));
  const detail: SubmissionDetail = {
    id: submission.jobId,
    environmentId: submission.environmentId,
    spaceId: submission.spaceId,
    workbookId: submission.workbookId,
    jobId: submission.jobId,
    bucket: target.bucket,
    key,
    format: "ndjson",
    counts,
    records: submission.sheets.reduce((sum, sheet) => sum + sheet.total, 0),
    ...(submission.submittedBy ? { submittedBy: submission.submittedBy } : {}),
    submittedAt: submission.submittedAt,
  };

  let objectWritten = false;
  let already: boolean;
  try {
    already = await exists(target.bucket, key);
  } catch (error) {
    throw temporary("Looking for the submission in S3", error);
  }
  if (!already) {
    await writeObject(api, target.bucket, key, submission.sheets, options.deadline, options.pageSize ?? RECORDS_PAGE_SIZE, beside);
    objectWritten = true;
  }
  await beside();

  let eventPublished = false;
  try {
    if (!(await exists(target.bucket, markerKeyOf(key)))) {
      const sdk = await loadSdk();
      const answer = await sdk.eventBridgeClient(traceAwsClient).send(
        new sdk.PutEventsCommand({
          Entries: [
            {
              Source: SUBMISSION_SOURCE,
              DetailType: SUBMISSION_DETAIL_TYPE,
              Detail: JSON.stringify(detail),
              ...(target.eventBus ? { EventBusName: target.eventBus } : {}),
            },
          ],
        }),
      );
      if ((answer.FailedEntryCount ?? 0) > 0) {
        throw new Error(`EventBridge refused the event (${answer.Entries?.[0]?.ErrorCode ?? "unknown error"})`);
      }
      await sdk.s3Client(traceAwsClient).send(
        new sdk.PutObjectCommand({
          Bucket: target.bucket,
          Key: markerKeyOf(key),
          Body: JSON.stringify({ eventId: answer.Entries?.[0]?.EventId, at: new Date().toISOString() }),
          ContentType: "application/json",
        }),
      );
      eventPublished = true;
    }
  } catch (error) {
    throw temporary("Announcing the submission on EventBridge", error);
  }
  logger.info("submission delivered", { key, records: detail.records, objectWritten, eventPublished });
  return { detail, objectWritten, eventPublished };
}
