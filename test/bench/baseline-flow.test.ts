/**
 * The bench's inputs are right (no timing is asserted here): the baseline flow really configures
 * the space and completes the job, the round-trip counter counts waves correctly, and the
 * cold-init baseline bundle builds and exports a handler.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildBaselineBundle, loadOnce, median } from "../../bench/cold-init";
import { countRoundTrips, describeWaves, waves } from "../../bench/round-trips";
import { runBaselineFlow, seedConfigureJob } from "../../bench/space-configure";
import { createFlatfileClient } from "../../shared/core/flatfile-client";
import { GUIDE_TITLE } from "../../shared/flatfile/space-state";
import { useHarness } from "../support/fixture";

describe("baseline space:configure flow (the guide's sequential calls)", () => {
  const h = useHarness({ latencyMs: 20 });

  it("completes the job, creates the workbook and guide, points the space at the workbook, in 5 sequential round trips", async () => {
    const api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
    const inputs = seedConfigureJob(h.flatfile);
    const from = h.flatfile.requests.length;
    const made = await runBaselineFlow(api, inputs);

    expect(h.flatfile.jobs.get(inputs.jobId)?.status).toBe("complete");
    expect(h.flatfile.workbooks.get(made.workbookId)?.spaceId).toBe(inputs.spaceId);
    expect(h.flatfile.documents.get(made.documentId)?.title).toBe(GUIDE_TITLE);
    expect(h.flatfile.spaces.get(inputs.spaceId)?.primaryWorkbookId).toBe(made.workbookId);

    const requests = h.flatfile.requests.slice(from);
    expect(requests.map((r) => [r.route, r.status])).toEqual([
      ["jobs.ack", 200],
      ["workbooks.create", 200],
      ["documents.create", 200],
      ["spaces.update", 200],
      ["jobs.complete", 200],
    ]);
    expect(countRoundTrips(requests, 20)).toBe(5);
  });
});

describe("round-trip counter (waves)", () => {
  const at = (t: number, route: string) => ({ at: t, route });

  it("puts requests that arrive before any answer of the wave could exist in that wave", () => {
    // 3 parallel reads, then 2 parallel writes that waited for them, then 1 final call.
    const log = [at(1000, "a"), at(1003, "b"), at(1049, "c"), at(1055, "d"), at(1058, "e"), at(1110, "f")];
    expect(countRoundTrips(log, 50)).toBe(3);
    expect(waves(log, 50).map((w) => w.requests.map((r) => r.route))).toEqual([["a", "b", "c"], ["d", "e"], ["f"]]);
    expect(describeWaves(log, 50)).toBe("a ∥ b ∥ c  →  d ∥ e  →  f");
  });

  it("counts a strictly sequential chain call by call, whatever the order of the log", () => {
    const log = [at(1200, "e"), at(1000, "a"), at(1050, "b"), at(1150, "d"), at(1100, "c")];
    expect(countRoundTrips(log, 50)).toBe(5);
  });

  it("counts nothing for no requests and refuses a latency it cannot reason with", () => {
    expect(countRoundTrips([], 50)).toBe(0);
    expect(() => countRoundTrips([at(1, "a")], 0)).toThrow();
  });
});

describe("cold-init baseline bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-baseline-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("builds the package root's FlatfileClient, and a fresh node process finds handler to be a function", async () => {
    const bundle = await buildBaselineBundle(dir);
    expect(bundle.bytes).toBeGreaterThan(1_000_000); // the whole SDK is in it, as in the baseline
    const sample = loadOnce(bundle.path); // throws unless handler is a function
    expect(sample.requireMs).toBeGreaterThan(0);
    expect(sample.processMs).toBeGreaterThanOrEqual(sample.requireMs);
  }, 60_000);

  it("takes the median of an odd and an even number of samples", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});
