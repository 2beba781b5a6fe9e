/**
 * Our state in `space.metadata` (its shape and transitions: shared/domain/space-state.ts), read
 * and written here. `spaces.update` replaces `metadata` whole, so every write is a
 * read-modify-write under the space's lease (`changeSpaceState`): a duplicate recording its copy
 * and a commit recording progress cannot overwrite each other.
 *
 * The state is input (anyone who can write the metadata can write it): before a flow acts on the
 * workbook, a sheet or the guide it names, each is confirmed to be in the event's space from what
 * Flatfile answers, not from what the state says (`confineToWorkbook`, `confirmGuide`).
 */
import type { Flatfile } from "@flatfile/api";
import { jsonExceeds, MAX_SPACE_METADATA_CHARS } from "../core/bounds";
import { JobFailure } from "../core/errors";
import { judge } from "../core/failures";
import type { FlatfileApi } from "../core/flatfile-client";
import { DEFAULT_GUIDE_TITLE, renderGuide } from "../domain/guide";
import { confineToWorkbook, guideStateOf, readSpaceState, sheetsOutside, withSpaceState, type SpaceState } from "../domain/space-state";
import { canonical } from "../core/canonical";
import { withSpaceLease } from "./writes";

export {
  confineToWorkbook,
  readSpaceState,
  sheetIdsOf,
  SPACE_STATE_KEY,
  SpaceState,
  withSpaceState,
} from "../domain/space-state";

export const GUIDE_TITLE = DEFAULT_GUIDE_TITLE;

const isNotFound = (error: unknown) => judge(error).kind === "not-found";

