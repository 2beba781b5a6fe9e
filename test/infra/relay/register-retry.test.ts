/**
 * The register handler while Flatfile is briefly unreachable: through a local HTTP server in
 * front of the Flatfile stand-in that fails the first requests (503, or drops the connection)
 * and then passes them on, a Create, Update or Delete retries and succeeds; against one that
 * always fails, it gives up within its bound, saying what failed, how often, for how long.
 * The bound is shortened for the test (the deployed one is REGISTER_RETRY).
 */
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { createSdkClient, type SdkApi } from "../../../shared/core/flatfile-sdk";
import { RELAY_AGENT_SLUG } from "../../../infra/relay/flatfile-registration";
import { createOnEvent, isTransientFlatfileFailure, REGISTER_RETRY, type RegisterRetry } from "../../../infra/relay/register";

const ENV = "us_env_retry0001";
const SECRET_ID = "flatfile-space-configurator/retry-test";
const SIGNING_SECRET = "whsec_relay_retry_0123456789abcdef";
const BOUND: RegisterRetry = { totalMs: 3_000, firstDelayMs: 100, maxDelayMs: 800 };

/** How the server in front of Flatfile answers: fail the first `failures` requests, then pass them on. */
interface Flaky {
  mode: "503" | "drop";
  failures: number;
  seen: number;
}

let flatfile: FlatfileStandIn;
let front: Server;
let frontUrl: string;
let api: SdkApi;
const flaky: Flaky = { mode: "503", failures: 0, seen: 0 };

