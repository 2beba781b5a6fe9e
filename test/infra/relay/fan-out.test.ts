/**
 * The relay fans out: each event goes to every route that takes it, our own and, when the deploy
 * serves it, the customer's listener, each delivered, retried and given up on by itself. Real HTTP
 * to a receiver on 127.0.0.1 that verifies signatures; the plan is read from the repo's own
 * listener/index.ts (a record hook on the Contacts sheet, a workbook:myAction job).
 */
import { FlatfileEvent, FlatfileListener } from "@flatfile/listener";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createRelayAgent } from "../../../infra/relay/agent";
import {
  defaultDeps,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  relayEventToAll,
  type RelayContext,
  type RelayOutcome,
  type RelayPlan,
} from "../../../infra/relay/forward";
import { relayPlanFor } from "../../../infra/relay/plan";
import { fastRelayBound, sampleEvent, startReceiver, type Receiver } from "../../support/relay-receiver";

const SIGNING_SECRET = "whsec_relay_fan_out_0123456789abcd";
const AGENT_TOKEN = "sk_agent_token_fan_out_0042";
// Room to fail the job on a loaded machine (the fail gets only the reserve).
const BOUND = fastRelayBound(3_000, 1_500);

let receiver: Receiver;
let plan: RelayPlan;

beforeAll(async () => {
  receiver = await startReceiver(SIGNING_SECRET);
  plan = relayPlanFor({ listenerRoute: true });
});
afterAll(() => receiver.close());
beforeEach(async () => {
  // A given-up delivery's last attempt may still be landing: let it, then start clean.
  await new Promise((resolve) => setTimeout(resolve, 100));
  receiver.reset();
});

