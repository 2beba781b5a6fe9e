/**
 * The route table (shared/routes.ts): each entry has its function, the sample events reach the
 * route they belong to and no other, and each route's claim agrees with the relay's routing.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { actionJobRoute } from "../../functions/action-job/actions";
import { commitCreatedRoute } from "../../functions/commit-created/commit-created";
import { spaceConfigureRoute } from "../../functions/space-configure/configure";
import { parseEvent } from "../../shared/core/envelope";
import type { RouteSpec } from "../../shared/core/route";
import { OWNED_ACTION_JOBS } from "../../shared/domain/blueprint";
import { ROUTED_TOPICS, ROUTES, routesFor, type RouteName, type RoutedEvent } from "../../shared/routes";

const REPO_ROOT = join(__dirname, "..", "..");
const SPECS: Record<RouteName, RouteSpec> = {
  "space-configure": spaceConfigureRoute,
  "action-job": actionJobRoute,
  "commit-created": commitCreatedRoute,
};

const sample = (name: string): string => readFileSync(join(REPO_ROOT, "test", "support", "events", `${name}.json`), "utf8");

/** Every event a route's declaration names, a job no route owns, and one without a job. */
function declaredEvents(): RoutedEvent[] {
  return ROUTES.flatMap((route) =>
    route.topics.flatMap((topic) => [
      ...("jobs" in route ? route.jobs.map((job) => ({ topic, payload: { job } })) : []),
      { topic, payload: { job: "sheet:someoneElsesAction" } },
      { topic, payload: {} },
    ]),
  );
}

describe("the route table", () => {
  it("names each route once, each with its folder and handler", () => {
    expect(new Set(ROUTES.map((r) => r.name)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((r) => r.path)).size).toBe(ROUTES.length);
    for (const route of ROUTES) {
      expect(route.path).toMatch(/^\/[a-z][a-z-]*$/);
      expect(existsSync(join(REPO_ROOT, "functions", route.name, "handler.ts"))).toBe(true);
      expect(SPECS[route.name].name).toBe(route.name);
    }
  });

  it("sends each sample event to the one route it belongs to", () => {
    expect(routesFor(JSON.parse(sample("space-configure"))).map((r) => r.path)).toEqual(["/space-configure"]);
    expect(routesFor(JSON.parse(sample("action-duplicate"))).map((r) => r.path)).toEqual(["/action-job"]);
    expect(routesFor(JSON.parse(sample("action-submit"))).map((r) => r.path)).toEqual(["/action-job"]);
    expect(routesFor(JSON.parse(sample("commit-created"))).map((r) => r.path)).toEqual(["/commit-created"]);
  });

  it("gives the blueprint's actions to action-job and no route a job it does not own", () => {
    for (const job of OWNED_ACTION_JOBS)
      expect(routesFor({ topic: "job:ready", payload: { job } }).map((r) => r.name)).toEqual(["action-job"]);
    expect(routesFor({ topic: "job:ready", payload: { job: "sheet:someoneElsesAction" } })).toEqual([]);
    expect(routesFor({ topic: "job:ready", payload: null })).toEqual([]);
    expect(routesFor({ topic: "job:completed", payload: { job: "space:configure" } })).toEqual([]);
    expect(routesFor({})).toEqual([]);
  });

  it("takes no event on two routes, and subscribes the relay to each topic once", () => {
    for (const event of declaredEvents()) expect(routesFor(event).length).toBeLessThanOrEqual(1);
    expect(ROUTED_TOPICS).toEqual(["job:ready", "commit:created"]);
  });

  it("has each route's claim take exactly the events the relay sends it", () => {
    const base = JSON.parse(sample("action-submit"));
    for (const declared of declaredEvents()) {
      const event = parseEvent(JSON.stringify({ ...base, ...declared, context: { ...base.context, commitId: "us_vr_1" } }));
      const routed = routesFor(declared).map((r) => r.name);
      for (const route of ROUTES) {
        const ownership = SPECS[route.name].claim(event);
        expect({ route: route.name, event: declared, owned: ownership.owned }).toEqual({
          route: route.name,
          event: declared,
          owned: routed.includes(route.name),
        });
      }
    }
  });
});
