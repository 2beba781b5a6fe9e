/**
 * What an earlier, interrupted attempt at a configure job made, found only by what the creates
 * themselves wrote: the workbook's `metadata.configureJobId`, and a marker in the guide's body
 * naming the job. Never by a title: an App's own "Getting started" document is not ours.
 *
 * The marker is an empty, hidden element with a data attribute (document bodies are HTML; an HTML
 * comment may be dropped on storage). Later writes render the guide afresh and drop it: by then
 * our state names the guide. A platform that strips it makes a resumed attempt create a second
 * guide rather than take someone else's.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../../shared/core/flatfile-client";

const MARKER_ATTRIBUTE = "data-space-configurator-job";
const MARKER = new RegExp(`<div ${MARKER_ATTRIBUTE}="([A-Za-z0-9_-]{1,64})" hidden></div>`);

/** A workbook and guide an earlier, interrupted attempt at this job already made. */
export interface Leftover {
  workbook?: Flatfile.Workbook;
  guideId?: string;
}

/** The guide's body as created by `jobId`: marked as that job's. Job ids are ASCII letters, digits, _ and - (shared/core/envelope.ts). */
export function markedGuideBody(body: string, jobId: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(jobId)) throw new Error("a job id of letters, digits, _ and - is required to mark the guide");
  return `<div ${MARKER_ATTRIBUTE}="${jobId}" hidden></div>\n${body}`;
}

/** The job whose create wrote this body, if it carries our marker. */
export function guideJobOf(body: string | undefined): string | undefined {
  return body ? MARKER.exec(body)?.[1] : undefined;
}

/** Our workbook and guide in this space, if an earlier attempt at the same job made them. */
export async function findLeftovers(api: FlatfileApi, spaceId: string, jobId: string): Promise<Leftover> {
  const [workbooks, documents] = await Promise.all([api.workbooks.list({ spaceId }), api.documents.list(spaceId)]);
  const workbook = workbooks.data.find((wb) => wb.metadata?.configureJobId === jobId);
  const guideId = documents.data.find((doc) => guideJobOf(doc.body) === jobId)?.id;
  return { workbook, guideId };
}
