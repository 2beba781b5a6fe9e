/** The route pipeline's check that an event's Space is ours (the rule: owned-spaces.ts). */
import { asRouteError } from "./failures";
import type { FlatfileApi } from "./flatfile-client";
import { describeOwnedSpaces, needsAppNamespace, ownsSpace, type OwnedSpaces, type SpaceOrigin } from "./owned-spaces";

/**
 * Why the event's Space is not ours under the rule, or undefined when it is: reads the Space (and
 * its App, when only the App's namespace can decide). A read that fails is thrown as a route
 * error (5xx for a temporary one), so nothing is written and a retry decides.
 */
export async function foreignSpaceReason(api: FlatfileApi, rule: OwnedSpaces, spaceId: string | undefined): Promise<string | undefined> {
  const wanted = describeOwnedSpaces(rule);
  if (!spaceId) return `the event names no Space, and this deployment answers only Spaces of ${wanted}`;
  let origin: SpaceOrigin;
  try {
    const space = (await api.spaces.get(spaceId)).data as { namespace?: unknown; appId?: unknown };
    origin = {
      ...(typeof space.namespace === "string" ? { namespace: space.namespace } : {}),
      ...(typeof space.appId === "string" ? { appId: space.appId } : {}),
    };
  } catch (error) {
    throw asRouteError(error, `reading space ${spaceId} to tell whether it is ours`);
  }
  if (origin.appId !== undefined && needsAppNamespace(rule, origin)) {
    try {
      const app = (await api.apps.get(origin.appId)).data as { namespace?: unknown };
      if (typeof app.namespace === "string") origin.appNamespace = app.namespace;
    } catch (error) {
      throw asRouteError(error, `reading app ${origin.appId} of space ${spaceId} to tell whether it is ours`);
    }
  }
  if (ownsSpace(rule, origin)) return undefined;
  const seen = [
    origin.namespace !== undefined ? `namespace ${JSON.stringify(origin.namespace.slice(0, 100))}` : "no namespace",
    origin.appId !== undefined ? `app ${origin.appId}` : "no app",
  ].join(", ");
  return `space ${spaceId} (${seen}) is not one of ${wanted}`;
}