const context = (): RelayContext => ({
  readSecret: async (name) => ({ [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: SIGNING_SECRET })[name] ?? "",
  // The job fail goes to the receiver too, so the test sees it.
  flatfileApi: { url: `${receiver.url}/api`, token: AGENT_TOKEN },
});
const relay = (event: Record<string, unknown>, with_: RelayPlan = plan) =>
  relayEventToAll(event, context(), { ...defaultDeps(), log: () => undefined }, BOUND, with_);
const paths = () => receiver.received.map((r) => r.path).sort();

function jobReady(job: string): Record<string, unknown> {
  const event = sampleEvent("action-duplicate");
  return { ...event, payload: { ...event.payload, job } };
}

describe("the relay's fan-out", () => {
  it("sends a commit:created on the listener's sheet to commit-created and to the listener, each signed with the same body", async () => {
    const outcomes = await relay(sampleEvent("commit-created"));
    expect(paths()).toEqual(["/commit-created", "/listener"]);
    expect(receiver.received.every((r) => r.signature.ok)).toBe(true);
    expect(receiver.received[0]!.body).toBe(receiver.received[1]!.body);
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { kind: "delivered", route: "/commit-created", attempts: 1, status: 200 },
        { kind: "delivered", route: "/listener", attempts: 1, status: 200 },
      ]),
    );
  });

  it("without the listener route (the default plan) sends it to commit-created only", async () => {
    await relay(sampleEvent("commit-created"), {});
    expect(paths()).toEqual(["/commit-created"]);
  });

  it("sends only what the listener registered for: a commit on another sheet goes to commit-created alone", async () => {
    const event = sampleEvent("commit-created");
    await relay({ ...event, context: { ...event.context, sheetSlug: "orders", slugs: { sheet: "orders" } } });
    expect(paths()).toEqual(["/commit-created"]);
  });

  it("a destination that keeps failing does not cost the other its delivery, in either direction", async () => {
    receiver.scriptByPath = { "/commit-created": Array(5_000).fill(503) };
    let outcomes = await relay(sampleEvent("commit-created"));
    expect(outcomes).toContainEqual({ kind: "delivered", route: "/listener", attempts: 1, status: 200 });
    expect(outcomes).toContainEqual(expect.objectContaining({ kind: "gave-up", route: "/commit-created", jobFailed: "not-a-job" }));

    receiver.reset();
    receiver.scriptByPath = { "/listener": [503, 503, 200] };
    outcomes = await relay(sampleEvent("commit-created"));
    expect(outcomes).toContainEqual({ kind: "delivered", route: "/commit-created", attempts: 1, status: 200 });
    expect(outcomes).toContainEqual({ kind: "delivered", route: "/listener", attempts: 3, status: 200 });

    receiver.reset();
    receiver.scriptByPath = { "/listener": [400] };
    outcomes = await relay(sampleEvent("commit-created"));
    expect(outcomes).toContainEqual({ kind: "delivered", route: "/commit-created", attempts: 1, status: 200 });
    expect(outcomes).toContainEqual(expect.objectContaining({ kind: "gave-up", route: "/listener" }));
  });

  it("never sends a job our routes own to the listener, even one that takes every job:ready", async () => {
    const greedy: RelayPlan = { listener: { subscriptions: [{ topics: ["**"], filters: [] }], topics: ["job:ready", "commit:created"] } };
    await relay(sampleEvent("space-configure"), greedy);
    await relay(sampleEvent("action-submit"), greedy);
    await relay(sampleEvent("action-duplicate"), greedy);
    expect(paths()).toEqual(["/action-job", "/action-job", "/space-configure"]);
    // A job none of ours owns does reach it.
    receiver.reset();
    await relay(jobReady("workbook:somethingElse"), greedy);
    expect(paths()).toEqual(["/listener"]);
  });

  it("sends the listener's own job to it alone, and fails that job when it gives up; a job it does not name is left alone", async () => {
    receiver.scriptByPath = { "/listener": Array(5_000).fill(503) };
    const outcomes = await relay(jobReady("workbook:myAction"));
    expect(outcomes).toEqual([expect.objectContaining({ kind: "gave-up", route: "/listener", jobFailed: true })]);
    const fail = receiver.received.find((r) => r.path.endsWith("/fail"));
    expect(fail?.path).toBe(`/api/v1/jobs/${sampleEvent("action-duplicate").context.jobId}/fail`);

    // Taken by a catch-all, not named: a give-up fails nothing (the job may not be the listener's).
    receiver.reset();
    receiver.script = Array(5_000).fill(503);
    const greedy: RelayPlan = { listener: { subscriptions: [{ topics: ["job:ready"], filters: [] }], topics: ["job:ready"] } };
    const [outcome] = await relay(jobReady("workbook:somethingElse"), greedy);
    expect(outcome).toMatchObject({ kind: "gave-up", route: "/listener", jobFailed: "not-a-job" });
    expect(receiver.received.some((r) => r.path.endsWith("/fail"))).toBe(false);
  });

  it("through @flatfile/listener: the agent built with the plan subscribes to the listener's topics and reports one outcome per route", async () => {
    const extra: RelayPlan = {
      listener: {
        subscriptions: [...plan.listener!.subscriptions, { topics: ["workbook:created"], filters: [] }],
        topics: ["job:ready", "commit:created", "workbook:created"],
      },
    };
    vi.spyOn(FlatfileEvent.prototype, "secrets").mockImplementation(
      async (name: string) => ({ [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: SIGNING_SECRET })[name] ?? "",
    );
    try {
      const outcomes: RelayOutcome[] = [];
      const listener = new FlatfileListener();
      listener.setVariables({ accessToken: AGENT_TOKEN, apiUrl: "http://127.0.0.1:9/api" });
      listener.use(createRelayAgent({ plan: extra, bound: BOUND, deps: { log: () => undefined }, onOutcome: (o) => outcomes.push(o) }));
      // Ids of its own: a late request of an earlier test's given-up delivery may still land.
      const commit = { ...sampleEvent("commit-created"), id: "us_evt_agentfan1" };
      await listener.dispatchEvent(new FlatfileEvent(commit as never, AGENT_TOKEN, "http://127.0.0.1:9/api"));
      await listener.dispatchEvent(
        new FlatfileEvent(
          { ...commit, id: "us_evt_wbcreated1", topic: "workbook:created" } as never,
          AGENT_TOKEN,
          "http://127.0.0.1:9/api",
        ),
      );
      const ours = receiver.received.filter((r) => ["us_evt_agentfan1", "us_evt_wbcreated1"].includes(JSON.parse(r.body).id));
      expect(ours.map((r) => r.path).sort()).toEqual(["/commit-created", "/listener", "/listener"]);
      expect(outcomes.map((o) => o.kind)).toEqual(["delivered", "delivered", "delivered"]);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
