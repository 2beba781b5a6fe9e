/**
 * SPACE_CONFIGURE_BY under npm start, as a deploy's spaceConfigureBy: "listener" takes the page's
 * Create Space from our space-configure route; the repo's example listener configures no Space, so
 * the relay forwards the job to no one and it stays ready. An unknown value stops the start.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RELAY_BOUND } from "../../infra/relay/forward";
import { ConfigError, startLocalRun, type LocalRun } from "../../local/local-run";
import { SPACE_CONFIGURE_BY_ENV } from "../../shared/core/route";

const saved = { ...process.env };
let run: LocalRun | undefined;

function prepare(value: string): void {
  for (const key of Object.keys(process.env))
    if (key.startsWith("FLATFILE_") || key === "REFERENCE_DATA_URL" || key === "IDEMPOTENCY_TABLE" || key === "OWNED_SPACES")
      delete process.env[key];
  process.env.LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), "space-configure-by-"));
  process.env[SPACE_CONFIGURE_BY_ENV] = value;
}

afterEach(async () => {
  await run?.close();
  run = undefined;
  process.env = { ...saved };
});

const start = () =>
  startLocalRun({ port: 0, relayBound: { ...RELAY_BOUND, totalMs: 5_000, failReserveMs: 1_000, baseDelayMs: 10, maxDelayMs: 50 } });

describe("SPACE_CONFIGURE_BY under npm start", () => {
  it('"listener": Create Space is not delivered to our route, and its job is left ready', async () => {
    prepare("listener");
    run = await start();
    const result = await run.playground!.configure({}).done;
    expect(result.ok).toBe(false);
    expect(result.delivery).toMatch(/not forwarded/);
    expect(run.activity.deliveries.filter((d) => d.eventId === result.eventId)).toEqual([]);
    expect(run.flatfile!.jobs.get(result.jobId!)?.status).toBe("ready");
    expect([...run.flatfile!.workbooks.values()].filter((w) => w.spaceId === result.spaceId)).toEqual([]);
  });

  it("refuses a value it does not know, before anything starts", async () => {
    prepare("theirs");
    await expect(start()).rejects.toThrow(ConfigError);
  });
});
