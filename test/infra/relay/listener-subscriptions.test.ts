/**
 * What the relay forwards to /listener is read at build time from the listener module itself: its
 * default export run against a real FlatfileListener, its callbacks' topics and filters kept as
 * data (the plan), and matched with @flatfile/listener's own rules. The registration subscribes the
 * agent to those topics.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { describe, expect, it, vi } from "vitest";
import { buildRelayAgent, buildRelayAgentSync } from "../../../infra/relay/bundle";
import { destinationsFor, relayTopics } from "../../../infra/relay/forward";
import { readListenerSubscriptions } from "../../../infra/relay/listener-subscriptions";
import { relayPlanFor, relayPlanWithNotes, unroutedTopicsNote } from "../../../infra/relay/plan";
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

  it("namespaces, topic globs and lists of topics, as @flatfile/listener matches them; topics its route does not take are noted, not forwarded", () => {
    const { plan, unroutedTopics } = relayPlanWithNotes({ listenerRoute: true, listenerModule: fixture("namespaced-listener") });
    expect([...plan.listener!.topics].sort()).toEqual(["commit:created", "job:ready"]);
    expect(unroutedTopics.sort()).toEqual(["commit:completed", "commit:updated", "job:failed"]);
    expect(unroutedTopicsNote(unroutedTopics)).toMatch(/the relay does not forward them/);
    const commit = sampleEvent("commit-created");
    expect(paths({ ...commit, namespaces: ["space:green"] }, plan)).toEqual(["/commit-created", "/listener"]);
    expect(paths({ ...commit, namespaces: ["space:blue"] }, plan)).toEqual(["/commit-created"]);
    expect(paths(commit, plan)).toEqual(["/commit-created"]);
    const job = sampleEvent("action-duplicate");
    const exportJob = { ...job, payload: { ...job.payload, job: "sheet:ordersExport" } };
    expect(paths(exportJob, plan)).toEqual(["/listener"]);
    expect(paths({ ...exportJob, topic: "job:failed" }, plan)).toEqual([]);
    expect(paths({ ...commit, topic: "commit:updated", namespaces: ["space:green"] }, plan)).toEqual([]);
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
    // A synth and three builds: tens of seconds on a loaded machine.
  }, 120_000);

  it("the built agent carries the plan: run as Flatfile runs it, it relays a Contacts commit to both routes, the default one to ours", async () => {
    const routesOf = async (code: string) => {
      const module = { exports: {} as { dispatchEvent(event: unknown): Promise<void>; setVariables(v: object): void } };
      new Function("module", "exports", "require", code)(module, module.exports, createRequire(__filename));
      const lines: string[] = [];
      const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
      const log = vi.spyOn(console, "log").mockImplementation(capture);
      const error = vi.spyOn(console, "error").mockImplementation(capture);
      try {
        // No secrets can be read (nothing listens there): each route's delivery gives up at once, and says which route.
        module.exports.setVariables({ accessToken: "sk_agent_bundle_test", apiUrl: "http://127.0.0.1:9/api/" });
        await module.exports.dispatchEvent(sampleEvent("commit-created"));
      } finally {
        log.mockRestore();
        error.mockRestore();
      }
      return lines.flatMap((line) => (line.startsWith("{") ? [JSON.parse(line).route as string] : [])).sort();
    };
    expect(await routesOf((await buildRelayAgent(relayPlanFor({ listenerRoute: true }))).code)).toEqual(["/commit-created", "/listener"]);
    expect(await routesOf((await buildRelayAgent()).code)).toEqual(["/commit-created"]);
  }, 120_000);
});
