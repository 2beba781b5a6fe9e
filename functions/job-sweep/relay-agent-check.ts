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
import { OPEN_JOB_SWEEP_INTERVAL_MS } from "../../shared/core/open-jobs";
import {
  RELAY_AGENT_CHECK_FAILED,
  RELAY_AGENT_SLUG,
  RELAY_GAVE_UP,
  RELAY_GAVE_UP_SEEN,
  RELAY_SIGNATURE_REFUSED,
} from "../../shared/core/relay-agent";

export type RelayAgentVerdict =
  | { state: "as-deployed"; agentId: string }
  /** No agent carries our slug: removed, or replaced by another deploy. */
  | { state: "missing"; agents: number }
  /** Our slug, another source: someone deployed other code over it. */
  | { state: "source-changed"; agentId: string; sha256: string }
  /** The API answered our agent without its source: only the slug could be checked. */
  | { state: "source-not-shown"; agentId: string }
  | { state: "unreadable"; detail: string };

/** The agents endpoints the check reads (GET /v1/agents, GET /v1/agents/{id}, GET /v1/agents/{id}/logs), with the SDK's answer types. */
export interface RelayAgentsApi {
  agents: {
    list(request: { environmentId: string; pageSize: number; pageNumber: number }): Promise<Flatfile.ListAgentsResponse>;
    get(agentId: string, request: { environmentId: string }): Promise<Flatfile.AgentResponse>;
    getAgentLogs(agentId: string, request: { environmentId: string }): Promise<Flatfile.GetAgentLogsResponse>;
  };
}

export function createRelayAgentsApi(options: { token: string; baseUrl?: string; deadline?: () => number }): RelayAgentsApi {
  const send = createTransport({ token: options.token, baseUrl: normalizeApiUrl(options.baseUrl), deadline: options.deadline });
  return {
    agents: {
      list: (query) => send({ method: "GET", path: "/agents", query: { ...query } }),
      get: (agentId, query) => send({ method: "GET", path: `/agents/${encodeURIComponent(agentId)}`, query: { ...query } }),
      getAgentLogs: (agentId, query) => send({ method: "GET", path: `/agents/${encodeURIComponent(agentId)}/logs`, query: { ...query } }),
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

/** What the relay's own logs say about the deliveries it gave up on, over one window. */
export interface RelayGiveUps {
  /** Deliveries the relay gave up on (its "relay gave up" lines). */
  gaveUp: number;
  /** Of those, the ones our API refused for their signature: the two sides hold different secrets. */
  signatureRefused: number;
  eventIds: string[];
  /** Runs completed in the window that the answer showed. */
  runs: number;
  /** The answer was a full page that began inside the window: there may have been more. */
  lowerBound: boolean;
}

export interface GiveUpWindow {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
}

/** A page this large may have been cut (the logs endpoint documents no paging). */
const FULL_LOGS_PAGE = 100;

/**
 * The window one scheduled run reads: the sweep interval before last, so the runs that ended in it
 * have had a whole interval to reach the logs, and consecutive runs read adjacent windows (each
 * give-up is counted once without any state kept between runs).
 */
export function giveUpWindow(scheduledAt: number, interval = OPEN_JOB_SWEEP_INTERVAL_MS): GiveUpWindow {
  const to = Math.floor(scheduledAt / interval) * interval - interval;
  return { from: to - interval, to };
}

/**
 * Reads the relay agent's logs and counts its give-ups in the runs completed in `window`. The
 * relay prints one JSON line per entry (infra/relay/forward.ts); anything else in a run's output
 * is skipped. A give-up is seen only by the relay, inside Flatfile: this is how it reaches an alarm.
 */
export async function countRelayGiveUps(
  api: RelayAgentsApi,
  agentId: string,
  environmentId: string,
  window: GiveUpWindow,
): Promise<RelayGiveUps> {
  const answer = await api.agents.getAgentLogs(agentId, { environmentId });
  const all = Array.isArray(answer?.data) ? answer.data : [];
  const found: RelayGiveUps = { gaveUp: 0, signatureRefused: 0, eventIds: [], runs: 0, lowerBound: false };
  let oldest = Number.POSITIVE_INFINITY;
  for (const run of all) {
    const completed = Date.parse(String(run?.completedAt ?? run?.createdAt ?? ""));
    if (!Number.isFinite(completed)) continue;
    oldest = Math.min(oldest, completed);
    if (completed < window.from || completed >= window.to) continue;
    found.runs += 1;
    for (const line of String(run.log ?? "").split("\n")) {
      const entry = relayLine(line);
      if (entry?.message !== RELAY_GAVE_UP) continue;
      found.gaveUp += 1;
      if (typeof entry.reason === "string" && entry.reason.startsWith(RELAY_SIGNATURE_REFUSED)) found.signatureRefused += 1;
      const eventId = typeof entry.eventId === "string" ? entry.eventId : run.eventId;
      if (typeof eventId === "string" && found.eventIds.length < 20) found.eventIds.push(eventId);
    }
  }
  found.lowerBound = all.length >= FULL_LOGS_PAGE && oldest >= window.from;
  return found;
}

function relayLine(line: string): { message?: unknown; reason?: unknown; eventId?: unknown } | undefined {
  const start = line.indexOf("{");
  if (start < 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(line.slice(start));
    return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One scheduled check: settings as the sweep reads them; logs its verdict; never throws. */
export async function runRelayAgentCheck(
  context?: Pick<Context, "getRemainingTimeInMillis">,
  env: NodeJS.ProcessEnv = process.env,
  scheduledAt: number = Date.now(),
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
    if ("agentId" in verdict) await reportGiveUps(api, verdict.agentId, environmentId, giveUpWindow(scheduledAt), fields);
  } catch (error) {
    verdict = { state: "unreadable", detail: error instanceof Error ? error.message : String(error) };
  }
  if (verdict.state === "as-deployed") logger.info("relay agent as deployed", { ...fields, agentId: verdict.agentId });
  else if (verdict.state === "missing" || verdict.state === "source-changed")
    logger.error(RELAY_AGENT_CHECK_FAILED, { ...fields, ...verdict });
  else logger.warn("relay agent could not be checked", { ...fields, ...verdict });
  return verdict;
}

async function reportGiveUps(
  api: RelayAgentsApi,
  agentId: string,
  environmentId: string,
  window: GiveUpWindow,
  fields: Record<string, unknown>,
): Promise<void> {
  const at = { ...fields, agentId, windowStart: new Date(window.from).toISOString(), windowEnd: new Date(window.to).toISOString() };
  let found: RelayGiveUps;
  try {
    found = await countRelayGiveUps(api, agentId, environmentId, window);
  } catch (error) {
    logger.warn("relay logs could not be read", { ...at, detail: judge(error).detail });
    return;
  }
  if (found.gaveUp > 0) logger.error(RELAY_GAVE_UP_SEEN, { ...at, ...found });
  if (found.lowerBound) logger.warn("relay logs: the answer may not hold every run of the window", { ...at, runs: found.runs });
}
