/** The pieces of shared/core/observability.ts that need no Lambda: trace names, and counts kept per invocation. */
import { describe, expect, it, vi } from "vitest";
import { count, METRIC, metrics, observeInvocation, resourceOf } from "../../../shared/core/observability";

describe("resourceOf: a Flatfile call's trace name, by method and resource, never its ids", () => {
  it.each([
    ["GET", "http://127.0.0.1:4010/v1/jobs/us_jb_a1b2c3", "GET jobs/{id}"],
    ["POST", "https://platform.flatfile.com/api/v1/jobs/us_jb_a1b2c3/ack", "POST jobs/{id}/ack"],
    ["PATCH", "https://platform.flatfile.com/api/v1/spaces/us_sp_9z8y7x", "PATCH spaces/{id}"],
    ["GET", "https://platform.flatfile.com/api/v1/sheets/us_sh_1/records?pageSize=1000&pageNumber=3", "GET sheets/{id}/records"],
    ["POST", "https://platform.flatfile.com/api/v1/workbooks", "POST workbooks"],
    ["GET", "not a url", "GET unknown"],
  ])("%s %s → %s", (method, url, expected) => {
    expect(resourceOf(method, url)).toBe(expected);
  });
});

describe("count", () => {
  it("is a no-op outside an invocation, and keeps concurrent invocations' counts apart (npm start serves three routes in one process)", async () => {
    count(METRIC.flatfileCalls); // nowhere to go: must not throw or leak into the next invocation
    const flushed: { route?: string; metrics: Record<string, number> }[] = [];
    vi.spyOn(metrics, "addDimension").mockImplementation((_name, value) => {
      flushed.push({ route: value, metrics: {} });
      return metrics;
    });
    vi.spyOn(metrics, "addMetric").mockImplementation((name, _unit, value) => {
      flushed.at(-1)!.metrics[name] = value;
      return metrics;
    });
    const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all([
      observeInvocation("a", async () => {
        count(METRIC.flatfileCalls);
        await tick();
        count(METRIC.flatfileCalls, 2);
      }),
      observeInvocation("b", async () => {
        await tick();
        count(METRIC.deliveryIgnored);
      }),
    ]);
    vi.restoreAllMocks();
    expect(flushed.sort((x, y) => String(x.route).localeCompare(String(y.route)))).toEqual([
      { route: "a", metrics: { [METRIC.flatfileCalls]: 3 } },
      { route: "b", metrics: { [METRIC.deliveryIgnored]: 1 } },
    ]);
  });
});
