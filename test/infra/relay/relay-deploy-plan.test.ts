/**
 * `npm run relay:deploy -- --listener` registers the agent built with the listener's plan, as the
 * stack does with listenerRoute on; without it, the agent for our routes only. Against the
 * Flatfile stand-in, read back through the API.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildRelayAgent } from "../../../infra/relay/bundle";
import { relayTopics } from "../../../infra/relay/forward";
import { RELAY_AGENT_SLUG } from "../../../infra/relay/flatfile-registration";
import { relayPlanFor } from "../../../infra/relay/plan";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { relayDeploy } from "../../../scripts/relay-deploy";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";

const ENV = "us_env_relaydeploy1";
let flatfile: FlatfileStandIn;

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
});
afterAll(() => flatfile.close());

async function deployedAgent(argv: string[]) {
  const env = {
    FLATFILE_ENVIRONMENT_ID: ENV,
    RELAY_BASE_URL: "https://abc123.execute-api.eu-west-1.amazonaws.com",
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_SIGNING_SECRET: "whsec_relay_deploy_plan_0123456789",
    FLATFILE_API_URL: flatfile.url,
  };
  await relayDeploy(argv, env, () => undefined);
  const api = createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  const agents = ((await api.agents.list({ environmentId: ENV })).data ?? []).filter((agent) => agent.slug === RELAY_AGENT_SLUG);
  expect(agents).toHaveLength(1);
  return agents[0]!;
}

const sha = (text: string | undefined) =>
  createHash("sha256")
    .update(text ?? "")
    .digest("hex");

describe("relay:deploy and the plan", () => {
  it("--listener registers the agent built with what listener/index.ts registers; without it, ours only", async () => {
    const plan = relayPlanFor({ listenerRoute: true });
    const withListener = await deployedAgent(["--listener"]);
    expect(sha(withListener.source)).toBe((await buildRelayAgent(plan)).sha256);
    expect([...(withListener.topics ?? [])].sort()).toEqual(relayTopics(plan).sort());
    const ours = await deployedAgent([]);
    expect(sha(ours.source)).toBe((await buildRelayAgent()).sha256);
  }, 120_000);
});
