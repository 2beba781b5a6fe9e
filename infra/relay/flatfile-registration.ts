/**
 * Registers the relay in a Flatfile environment, and removes it. Shared by the custom resource's
 * Lambda (register.ts) and `npm run relay:deploy`.
 *
 * The relay is recognised by its agent slug (RELAY_AGENT_SLUG), so every operation is idempotent:
 * - register: upsert the two secrets (before the agent exists, so its first event finds them),
 *   create the agent, then delete every other agent with our slug. A repeat, an update or a
 *   half-finished earlier run all end with exactly one relay agent. For the moment between the
 *   create and the delete two relays may forward the same event; the API's idempotency store
 *   absorbs the duplicate.
 * - unregister: delete every agent with our slug and our two environment-scoped secrets.
 */
import type { Flatfile } from "@flatfile/api";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { FlatfileTimeoutError } from "@flatfile/api/errors/FlatfileTimeoutError";
import type { SdkApi } from "../../shared/core/flatfile-sdk";
import { normalizeSigningSecret } from "../../shared/core/signature";
import { isAllowedBaseUrl, RELAY_SECRET_BASE_URL, RELAY_SECRET_PREVIOUS_SIGNING, RELAY_SECRET_SIGNING, RELAY_TOPICS } from "./forward";

export { isAllowedBaseUrl };
/** Why a base URL is refused, for CloudFormation or the terminal. */
export function baseUrlProblem(baseUrl: string | undefined): string | undefined {
  if (baseUrl && isAllowedBaseUrl(baseUrl)) return undefined;
  return `the relay's base URL must be the API's https:// URL (plain http only to 127.0.0.1 or localhost, for tests), got "${baseUrl ?? ""}"`;
}

/** Our marker: the one relay agent of an environment carries this slug. */
import { RELAY_AGENT_SLUG } from "../../shared/core/relay-agent";
export { RELAY_AGENT_SLUG };

/** Values that mean "no API key yet" (the stack's placeholder among them). */
export { API_KEY_PLACEHOLDER } from "../../shared/core/config";
export function isMissingApiKey(apiKey: string | undefined | null): boolean {
  const key = (apiKey ?? "").trim();
  return key === "" || /^(replace[_-]?me|changeme|placeholder|todo)$/i.test(key) || key.startsWith("REPLACE");
}

export interface RelayTarget {
  environmentId: string;
  /** The API's base URL; the agent appends the route paths. */
  baseUrl: string;
  signingSecret: string;
  /** During a rotation, the signing secret before it: the relay signs with both until it is gone. */
  previousSigningSecret?: string;
  /** The bundled agent (bundle.ts). */
  source: string;
  /** The topics it subscribes to: the plan's it was built with (forward.ts relayTopics). Default: our routes'. */
  topics?: readonly string[];
}

export type RelayApi = Pick<SdkApi, "agents" | "secrets">;

export interface Registered {
  agentId: string;
  /** Agents with our slug that were removed (earlier versions, leftovers of failed runs). */
  removed: string[];
}

const PAGE_SIZE = 100;

export async function listRelayAgents(api: RelayApi, environmentId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let pageNumber = 1; pageNumber <= 50; pageNumber += 1) {
    const page = await api.agents.list({ environmentId, pageSize: PAGE_SIZE, pageNumber });
    const agents = page.data ?? [];
    for (const agent of agents) if (agent.slug === RELAY_AGENT_SLUG) ids.push(agent.id);
    const pageCount = page.pagination?.pageCount;
    if (agents.length < PAGE_SIZE || (pageCount !== undefined && pageNumber >= pageCount)) break;
  }
  return ids;
}

async function deleteAgent(api: RelayApi, agentId: string): Promise<void> {
  try {
    await api.agents.delete(agentId);
  } catch (error) {
    if (error instanceof FlatfileError && error.statusCode === 404) return; // already gone
    throw error;
  }
}

/** Our environment-scoped secrets (not a Space's or an actor's override of the same name). */
async function ourSecrets(api: RelayApi, environmentId: string, names: readonly string[]) {
  const secrets = (await api.secrets.list({ environmentId })).data ?? [];
  return secrets.filter((s) => names.includes(s.name) && !s.spaceId && !s.actorId);
}

async function deleteSecret(api: RelayApi, id: string): Promise<void> {
  try {
    await api.secrets.delete(id);
  } catch (error) {
    if (!(error instanceof FlatfileError && error.statusCode === 404)) throw error;
  }
}