beforeAll(async () => {
  flatfile = await startFlatfileStandIn();
  const target = new URL(flatfile.url);
  front = createServer((req, res) => {
    flaky.seen += 1;
    if (flaky.seen <= flaky.failures) {
      if (flaky.mode === "drop") {
        req.socket.destroy();
        return;
      }
      res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ errors: [{ message: "scripted outage" }] }));
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", resolve));
  frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}${target.pathname.replace(/\/$/, "")}`;
  api = createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
});
afterAll(async () => {
  await new Promise((resolve) => front.close(resolve));
  await flatfile.close();
});
beforeEach(() => Object.assign(flaky, { mode: "503", failures: 0, seen: 0 }));

function cfnEvent(type: "Create" | "Update" | "Delete"): CloudFormationCustomResourceEvent {
  const ResourceProperties = {
    ServiceToken: "arn:aws:lambda:eu-west-1:111111111111:function:provider",
    EnvironmentId: ENV,
    RelayBaseUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
    SecretId: SECRET_ID,
    FlatfileApiUrl: frontUrl,
  };
  const common = {
    ServiceToken: ResourceProperties.ServiceToken,
    ResponseURL: "https://cloudformation-custom-resource-response.example/",
    StackId: "arn:aws:cloudformation:eu-west-1:111111111111:stack/RetryTest/1",
    RequestId: `req-${Math.random()}`,
    LogicalResourceId: "RelayResource",
    ResourceType: "Custom::FlatfileRelay",
    ResourceProperties,
  };
  const PhysicalResourceId = `flatfile-relay:${ENV}`;
  if (type === "Create") return { ...common, RequestType: "Create" };
  if (type === "Update") return { ...common, RequestType: "Update", PhysicalResourceId, OldResourceProperties: ResourceProperties };
  return { ...common, RequestType: "Delete", PhysicalResourceId };
}

function handler() {
  const retries: Record<string, unknown>[] = [];
  const onEvent = createOnEvent({
    readSecret: async () => ({ apiKey: flatfile.apiKey, signingSecret: SIGNING_SECRET }),
    loadAgentSource: () => "module.exports = 'relay'",
    log: (message, fields) => {
      if (message.includes("retrying")) retries.push(fields ?? {});
    },
    retry: BOUND,
  });
  return { onEvent, retries };
}

const relayAgents = async () => ((await api.agents.list({ environmentId: ENV })).data ?? []).filter((a) => a.slug === RELAY_AGENT_SLUG);

describe("the register handler while Flatfile is briefly unreachable", () => {
  it.each(["503", "drop"] as const)("Create succeeds after two failed attempts (%s), with exactly one agent", async (mode) => {
    Object.assign(flaky, { mode, failures: 2 });
    const { onEvent, retries } = handler();
    const created = await onEvent(cfnEvent("Create"));
    expect(created.Data.Status).toBe("REGISTERED");
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ what: "Registering the Flatfile relay", attempt: 1, delayMs: 100 });
    expect(retries[1]).toMatchObject({ attempt: 2, delayMs: 200 });
    expect((await relayAgents()).map((a) => a.id)).toEqual([created.Data.AgentId]);
  });

  it("Update and Delete retry too; Delete then leaves nothing behind", async () => {
    const { onEvent, retries } = handler();
    await onEvent(cfnEvent("Create"));
    Object.assign(flaky, { failures: 2, seen: 0 });
    const updated = await onEvent(cfnEvent("Update"));
    expect((await relayAgents()).map((a) => a.id)).toEqual([updated.Data.AgentId]);
    Object.assign(flaky, { failures: 2, seen: 0 });
    await expect(onEvent(cfnEvent("Delete"))).resolves.toMatchObject({ Data: { Status: "REMOVED" } });
    expect(await relayAgents()).toEqual([]);
    expect(retries.map((r) => r.what)).toEqual([
      "Registering the Flatfile relay",
      "Registering the Flatfile relay",
      "Removing the Flatfile relay",
      "Removing the Flatfile relay",
    ]);
  });

  it("a Flatfile that always fails: Create gives up within the bound, saying what failed, how often and for how long", async () => {
    Object.assign(flaky, { failures: Number.POSITIVE_INFINITY });
    const { onEvent, retries } = handler();
    const started = Date.now();
    const error = await onEvent(cfnEvent("Create")).catch((e: unknown) => e);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^Registering the Flatfile relay failed after \d+ attempts over \d+ s \(retried for up to 3 s\): Flatfile answered HTTP 503: scripted outage\. Deploy again once Flatfile answers\.$/,
    );
    expect(retries.length).toBeGreaterThanOrEqual(3);
    expect(took).toBeLessThanOrEqual(BOUND.totalMs);
    expect(took).toBeGreaterThanOrEqual(1_000);
  });

  it("an unreachable Flatfile on Delete: gives up within the bound and says how to remove the relay by hand", async () => {
    const { onEvent } = handler();
    await onEvent(cfnEvent("Create"));
    Object.assign(flaky, { mode: "drop", failures: Number.POSITIVE_INFINITY, seen: 0 });
    const started = Date.now();
    const error = (await onEvent(cfnEvent("Delete")).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThanOrEqual(BOUND.totalMs);
    expect(error.message).toMatch(/^Removing the Flatfile relay failed after \d+ attempts over \d+ s .*: Flatfile could not be reached/);
    expect(error.message).toContain(`FLATFILE_ENVIRONMENT_ID=${ENV} npm run relay:deploy -- --remove`);
    Object.assign(flaky, { failures: 0 });
    await onEvent(cfnEvent("Delete"));
  });

  it("a refusal is final at once: a wrong API key is not retried", async () => {
    const retries: unknown[] = [];
    const onEvent = createOnEvent({
      readSecret: async () => ({ apiKey: "sk_wrong_key_000000", signingSecret: SIGNING_SECRET }),
      loadAgentSource: () => "module.exports = 'relay'",
      log: (message, fields) => message.includes("retrying") && retries.push(fields),
      retry: BOUND,
    });
    await expect(onEvent(cfnEvent("Create"))).rejects.toThrow(/^Registering the Flatfile relay failed: Flatfile refused the API key/);
    expect(retries).toEqual([]);
  });

  it("the deployed bound: four minutes, inside the register function's five-minute timeout", () => {
    expect(REGISTER_RETRY.totalMs).toBe(240_000);
    expect(isTransientFlatfileFailure(new Error("a defect"))).toBe(false);
  });
});
