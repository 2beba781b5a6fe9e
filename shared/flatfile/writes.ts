/**
 * Writes to a workbook that several deliveries may make at once: each re-reads the workbook under
 * its lease and applies only its own change (see shared/core/lease.ts). Our state and the guide
 * rendered from it are written the same way, under the space's lease (./space-state.ts).
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../core/flatfile-client";
import { RetryableError } from "../core/errors";
import { LEASE_MS, SECTION_LEASE_MS, withLease } from "../core/lease";
import { logger } from "../core/logger";

/**
 * The leases that guard our read-modify-writes, one key per Flatfile resource: every writer of a
 * workbook's configuration holds the workbook's, every writer of our state the space's. Always
 * space, then workbook, never the other way. `section` is for work that spans several calls, one
 * of them slow (a duplicate's `sheets.duplicate`).
 */
export function withWorkbookLease<T>(
  workbookId: string,
  leaseTable: string | undefined,
  work: () => Promise<T>,
  section = false,
): Promise<T> {
  return withLease(`workbook#${workbookId}`, leaseTable, work, section ? SECTION_LEASE_MS : LEASE_MS);
}

export function withSpaceLease<T>(spaceId: string, leaseTable: string | undefined, work: () => Promise<T>, section = false): Promise<T> {
  return withLease(`space#${spaceId}`, leaseTable, work, section ? SECTION_LEASE_MS : LEASE_MS);
}

/**
 * Changes a workbook's configuration without losing a concurrent delivery's change: under the
 * workbook's lease, the workbook is read fresh, `change` computes the update from what is there
 * now (undefined: nothing to do), and it is written. `workbooks.update` replaces the sheets and
 * actions wholesale, so an update computed from an older read would undo whatever another job
 * wrote since (a submit's locks, say).
 */
export async function changeWorkbook(
  api: FlatfileApi,
  workbookId: string,
  leaseTable: string | undefined,
  change: (fresh: Flatfile.Workbook) => Flatfile.WorkbookUpdate | undefined,
): Promise<void> {
  await withWorkbookLease(workbookId, leaseTable, async () => {
    const fresh = (await api.workbooks.get(workbookId)).data;
    const update = change(fresh);
    if (update) await api.workbooks.update(workbookId, update);
  });
}

/**
 * Reads the workbook back and checks that what a flow is about to promise (a lock) is there: a
 * write of ours that Flatfile applied late, or someone outside our leases, may have undone it.
 * When it is not, `reassert` writes it again (under the lease) and the workbook is read once more;
 * still not there, the delivery fails as temporary: the job stays open and the relay's
 * redelivery redoes it. One read on the usual path, run beside the flow's next calls.
 */
export async function confirmWorkbook(
  api: FlatfileApi,
  workbookId: string,
  what: string,
  holds: (workbook: Flatfile.Workbook) => boolean,
  reassert: () => Promise<unknown>,
): Promise<Flatfile.Workbook> {
  const first = (await api.workbooks.get(workbookId)).data;
  if (holds(first)) return first;
  logger.warn("a write was not there when read back; writing it again", { workbookId, what });
  await reassert();
  const again = (await api.workbooks.get(workbookId)).data;
  if (holds(again)) return again;
  throw new RetryableError(`${what} was undone after it was written, twice; the retry writes it again`);
}

/** A lease taken now and held across rounds of a flow until given back. */
export interface HeldLease {
  /**
   * Gives the lease back (again is a no-op); resolves once it is released. Given the error the
   * holder stopped on, a write of unknown outcome keeps the lease as `withLease` does.
   */
  release(failure?: unknown): Promise<void>;
}

/** Holds the lease `take` acquires until `release`; rejects when it cannot be acquired. */
function holdLease(take: (work: () => Promise<void>) => Promise<void>): Promise<HeldLease> {
  return new Promise<HeldLease>((resolveHeld, rejectHeld) => {
    let letGo!: (failure?: unknown) => void;
    const lettingGo = new Promise<void>((resolve, reject) => {
      letGo = (failure) => (failure === undefined ? resolve() : reject(failure));
    });
    lettingGo.catch(() => undefined);
    let held: Promise<void> | undefined;
    const lease: HeldLease = {
      release: (failure) => {
        letGo(failure);
        return held ? held.catch(() => undefined) : Promise.resolve();
      },
    };
    held = take(() => {
      resolveHeld(lease);
      return lettingGo;
    });
    // Not acquired (another holder past the wait, or the store down): the caller is told.
    held.catch(rejectHeld);
  });
}

/**
 * Takes the space's lease and holds it until `release`, for a read-modify-write whose read and
 * write fall in different rounds of a flow. A section lease: the rounds between may be slow. The
 * holder must release it on every path (a local lease is never lapsed, only given back).
 */
export function holdSpaceLease(spaceId: string, leaseTable: string | undefined): Promise<HeldLease> {
  return holdLease((work) => withSpaceLease(spaceId, leaseTable, work, true));
}

/** The workbook's lease, held as `holdSpaceLease` holds the space's (taken after it, never before). */
export function holdWorkbookLease(workbookId: string, leaseTable: string | undefined): Promise<HeldLease> {
  return holdLease((work) => withWorkbookLease(workbookId, leaseTable, work, true));
}
