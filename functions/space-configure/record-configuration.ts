/**
 * Recording a configuration in the space. `spaces.update` replaces `metadata` whole, so our state
 * is merged into a fresh read of the space under its lease, which every writer of our state
 * holds. The lease and the read are taken beside the creates and the write goes beside
 * `complete`, so a writer that takes no lease (the embedding App) can be overwritten only in the
 * one round trip between our read and our write.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import { readOwnSpaceState, withSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { holdSpaceLease } from "../../shared/flatfile/writes";

/**
 * A read older than this, and older than its own round trip, when the write is due (the creates
 * were slow or retried) is read again before writing, so the window stays one round trip.
 */
export const REREAD_AFTER_MS = 100;

export interface SpaceRecording {
  /** The space as read under the lease; rejects (and the lease is given back) if either failed. */
  readonly space: Promise<Flatfile.Space>;
  /** Points the space at our workbook and merges our state in, unless a state is there already; then releases the lease. */
  write(state: SpaceState): Promise<void>;
  /** Gives the lease back without writing; a no-op once written or released. */
  release(): Promise<void>;
}

interface Read {
  space: Flatfile.Space;
  tookMs: number;
  answeredAt: number;
}

/** Takes the space's lease and reads the space under it, at once. */
export function startRecording(api: FlatfileApi, spaceId: string, leaseTable: string | undefined): SpaceRecording {
  const lease = holdSpaceLease(spaceId, leaseTable);
  let released: Promise<void> | undefined;
  const release = (): Promise<void> => {
    released ??= lease.then(
      (held) => held.release(),
      () => undefined,
    );
    return released;
  };
  const read = async (): Promise<Read> => {
    const sentAt = performance.now();
    const { data } = await api.spaces.get(spaceId);
    const answeredAt = performance.now();
    return { space: data, tookMs: answeredAt - sentAt, answeredAt };
  };
  const first = lease.then(read);
  first.catch(() => release());
  const space = first.then((r) => r.space);
  space.catch(() => undefined); // for a caller that only writes: the write sees the rejection

  return {
    space,
    release,
    async write(state) {
      try {
        let { space, tookMs, answeredAt } = await first;
        const age = performance.now() - answeredAt;
        if (age > Math.max(tookMs, REREAD_AFTER_MS)) ({ space } = await read());
        if (await readOwnSpaceState(api, space)) return; // recorded by a concurrent delivery: kept
        await api.spaces.update(spaceId, { primaryWorkbookId: state.workbookId, metadata: withSpaceState(space.metadata, state) });
      } finally {
        await release();
      }
    },
  };
}
