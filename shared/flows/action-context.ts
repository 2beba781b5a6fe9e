/**
 * What both action jobs read before they act: our state in the space, the workbook and the person
 * who pressed the button, all at once. A workbook that the blueprint did not make is
 * declined, so another listener that owns it finds its job untouched.
 */
import type { Flatfile } from "@flatfile/api";
import type { FlatfileApi } from "../core/flatfile-client";
import type { Actor } from "../domain/audience";
import { lookUpActor } from "./actor";
import { readSpaceState, type SpaceState } from "./space-state";

export interface ActionContext {
  space: Flatfile.Space;
  state: SpaceState | undefined;
  workbook: Flatfile.Workbook;
  actor: Actor;
}

export async function readActionContext(
  api: FlatfileApi,
  ids: { spaceId: string; workbookId: string; actorId?: string },
): Promise<ActionContext> {
  const [space, workbook, actor] = await Promise.all([
    api.spaces.get(ids.spaceId).then((r) => r.data),
    api.workbooks.get(ids.workbookId).then((r) => r.data),
    lookUpActor(api, ids.actorId),
  ]);
  return { space, state: readSpaceState(space.metadata), workbook, actor };
}

/** Why this action is not ours to run, or undefined when it is. */
export function notOurs(context: ActionContext): string | undefined {
  if (!context.state) return "the space was not configured by this blueprint";
  if (context.state.workbookId !== context.workbook.id) return `workbook ${context.workbook.id} is not the one this blueprint made`;
  return undefined;
}

/** A sheet config that nobody can change: no access, and read-only. */
export function lockedConfig(config: Flatfile.SheetConfig): Flatfile.SheetConfig {
  return { ...config, readonly: true, access: [] };
}

export function isLocked(config: Flatfile.SheetConfig): boolean {
  return config.readonly === true && Array.isArray(config.access) && config.access.length === 0;
}
