/**
 * The relay check, run on the sweep's schedule: does the Flatfile environment still have our relay
 * agent, with the source this stack deployed? Flatfile's CLI replaces an environment's only agent
 * when `npx flatfile deploy` is run without `--slug` ("If you do not specify a slug and have only
 * one or no deployed Agents the CLI will update your existing Agent": Guides
 * `documentation/core-libraries/cli/deploy.mdx`, core-libraries `deploy.action.ts`). Events then
 * stop reaching AWS without any error on our side, so this looks, logs RELAY_AGENT_CHECK_FAILED
 * (a metric filter counts it; its alarm and the README's runbook say what to do), and never throws.
 *
 * The stack sets RELAY_ENVIRONMENT_ID and RELAY_AGENT_SHA256 (the sha256 of the bundle it
 * registered) when it registers the relay; without them there is nothing to check.
 */
import { createHash } from "node:crypto";
import type { Context } from "aws-lambda";
import { loadSettings } from "../../shared/core/config";
import { judge } from "../../shared/core/failures";
import type { Flatfile } from "@flatfile/api";
import { normalizeApiUrl } from "../../shared/core/flatfile-client";
import { createTransport } from "../../shared/core/flatfile-http";
import { logger } from "../../shared/core/logger";
import { RELAY_AGENT_CHECK_FAILED, RELAY_AGENT_SLUG } from "../../shared/core/relay-agent";

export type RelayAgentVerdict =
  | { state: "as-deployed"; agentId: string }
  /** No agent carries our slug: removed, or replaced by another deploy. */
  | { state: "missing"; agents: number }
  /** Our slug, another source: someone deployed other code over it. */
  | { state: "source-changed"; agentId: string; sha256: string }
  /** The API answered our agent without its source: only the slug could be checked. */
  | { state: "source-not-shown"; agentId: string }
  | { state: "unreadable"; detail: string };

/** The two agents endpoints the check reads (GET /v1/agents, GET /v1/agents/{id}), with the SDK's answer types. */
export interface RelayAgentsApi {
  agents: {
    list(request: { environmentId: string; pageSize: number; pageNumber: number }): Promise<Flatfile.ListAgentsResponse>;
    get(agentId: string, request: { environmentId: string }): Promise<Flatfile.AgentResponse>;
  };
}

export function createRelayAgentsApi(options: { token: string; baseUrl?: string; deadline?: () => number }): RelayAgentsApi {
  const send = createTransport({ token: options.token, baseUrl: normalizeApiUrl(options.baseUrl), deadline: options.deadline });
  return {
    agents: {
      list: (query) => send({ method: "GET", path: "/agents", query: { ...query } }),
      get: (agentId, query) => send({ method: "GET", path: `/agents/${encodeURIComponent(agentId)}`, query: { ...query } }),
    },
  };
}

const PAGE_SIZE = 100;
const MAX_PAGES = 20;
const CHECK_BUDGET_MS = 20_000;

export async function checkRelayAgent(api: RelayAgentsApi, environmentId: string, expectedSha256: string): Promise<RelayAgentVerdict> {
  try {
    const ours: string[] = [];
    let agents = 0;
    for (let pageNumber = 1; pageNumber <= MAX_PAGES; pageNumber += 1) {
      const page = await api.agents.list({ environmentId, pageSize: PAGE_SIZE, pageNumber });
      const list = Array.isArray(page?.data) ? page.data : [];
      agents += list.length;
      for (const agent of list) if (agent?.slug === RELAY_AGENT_SLUG && typeof agent.id === "string") ours.push(agent.id);
      if (list.length < PAGE_SIZE) break;
    }
    if (ours.length === 0) return { state: "missing", agents };
    let unshown: string | undefined;
    let other: { agentId: string; sha256: string } | undefined;
    for (const agentId of ours) {
      const source = (await api.agents.get(agentId, { environmentId }))?.data?.source;
      if (typeof source !== "string") {
        unshown ??= agentId;
        continue;
      }
      const sha256 = createHash("sha256").update(source).digest("hex");
      if (sha256 === expectedSha256) return { state: "as-deployed", agentId };
      other ??= { agentId, sha256 };
    }
    return other ? { state: "source-changed", ...other } : { state: "source-not-shown", agentId: unshown! };
  } catch (error) {
    return { state: "unreadable", detail: judge(error).detail };
  }
}

/** One scheduled check: settings as the sweep reads them; logs its verdict; never throws. */
export async function runRelayAgentCheck(
  context?: Pick<Context, "getRemainingTimeInMillis">,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RelayAgentVerdict | undefined> {
  const environmentId = env.RELAY_ENVIRONMENT_ID;
  const expectedSha256 = env.RELAY_AGENT_SHA256;
  if (!environmentId || !expectedSha256) return undefined;
  const started = Date.now();
  const fields = { check: "relay-agent", environmentId, slug: RELAY_AGENT_SLUG, expectedSha256 };
  let verdict: RelayAgentVerdict;
  try {
    const settings = await loadSettings(env);
    const budget = Math.min(CHECK_BUDGET_MS, (context?.getRemainingTimeInMillis?.() ?? 60_000) - 2_000);
    const api = createRelayAgentsApi({ token: settings.apiKey, baseUrl: settings.apiUrl, deadline: () => started + budget });
    verdict = await checkRelayAgent(api, environmentId, expectedSha256);
  } catch (error) {
    verdict = { state: "unreadable", detail: error instanceof Error ? error.message : String(error) };
  }
  if (verdict.state === "as-deployed") logger.info("relay agent as deployed", { ...fields, agentId: verdict.agentId });
  else if (verdict.state === "missing" || verdict.state === "source-changed")
    logger.error(RELAY_AGENT_CHECK_FAILED, { ...fields, ...verdict });
  else logger.warn("relay agent could not be checked", { ...fields, ...verdict });
  return verdict;
}
