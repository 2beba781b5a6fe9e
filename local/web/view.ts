/**
 * What the page shows of a Space, read through the Flatfile API (the stand-in, or the real API in
 * pull mode) with the same SDK the handlers use: the Space, its workbooks, sheets, counts and a
 * page of records, the guide, and the jobs the deliveries named.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { GUIDE_TITLE, readSpaceState } from "../../shared/flatfile/space-state";

export const RECORDS_SHOWN = 10;

export interface FieldView {
  key: string;
  label: string;
  type: string;
  constraints: string[];
  currency?: string;
  decimals?: number;
  options?: string[];
  description?: string;
}

export interface ActionView {
  label: string;
  operation: string;
  mode?: string;
  primary: boolean;
  constraints: string[];
  tooltip?: string;
}

export interface RecordView {
  id: string;
  valid: boolean;
  values: { key: string; value: string; messages: string[] }[];
}

export interface SheetView {
  id: string;
  name: string;
  slug: string;
  locked: boolean;
  access?: string[];
  counts?: { total: number; valid: number; error: number };
  fields: FieldView[];
  actions: ActionView[];
  records: RecordView[];
}

export interface WorkbookView {
  id: string;
  name: string;
  labels: string[];
  actions: ActionView[];
  sheets: SheetView[];
}

export interface JobView {
  id: string;
  job: string;
  status: string;
  progress?: number;
  info?: string;
  heading?: string;
  message?: string;
  next?: string;
}

export interface SpaceView {
  id: string;
  name: string;
  metadata: Record<string, string>;
  audience?: string;
  currency?: string;
  workbooks: WorkbookView[];
  guide?: { title: string; body: string };
  jobs: JobView[];
  /** What could not be read (shown on the page instead of failing it). */
  problems: string[];
}

// What the API answers is not checked by the SDK: each value is taken only in the shape the page
// expects (a string, a list, a count), or left out.
const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : (JSON.stringify(value) ?? "");
const optionalText = (value: unknown): string | undefined => (value === null || value === undefined ? undefined : text(value));
const listOf = <T>(value: T[] | undefined | null): T[] => (Array.isArray(value) ? value : []);
const countOf = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0 ? value : undefined;

function countsOf(counts: { total?: unknown; valid?: unknown; error?: unknown } | undefined): SheetView["counts"] {
  const [total, valid, error] = [countOf(counts?.total), countOf(counts?.valid), countOf(counts?.error)];
  return total !== undefined && valid !== undefined && error !== undefined ? { total, valid, error } : undefined;
}

function actionView(action: Flatfile.Action): ActionView {
  return {
    label: text(action.label),
    operation: text(action.operation),
    mode: optionalText(action.mode),
    primary: action.primary === true,
    constraints: listOf(action.constraints).map((c) => text(c?.type)),
    tooltip: optionalText(action.tooltip),
  };
}

function fieldView(field: Flatfile.Property): FieldView {
  const config = (field as { config?: { decimalPlaces?: unknown; options?: { label?: unknown; value: unknown }[] } }).config;
  const metadata = (field.metadata ?? {}) as { currency?: unknown };
  return {
    key: text(field.key),
    label: text(field.label ?? field.key),
    type: text(field.type),
    constraints: listOf(field.constraints).map((c) => text(c?.type)),
    currency: typeof metadata.currency === "string" ? metadata.currency : undefined,
    decimals: countOf(config?.decimalPlaces),
    options: Array.isArray(config?.options) ? config.options.map((o) => text(o?.label ?? o?.value)) : undefined,
    description: optionalText(field.description),
  };
}

type Attempt = <T>(what: string, read: () => Promise<T>) => Promise<T | undefined>;

