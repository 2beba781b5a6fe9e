/**
 * The local gateway throttles each POST route as the deployed stage does: the same limits
 * (cdk.json's routeRateLimit and routeBurstLimit, also read by the stack), a token bucket per route, and API Gateway's answer
 * when it is empty. A hand-moved clock, so nothing here depends on timing.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ROUTE_THROTTLE } from "../../infra/throttle";
import { ROUTE_PATHS, startGateway, type LocalGateway, type RoutePath } from "../../local/gateway";
import { configuredRouteThrottle } from "../../local/route-throttle";
import type { RouteHandler } from "../../shared/core/route";

let gateway: LocalGateway | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** Handlers that count their invocations and answer 401, as an unsigned request gets. */
function countingRoutes(): { routes: Record<RoutePath, RouteHandler>; calls: Record<RoutePath, number> } {
  const calls = Object.fromEntries(ROUTE_PATHS.map((p) => [p, 0])) as Record<RoutePath, number>;
  const routes = Object.fromEntries(
    ROUTE_PATHS.map((p) => [
      p,
      (async () => {
        calls[p] += 1;
        return { statusCode: 401, headers: { "content-type": "application/json" }, body: '{"error":"invalid signature"}' };
      }) as RouteHandler,
    ]),
  ) as Record<RoutePath, RouteHandler>;
  return { routes, calls };
}

async function post(path: string, body = "{}") {
  const response = await fetch(`${gateway!.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
  return { status: response.status, retryAfter: response.headers.get("retry-after"), body: await response.text() };
}

describe("local gateway throttle", () => {
  it("lets a burst of burstLimit through, then answers 429 like API Gateway without invoking the handler", async () => {
    let now = 1_000_000;
    const { routes, calls } = countingRoutes();
    gateway = await startGateway({ port: 0, routes, throttle: { now: () => now } });
    for (let i = 0; i < ROUTE_THROTTLE.burstLimit; i++) expect((await post("/space-configure")).status).toBe(401);
    const refused = await post("/space-configure", JSON.stringify({ big: "x".repeat(100_000) }));
    expect(refused).toEqual({ status: 429, retryAfter: null, body: '{"message":"Too Many Requests"}' });
    expect(calls["/space-configure"]).toBe(ROUTE_THROTTLE.burstLimit);

    // Refilled at rateLimit tokens a second: one token after 1/rate s, none before.
    now += 1000 / ROUTE_THROTTLE.rateLimit / 2;
    expect((await post("/space-configure")).status).toBe(429);
    now += 1000 / ROUTE_THROTTLE.rateLimit / 2;
    expect((await post("/space-configure")).status).toBe(401);
    expect((await post("/space-configure")).status).toBe(429);
    // A quiet second refills rateLimit tokens, never more than the burst.
    now += 1000;
    for (let i = 0; i < ROUTE_THROTTLE.rateLimit; i++) expect((await post("/space-configure")).status).toBe(401);
    expect((await post("/space-configure")).status).toBe(429);
  });

  it("keeps a bucket per route: an empty one does not throttle the others, and GET and unknown paths stay 404", async () => {
    const now = 5_000_000;
    const { routes, calls } = countingRoutes();
    gateway = await startGateway({ port: 0, routes, throttle: { now: () => now } });
    for (let i = 0; i < ROUTE_THROTTLE.burstLimit; i++) await post("/commit-created");
    expect((await post("/commit-created")).status).toBe(429);
    expect((await post("/space-configure")).status).toBe(401);
    expect((await post("/action-job")).status).toBe(401);
    expect((await post("/elsewhere")).status).toBe(404);
    expect((await fetch(`${gateway.url}/commit-created`)).status).toBe(404);
    expect(calls).toEqual({ "/commit-created": ROUTE_THROTTLE.burstLimit, "/space-configure": 1, "/action-job": 1 });
  });

  it("applies the deployed limits by default and none when told to (suites that drive handlers faster)", async () => {
    const { routes, calls } = countingRoutes();
    gateway = await startGateway({ port: 0, routes, throttle: false });
    const answers = await Promise.all(Array.from({ length: ROUTE_THROTTLE.burstLimit * 2 }, () => post("/action-job")));
    expect(answers.every((a) => a.status === 401)).toBe(true);
    expect(calls["/action-job"]).toBe(ROUTE_THROTTLE.burstLimit * 2);
    await gateway.close();

    const counted = countingRoutes();
    gateway = await startGateway({ port: 0, routes: counted.routes });
    const defaults = await Promise.all(Array.from({ length: ROUTE_THROTTLE.burstLimit * 3 }, () => post("/action-job")));
    // Real clock: tokens come back while the requests are answered (rateLimit a second), so only
    // "some were refused, and the handler saw fewer than were sent" is certain.
    expect(defaults.filter((a) => a.status === 429).length).toBeGreaterThan(0);
    expect(counted.calls["/action-job"]).toBe(defaults.filter((a) => a.status === 401).length);
  });
});

describe("the local gateway's throttle is the deploy setting", () => {
  it("reads routeRateLimit and routeBurstLimit from cdk.json, as synth does, and refuses what synth refuses", () => {
    const dir = mkdtempSync(join(tmpdir(), "route-throttle-"));
    try {
      const file = join(dir, "cdk.json");
      writeFileSync(file, JSON.stringify({ context: { routeRateLimit: "7", routeBurstLimit: "12", stackName: "x" } }));
      expect(configuredRouteThrottle(file)).toEqual({ rateLimit: 7, burstLimit: 12 });
      writeFileSync(file, JSON.stringify({ context: { routeRateLimit: "", routeBurstLimit: "" } }));
      expect(configuredRouteThrottle(file)).toEqual(ROUTE_THROTTLE);
      writeFileSync(file, JSON.stringify({ context: { routeRateLimit: "50", routeBurstLimit: "0" } }));
      expect(() => configuredRouteThrottle(file)).toThrow(
        /cdk\.json: Refusing to synthesize[\s\S]*routeBurstLimit: 0 would answer every delivery/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without limits given, a gateway lets through exactly the committed cdk.json's burst", async () => {
    const committed = configuredRouteThrottle();
    const { routes, calls } = countingRoutes();
    gateway = await startGateway({ port: 0, routes, throttle: { now: () => 1_000_000 } });
    for (let i = 0; i < committed.burstLimit; i++) expect((await post("/commit-created")).status).toBe(401);
    expect((await post("/commit-created")).status).toBe(429);
    expect(calls["/commit-created"]).toBe(committed.burstLimit);
  });
});
