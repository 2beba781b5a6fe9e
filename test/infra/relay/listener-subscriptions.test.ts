/**
 * What the relay forwards to /listener is read at build time from the listener module itself: its
 * default export run against a real FlatfileListener, its callbacks' topics and filters kept as
 * data (the plan), and matched with @flatfile/listener's own rules. The registration subscribes the
 * agent to those topics.
 */
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it } from "vitest";
import { buildRelayAgentSync } from "../../../infra/relay/bundle";
import { destinationsFor, relayTopics } from "../../../infra/relay/forward";
import { readListenerSubscriptions } from "../../../infra/relay/listener-subscriptions";
import { relayPlanFor } from "../../../infra/relay/plan";
import { RelayRegistration } from "../../../infra/relay/relay-registration";
import { CONTACTS_SHEET, EXAMPLE_ACTION_JOB } from "../../../listener";
import { sampleEvent } from "../../support/relay-receiver";

const fixture = (name: string) => join(__dirname, "fixtures", `${name}.ts`);
const paths = (event: Record<string, unknown>, plan: ReturnType<typeof relayPlanFor>) => destinationsFor(event, plan).map((d) => d.path);

describe("the listener's subscriptions, read from its module", () => {
  it("the repo's example: commit:created on the Contacts sheet (its record hook) and job:ready for its action", () => {
    const plan = relayPlanFor({ listenerRoute: true });
    expect(plan.listener!.subscriptions).toEqual(
      expect.arrayContaining([
        { topics: ["commit:created"], filters: [{ sheetSlug: CONTACTS_SHEET }] },
        expect.objectContaining({ topics: ["job:ready"], filters: expect.arrayContaining([{ job: EXAMPLE_ACTION_JOB }]) }),
      ]),
    );
    expect([...plan.listener!.topics].sort()).toEqual(["commit:created", "job:ready"]);
    expect(relayTopics(plan).sort()).toEqual(["commit:created", "job:ready"]);
  });

  it("namespaces, topic globs and lists of topics, as @flatfile/listener matches them", () => {
    const plan = relayPlanFor({ listenerRoute: true, listenerModule: fixture("namespaced-listener") });
    expect([...plan.listener!.topics].sort()).toEqual([
      "records:created",
      "records:deleted",
      "records:updated",
      "sheet:created",
      "sheet:updated",
    ]);
    // The agent subscribes to ours and the listener's.
    expect(relayTopics(plan)).toEqual(expect.arrayContaining(["job:ready", "commit:created", "records:updated", "sheet:created"]));
    const base = sampleEvent("commit-created");
    const records = { ...base, topic: "records:updated", domain: "workbook" };
    expect(paths({ ...records, namespaces: ["space:green"] }, plan)).toEqual(["/listener"]);
    expect(paths({ ...records, namespaces: ["space:blue"] }, plan)).toEqual([]);
    expect(paths(records, plan)).toEqual([]);
    const sheet = { ...base, topic: "sheet:created", domain: "sheet" };
    expect(paths({ ...sheet, context: { ...base.context, sheetSlug: "orders" } }, plan)).toEqual(["/listener"]);
    expect(paths(sheet, plan)).toEqual([]);
    // Nothing of the example's: this module does not take commits.
    expect(paths(base, plan)).toEqual(["/commit-created"]);
  });

  it("refuses a filter it cannot carry as data, and a module without a default function", () => {
    expect(() => readListenerSubscriptions(fixture("function-filter-listener"))).toThrow(/cannot carry as data \(keys: sheetSlug\)/);
    expect(() => readListenerSubscriptions(fixture("no-default-listener"))).toThrow(/must default-export a function/);
  });

  it("the stack's registration carries the listener's topics and an agent built with its plan, with the listener route on", () => {
    const app = new App({ context: { "aws:cdk:bundling-stacks": [] } });
    const stack = new Stack(app, "RelayPlanTest");
    const relay = new RelayRegistration(stack, "Relay", {
      secret: new Secret(stack, "StackSecret"),
      apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
      environmentId: "us_env_test0001",
      listenerRoute: true,
    });
    const [resource] = Object.values(Template.fromStack(stack).findResources("Custom::FlatfileRelay")) as {
      Properties: Record<string, unknown>;
    }[];
    expect(String(resource!.Properties.Topics).split(",").sort()).toEqual(["commit:created", "job:ready"]);
    expect(relay.agentSha256).toBe(buildRelayAgentSync(relayPlanFor({ listenerRoute: true })).sha256);
    expect(relay.agentSha256).not.toBe(buildRelayAgentSync().sha256);
  });
});