async function sheetView(api: FlatfileApi, sheet: Flatfile.Sheet, attempt: Attempt): Promise<SheetView> {
  const name = text(sheet.name);
  const [counts, records] = await Promise.all([
    attempt(`the counts of ${name}`, () => api.sheets.getRecordCounts(sheet.id)),
    attempt(`the records of ${name}`, () => api.records.get(sheet.id, { pageSize: RECORDS_SHOWN })),
  ]);
  const config = (sheet.config ?? {}) as Partial<Flatfile.SheetConfig>;
  return {
    id: sheet.id,
    name,
    slug: text(sheet.slug ?? config.slug),
    locked: config.readonly === true || (Array.isArray(config.access) && config.access.length === 0),
    access: Array.isArray(config.access) ? config.access.map(text) : undefined,
    counts: countsOf(counts?.data?.counts),
    fields: listOf(config.fields).map(fieldView),
    actions: listOf(config.actions).map(actionView),
    records: listOf(records?.data?.records).map((record) => ({
      id: text(record?.id),
      valid: record?.valid !== false,
      values: Object.entries(record?.values && typeof record.values === "object" ? record.values : {}).map(([key, cell]) => ({
        key,
        value: text(cell?.value),
        messages: listOf(cell?.messages).map((m) => `${text(m?.type ?? "error")}: ${text(m?.message)}`),
      })),
    })),
  };
}

export async function readSpaceView(api: FlatfileApi, spaceId: string, jobIds: readonly string[]): Promise<SpaceView> {
  const problems: string[] = [];
  const attempt: Attempt = async (what, read) => {
    try {
      return await read();
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      problems.push(`${what}: ${status ? `HTTP ${status}` : error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };
  const space = (await attempt("the Space", () => api.spaces.get(spaceId)))?.data;
  const rawMetadata = (space?.metadata ?? {}) as Record<string, unknown>;
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(rawMetadata)) if (key !== "spaceConfigurator") metadata[key] = text(value).slice(0, 200);
  const state = readSpaceState(rawMetadata);

  const [workbooks, documents, jobs] = await Promise.all([
    attempt("the workbooks", () => api.workbooks.list({ spaceId })),
    attempt("the documents", () => api.documents.list(spaceId)),
    Promise.all(jobIds.map((id) => attempt(`job ${id}`, () => api.jobs.get(id)))),
  ]);

  const workbookViews = await Promise.all(
    listOf(workbooks?.data).map(async (workbook): Promise<WorkbookView> => {
      const sheets = listOf(workbook?.sheets).filter((sheet) => typeof sheet?.id === "string");
      return {
        id: text(workbook?.id),
        name: text(workbook?.name),
        labels: listOf(workbook?.labels).map(text),
        actions: listOf(workbook?.actions).map(actionView),
        sheets: await Promise.all(sheets.map((sheet) => sheetView(api, sheet, attempt))),
      };
    }),
  );

  const documentList = listOf(documents?.data);
  const guideId = state?.guideDocumentId ?? documentList.find((d) => d?.title === GUIDE_TITLE)?.id;
  const guide = documentList.find((d) => d?.id === guideId);

  return {
    id: spaceId,
    name: text(space?.name ?? spaceId),
    metadata,
    audience: state?.audience,
    currency: state?.currency,
    workbooks: workbookViews,
    guide: guide ? { title: text(guide.title), body: text(guide.body) } : undefined,
    jobs: (jobs ?? []).flatMap((answer) => {
      const job = answer?.data;
      if (!job) return [];
      const outcome = (job.outcome ?? {}) as {
        heading?: unknown;
        message?: unknown;
        next?: { label?: unknown; id?: unknown; url?: unknown };
      };
      return [
        {
          id: text(job.id),
          job: `${text(job.type)}:${text(job.operation)}`,
          status: text(job.status),
          progress: countOf(job.progress),
          info: optionalText(job.info),
          heading: optionalText(outcome.heading),
          message: optionalText(outcome.message),
          next: outcome.next ? `${text(outcome.next.label ?? "next")} → ${text(outcome.next.id ?? outcome.next.url)}` : undefined,
        },
      ];
    }),
    problems,
  };
}
