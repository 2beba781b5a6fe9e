/**
 * Pull mode against the stand-in: a Space created through the stand-in's API (not our routes) is
 * configured by a running local run that polls events.list, each event delivered once through the
 * relay's code and acknowledged; a restart does not handle old events again, even one whose
 * acknowledgement did not go through (the cursor is kept in a file).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENVIRONMENT_ID, startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { startLocalRun, type LocalRun } from "../../local/local-run";
import { pullCursorFile } from "../../local/session";

let flatfile: FlatfileStandIn;
let run: LocalRun | undefined;
const saved = { ...process.env };

beforeAll(async () => {
  for (const key of Object.keys(process.env))
    if (key.startsWith("FLATFILE_") || key === "REFERENCE_DATA_URL" || key === "IDEMPOTENCY_TABLE") delete process.env[key];
  flatfile = await startFlatfileStandIn();
  Object.assign(process.env, {
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_ENVIRONMENT_ID: DEFAULT_ENVIRONMENT_ID,
    LOCAL_STATE_DIR: mkdtempSync(join(tmpdir(), "pull-")),
  });
});
afterAll(async () => {
  await run?.close();
  await flatfile?.close();
  process.env = saved;
});

const start = () => startLocalRun({ port: 0, pullIntervalMs: 50 });

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** As an embedded app or a script would: POST /v1/spaces with autoConfigure. */
async function createSpaceThroughTheApi(metadata: Record<string, unknown>): Promise<string> {
  const answer = await fetch(`${flatfile.url}/spaces`, {
    method: "POST",
    headers: { authorization: `Bearer ${flatfile.apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "Made elsewhere", environmentId: DEFAULT_ENVIRONMENT_ID, autoConfigure: true, metadata }),
  });
  expect(answer.status).toBe(200);
  return ((await answer.json()) as { data: { id: string } }).data.id;
}

const configureJob = (spaceId: string) =>
  [...flatfile.jobs.values()].find((j) => j.type === "space" && j.operation === "configure" && j.source === spaceId);

describe("pull mode", () => {
  it("configures a Space created through the API, delivering its job:ready once and acknowledging it", async () => {
    run = await start();
    expect(run.mode).toBe("pull");
    const spaceId = await createSpaceThroughTheApi({ locale: "fr-CH" });
    await until(() => configureJob(spaceId)?.status === "complete", "the configure job to complete");
    await until(() => run!.pull!.status().handled === 1, "the event to be handled and acknowledged");

    const deliveries = run.activity.deliveries.filter((d) => d.spaceId === spaceId);
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ topic: "job:ready", route: "/space-configure", source: "pull" });
    expect(deliveries[0]!.attempts).toHaveLength(1);
    const event = flatfile.events.find((e) => e.id === deliveries[0]!.eventId)!;
    expect(event.acknowledgedAt).toBeDefined();
    // Events it does not own (space:created, job:created) are neither delivered nor acknowledged.
    expect(
      flatfile.events
        .filter((e) => e.context.spaceId === spaceId && e.topic !== "job:ready" && e.topic !== "job:completed")
        .every((e) => !e.acknowledgedAt),
    ).toBe(true);

    // More polls deliver nothing new; the page shows the Space and the delivery.
    await run.pull!.pollOnce();
    await run.pull!.pollOnce();
    expect(run.activity.deliveries.filter((d) => d.spaceId === spaceId)).toHaveLength(1);
    const page = await (await fetch(`${run.url}/`)).text();
    expect(page).toContain(spaceId);
    expect(page).toContain("CHF · 2 decimals");
    expect(page).toContain(`data-event="${event.id}"`);
  });

  it("does not handle old events again after a restart, even one whose acknowledgement failed", async () => {
    // The next acknowledgement fails: the event stays unacknowledged on the platform.
    flatfile.faults.statuses("events.ack", [500]);
    const spaceId = await createSpaceThroughTheApi({ country: "JP" });
    await until(() => configureJob(spaceId)?.status === "complete", "the second configure job to complete");
    const handled = run!.activity.deliveries.find((d) => d.spaceId === spaceId)!;
    await until(() => flatfile.requests.some((r) => r.route === "events.ack" && r.status === 500), "the failed acknowledgement");
    expect(flatfile.events.find((e) => e.id === handled.eventId)!.acknowledgedAt).toBeUndefined();
    await run!.close();

    run = await start();
    const polls = flatfile.requests.filter((r) => r.route === "events.list").length;
    await run.pull!.pollOnce();
    await run.pull!.pollOnce();
    expect(flatfile.requests.filter((r) => r.route === "events.list").length).toBeGreaterThan(polls);
    expect(run.activity.deliveries).toHaveLength(0);
    expect(pullCursorFile(DEFAULT_ENVIRONMENT_ID)).toContain(process.env.LOCAL_STATE_DIR!);
  });
});
