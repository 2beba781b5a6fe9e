/**
 * The relay cannot be redirected or downgraded, and forwards only the event's own
 * fields. Real HTTP on 127.0.0.1 (the receiver verifies signatures with the shared verifier; a
 * second server, another origin, records anything that reaches it); the register handler and
 * relay:deploy refuse an http:// base URL.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultDeps, relayEvent, RELAY_SECRET_BASE_URL, RELAY_SECRET_SIGNING, type RelayContext } from "../../../infra/relay/forward";
import { createOnEvent } from "../../../infra/relay/register";
import { isAllowedBaseUrl } from "../../../infra/relay/flatfile-registration";
import { relayDeploy } from "../../../scripts/relay-deploy";
import { fastRelayBound, sampleEvent, startReceiver, type Receiver } from "../../support/relay-receiver";

const SIGNING_SECRET = "whsec_relay_hardening_0123456789";
const AGENT_TOKEN = "sk_agent_token_hardening_0042";
const BOUND = fastRelayBound(3_000, 500);

let receiver: Receiver;
let elsewhere: { url: string; hits: { method: string; path: string; body: string; signature?: string }[]; server: Server };
/** What the configured base URL answers: a redirect to `elsewhere`. */
let redirector: { url: string; status: number; server: Server };
let failCalls: string[];

beforeAll(async () => {
  receiver = await startReceiver(SIGNING_SECRET);
  const hits: typeof elsewhere.hits = [];
  const other = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits.push({
        method: req.method ?? "",
        path: req.url ?? "",
        body: Buffer.concat(chunks).toString("utf8"),
        signature: req.headers["x-flatfile-signature"] as string | undefined,
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => other.listen(0, "127.0.0.1", r));
  elsewhere = { url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`, hits, server: other };
  const state = { status: 307 };
  const redirecting = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(state.status, { location: `${elsewhere.url}${req.url}` }).end());
  });
  await new Promise<void>((r) => redirecting.listen(0, "127.0.0.1", r));
  redirector = {
    url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}`,
    get status() {
      return state.status;
    },
    set status(v: number) {
      state.status = v;
    },
    server: redirecting,
  };
});
afterAll(async () => {
  await receiver.close();
  for (const s of [elsewhere.server, redirector.server]) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});
beforeEach(() => {
  receiver.reset();
  elsewhere.hits.length = 0;
  failCalls = [];
});

function contextFor(baseUrl: string): RelayContext {
  const secrets: Record<string, string> = { [RELAY_SECRET_BASE_URL]: baseUrl, [RELAY_SECRET_SIGNING]: SIGNING_SECRET };
  return { readSecret: async (name) => secrets[name]!, flatfileApi: { url: "https://flatfile.invalid/api", token: AGENT_TOKEN } };
}

/** Real fetch for deliveries; the job-fail call is recorded instead of leaving the machine. */
function deps() {
  const real = defaultDeps();
  return {
    ...real,
    log: () => undefined,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      const url = String(input);
      if (url.includes("/jobs/")) {
        failCalls.push(url);
        return Promise.resolve(new Response("{}", { status: 200 }));
      }
      return real.fetch(input, init);
    }) as typeof fetch,
  };
}

describe("the relay does not follow redirects", () => {
  it.each([301, 302, 303, 307, 308])(
    "a %i from the API is a failed delivery: nothing reaches the other origin, the job is failed",
    async (status) => {
      redirector.status = status;
      const outcome = await relayEvent(sampleEvent("space-configure"), contextFor(redirector.url), deps(), BOUND);
      expect(outcome.kind).toBe("gave-up");
      expect(outcome.kind === "gave-up" && outcome.reason).toContain(`HTTP ${status}`);
      expect(outcome.kind === "gave-up" && outcome.jobFailed).toBe(true);
      expect(elsewhere.hits).toEqual([]);
      expect(failCalls).toHaveLength(1);
    },
  );
});

describe("the relay forwards only the event's own fields", () => {
  it("drops what the runtime hangs on the event: token, secrets, callback and data URLs, anything else", async () => {
    const src = sampleEvent("space-configure");
    const hung = {
      ...src,
      _accessToken: AGENT_TOKEN,
      _apiUrl: "https://platform.flatfile.com/api",
      secrets: { RELAY_SIGNING_SECRET: SIGNING_SECRET },
      callbackUrl: "https://platform.flatfile.com/v1/events/us_evt_1/ack?token=abc",
      dataUrl: "https://platform.flatfile.com/v1/events/us_evt_1/data?token=abc",
      cache: { big: "x".repeat(10) },
      target: "space:us_sp_a1b2c3d4",
    };
    const outcome = await relayEvent(hung, contextFor(receiver.url), deps(), BOUND);
    expect(outcome.kind).toBe("delivered");
    const [request] = receiver.received;
    expect(request!.signature).toEqual({ ok: true });
    expect(request!.body).toBe(JSON.stringify(src));
    for (const leaked of [AGENT_TOKEN, SIGNING_SECRET, "callback", "dataUrl", "token=abc", "_apiUrl", "cache"]) {
      expect(request!.body).not.toContain(leaked);
    }
  });
});

describe("register and relay:deploy require https", () => {
  it.each([
    ["https://abc.execute-api.us-east-1.amazonaws.com", true],
    ["http://abc.execute-api.us-east-1.amazonaws.com", false],
    ["HTTP://abc.example", false],
    ["ftp://abc.example", false],
    ["http://127.0.0.1:3000", true],
    ["http://localhost:3000/", true],
    ["http://[::1]:3000", true],
    ["http://127.0.0.1.evil.example", false],
    ["http://localhost.evil.example", false],
    ["https://user:pass@abc.example", false],
    ["not a url", false],
  ])("%s → %s", (url, ok) => {
    expect(isAllowedBaseUrl(url)).toBe(ok);
  });

  it("the register handler refuses an http:// RelayBaseUrl before registering anything", async () => {
    let apiMade = 0;
    const onEvent = createOnEvent({
      readSecret: async () => ({ apiKey: "sk_live", signingSecret: "whsec_0123456789abcdef" }),
      loadAgentSource: () => "module.exports = 'relay'",
      makeApi: () => {
        apiMade += 1;
        return { agents: {}, secrets: {} } as never;
      },
      log: () => undefined,
    });
    const props = { ServiceToken: "x", EnvironmentId: "us_env_a", RelayBaseUrl: "http://api.example", SecretId: "s" };
    const common = {
      ServiceToken: "x",
      ResponseURL: "x",
      StackId: "x",
      RequestId: "x",
      LogicalResourceId: "R",
      ResourceType: "Custom::FlatfileRelay",
      ResourceProperties: props,
    };
    await expect(onEvent({ ...common, RequestType: "Create" })).rejects.toThrow(/https/);
    expect(apiMade).toBe(0);
  });

  it("relay:deploy refuses an http:// RELAY_BASE_URL", async () => {
    const env = {
      FLATFILE_ENVIRONMENT_ID: "us_env_a",
      RELAY_BASE_URL: "http://api.example",
      FLATFILE_API_KEY: "sk_live",
      FLATFILE_SIGNING_SECRET: "whsec_0123456789abcdef",
    };
    await expect(relayDeploy([], env, () => undefined)).rejects.toThrow(/https/);
  });
});
