/**
 * The register handler's decisions with an in-memory Flatfile (no HTTP): exactly one relay agent
 * after any sequence, secrets kept in step, skip without a key. The same flows over real HTTP
 * against the Flatfile stand-in are in relay-flatfile.test.ts.
 */
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { describe, expect, it } from "vitest";
import { RELAY_AGENT_SLUG, type RelayApi } from "../../../infra/relay/flatfile-registration";
import { createOnEvent, type StackSecret } from "../../../infra/relay/register";

function memoryFlatfile() {
  let n = 0;
  const agents = new Map<string, { id: string; slug?: string; environmentId: string; source?: string; topics?: string[] }>();
  const secrets = new Map<string, { id: string; name: string; value: string; environmentId?: string }>();
  const api = {
    agents: {
      list: async ({ environmentId }: { environmentId: string }) => ({
        data: [...agents.values()].filter((a) => a.environmentId === environmentId),
      }),
      create: async ({ environmentId, body }: { environmentId: string; body: { slug?: string; source?: string; topics?: string[] } }) => {
        const agent = { id: `us_ag_${++n}`, environmentId, ...body };
        agents.set(agent.id, agent);
        return { data: agent };
      },
      delete: async (id: string) => {
        if (!agents.delete(id)) throw new FlatfileError({ message: "not found", statusCode: 404 });
        return { success: true };
      },
    },
    secrets: {
      list: async ({ environmentId }: { environmentId: string }) => ({
        data: [...secrets.values()].filter((s) => s.environmentId === environmentId),
      }),
      upsert: async (s: { name: string; value: string; environmentId?: string }) => {
        const existing = [...secrets.values()].find((x) => x.name === s.name && x.environmentId === s.environmentId);
        const id = existing?.id ?? `us_sec_${++n}`;
        secrets.set(id, { id, ...s });
        return { data: [...secrets.values()] };
      },
      delete: async (id: string) => {
        secrets.delete(id);
        return { data: [] };
      },
    },
  };
  return { api: api as unknown as RelayApi, agents, secrets };
}

function event(type: "Create" | "Update" | "Delete", props: Record<string, string> = {}): CloudFormationCustomResourceEvent {
  const ResourceProperties = { ServiceToken: "x", EnvironmentId: "us_env_a", RelayBaseUrl: "https://api.example", SecretId: "s", ...props };
  const common = {
    ServiceToken: "x",
    ResponseURL: "x",
    StackId: "x",
    RequestId: "x",
    LogicalResourceId: "R",
    ResourceType: "Custom::FlatfileRelay",
    ResourceProperties,
  };
  if (type === "Create") return { ...common, RequestType: type };
  if (type === "Update")
    return {
      ...common,
      RequestType: type,
      PhysicalResourceId: `flatfile-relay:${ResourceProperties.EnvironmentId}`,
      OldResourceProperties: ResourceProperties,
    };
  return { ...common, RequestType: type, PhysicalResourceId: `flatfile-relay:${ResourceProperties.EnvironmentId}` };
}

function setup(secret: StackSecret = { apiKey: "sk_live", signingSecret: "whsec_0123456789abcdef" }) {
  const flatfile = memoryFlatfile();
  const onEvent = createOnEvent({
    readSecret: async () => secret,
    loadAgentSource: () => "module.exports = 'relay'",
    makeApi: () => flatfile.api,
    log: () => undefined,
  });
  const ours = () => [...flatfile.agents.values()].filter((a) => a.slug === RELAY_AGENT_SLUG);
  const secretValues = () => Object.fromEntries([...flatfile.secrets.values()].map((s) => [s.name, s.value]));
  return { flatfile, onEvent, ours, secretValues, secret };
}

describe("register handler logic", () => {
  it("Create, Create, Update, Update: always exactly one agent, secrets current", async () => {
    const { onEvent, ours, secretValues, secret } = setup();
    for (const type of ["Create", "Create", "Update", "Update"] as const) {
      const answer = await onEvent(event(type));
      expect(ours().map((a) => a.id)).toEqual([answer.Data.AgentId]);
      expect(answer.PhysicalResourceId).toBe("flatfile-relay:us_env_a");
    }
    expect(ours()[0]).toMatchObject({ source: "module.exports = 'relay'", topics: ["job:ready", "commit:created"] });
    expect(secretValues()).toEqual({ RELAY_BASE_URL: "https://api.example", RELAY_SIGNING_SECRET: secret.signingSecret });
  });

  it("subscribes the agent to the topics of the plan it was built with (the resource's Topics)", async () => {
    const { onEvent, ours } = setup();
    await onEvent(event("Create", { Topics: "job:ready,commit:created,records:updated" }));
    expect(ours()[0]!.topics).toEqual(["job:ready", "commit:created", "records:updated"]);
  });

  it("cleans up leftovers from earlier runs and leaves other agents alone", async () => {
    const { flatfile, onEvent, ours } = setup();
    flatfile.agents.set("old1", { id: "old1", slug: RELAY_AGENT_SLUG, environmentId: "us_env_a" });
    flatfile.agents.set("old2", { id: "old2", slug: RELAY_AGENT_SLUG, environmentId: "us_env_a" });
    flatfile.agents.set("theirs", { id: "theirs", slug: "other", environmentId: "us_env_a" });
    const answer = await onEvent(event("Create"));
    expect(ours().map((a) => a.id)).toEqual([answer.Data.AgentId]);
    expect(flatfile.agents.has("theirs")).toBe(true);
  });

  it("Delete removes the agent and the two secrets; twice is fine", async () => {
    const { flatfile, onEvent, ours } = setup();
    await onEvent(event("Create"));
    await onEvent(event("Delete"));
    await onEvent(event("Delete"));
    expect(ours()).toEqual([]);
    expect(flatfile.secrets.size).toBe(0);
  });

  it("a change of environment gets a new physical id (CloudFormation then deletes the old one)", async () => {
    const { onEvent } = setup();
    const answer = await onEvent(event("Update", { EnvironmentId: "us_env_b" }));
    expect(answer.PhysicalResourceId).toBe("flatfile-relay:us_env_b");
  });

  it("without an API key: skipped, nothing touched, instructions returned", async () => {
    const { flatfile, onEvent } = setup({ apiKey: "REPLACE_ME", signingSecret: "whsec_0123456789abcdef" });
    const answer = await onEvent(event("Create"));
    expect(answer.Data).toMatchObject({ Status: "SKIPPED" });
    expect(answer.Data.Instructions).toMatch(/npm run relay:deploy/);
    expect(flatfile.agents.size + flatfile.secrets.size).toBe(0);
  });
});