async function upsertSecrets(api: RelayApi, target: RelayTarget): Promise<void> {
  const { environmentId } = target;
  const current = normalizeSigningSecret(target.signingSecret);
  const previous = normalizeSigningSecret(target.previousSigningSecret);
  await api.secrets.upsert({ name: RELAY_SECRET_BASE_URL, value: target.baseUrl.replace(/\/+$/, ""), environmentId });
  await api.secrets.upsert({ name: RELAY_SECRET_SIGNING, value: current, environmentId });
  if (previous && previous !== current) {
    await api.secrets.upsert({ name: RELAY_SECRET_PREVIOUS_SIGNING, value: previous, environmentId });
  } else {
    // The rotation is over: the relay signs with the current secret only.
    for (const secret of await ourSecrets(api, environmentId, [RELAY_SECRET_PREVIOUS_SIGNING])) await deleteSecret(api, secret.id);
  }
}

function isSlugConflict(error: unknown): boolean {
  return (
    error instanceof FlatfileError &&
    (error.statusCode === 409 || (error.statusCode === 400 && /slug/i.test(JSON.stringify(error.body ?? ""))))
  );
}

export async function registerRelay(api: RelayApi, target: RelayTarget): Promise<Registered> {
  if (!target.source.trim()) throw new Error("the relay agent's bundled source is empty");
  const problem = baseUrlProblem(target.baseUrl);
  if (problem) throw new Error(problem);
  await upsertSecrets(api, target);
  const before = await listRelayAgents(api, target.environmentId);
  const body = {
    topics: [...(target.topics ?? RELAY_TOPICS)] as Flatfile.EventTopic[],
    compiler: "js" as const,
    source: target.source,
    slug: RELAY_AGENT_SLUG,
  };
  let created;
  try {
    created = await api.agents.create({ environmentId: target.environmentId, body });
  } catch (error) {
    // Should the platform refuse a second agent with the same slug, replace instead: remove the
    // old ones first (a short gap without a relay), then create.
    if (!isSlugConflict(error) || before.length === 0) throw error;
    for (const id of before) await deleteAgent(api, id);
    created = await api.agents.create({ environmentId: target.environmentId, body });
  }
  const agentId = created.data?.id;
  if (!agentId) throw new Error("Flatfile created the relay agent but answered without its id");
  // Everything with our slug but the new agent goes, including leftovers that `before` missed.
  const others = (await listRelayAgents(api, target.environmentId)).filter((id) => id !== agentId);
  for (const id of others) await deleteAgent(api, id);
  return { agentId, removed: [...new Set([...before.filter((id) => id !== agentId), ...others])] };
}

export async function unregisterRelay(
  api: RelayApi,
  environmentId: string,
): Promise<{ removedAgents: string[]; removedSecrets: string[] }> {
  const agents = await listRelayAgents(api, environmentId);
  for (const id of agents) await deleteAgent(api, id);
  const ours = await ourSecrets(api, environmentId, [RELAY_SECRET_BASE_URL, RELAY_SECRET_SIGNING, RELAY_SECRET_PREVIOUS_SIGNING]);
  for (const secret of ours) await deleteSecret(api, secret.id);
  return { removedAgents: agents, removedSecrets: ours.map((s) => s.name) };
}

/** A one-line, secret-free reason for CloudFormation or the terminal. */
export function describeFlatfileFailure(error: unknown, environmentId: string): string {
  if (error instanceof FlatfileTimeoutError) return "Flatfile did not answer in time; retry the deployment";
  if (error instanceof FlatfileError) {
    const status = error.statusCode;
    const body = error.body as { errors?: { message?: string }[] } | undefined;
    const said = body?.errors
      ?.map((e) => e.message)
      .filter(Boolean)
      .join("; ");
    const detail = said ? `: ${said.slice(0, 300)}` : "";
    if (status === undefined) return `Flatfile could not be reached${detail}`;
    if (status === 401 || status === 403) {
      return `Flatfile refused the API key (HTTP ${status})${detail}. Check that the secret's apiKey is a secret key of the environment ${environmentId}`;
    }
    if (status === 404) return `Flatfile answered 404${detail}. Check the environment id ${environmentId}`;
    return `Flatfile answered HTTP ${status}${detail}`;
  }
  return error instanceof Error ? error.message : String(error);
}
