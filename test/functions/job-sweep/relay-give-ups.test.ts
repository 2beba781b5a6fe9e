/**
 * A delivery the relay gives up on is seen only inside Flatfile, in the relay agent's own logs. The
 * sweep's schedule reads them: the relay really runs (real HTTP to a receiver that answers 401 for
 * a signature, or 503 until the relay's bound runs out), what it printed becomes a run in the
 * stand-in's agent logs, and the scheduled handler logs the line the stack's metric filters count.
 */
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { handler as jobSweepHandler } from "../../../functions/job-sweep/handler";
import { countRelayGiveUps, createRelayAgentsApi, giveUpWindow } from "../../../functions/job-sweep/relay-agent-check";
import { registerRelay } from "../../../infra/relay/flatfile-registration";
import { defaultDeps, RELAY_SECRET_BASE_URL, RELAY_SECRET_SIGNING, relayEvent } from "../../../infra/relay/forward";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import { logger } from "../../../shared/core/logger";
import { OPEN_JOB_SWEEP_INTERVAL_MS } from "../../../shared/core/open-jobs";
import { RELAY_GAVE_UP_SEEN } from "../../../shared/core/relay-agent";
import { ENVIRONMENT_ID, startHarness, type Harness } from "../../support/harness";
import { fastRelayBound, type Receiver, sampleEvent, startReceiver } from "../../support/relay-receiver";

const SOURCE = "module.exports = function relay(listener) { /* the bundled relay */ };";
const SHA256 = createHash("sha256").update(SOURCE).digest("hex");
const SIGNING_SECRET = "whsec_give_ups_0123456789abcdef";
const BOUND = fastRelayBound(1_500, 200, 500);
const MINUTE = OPEN_JOB_SWEEP_INTERVAL_MS;

let h: Harness;
let receiver: Receiver;
let agentId: string;

beforeAll(async () => {
  h = await startHarness({ env: { RELAY_ENVIRONMENT_ID: ENVIRONMENT_ID, RELAY_AGENT_SHA256: SHA256 } });
  receiver = await startReceiver(SIGNING_SECRET);
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
  delete process.env.RELAY_ENVIRONMENT_ID;
  delete process.env.RELAY_AGENT_SHA256;
});
afterEach(() => {
  vi.restoreAllMocks();
  receiver.reset();
  h.reset();
});

async function register(): Promise<void> {
  const api = createSdkClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
  ({ agentId } = await registerRelay(api, {
    environmentId: ENVIRONMENT_ID,
    baseUrl: "https://api.example.com",
    signingSecret: SIGNING_SECRET,
    source: SOURCE,
  }));
}

/**
 * One run of the real relay on a commit (an event that names no job, so nothing else is called),
 * signing with `signingSecret`; what it printed is kept as that run's log, completed at `completedAt`.
 */
async function relayRun(signingSecret: string, completedAt: number): Promise<string> {
  const printed: string[] = [];
  const keep = (line: unknown) => void printed.push(String(line));
  vi.spyOn(console, "log").mockImplementation(keep);
  vi.spyOn(console, "error").mockImplementation(keep);
  const event = sampleEvent("commit-created") as { id: string };
  const secrets: Record<string, string> = { [RELAY_SECRET_BASE_URL]: receiver.url, [RELAY_SECRET_SIGNING]: signingSecret };
  await relayEvent(
    event,
    { readSecret: async (name) => secrets[name]!, flatfileApi: { url: h.flatfile.url, token: "sk_agent_token" } },
    defaultDeps(),
    BOUND,
  );
  vi.mocked(console.log).mockRestore();
  vi.mocked(console.error).mockRestore();
  h.flatfile.act.agentRan(agentId, { eventId: event.id, log: printed.join("\n"), completedAt: new Date(completedAt).toISOString() });
  return event.id;
}

/** The scheduled handler at `scheduledAt`, as EventBridge's schedule calls it (its event's `time`). */
async function scheduledRun(scheduledAt: number) {
  const errors = vi.spyOn(logger, "error");
  await jobSweepHandler({ time: new Date(scheduledAt).toISOString() }, { getRemainingTimeInMillis: () => 25_000 });
  return errors.mock.calls.filter(([message]) => message === RELAY_GAVE_UP_SEEN).map(([, fields]) => fields as Record<string, unknown>);
}

describe("the relay's give-ups reach the sweep's log, and so an alarm", () => {
  it("counts a delivery refused for its signature, and one given up after retries, in the window they ended in", async () => {
    await register();
    const scheduledAt = Math.floor(Date.now() / MINUTE) * MINUTE + 5_000;
    const inWindow = scheduledAt - 5_000 - MINUTE - 30_000;
    receiver.script = [401];
    const refused = await relayRun("whsec_another_secret_entirely_00", inWindow);
    receiver.script = Array.from({ length: 200 }, () => 503);
    const retried = await relayRun(SIGNING_SECRET, inWindow + 1_000);
    receiver.script = [];
    await relayRun(SIGNING_SECRET, inWindow + 2_000);

    const [line, ...more] = await scheduledRun(scheduledAt);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ gaveUp: 2, signatureRefused: 1, runs: 3, agentId, environmentId: ENVIRONMENT_ID });
    expect(line!.eventIds).toEqual([refused, retried]);
    // Nothing of the deliveries themselves: no secret, no body.
    expect(JSON.stringify(line)).not.toContain(SIGNING_SECRET);
  });

  it("counts each give-up once: consecutive scheduled runs read adjacent windows", async () => {
    await register();
    const base = Math.floor(Date.now() / MINUTE) * MINUTE;
    receiver.script = [401];
    await relayRun("whsec_another_secret_entirely_00", base - 2 * MINUTE + 10_000);
    const counted: number[] = [];
    for (const at of [base - MINUTE, base, base + MINUTE, base + 2 * MINUTE]) {
      const lines = await scheduledRun(at + 1_000);
      counted.push(lines.reduce((sum, fields) => sum + Number(fields.gaveUp), 0));
      vi.restoreAllMocks();
    }
    expect(counted).toEqual([0, 1, 0, 0]);
    const windows = [base, base + MINUTE].map((at) => giveUpWindow(at));
    expect(windows[0]!.to).toBe(windows[1]!.from);
  });

  it("says nothing when every delivery got through", async () => {
    await register();
    const scheduledAt = Math.floor(Date.now() / MINUTE) * MINUTE;
    await relayRun(SIGNING_SECRET, scheduledAt - MINUTE - 20_000);
    expect(receiver.received).toHaveLength(1);
    expect(await scheduledRun(scheduledAt)).toEqual([]);
  });

  it("reads what the endpoint answers, and says when a full page may hide runs of the window", async () => {
    await register();
    const scheduledAt = Math.floor(Date.now() / MINUTE) * MINUTE;
    const window = giveUpWindow(scheduledAt);
    for (let i = 0; i < 120; i += 1) {
      h.flatfile.act.agentRan(agentId, {
        eventId: `us_evt_${i}`,
        log: i % 2 ? '{"level":"error","message":"relay gave up","reason":"x"}' : "not json at all",
        completedAt: new Date(window.from + 100 * i).toISOString(),
      });
    }
    const api = createRelayAgentsApi({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
    const found = await countRelayGiveUps(api, agentId, ENVIRONMENT_ID, window);
    expect(found).toMatchObject({ runs: 100, gaveUp: 50, signatureRefused: 0, lowerBound: true });
  });
});
