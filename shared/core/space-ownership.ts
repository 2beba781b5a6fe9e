/** The route pipeline's check that an event's Space is ours (the rule: owned-spaces.ts). */
import { asRouteError } from "./failures";
import type { FlatfileApi } from "./flatfile-client";
import { describeOwnedSpaces, needsAppNamespace, ownsSpace, type OwnedSpaces, type SpaceOrigin } from "./owned-spaces";

/** What the rule looks at in a Space as `spaces.get` answers it. */
export interface SpaceSeen {
  id: string;
  namespace?: unknown;
  appId?: unknown;
}

/**
 * Why the event's Space is not ours under the rule, or undefined when it is: reads the Space (and
 * its App, when only the App's namespace can decide). A read that fails is thrown as a route
 * error (5xx for a temporary one), so nothing is written and a retry decides. Answers the Space
 * read, for the flow to use instead of reading it again.
 */
export async function readOwnedSpace<S extends SpaceSeen>(
  api: FlatfileApi,
  rule: OwnedSpaces,
  spaceId: string | undefined,
): Promise<{ foreign: string } | { foreign: undefined; space: S }> {
  if (!spaceId) return { foreign: `the event names no Space, and this deployment answers only Spaces of ${describeOwnedSpaces(rule)}` };
  let space: S;
  try {
    space = (await api.spaces.get(spaceId)).data as unknown as S;
  } catch (error) {
    throw asRouteError(error, `reading space ${spaceId} to tell whether it is ours`);
  }
  const foreign = await foreignSpaceReason(api, rule, space);
  return foreign ? { foreign } : { foreign: undefined, space };
}

/** Why `space` (as Flatfile answered it) is not ours under the rule, or undefined; may read its App. */
export async function foreignSpaceReason(api: FlatfileApi, rule: OwnedSpaces, space: SpaceSeen): Promise<string | undefined> {
  const origin: SpaceOrigin = {
    ...(typeof space.namespace === "string" ? { namespace: space.namespace } : {}),
    ...(typeof space.appId === "string" ? { appId: space.appId } : {}),
  };
  if (origin.appId !== undefined && needsAppNamespace(rule, origin)) {
    try {
      const app = (await api.apps.get(origin.appId)).data as { namespace?: unknown };
      if (typeof app.namespace === "string") origin.appNamespace = app.namespace;
    } catch (error) {
      throw asRouteError(error, `reading app ${origin.appId} of space ${space.id} to tell whether it is ours`);
    }
  }
  if (ownsSpace(rule, origin)) return undefined;
  const seen = [
    origin.namespace !== undefined ? `namespace ${JSON.stringify(origin.namespace.slice(0, 100))}` : "no namespace",
    origin.appId !== undefined ? `app ${origin.appId}` : "no app",
  ].join(", ");
  return `space ${space.id} (${seen}) is not one of ${describeOwnedSpaces(rule)}`;
}
