/**
 * The customer's listener locally, as npm start assembles it (local-run.ts): the gateway serves
 * POST /listener with the listener function's handler, the local relay fans out as the deployed
 * one does with the listener route on, and the page shows what the listener did: each HTTP call
 * (method, path, status) and each line it printed, redacted.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SELF_ACTOR_ENV } from "../../functions/commit-created/commit-created";
import { forwardedBody, RELAY_BOUND } from "../../infra/relay/forward";
import { API_KEY_ACTOR } from "../../local/flatfile/store";
import { startLocalRun, type LocalRun } from "../../local/local-run";
import { Activity } from "../../local/playground/activity";
import { renderPage } from "../../local/web/page";
import type { RouteHandler } from "../../shared/core/route";
import { registerSecretForRedaction } from "../../shared/core/logger";
import { signPayload } from "../../shared/core/signature";

let run: LocalRun;
const saved = { ...process.env };

beforeAll(async () => {
  for (const key of Object.keys(process.env))
    if (key.startsWith("FLATFILE_") || key === "REFERENCE_DATA_URL" || key === "IDEMPOTENCY_TABLE" || key === "OWNED_SPACES")
      delete process.env[key];
  process.env.LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), "listener-local-"));
  run = await startLocalRun({
    port: 0,
    relayBound: { ...RELAY_BOUND, totalMs: 20_000, failReserveMs: 2_000, attemptTimeoutMs: 10_000, baseDelayMs: 10, maxDelayMs: 50 },
  });
  await run.playground!.configure({}).done;
});
afterAll(async () => {
  await run?.close();
  process.env = saved;
});

const page = async (query = "") => (await fetch(`${run.url}/${query}`)).text();

describe("the listener under npm start", () => {
  it("serves POST /listener: the example's workbook:myAction job, sent signed, is completed by the listener", async () => {
    const template = readFileSync(join(__dirname, "../../local/events/listener-action.json"), "utf8");
    const filled = run.playground!.fill(template);
    const event = JSON.parse(filled);
    const unsigned = await fetch(`${run.url}/listener`, { method: "POST", body: filled });
    expect(unsigned.status).toBe(401);
    const answer = await fetch(`${run.url}/listener`, {
      method: "POST",
      headers: { "x-flatfile-signature": signPayload(filled, run.signingSecret) },
      body: filled,
    });
    expect(answer.status).toBe(200);
    expect(run.flatfile!.jobs.get(event.context.jobId)?.status).toBe("complete");
    const delivery = run.activity.delivery(event.id, "/listener")!;
    const calls = delivery.attempts.at(-1)!.calls.map((c) => `${c.method} ${c.path} ${c.status}`);
    expect(calls).toContain(`POST /v1/jobs/${event.context.jobId}/complete 200`);
    const html = await page(`?space=${event.context.spaceId}`);
    expect(html).toContain(`data-route="/listener"`);
    expect(html).toContain(`POST /v1/jobs/${event.context.jobId}/complete</code> → 200`);
  });

  it("the relay fans out: a commit on Contacts is delivered to /commit-created and to /listener, each with its own attempts", async () => {
    const result = await run.playground!.records({ add: 2, invalid: 0 }).done;
    expect(result.ok).toBe(true);
    const routes = run.activity.deliveries.filter((d) => d.eventId === result.eventId).map((d) => d.route);
    expect(routes.sort()).toEqual(["/commit-created", "/listener"]);
    const listener = run.activity.delivery(result.eventId, "/listener")!;
    expect(listener.source).toBe("button");
    expect(listener.attempts.at(-1)!.status).toBe(200);
    expect(listener.relay).toMatch(/delivered to \/listener: HTTP 200/);
    // The event carried its dataUrl through the relay: the record hook read the commit's records.
    const sheetId = run.flatfile!.events.find((e) => e.id === result.eventId)!.context.sheetId;
    expect(listener.attempts.at(-1)!.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toContain(
      `GET /v1/sheets/${sheetId}/records 200`,
    );
    // A job our routes own goes to them only.
    const duplicate = await run.playground!.duplicate({}).done;
    expect(run.activity.deliveries.filter((d) => d.eventId === duplicate.eventId).map((d) => d.route)).toEqual(["/action-job"]);
  });
});

describe("the example record hook under npm start", () => {
  it("reads a commit through its dataUrl and normalises its e-mail; the write-back, made by our key, is not given to it again", async () => {
    const flatfile = run.flatfile!;
    const contacts = [...flatfile.sheets.values()].find((sheet) => sheet.slug === "contacts")!;
    // The loop exists only where the write-back raises its own commit:created (the SDK's
    // X-Disable-Hooks honoured or not is undocumented: platform.ts), so the stand-in raises it here.
    const saved = { hooks: flatfile.platform.disabledHooks, self: process.env[SELF_ACTOR_ENV] };
    flatfile.platform.disabledHooks = "raised";
    process.env[SELF_ACTOR_ENV] = API_KEY_ACTOR;
    try {
      const { commitId, recordIds, event } = flatfile.act.commit(
        contacts.id,
        { insert: [{ firstName: "Ada", lastName: "Lovelace", email: "  Ada@Example.COM " }] },
        { actorId: "us_usr_ada00001" },
      );
      expect(event.dataUrl).toBe(`v1/sheets/${contacts.id}/records?commitId=${commitId}`);
      const post = (body: string) =>
        fetch(`${run.url}/listener`, { method: "POST", headers: { "x-flatfile-signature": signPayload(body, run.signingSecret) }, body });
      const body = forwardedBody({ ...event });
      expect(JSON.parse(body).dataUrl).toBe(event.dataUrl);
      const answer = await post(body);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ handlers: 1 });
      expect(flatfile.sheets.get(contacts.id)!.records.find((r) => r.id === recordIds[0])?.values?.email).toBe("ada@example.com");

      const writeBack = flatfile.events.filter((e) => e.topic === "commit:created").at(-1)!;
      expect(writeBack.id).not.toBe(event.id);
      expect(writeBack.context.actorId).toBe(API_KEY_ACTOR);
      expect(writeBack.dataUrl).toBe(`v1/sheets/${contacts.id}/records?commitId=${writeBack.context.commitId}`);
      const before = flatfile.requests.length;
      const again = await post(forwardedBody({ ...writeBack }));
      expect(await again.json()).toMatchObject({ ignored: true, reason: expect.stringContaining("own key") });
      expect(flatfile.requests.length).toBe(before);
    } finally {
      flatfile.platform.disabledHooks = saved.hooks;
      if (saved.self === undefined) delete process.env[SELF_ACTOR_ENV];
      else process.env[SELF_ACTOR_ENV] = saved.self;
    }
  });
});

describe("the listener's log lines on the page", () => {
  it("keeps what a handler prints during its attempt, redacted, and nothing printed outside one", async () => {
    const secret = "sk_local_listener_secret_0042";
    registerSecretForRedaction(secret);
    const activity = new Activity();
    const undo = activity.installConsoleRecorder();
    try {
      const printing: RouteHandler = async () => {
        console.log("event", { _accessToken: secret, topic: "commit:created" });
        console.error("Error in event listener:", new Error(`boom with ${secret}`));
        return { statusCode: 200, body: "{}" };
      };
      const routes = activity.recordRoutes({ "/listener": printing });
      console.log("outside any attempt");
      await routes["/listener"]({ body: JSON.stringify({ id: "us_evt_logs1", topic: "commit:created" }), isBase64Encoded: false } as never);
    } finally {
      undo();
    }
    const logs = activity.delivery("us_evt_logs1", "/listener")!.attempts[0]!.logs;
    expect(logs).toHaveLength(2);
    expect(logs.join("\n")).not.toContain(secret);
    expect(logs[0]).toContain("[REDACTED]");
    expect(logs[1]).toMatch(/Error in event listener: Error: boom with \[REDACTED\]/);
  });

  it("renders them with the attempt", () => {
    const html = renderPage({
      mode: "embedded",
      spaces: [],
      results: [],
      version: 1,
      deliveries: [
        {
          eventId: "us_evt_1",
          topic: "commit:created",
          route: "/listener",
          source: "button",
          attempts: [{ at: 0, status: 200, answer: "{}", ms: 1, calls: [], logs: ["No records to <process>"] }],
        },
      ],
    });
    expect(html).toContain("1 log lines");
    expect(html).toContain("<code>No records to &lt;process&gt;</code>");
  });
});
