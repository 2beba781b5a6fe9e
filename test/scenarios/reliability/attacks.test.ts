/**
 * Reliability suite, attacks from someone who knows the URL or runs a server we call, each counted
 * in the summary line. The world and the invariants checked after every scenario: ./world.ts.
 */
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { resetSettingsCache } from "../../../shared/core/config";
import { signPayload } from "../../../shared/core/signature";
import { resetReferenceDataCache } from "../../../shared/core/reference-data-source";
import {
  defaultDeps,
  relayEvent,
  RELAY_SECRET_BASE_URL,
  RELAY_SECRET_SIGNING,
  type RelayDeps,
  type RetryBound,
} from "../../../infra/relay/forward";
import { MAX_SPACE_METADATA_CHARS } from "../../../shared/core/bounds";
import { startRecorder, startRedirector, startStreamer } from "../../support/hostile-servers";
import { attack, fault, newSigningSecret, sleep } from "./support";
import {
  SECRET_ID,
  actionJob,
  configuredSpace,
  deliver,
  expectConfigured,
  flatfile,
  gateway,
  ghostEvent,
  jobStatus,
  mark,
  newConfigureJob,
  rejected,
  routesOf,
  scenario,
  secrets,
  signingSecret,
  stateOf,
  useReliabilityWorld,
  withValue,
} from "./world";

useReliabilityWorld("attacks");

// ---------------------------------------------------------------------------------------------
// Attacks from outside: each one counted in the summary line
// ---------------------------------------------------------------------------------------------

/** A scenario that is an attack someone who knows the URL (or runs a server we call) can make. */
function attackScenario(name: string, body: () => Promise<void>, timeoutMs?: number): void {
  scenario(
    `attack: ${name}`,
    async () => {
      attack();
      await body();
    },
    timeoutMs,
  );
}

const RELAY_TEST_BOUND: RetryBound = {
  totalMs: 4_000,
  failReserveMs: 1_000,
  attemptTimeoutMs: 2_000,
  baseDelayMs: 20,
  maxDelayMs: 50,
  throttledBaseDelayMs: 20,
  throttledMaxDelayMs: 50,
};

/** The relay as Flatfile runs it, its secrets pointing at `baseUrl`, failing jobs through the stand-in. */
function relayTo(baseUrl: string, event: Record<string, unknown>): ReturnType<typeof relayEvent> {
  const relaySecrets: Record<string, string> = { [RELAY_SECRET_BASE_URL]: baseUrl, [RELAY_SECRET_SIGNING]: signingSecret };
  const deps: RelayDeps = { ...defaultDeps(), log: () => undefined };
  return relayEvent(
    event,
    { readSecret: async (name) => relaySecrets[name]!, flatfileApi: { url: flatfile.url, token: flatfile.apiKey } },
    deps,
    RELAY_TEST_BOUND,
  );
}

function guideBodyOf(spaceId: string): string {
  const state = stateOf(spaceId);
  return (state && flatfile.documents.get(state.guideDocumentId)?.body) ?? "";
}

