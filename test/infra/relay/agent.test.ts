/**
 * The relay agent run the way Flatfile runs it: a real FlatfileListener with the agent applied,
 * sample events dispatched through the listener's own dispatch, real HTTP to a receiver on
 * 127.0.0.1 that checks signatures with the shared verifier. Only `event.secrets` is stubbed.
 */
import { FlatfileEvent, FlatfileListener } from "@flatfile/listener";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { OWNED_ACTION_JOBS } from "../../../shared/domain/blueprint";
import relayAgent, { createRelayAgent } from "../../../infra/relay/agent";
import { RELAY_BOUND, RELAY_SECRET_BASE_URL, RELAY_SECRET_SIGNING, routeFor, type RelayOutcome } from "../../../infra/relay/forward";
import { sampleEvent, startReceiver, type Receiver, type SampleName } from "../../support/relay-receiver";

const SIGNING_SECRET = "whsec_relay_test_0123456789abcdef";
const AGENT_TOKEN = "sk_agent_token_must_never_leave_0042";
/** Nothing listens here: the tests that reach Flatfile use the stand-in (relay-flatfile.test.ts). */
const FLATFILE_URL = "http://127.0.0.1:9/api";

let receiver: Receiver;
let secrets: Record<string, string>;

beforeAll(async () => {
  delete process.env.AGENT_INTERNAL_URL;
  delete process.env.FLATFILE_BEARER_TOKEN;
  receiver = await startReceiver(SIGNING_SECRET);
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.reset();
  secrets = { [RELAY_SECRET_BASE_URL]: `${receiver.url}/`, [RELAY_SECRET_SIGNING]: SIGNING_SECRET };
  // The one stub: Flatfile's secrets lookup. Same contract as the real one (throws when absent).
  vi.spyOn(FlatfileEvent.prototype, "secrets").mockImplementation(async (name: string) => {
    const value = secrets[name];
    if (value === undefined) throw new Error(`Secret ${name} not found`);
    return value;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function listenerWith(agent: (listener: FlatfileListener) => void): FlatfileListener {
  const listener = new FlatfileListener();
  listener.setVariables({ accessToken: AGENT_TOKEN, apiUrl: FLATFILE_URL });
  return listener.use(agent);
}

async function dispatch(agent: (listener: FlatfileListener) => void, src: Record<string, unknown>): Promise<void> {
  // A FlatfileEvent built from the sample, as the VM driver hands it to the listener.
  await listenerWith(agent).dispatchEvent(new FlatfileEvent(src as never, AGENT_TOKEN, FLATFILE_URL));
}

describe("relay agent through @flatfile/listener", () => {
  it.each([
    ["space-configure", "/space-configure"],
    ["action-duplicate", "/action-job"],
    ["action-submit", "/action-job"],
    ["commit-created", "/commit-created"],
  ] as [SampleName, string][])("forwards %s to %s, signed so the shared verifier accepts it", async (name, path) => {
    const src = sampleEvent(name);
    await dispatch(relayAgent, src);
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request!.method).toBe("POST");
    expect(request!.path).toBe(path);
    expect(request!.signature).toEqual({ ok: true });
    expect(request!.headers["content-type"]).toBe("application/json");
  });

  it("sends the raw platform event and nothing else: no token in the body or any header", async () => {
    const src = sampleEvent("space-configure");
    await dispatch(relayAgent, src);
    const [request] = receiver.received;
    expect(request!.body).toBe(JSON.stringify(src));
    expect(request!.body).not.toContain(AGENT_TOKEN);
    expect(request!.body).not.toContain("_accessToken");
    expect(request!.body).not.toContain(SIGNING_SECRET);
    expect(Object.keys(JSON.parse(request!.body)).sort()).toEqual(Object.keys(src).sort());
    for (const value of Object.values(request!.headers)) {
      expect(String(value)).not.toContain(AGENT_TOKEN);
      expect(String(value)).not.toContain(SIGNING_SECRET);
    }
    expect(request!.headers.authorization).toBeUndefined();
  });

  it("retries a 503 and then succeeds, with a fresh valid signature each time", async () => {
    receiver.script = [503];
    const outcomes: RelayOutcome[] = [];
    const started = Date.now();
    await dispatch(createRelayAgent({ onOutcome: (o) => outcomes.push(o) }), sampleEvent("action-duplicate"));
    expect(receiver.received.map((r) => r.path)).toEqual(["/action-job", "/action-job"]);
    expect(receiver.received.every((r) => r.signature.ok)).toBe(true);
    expect(receiver.received[0]!.body).toBe(receiver.received[1]!.body);
    expect(outcomes).toEqual([{ kind: "delivered", route: "/action-job", attempts: 2, status: 200 }]);
    // The real backoff: the first delay is 0.5-1 s (1 s base, equal jitter).
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it("retries 429 and dropped connections too, but never a 4xx", async () => {
    const fast = { sleep: async () => undefined };
    receiver.script = [429, "drop", 200];
    const outcomes: RelayOutcome[] = [];
    await dispatch(createRelayAgent({ deps: fast, onOutcome: (o) => outcomes.push(o) }), sampleEvent("commit-created"));
    expect(receiver.received).toHaveLength(3);
    expect(outcomes[0]).toMatchObject({ kind: "delivered", attempts: 3 });

    receiver.reset();
    receiver.script = [401];
    outcomes.length = 0;
    await dispatch(createRelayAgent({ deps: fast, onOutcome: (o) => outcomes.push(o) }), sampleEvent("commit-created"));
    expect(receiver.received).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ kind: "gave-up", jobFailed: "not-a-job" });
  });

  it("sends nothing for topics and jobs it does not own", async () => {
    const base = sampleEvent("space-configure");
    const others = [
      { ...base, topic: "job:created" },
      { ...base, topic: "job:completed" },
      { ...base, topic: "workbook:created", domain: "workbook" },
      { ...base, topic: "space:created", domain: "space" },
      { ...base, payload: { ...base.payload, job: "workbook:submitAction", operation: "submitAction" } },
      { ...base, payload: { ...base.payload, job: "sheet:somethingElse" } },
      { ...base, topic: "commit:completed" },
    ];
    const outcomes: RelayOutcome[] = [];
    for (const src of others) await dispatch(createRelayAgent({ onOutcome: (o) => outcomes.push(o) }), src);
    expect(receiver.received).toEqual([]);
    // The listener does not even call the agent for other topics; owned topics with other jobs are ignored.
    expect(outcomes.every((o) => o.kind === "ignored")).toBe(true);
    expect(vi.mocked(FlatfileEvent.prototype.secrets)).not.toHaveBeenCalled();
  });

  it("routes from the blueprint's own list of action jobs", () => {
    expect(OWNED_ACTION_JOBS.length).toBeGreaterThan(0);
    for (const job of OWNED_ACTION_JOBS) expect(routeFor({ topic: "job:ready", payload: { job } })).toBe("/action-job");
  });

  it("gives up within its bound (simulated clock) and reports it", async () => {
    receiver.script = Array(100).fill(503);
    let now = Date.now();
    const start = now;
    const outcomes: RelayOutcome[] = [];
    const deps = {
      now: () => now,
      sleep: async (ms: number) => {
        now += ms;
      },
      random: () => 0.5,
      log: () => undefined,
    };
    await dispatch(createRelayAgent({ deps, onOutcome: (o) => outcomes.push(o) }), sampleEvent("commit-created"));
    const attempts = receiver.received.length;
    expect(attempts).toBeGreaterThanOrEqual(6);
    expect(now - start).toBeLessThanOrEqual(RELAY_BOUND.totalMs - RELAY_BOUND.failReserveMs);
    expect(outcomes[0]).toMatchObject({ kind: "gave-up", route: "/commit-created", jobFailed: "not-a-job" });
    expect((outcomes[0] as { reason: string }).reason).toContain(`after ${attempts} attempts`);
  });
});
