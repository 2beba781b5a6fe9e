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

const text = (value: unknown): string =>
  value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);

function actionView(action: Flatfile.Action): ActionView {
  return {
    label: action.label,
    operation: action.operation ?? "",
    mode: action.mode,
    primary: action.primary === true,
    constraints: (action.constraints ?? []).map((c) => c.type),
    tooltip: action.tooltip,
  };
}

function fieldView(field: Flatfile.Property): FieldView {
  const config = (field as { config?: { decimalPlaces?: number; options?: { label?: string; value: unknown }[] } }).config;
  const metadata = (field.metadata ?? {}) as { currency?: unknown };
  return {
    key: field.key,
    label: field.label ?? field.key,
    type: field.type,
    constraints: (field.constraints ?? []).map((c) => c.type),
    currency: typeof metadata.currency === "string" ? metadata.currency : undefined,
    decimals: typeof config?.decimalPlaces === "number" ? config.decimalPlaces : undefined,
    options: config?.options?.map((o) => o.label ?? text(o.value)),
    description: field.description,
  };
}

function isLocked(config: Flatfile.SheetConfig): boolean {
  return config.readonly === true || (Array.isArray(config.access) && config.access.length === 0);
}

export async function readSpaceView(api: FlatfileApi, spaceId: string, jobIds: readonly string[]): Promise<SpaceView> {
  const problems: string[] = [];
  const attempt = async <T>(what: string, read: () => Promise<T>): Promise<T | undefined> => {
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
    (workbooks?.data ?? []).map(
      async (workbook): Promise<WorkbookView> => ({
        id: workbook.id,
        name: workbook.name ?? "",
        labels: workbook.labels ?? [],
        actions: (workbook.actions ?? []).map(actionView),
        sheets: await Promise.all(
          (workbook.sheets ?? []).map(async (sheet): Promise<SheetView> => {
            const [counts, records] = await Promise.all([
              attempt(`the counts of ${sheet.name}`, () => api.sheets.getRecordCounts(sheet.id)),
              attempt(`the records of ${sheet.name}`, () => api.records.get(sheet.id, { pageSize: RECORDS_SHOWN })),
            ]);
            const c = counts?.data.counts;
            return {
              id: sheet.id,
              name: sheet.name,
              slug: sheet.slug ?? sheet.config.slug ?? "",
              locked: isLocked(sheet.config),
              access: sheet.config.access,
              counts: c ? { total: c.total, valid: c.valid, error: c.error } : undefined,
              fields: (sheet.config.fields ?? []).map(fieldView),
              actions: (sheet.config.actions ?? []).map(actionView),
              records: (records?.data.records ?? []).map((record) => ({
                id: record.id,
                valid: record.valid !== false,
                values: Object.entries(record.values).map(([key, cell]) => ({
                  key,
                  value: text(cell.value),
                  messages: (cell.messages ?? []).map((m) => `${m.type ?? "error"}: ${m.message ?? ""}`),
                })),
              })),
            };
          }),
        ),
      }),
    ),
  );

  const guideId = state?.guideDocumentId ?? documents?.data.find((d) => d.title === GUIDE_TITLE)?.id;
  const guide = documents?.data.find((d) => d.id === guideId);

  return {
    id: spaceId,
    name: space?.name ?? spaceId,
    metadata,
    audience: state?.audience,
    currency: state?.currency,
    workbooks: workbookViews,
    guide: guide ? { title: guide.title, body: guide.body } : undefined,
    jobs: (jobs ?? []).flatMap((answer) => {
      const job = answer?.data;
      if (!job) return [];
      const outcome = (job.outcome ?? {}) as { heading?: string; message?: string; next?: { label?: string; id?: string; url?: string } };
      return [
        {
          id: job.id,
          job: `${job.type}:${job.operation}`,
          status: job.status ?? "",
          progress: job.progress,
          info: job.info,
          heading: outcome.heading,
          message: outcome.message,
          next: outcome.next ? `${outcome.next.label ?? "next"} → ${outcome.next.id ?? outcome.next.url ?? ""}` : undefined,
        },
      ];
    }),
    problems,
  };
}
