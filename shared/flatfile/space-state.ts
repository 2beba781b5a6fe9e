/**
 * Our state in `space.metadata` (its shape and transitions: shared/domain/space-state.ts), read
 * and written here. `spaces.update` replaces `metadata` whole, so every write is a
 * read-modify-write under the space's lease (`changeSpaceState`): a duplicate recording its copy
 * and a commit recording progress cannot overwrite each other.
 */
import type { Flatfile } from "@flatfile/api";
import { jsonExceeds, MAX_SPACE_METADATA_CHARS } from "../core/bounds";
import { JobFailure } from "../core/errors";
import { judge } from "../core/failures";
import type { FlatfileApi } from "../core/flatfile-client";
import { DEFAULT_GUIDE_TITLE, renderGuide } from "../domain/guide";
import { guideStateOf, readSpaceState, withSpaceState, type SpaceState } from "../domain/space-state";
import { canonical } from "../core/canonical";
import { withSpaceLease } from "./writes";

export {
  readSpaceState,
  sheetIdsOf,
  SPACE_STATE_KEY,
  SpaceState,
  withSpaceState,
} from "../domain/space-state";

export const GUIDE_TITLE = DEFAULT_GUIDE_TITLE;

/** The guide's id from our state, else the one titled as ours (for spaces made before we kept it). */
export async function findGuideId(api: FlatfileApi, spaceId: string, state: SpaceState | undefined): Promise<string | undefined> {
  if (state?.guideDocumentId) return state.guideDocumentId;
  const { data } = await api.documents.list(spaceId);
  return data.find((doc) => doc.title === GUIDE_TITLE)?.id;
}

export interface StateChange<T> {
  /** The state to keep; undefined, or equal to what is there, writes nothing. */
  state?: SpaceState;
  value: T;
}

export interface StateWrite<T> {
  value: T;
  guide: "updated" | "unchanged" | "missing";
  state: "updated" | "unchanged";
}

/**
 * Under the space's lease: reads the space fresh, lets `change` work from our state as it is now
 * (it may call Flatfile, and take the workbook's lease inside this one: always space, then
 * workbook, never the other way), and when the state it returns differs, writes the guide
 * rendered from that state and then the state. The lease is a section lease (SECTION_LEASE_MS):
 * the work inside may be long (a duplicate). The guide goes first: a crash between the two
 * leaves the state behind, so the redelivery finds the change still to make and writes both.
 */
export async function changeSpaceState<T>(
  api: FlatfileApi,
  spaceId: string,
  leaseTable: string | undefined,
  change: (space: Flatfile.Space, state: SpaceState | undefined) => Promise<StateChange<T>>,
): Promise<StateWrite<T>> {
  return withSpaceLease(
    spaceId,
    leaseTable,
    async () => {
      const space = (await api.spaces.get(spaceId)).data;
      assertSpaceMetadataBounded(space);
      const before = readSpaceState(space.metadata);
      const { state: after, value } = await change(space, before);
      if (!after || (before && canonical(before) === canonical(after))) return { value, guide: "unchanged", state: "unchanged" };
      const guide = await writeGuide(api, spaceId, after);
      await api.spaces.update(spaceId, { metadata: withSpaceState(space.metadata, after) });
      return { value, guide, state: "updated" };
    },
    true,
  );
}

/** The whole guide, rendered from the state. A guide someone deleted is left deleted. */
async function writeGuide(api: FlatfileApi, spaceId: string, state: SpaceState): Promise<"updated" | "missing"> {
  const { title, body } = renderGuide(guideStateOf(state));
  try {
    await api.documents.update(spaceId, state.guideDocumentId, { title, body });
    return "updated";
  } catch (error) {
    if (judge(error).kind === "not-found") return "missing";
    throw error;
  }
}

/**
 * Every write of our state sends the space's whole metadata back (`spaces.update` replaces it),
 * so an oversized one is neither merged nor written: the job fails saying why.
 */
export function spaceMetadataTooLarge(space: Pick<Flatfile.Space, "metadata">): boolean {
  return jsonExceeds(space.metadata, MAX_SPACE_METADATA_CHARS);
}

export function assertSpaceMetadataBounded(space: Pick<Flatfile.Space, "metadata">): void {
  if (!spaceMetadataTooLarge(space)) return;
  throw new JobFailure(
    `This Space's metadata is larger than ${Math.round(MAX_SPACE_METADATA_CHARS / 1024)} KB, so the configurator will not rewrite it. ` +
      "Ask whoever sets the Space's metadata (your application) to keep it smaller, then run this again.",
  );
}
