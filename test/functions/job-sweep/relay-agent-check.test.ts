/**
 * The sweep's relay check against the Flatfile stand-in's agents endpoints: the relay registered
 * as `cdk deploy` registers it is found as deployed; after `npx flatfile deploy` without --slug
 * replaced it (the CLI updates an environment's only agent), or after other code was deployed
 * under our slug, the scheduled handler logs the line the stack's alarm counts.
 */
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as jobSweepHandler } from "../../../functions/job-sweep/handler";
import { checkRelayAgent, createRelayAgentsApi, type RelayAgentsApi } from "../../../functions/job-sweep/relay-agent-check";
import { registerRelay } from "../../../infra/relay/flatfile-registration";
import { createSdkClient, type SdkApi } from "../../../shared/core/flatfile-sdk";
import { logger } from "../../../shared/core/logger";
import { RELAY_AGENT_CHECK_FAILED, RELAY_AGENT_SLUG } from "../../../shared/core/relay-agent";
import { ENVIRONMENT_ID, startHarness, type Harness } from "../../support/harness";

const SOURCE = "module.exports = function relay(listener) { /* the bundled relay */ };";
const SHA256 = createHash("sha256").update(SOURCE).digest("hex");

let h: Harness;
/** The SDK, as the relay's registration (and a person's tools) use it. */
let api: SdkApi;
/** What the check reads through. */
let agents: RelayAgentsApi;

beforeAll(async () => {
  h = await startHarness({ env: { RELAY_ENVIRONMENT_ID: ENVIRONMENT_ID, RELAY_AGENT_SHA256: SHA256 } });
  api = createSdkClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
  agents = createRelayAgentsApi({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
});
afterAll(async () => {
  await h?.close();
  delete process.env.RELAY_ENVIRONMENT_ID;
  delete process.env.RELAY_AGENT_SHA256;
});
afterEach(() => {
  vi.restoreAllMocks();
  h.reset();
});

const register = () =>
  registerRelay(api, { environmentId: ENVIRONMENT_ID, baseUrl: "https://api.example.com", signingSecret: "whsec_x", source: SOURCE });

/** As Flatfile's CLI deploys without a slug over the only agent: the agent becomes the customer's code. */
async function flatfileDeployWithoutSlug(): Promise<void> {
  for (const agent of h.flatfile.agents.values()) await api.agents.delete(agent.id);
  await api.agents.create({ environmentId: ENVIRONMENT_ID, body: { topics: ["job:ready"], compiler: "js", source: "customer code" } });
}

async function scheduledRun(): Promise<{ errors: unknown[][]; infos: unknown[][] }> {
  const errors = vi.spyOn(logger, "error");
  const infos = vi.spyOn(logger, "info");
  await jobSweepHandler({}, { getRemainingTimeInMillis: () => 25_000 });
  return { errors: errors.mock.calls, infos: infos.mock.calls };
}

describe("the relay check on the sweep's schedule", () => {
  it("finds the relay as deployed, and says nothing is wrong", async () => {
    const { agentId } = await register();
    expect(await checkRelayAgent(agents, ENVIRONMENT_ID, SHA256)).toEqual({ state: "as-deployed", agentId });
    const { errors, infos } = await scheduledRun();
    expect(errors.filter(([message]) => message === RELAY_AGENT_CHECK_FAILED)).toHaveLength(0);
    expect(infos.some(([message]) => message === "relay agent as deployed")).toBe(true);
  });

  it("logs the alarm's line when `npx flatfile deploy` without --slug replaced the relay", async () => {
    await register();
    await flatfileDeployWithoutSlug();
    expect(await checkRelayAgent(agents, ENVIRONMENT_ID, SHA256)).toEqual({ state: "missing", agents: 1 });
    const { errors } = await scheduledRun();
    const line = errors.find(([message]) => message === RELAY_AGENT_CHECK_FAILED);
    expect(line?.[1]).toMatchObject({ state: "missing", environmentId: ENVIRONMENT_ID, slug: RELAY_AGENT_SLUG });
  });

  it("logs it when other code was deployed under the relay's slug", async () => {
    await api.agents.create({ environmentId: ENVIRONMENT_ID, body: { slug: RELAY_AGENT_SLUG, compiler: "js", source: "other code" } });
    const verdict = await checkRelayAgent(agents, ENVIRONMENT_ID, SHA256);
    expect(verdict).toMatchObject({ state: "source-changed", sha256: createHash("sha256").update("other code").digest("hex") });
    const { errors } = await scheduledRun();
    expect(errors.find(([message]) => message === RELAY_AGENT_CHECK_FAILED)?.[1]).toMatchObject({ state: "source-changed" });
  });

  it("cannot check, and says so without the alarm's line, when Flatfile refuses the key", async () => {
    await register();
    h.flatfile.faults.statuses("agents.list", [401, 401, 401]);
    const warnings = vi.spyOn(logger, "warn");
    const { errors } = await scheduledRun();
    expect(errors.filter(([message]) => message === RELAY_AGENT_CHECK_FAILED)).toHaveLength(0);
    expect(warnings.mock.calls.some(([message]) => message === "relay agent could not be checked")).toBe(true);
  });
});
