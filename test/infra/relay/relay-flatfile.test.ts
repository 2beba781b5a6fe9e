/**
 * The relay against the Flatfile stand-in: the register handler's Create/Update/Delete (through a
 * local Secrets Manager), and the agent failing a job it could not deliver. State is checked
 * through the Flatfile API itself, as an operator would see it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FlatfileEvent, FlatfileListener } from "@flatfile/listener";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../../local/secrets-manager-stand-in";
import { createSdkClient, type SdkApi } from "../../../shared/core/flatfile-sdk";
import { createRelayAgent } from "../../../infra/relay/agent";
import { buildRelayAgent } from "../../../infra/relay/bundle";
import { RELAY_SECRET_BASE_URL, RELAY_SECRET_SIGNING, type RelayOutcome } from "../../../infra/relay/forward";
import { API_KEY_PLACEHOLDER, RELAY_AGENT_SLUG } from "../../../infra/relay/flatfile-registration";
import { createOnEvent, type OnEventResponse } from "../../../infra/relay/register";
import { startReceiver, sampleEvent, type Receiver } from "../../support/relay-receiver";

const ENV = "us_env_relay0001";
const SECRET_ID = "flatfile-space-configurator/relay-test";
const SIGNING_SECRET = "whsec_relay_registration_0123456789";
const API_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com";

let flatfile: FlatfileStandIn;
let sm: SecretsManagerStandIn;
let api: SdkApi;
let source: string;
let dir: string;
const saved = { ...process.env };

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
  sm = await startSecretsManagerStandIn({ [SECRET_ID]: { apiKey: flatfile.apiKey, signingSecret: SIGNING_SECRET } });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
  });
  delete process.env.FLATFILE_API_URL;
  delete process.env.FLATFILE_SECRET_ID;
  dir = mkdtempSync(join(tmpdir(), "relay-agent-"));
  source = (await buildRelayAgent()).code;
  writeFileSync(join(dir, "relay-agent.js"), source);
  process.env.RELAY_AGENT_PATH = join(dir, "relay-agent.js");
  api = createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
});
afterAll(async () => {
  process.env = saved;
  rmSync(dir, { recursive: true, force: true });
  await sm.close();
  await flatfile.close();
});

function cfnEvent(
  type: "Create" | "Update" | "Delete",
  props: Record<string, string> = {},
  physicalId = `flatfile-relay:${ENV}`,
): CloudFormationCustomResourceEvent {
  const ResourceProperties = {
    ServiceToken: "arn:aws:lambda:eu-west-1:111111111111:function:provider",
    EnvironmentId: ENV,
    RelayBaseUrl: API_URL,
    SecretId: SECRET_ID,
    FlatfileApiUrl: flatfile.url,
    AgentSha256: "0".repeat(64),
    ...props,
  };
  const common = {
    ServiceToken: ResourceProperties.ServiceToken,
    ResponseURL: "https://cloudformation-custom-resource-response.example/",
    StackId: "arn:aws:cloudformation:eu-west-1:111111111111:stack/RelayTest/1",
    RequestId: `req-${Math.random()}`,
    LogicalResourceId: "RelayResource",
    ResourceType: "Custom::FlatfileRelay",
    ResourceProperties,
  };
  if (type === "Create") return { ...common, RequestType: "Create" };
  if (type === "Update")
    return { ...common, RequestType: "Update", PhysicalResourceId: physicalId, OldResourceProperties: ResourceProperties };
  return { ...common, RequestType: "Delete", PhysicalResourceId: physicalId };
}

const quiet = { log: () => undefined };

async function relayAgents(environmentId = ENV) {
  const listed = await api.agents.list({ environmentId });
  return (listed.data ?? []).filter((a) => a.slug === RELAY_AGENT_SLUG);
}

async function relaySecrets(environmentId = ENV): Promise<Record<string, string>> {
  const listed = await api.secrets.list({ environmentId });
  const out: Record<string, string> = {};
  for (const s of listed.data ?? []) if (s.name === RELAY_SECRET_BASE_URL || s.name === RELAY_SECRET_SIGNING) out[s.name] = s.value;
  return out;
}

describe("register handler against the Flatfile stand-in", () => {
  const onEvent = createOnEvent(quiet);

  afterEach(async () => {
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey: flatfile.apiKey, signingSecret: SIGNING_SECRET }));
    await onEvent(cfnEvent("Delete"));
  });

  it("Create registers one agent with the topics and the bundled source, and the two secrets; a repeat changes nothing", async () => {
    const first = await onEvent(cfnEvent("Create"));
    expect(first.PhysicalResourceId).toBe(`flatfile-relay:${ENV}`);
    expect(first.Data.Status).toBe("REGISTERED");
    let agents = await relayAgents();
    expect(agents).toHaveLength(1);
    expect(agents[0]!.id).toBe(first.Data.AgentId);
    const agent = (await api.agents.get(first.Data.AgentId!)).data!;
    expect([...(agent.topics ?? [])].sort()).toEqual(["commit:created", "job:ready"]);
    expect(agent.compiler).toBe("js");
    expect(agent.source).toBe(source);
    expect(await relaySecrets()).toEqual({ [RELAY_SECRET_BASE_URL]: API_URL, [RELAY_SECRET_SIGNING]: SIGNING_SECRET });

    const again = await onEvent(cfnEvent("Create"));
    expect(again.PhysicalResourceId).toBe(first.PhysicalResourceId);
    agents = await relayAgents();
    expect(agents).toHaveLength(1);
    expect(agents[0]!.id).toBe(again.Data.AgentId);
    expect(await relaySecrets()).toEqual({ [RELAY_SECRET_BASE_URL]: API_URL, [RELAY_SECRET_SIGNING]: SIGNING_SECRET });
  });

  it("Update replaces the agent and refreshes the secrets; repeated, still exactly one", async () => {
    const created = await onEvent(cfnEvent("Create"));
    const newUrl = "https://new999.execute-api.eu-west-1.amazonaws.com/";
    const rotated = "whsec_rotated_signing_secret_9876543210";
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey: flatfile.apiKey, signingSecret: rotated }));
    const updated = await onEvent(cfnEvent("Update", { RelayBaseUrl: newUrl }));
    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(updated.Data.AgentId).not.toBe(created.Data.AgentId);
    let agents = await relayAgents();
    expect(agents.map((a) => a.id)).toEqual([updated.Data.AgentId]);
    expect(await relaySecrets()).toEqual({ [RELAY_SECRET_BASE_URL]: newUrl.replace(/\/$/, ""), [RELAY_SECRET_SIGNING]: rotated });

    const repeated = await onEvent(cfnEvent("Update", { RelayBaseUrl: newUrl }));
    agents = await relayAgents();
    expect(agents.map((a) => a.id)).toEqual([repeated.Data.AgentId]);
  });

  it("Delete removes the agent and the secrets, and a repeat is harmless", async () => {
    await onEvent(cfnEvent("Create"));
    const deleted = await onEvent(cfnEvent("Delete"));
    expect(deleted.Data.Status).toBe("REMOVED");
    expect(await relayAgents()).toEqual([]);
    expect(await relaySecrets()).toEqual({});
    await expect(onEvent(cfnEvent("Delete"))).resolves.toMatchObject({ Data: { Status: "REMOVED" } });
  });

  it("leaves other agents alone", async () => {
    const other = await api.agents.create({
      environmentId: ENV,
      body: { topics: ["job:ready"], compiler: "js", source: "module.exports = {}", slug: "someone-else" },
    });
    await onEvent(cfnEvent("Create"));
    await onEvent(cfnEvent("Update"));
    await onEvent(cfnEvent("Delete"));
    const remaining = (await api.agents.list({ environmentId: ENV })).data ?? [];
    expect(remaining.map((a) => a.id)).toContain(other.data!.id);
    await api.agents.delete(other.data!.id);
  });

  it.each(["", API_KEY_PLACEHOLDER])("without an API key (%j) skips cleanly and says how to finish", async (apiKey) => {
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey, signingSecret: SIGNING_SECRET }));
    const created = await onEvent(cfnEvent("Create"));
    expect(created.Data.Status).toBe("SKIPPED");
    expect(created.Data.Instructions).toContain(SECRET_ID);
    expect(created.Data.Instructions).toContain("npm run relay:deploy");
    expect(JSON.stringify(created).length).toBeLessThan(4096);
    expect(await relayAgents()).toEqual([]);
    await expect(onEvent(cfnEvent("Update"))).resolves.toMatchObject({ Data: { Status: "SKIPPED" } });
    await expect(onEvent(cfnEvent("Delete"))).resolves.toMatchObject({ Data: { Status: "SKIPPED" } });
  });

  it("reports a refused API key to CloudFormation with a clear reason", async () => {
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey: "sk_wrong_key_000000", signingSecret: SIGNING_SECRET }));
    await expect(onEvent(cfnEvent("Create"))).rejects.toThrow(
      /Registering the Flatfile relay failed: Flatfile refused the API key \(HTTP 40[13]\)/,
    );
  });

  it("reports a missing signing secret and a missing agent bundle with clear reasons", async () => {
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey: flatfile.apiKey }));
    await expect(onEvent(cfnEvent("Create"))).rejects.toThrow(/no "signingSecret"/);
    sm.secrets.set(SECRET_ID, JSON.stringify({ apiKey: flatfile.apiKey, signingSecret: SIGNING_SECRET }));
    const noBundle = createOnEvent({
      ...quiet,
      loadAgentSource: () => {
        throw new Error("ENOENT");
      },
    });
    await expect(noBundle(cfnEvent("Create"))).rejects.toThrow(/relay-agent\.js\) is missing/);
  });
});

describe("the agent fails the job it could not deliver (stand-in)", () => {
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver(SIGNING_SECRET);
  });
  afterAll(() => receiver.close());
  beforeEach(() => {
    vi.spyOn(FlatfileEvent.prototype, "secrets").mockImplementation(async (name: string) => {
      const values: Record<string, string> = { [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: SIGNING_SECRET };
      if (!values[name]) throw new Error(`Secret ${name} not found`);
      return values[name]!;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("gives up after its bound and the job ends failed with a message a person can act on", async () => {
    const space = flatfile.seed.space({ name: "Relay space" });
    const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const src = sampleEvent("space-configure");
    src.context.jobId = job.id;
    src.context.spaceId = space.id;
    receiver.script = Array(100).fill(503);

    let now = Date.now();
    const outcomes: RelayOutcome[] = [];
    const agent = createRelayAgent({
      deps: { now: () => now, sleep: async (ms) => void (now += ms), log: () => undefined },
      onOutcome: (o) => outcomes.push(o),
    });
    const listener = new FlatfileListener();
    listener.setVariables({ accessToken: flatfile.apiKey, apiUrl: flatfile.url.replace(/\/v1\/?$/, "") });
    await listener.use(agent).dispatchEvent(new FlatfileEvent(src as never));

    expect(receiver.received.length).toBeGreaterThan(3);
    expect(outcomes[0]).toMatchObject({ kind: "gave-up", jobFailed: true });
    const after = (await api.jobs.get(job.id)).data!;
    expect(after.status).toBe("failed");
    expect(after.outcome?.message).toMatch(/^The configuration service could not finish this job: it answered HTTP 503/);
    expect(after.outcome?.message).toContain("Try again");
  });
});