describe("attacks", () => {
  attackScenario(
    "an unsigned POST {} while the secret holds the placeholder → 401 that names nothing; signed → the 500 that says why",
    async () => {
      const original = secrets.secrets.get(SECRET_ID)!;
      secrets.secrets.set(SECRET_ID, JSON.stringify({ apiKey: "REPLACE_ME", signingSecret }));
      resetSettingsCache();
      try {
        for (const signature of [null, "garbage", signPayload("{}", newSigningSecret())]) {
          const a = await rejected("/space-configure", "{}", 401, { signature });
          expect(a.text).not.toMatch(/arn:|REPLACE_ME|placeholder|secretsmanager/i);
        }
        const signed = await rejected("/space-configure", "{}", 500);
        expect(String(signed.body.error)).toContain("placeholder");
      } finally {
        secrets.secrets.set(SECRET_ID, original);
        resetSettingsCache();
      }
    },
  );

  attackScenario("with Secrets Manager down, no signature → 401 without reading it; a forged well-formed one → a generic 500", async () => {
    resetSettingsCache();
    secrets.faults.down = true;
    fault();
    const body = JSON.stringify(ghostEvent("sheet:duplicate"));
    const before = secrets.calls;
    await rejected("/action-job", body, 401, { signature: null });
    await rejected("/action-job", body, 401, { t: Math.floor(Date.now() / 1000) - 3_600 });
    expect(secrets.calls, "a header no secret could match read the secret").toBe(before);
    const forged = await rejected("/action-job", body, 500, { secret: newSigningSecret() });
    expect(forged.body).toEqual({ error: "internal error" });
    secrets.faults.down = false;
    resetSettingsCache();
  });

  attackScenario(
    "a reference API streaming 64 MB without Content-Length → abandoned at the cap, bundled list, configure completes",
    async () => {
      const streamer = await startStreamer();
      try {
        process.env.REFERENCE_DATA_URL = `${streamer.url}/categories`;
        resetReferenceDataCache();
        const c = newConfigureJob("streaming reference");
        const a = await deliver("/space-configure", c.event);
        expect(a.status, a.text).toBe(200);
        expectConfigured(c);
        expect(guideBodyOf(c.spaceId)).toContain("too large");
        await sleep(50);
        expect(streamer.written, "bytes the reference API got to send").toBeLessThan(16 * 1024 * 1024);
      } finally {
        resetReferenceDataCache();
        await streamer.close();
      }
    },
  );

  attackScenario("a reference API redirecting to another origin → not followed, bundled list, the guide says why", async () => {
    const planted = await startRecorder({ categories: ["Planted"] });
    const redirector = await startRedirector(planted.url, 307);
    try {
      process.env.REFERENCE_DATA_URL = `${redirector.url}/categories`;
      resetReferenceDataCache();
      const c = newConfigureJob("redirecting reference");
      const a = await deliver("/space-configure", c.event);
      expect(a.status, a.text).toBe(200);
      expectConfigured(c);
      expect(guideBodyOf(c.spaceId)).toContain("redirected to another origin");
      expect(planted.hits).toEqual([]);
    } finally {
      resetReferenceDataCache();
      await Promise.all([planted.close(), redirector.close()]);
    }
  });

  attackScenario(
    "the API's address redirected (307, 302) → the relay re-posts nothing elsewhere and fails the job saying why",
    async () => {
      const elsewhere = await startRecorder();
      try {
        for (const status of [307, 302]) {
          const redirector = await startRedirector(elsewhere.url, status);
          try {
            const c = newConfigureJob(`relay redirected ${status}`);
            const outcome = await relayTo(redirector.url, c.event);
            expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
            const job = jobStatus(c.jobId);
            expect(job.status).toBe("failed");
            expect(String(job.message)).toContain(`HTTP ${status}`);
          } finally {
            await redirector.close();
          }
        }
        expect(elsewhere.hits, "requests that reached the other origin").toEqual([]);
      } finally {
        await elsewhere.close();
      }
    },
  );

  attackScenario("an http:// relay address that is not this machine → nothing is sent, the job fails saying why", async () => {
    const c = newConfigureJob("relay over http");
    const outcome = await relayTo("http://api.example.invalid", c.event);
    expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
    expect(String(jobStatus(c.jobId).message)).toContain("https");
  });

  attackScenario(
    "what the runtime hangs on the event (token, secrets, callback URL) never reaches the API; the job completes",
    async () => {
      const c = newConfigureJob("relay extra fields");
      const hung = {
        ...c.event,
        _accessToken: flatfile.apiKey,
        secrets: { RELAY_SIGNING_SECRET: signingSecret },
        callbackUrl: "https://platform.example/ack?token=abc",
        dataUrl: "https://platform.example/data",
      };
      const recorder = await startRecorder();
      try {
        // What the relay sends, as a server sees it…
        expect((await relayTo(recorder.url, hung)).kind).toBe("delivered");
        const sent = recorder.hits[0]!.body;
        expect(Object.keys(JSON.parse(sent)).sort()).toEqual(Object.keys(c.event).sort());
        for (const leaked of [flatfile.apiKey, signingSecret, "callbackUrl", "dataUrl"]) expect(sent).not.toContain(leaked);
      } finally {
        await recorder.close();
      }
      // …and the same delivery through the gateway configures the space.
      expect((await relayTo(gateway.url, hung)).kind).toBe("delivered");
      expectConfigured(c);
    },
  );

  attackScenario("unexpected shapes in fields no route reads (payload.input, createdAt, accountId, slugs) → handled normally", async () => {
    const c = newConfigureJob("odd unused fields");
    let event = withValue(c.event, ["payload", "input"], ["not", "a", "record"]);
    event = withValue(event, ["payload", "operation"], null);
    event = withValue(event, ["createdAt"], 1_764_400_000_000);
    event = withValue(event, ["context", "accountId"], 42);
    event = withValue(event, ["context", "slugs"], "space");
    const a = await deliver("/space-configure", event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  attackScenario("a space's metadata bloated past its bound → the action fails saying why and nothing is written", async () => {
    const c = await configuredSpace("bloated metadata");
    const stored = flatfile.spaces.get(c.spaceId)!;
    stored.metadata = { ...(stored.metadata as Record<string, unknown>), appBlob: "x".repeat(MAX_SPACE_METADATA_CHARS) };
    const dup = actionJob(c, "sheet:duplicate");
    const m = mark();
    const a = await deliver("/action-job", dup.event);
    expect(a.status, a.text).toBe(200);
    expect(jobStatus(dup.jobId)).toMatchObject({ status: "failed", message: expect.stringMatching(/metadata is larger than/) });
    expect(routesOf(m.writes()).filter((r) => !r.startsWith("jobs."))).toEqual([]);
  });
});
