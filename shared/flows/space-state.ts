/**
 * What configure-time records in `space.metadata` for the handlers that come later: the ids and
 * slugs of what we made. Later handlers find our workbook, sheets and guide by these, never by a
 * display name. It sits under one key so the embedding app's own metadata is left as it was.
 */
import type { Flatfile } from "@flatfile/api";
import * as z from "zod/mini";
import "../core/zod-locale";
import type { FlatfileApi } from "../core/flatfile-client";

export const SPACE_STATE_KEY = "spaceConfigurator";
export const GUIDE_TITLE = "Getting started";

export const SpaceState = z.object({
  version: z.literal(1),
  workbookId: z.string(),
  guideDocumentId: z.string(),
  /** slug → sheet id, for the sheets the blueprint made. */
  sheets: z.record(z.string(), z.string()),
  currency: z.string(),
  audience: z.string(),
  configuredAt: z.string(),
  configureJobId: z.string(),
});
export type SpaceState = z.infer<typeof SpaceState>;

export function readSpaceState(metadata: unknown): SpaceState | undefined {
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const parsed = SpaceState.safeParse((metadata as Record<string, unknown>)[SPACE_STATE_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** Merges our state into the space's metadata, keeping every key that was already there. */
export function withSpaceState(metadata: unknown, state: SpaceState): Record<string, unknown> {
  const base = typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {};
  return { ...base, [SPACE_STATE_KEY]: state };
}

/** Sheet slug → id for a workbook's sheets. */
export function sheetIdsOf(workbook: Flatfile.Workbook): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sheet of workbook.sheets ?? []) if (sheet.slug) out[sheet.slug] = sheet.id;
  return out;
}

/** The guide's id from our state, else the one titled as ours (for spaces made before we kept it). */
export async function findGuideId(api: FlatfileApi, spaceId: string, state: SpaceState | undefined): Promise<string | undefined> {
  if (state?.guideDocumentId) return state.guideDocumentId;
  const { data } = await api.documents.list(spaceId);
  return data.find((doc) => doc.title === GUIDE_TITLE)?.id;
}
