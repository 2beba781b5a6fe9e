/**
 * The relay drops events of Spaces that are not ours where the event's `namespaces` tell (the
 * ownedSpaces setting naming Spaces by namespace, as Flatfile's `space:<namespace>` filter
 * matches), before anything is sent; whatever it cannot tell goes on, and the route decides.
 */
import { App, Stack } from "aws-cdk-lib";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { buildRelayAgentSync } from "../../../infra/relay/bundle";
import {
  defaultDeps,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  relayEventToAll,
  type RelayContext,
  type RelayPlan,
} from "../../../infra/relay/forward";
import { RelayRegistration } from "../../../infra/relay/relay-registration";
import { sampleEvent, startReceiver, type Receiver, type SampleName } from "../../support/relay-receiver";

const SIGNING_SECRET = "whsec_relay_owned_spaces_0123456789";
let receiver: Receiver;
let logged: { message: string; fields?: Record<string, unknown> }[];

beforeAll(async () => {
  receiver = await startReceiver(SIGNING_SECRET);
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.reset();
  logged = [];
});

const context = (): RelayContext => ({
  readSecret: async (name) => ({ [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: SIGNING_SECRET })[name] ?? "",
  flatfileApi: { url: `${receiver.url}/api`, token: "sk_agent_owned_spaces" },
});
const relay = (name: SampleName, namespaces: unknown, plan: RelayPlan) =>
  relayEventToAll(
    { ...sampleEvent(name), ...(namespaces === undefined ? {} : { namespaces }) },
    context(),
    { ...defaultDeps(), log: (_level, message, fields) => logged.push({ message, fields }) },
    undefined,
    plan,
  );

const GREEN: RelayPlan = { ownedSpaces: "space:green" };

describe("the relay and ownedSpaces", () => {
  it("drops an event whose namespaces name another Space, for every route, sending nothing and logging why", async () => {
    for (const name of ["space-configure", "action-submit", "commit-created"] as const) {
      const outcomes = await relay(name, ["space:blue"], GREEN);
      expect(outcomes).toEqual([{ kind: "ignored", reason: expect.stringContaining("ownedSpaces") }]);
    }
    expect(receiver.received).toEqual([]);
    expect(logged.filter((l) => l.message === "not relayed").map((l) => l.fields?.eventId)).toHaveLength(3);
  });

  it("forwards an event of one of our namespaces", async () => {
    const outcomes = await relay("space-configure", ["space:green"], GREEN);
    expect(outcomes).toEqual([expect.objectContaining({ kind: "delivered", route: "/space-configure" })]);
    expect(JSON.parse(receiver.received[0]!.body).namespaces).toEqual(["space:green"]);
  });

  it("forwards what it cannot tell, for the route to decide: no namespaces, or an App id in the setting", async () => {
    await relay("commit-created", undefined, GREEN);
    await relay("commit-created", [], GREEN);
    await relay("commit-created", ["space:blue"], { ownedSpaces: "space:green,us_app_a1b2c3d4" });
    // And without the setting, every Space, as before.
    await relay("commit-created", ["space:blue"], {});
    expect(receiver.received.map((r) => r.path)).toEqual(["/commit-created", "/commit-created", "/commit-created", "/commit-created"]);
  });

  it("drops it for the listener's route too", async () => {
    const plan: RelayPlan = { ...GREEN, listener: { subscriptions: [{ topics: ["**"], filters: [] }], topics: ["commit:created"] } };
    expect(await relay("commit-created", ["space:blue"], plan)).toEqual([expect.objectContaining({ kind: "ignored" })]);
    expect((await relay("commit-created", ["space:green"], plan)).map((o) => o.kind)).toEqual(["delivered", "delivered"]);
    expect(receiver.received.map((r) => r.path).sort()).toEqual(["/commit-created", "/listener"]);
  });

  it("the stack's relay is built with the setting", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "RelayOwnedSpaces");
    const relayRegistration = new RelayRegistration(stack, "Relay", {
      secret: new Secret(stack, "StackSecret"),
      apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
      environmentId: "us_env_test0001",
      ownedSpaces: "space:green",
    });
    expect(relayRegistration.agentSha256).toBe(buildRelayAgentSync(GREEN).sha256);
    expect(relayRegistration.agentSha256).not.toBe(buildRelayAgentSync().sha256);
  }, 120_000);
});
