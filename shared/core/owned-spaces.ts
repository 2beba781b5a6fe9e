/**
 * Which Spaces of the environment are ours (OWNED_SPACES, the `ownedSpaces` deploy setting). By
 * default a listener answers every App of its environment (Flatfile's environments doc); this
 * narrows it as the platform's own namespace filter does: `space:<namespace>` takes a Space with
 * that namespace or one belonging to an App with that namespace (docs, "Namespaces and filters"),
 * and an App id takes that App's Spaces. Unset: every Space, as before.
 */

/** A Space namespace as the docs show them (`green`, `nightly-data`, `my-namespace`). */
const NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
/** `<region prefix>_app_<letters and digits>`, the same id shape as every other Flatfile id. */
const APP_ID = /^[a-z]{2,8}[0-9]{0,2}_app_[A-Za-z0-9]{1,64}$/;

export const OWNED_SPACES_ENV = "OWNED_SPACES";

export interface OwnedSpaces {
  namespaces: readonly string[];
  appIds: readonly string[];
}

/** What the rule needs to know of a Space: its namespace and App, and the App's namespace if any. */
export interface SpaceOrigin {
  namespace?: string;
  appId?: string;
  appNamespace?: string;
}

/** Parses the setting; throws naming the entry that is neither `space:<namespace>` nor an App id. Empty: undefined (every Space). */
export function parseOwnedSpaces(value: string | undefined): OwnedSpaces | undefined {
  const entries = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  const namespaces: string[] = [];
  const appIds: string[] = [];
  for (const entry of entries) {
    const namespace = entry.startsWith("space:") ? entry.slice("space:".length) : undefined;
    if (namespace !== undefined && NAMESPACE.test(namespace)) namespaces.push(namespace);
    else if (APP_ID.test(entry)) appIds.push(entry);
    else {
      throw new Error(
        `${JSON.stringify(entry.slice(0, 120))} is neither space:<namespace> (letters, digits, . _ -) nor an App id like us_app_1a2b3c4d`,
      );
    }
  }
  return { namespaces, appIds };
}

/** Whether the App's namespace must be read to decide (the Space's own namespace and App id did not). */
export function needsAppNamespace(rule: OwnedSpaces, origin: Omit<SpaceOrigin, "appNamespace">): boolean {
  return !ownsSpace(rule, origin) && origin.appId !== undefined && rule.namespaces.length > 0;
}

/** Whether a Space of this origin is ours under the rule. */
export function ownsSpace(rule: OwnedSpaces, origin: SpaceOrigin): boolean {
  if (origin.appId !== undefined && rule.appIds.includes(origin.appId)) return true;
  return [origin.namespace, origin.appNamespace].some((namespace) => namespace !== undefined && rule.namespaces.includes(namespace));
}

/** The rule as the logs and answers show it. */
export function describeOwnedSpaces(rule: OwnedSpaces): string {
  return [...rule.namespaces.map((n) => `space:${n}`), ...rule.appIds].join(", ");
}