/** The workbook, or undefined when Flatfile says there is none by that id. */
async function workbookOrNone(api: FlatfileApi, workbookId: string): Promise<Flatfile.Workbook | undefined> {
  try {
    return (await api.workbooks.get(workbookId)).data;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Our state in this space, if it is this space's: valid, and naming a workbook that Flatfile
 * says is in this space (one `workbooks.get`, only when there is a state at all). A state copied
 * from another Space, or naming a workbook that is gone, is as good as none.
 */
export async function readOwnSpaceState(api: FlatfileApi, space: Pick<Flatfile.Space, "id" | "metadata">): Promise<SpaceState | undefined> {
  const state = readSpaceState(space.metadata);
  if (!state) return undefined;
  const workbook = await workbookOrNone(api, state.workbookId);
  return workbook ? confineToWorkbook(state, workbook, space.id) : undefined;
}

/**
 * The state confined to its workbook as Flatfile holds it: `known` (a read the caller made) when
 * it holds every working sheet the state names, else a fresh read (a copy made since), so only a
 * sheet that really is in the workbook stays a working sheet.
 */
async function confined(api: FlatfileApi, state: SpaceState, spaceId: string, known?: Flatfile.Workbook): Promise<SpaceState | undefined> {
  const usable = known && known.id === state.workbookId && sheetsOutside(state, known).length === 0 ? known : undefined;
  const workbook = usable ?? (await workbookOrNone(api, state.workbookId));
  return workbook ? confineToWorkbook(state, workbook, spaceId) : undefined;
}

/**
 * The id of this space's guide: the one the state names if Flatfile says it is a document of
 * this space, else ours by its title (repairing a state that names a document elsewhere), else
 * none (someone deleted it: it stays deleted).
 */
export async function confirmGuide(api: FlatfileApi, spaceId: string, documentId: string): Promise<string | undefined> {
  try {
    const { data } = await api.documents.get(spaceId, documentId);
    if (data.id === documentId && (data.spaceId === undefined || data.spaceId === spaceId)) return documentId;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const { data } = await api.documents.list(spaceId);
  return data.find((doc) => doc.title === GUIDE_TITLE && (doc.spaceId === undefined || doc.spaceId === spaceId))?.id;
}

/** The guide's id from our state, else the one titled as ours (for spaces made before we kept it). */
export async function findGuideId(api: FlatfileApi, spaceId: string, state: SpaceState | undefined): Promise<string | undefined> {
  if (state?.guideDocumentId) return confirmGuide(api, spaceId, state.guideDocumentId);
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

export interface StateChangeOptions<R> {
  /**
   * The workbook as the caller read it (the event's), against which the state is confined; read
   * afresh when it does not hold a working sheet the state names, or when not given.
   */
  workbook?: Flatfile.Workbook;
  /** The state the caller read before: its guide is confirmed while the space is read. */
  expected?: SpaceState;
  /** Reads made under the lease beside the space's read; their result is `change`'s third argument. */
  readAlongside?: () => Promise<R>;
}

/**
 * Under the space's lease: reads the space fresh, lets `change` work from our state as it is now
 * (confined to what the space really holds; it may call Flatfile, and take the workbook's lease
 * inside this one: always space, then workbook, never the other way), and when the state it
 * returns differs, writes the guide rendered from that state and then the state. The lease is a
 * section lease (SECTION_LEASE_MS): the work inside may be long (a duplicate). The guide goes
 * first: a crash between the two leaves the state behind, so the redelivery finds the change
 * still to make and writes both.
 */
export async function changeSpaceState<T, R = undefined>(
  api: FlatfileApi,
  spaceId: string,
  leaseTable: string | undefined,
  change: (space: Flatfile.Space, state: SpaceState | undefined, alongside: R) => Promise<StateChange<T>>,
  options: StateChangeOptions<R> = {},
): Promise<StateWrite<T>> {
  return withSpaceLease(
    spaceId,
    leaseTable,
    async () => {
      const expectedGuide = options.expected ? confirmGuide(api, spaceId, options.expected.guideDocumentId) : undefined;
      expectedGuide?.catch(() => undefined);
      const [space, alongside] = await Promise.all([
        api.spaces.get(spaceId).then((r) => r.data),
        options.readAlongside ? options.readAlongside() : (undefined as R),
      ]);
      assertSpaceMetadataBounded(space);
      const raw = readSpaceState(space.metadata);
      const before = raw && (await confined(api, raw, spaceId, options.workbook));
      const guide =
        before && before.guideDocumentId === options.expected?.guideDocumentId && expectedGuide
          ? expectedGuide
          : before
            ? confirmGuide(api, spaceId, before.guideDocumentId)
            : undefined;
      guide?.catch(() => undefined);
      // With the guide checked beside the space's read, its answer is in before `change` runs, so
      // everything read under the lease has settled before anything is written.
      if (guide === expectedGuide) await guide;
      const { state: changed, value } = await change(space, before, alongside);
      if (!changed || (raw && canonical(raw) === canonical(changed))) return { value, guide: "unchanged", state: "unchanged" };
      const guideId = await guide;
      const after = guideId && guideId !== changed.guideDocumentId ? { ...changed, guideDocumentId: guideId } : changed;
      const written = guideId ? await writeGuide(api, spaceId, after) : "missing";
      await api.spaces.update(spaceId, { metadata: withSpaceState(space.metadata, after) });
      return { value, guide: written, state: "updated" };
    },
    true,
  );
}

export interface HeldStateChange<T> {
  value: T;
  /**
   * Writes the guide rendered from the changed state and the state together (nothing when the
   * state is unchanged). Run while the space's lease is still held.
   */
  write(): Promise<Omit<StateWrite<T>, "value">>;
}

/**
 * `changeSpaceState` for a caller that holds the space's lease and read `space` under it (the
 * action jobs take it before their first round): the guide is confirmed beside `change`'s first
 * calls, and the writes are left to the caller, to be sent beside its own last calls. Guide and
 * state go out together: a redelivery that finds the state already written (`rewriteGuide`, for a
 * resumed job) writes the guide again, in case that was the write that failed.
 */
export async function changeHeldSpaceState<T>(
  api: FlatfileApi,
  space: Flatfile.Space,
  change: (state: SpaceState | undefined) => Promise<StateChange<T>>,
  options: { workbook?: Flatfile.Workbook; rewriteGuide?: boolean } = {},
): Promise<HeldStateChange<T>> {
  const spaceId = space.id;
  assertSpaceMetadataBounded(space);
  const raw = readSpaceState(space.metadata);
  const before = raw && (await confined(api, raw, spaceId, options.workbook));
  const guide = before ? confirmGuide(api, spaceId, before.guideDocumentId) : undefined;
  guide?.catch(() => undefined);
  const { state: changed, value } = await change(before);
  const unchanged = !changed || (raw !== undefined && canonical(raw) === canonical(changed));
  return {
    value,
    async write() {
      if (!changed || (unchanged && !options.rewriteGuide)) return { guide: "unchanged", state: "unchanged" };
      const guideId = await guide;
      const after = guideId && guideId !== changed.guideDocumentId ? { ...changed, guideDocumentId: guideId } : changed;
      if (unchanged && guideId === changed.guideDocumentId) {
        return { guide: guideId ? await writeGuide(api, spaceId, after) : "missing", state: "unchanged" };
      }
      const [guideWritten, stateWritten] = await Promise.allSettled([
        guideId ? writeGuide(api, spaceId, after) : Promise.resolve("missing" as const),
        api.spaces.update(spaceId, { metadata: withSpaceState(space.metadata, after) }),
      ]);
      if (stateWritten.status === "rejected") throw stateWritten.reason;
      if (guideWritten.status === "rejected") throw guideWritten.reason;
      return { guide: guideWritten.value, state: "updated" };
    },
  };
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
