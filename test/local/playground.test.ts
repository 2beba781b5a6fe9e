/**
 * The playground in-process, as npm start assembles it (local-run.ts): each flow creates what the
 * platform would in the stand-in and delivers the event through the relay's code to the routes
 * over HTTP; the page shows the result, escaped; the answers are retried as the relay would.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalRun, PortInUseError, type LocalRun } from "../../local/local-run";
import { sanitizeHtml, renderMarkdown } from "../../local/web/markdown";
import { signPayload } from "../../shared/core/signature";
import { RELAY_BOUND } from "../../infra/relay/forward";
import { SHEET_ROLES } from "../../shared/domain/space-state";
import { DUPLICABLE_ROLE, sheetName } from "../support/blueprint";
import { startHostileFlatfile, type HostileServer } from "../support/hostile-servers";

let run: LocalRun;
const saved = { ...process.env };

beforeAll(async () => {
  for (const key of Object.keys(process.env))
    if (key.startsWith("FLATFILE_") || key === "REFERENCE_DATA_URL" || key === "IDEMPOTENCY_TABLE") delete process.env[key];
  process.env.LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), "playground-"));
  // A short relay bound: a retried delivery waits milliseconds, not seconds.
  run = await startLocalRun({
    port: 0,
    relayBound: { ...RELAY_BOUND, totalMs: 20_000, failReserveMs: 2_000, attemptTimeoutMs: 10_000, baseDelayMs: 10, maxDelayMs: 50 },
  });
});
afterAll(async () => {
  await run?.close();
  process.env = saved;
});

const page = async (query = "") => (await fetch(`${run.url}/${query}`)).text();
const text = (html: string) => html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ");

describe("the playground's flows", () => {
  it("creates a Space with fr-CH, configured through the relay: CHF with 2 decimals on the page", async () => {
    const started = run.playground!.configure({ locale: "fr-CH", creator: "staff" });
    const result = await started.done;
    expect(result).toMatchObject({ ok: true, flow: "configure", job: { status: "complete" } });
    expect(result.lines.join("\n")).toMatch(/prices in CHF/);
    expect(result.delivery).toBe("delivered to /space-configure: HTTP 200");

    const html = await page();
    expect(text(html)).toContain("Amount (CHF)");
    expect(text(html)).toContain("CHF · 2 decimals");
    expect(text(html)).toContain("audience internal");
    // The delivery is listed with the Flatfile calls the handler made, in order, ack first.
    const delivery = run.activity.delivery(result.eventId)!;
    expect(delivery).toMatchObject({ topic: "job:ready", route: "/space-configure", source: "button" });
    const calls = delivery.attempts[0]!.calls.filter((c) => c.target === "flatfile").map((c) => `${c.method} ${c.path}`);
    const ack = calls.findIndex((c) => /^POST \/v1\/jobs\/us_jb_\w+\/ack$/.test(c));
    const workbook = calls.indexOf("POST /v1/workbooks");
    const complete = calls.findIndex((c) => /^POST \/v1\/jobs\/us_jb_\w+\/complete$/.test(c));
    expect(ack).toBeGreaterThanOrEqual(0);
    expect(workbook).toBeGreaterThan(ack);
    expect(complete).toBeGreaterThan(workbook);
    expect(delivery.attempts[0]!.calls.some((c) => c.target === "reference" && c.status === 200)).toBe(true);
    expect(html).toContain(`data-event="${result.eventId}"`);
  });

  it("adds records with an error: counts and the guide's progress change", async () => {
    const before = text(await page());
    expect(before).toMatch(/Contacts contacts open[^·]*0 records · 0 valid · 0 in error/);
    const result = await run.playground!.records({ add: 3, invalid: 1 }).done;
    expect(result.ok).toBe(true);
    expect(result.lines.join("\n")).toMatch(/Contacts: 4 records, 1 in error/);
    expect(result.lines.join("\n")).toMatch(/Guide progress: Contacts: 4 records: 3 valid, 1 with errors/);
    const after = text(await page());
    expect(after).toMatch(/4 records · 3 valid · 1 in error/);
    expect(after).toMatch(/Contacts : 4 records: 3 valid, 1 with errors/);
  });

  it("fixes, breaks and deletes records by id, each a commit delivered to /commit-created", async () => {
    const sheet = [...run.flatfile!.sheets.values()].find((s) => s.slug === "contacts")!;
    const broken = sheet.records.find((r) => !r.valid)!;
    const fine = sheet.records.find((r) => r.valid)!;
    const fixed = await run.playground!.records({ fix: [broken.id], breakIds: [fine.id] }).done;
    expect(fixed.ok).toBe(true);
    expect(sheet.records.find((r) => r.id === broken.id)!.valid).toBe(true);
    expect(sheet.records.find((r) => r.id === fine.id)!.valid).toBe(false);
    const removed = await run.playground!.records({ remove: [fine.id] }).done;
    expect(removed.lines.join("\n")).toMatch(/Contacts: 3 records, 0 in error/);
    expect(run.activity.delivery(removed.eventId)!.route).toBe("/commit-created");
    expect(() => run.playground!.records({ fix: ["us_rc_nothere"] })).toThrow(/not in Contacts/);
  });

  it("duplicates: the original is locked, the copy open, and the job's next link names the copy", async () => {
    const result = await run.playground!.duplicate({}).done;
    expect(result.ok).toBe(true);
    expect(result.job?.next).toMatch(/^Open the copy → us_sh_/);
    expect(result.job?.message).toMatch(/Contacts \(copy\)/);
    const html = await page();
    expect(html).toMatch(/data-slug="contacts" data-locked="true"/);
    expect(html).toMatch(/data-slug="contacts-copy[^"]*" data-locked="false"/);
  });

  it("submits to the local S3 and EventBridge: the page shows the event and the object it names", async () => {
    const configured = await run.playground!.configure({ locale: "en-US", creator: "member" }).done;
    const spaceId = configured.spaceId!;
    await run.playground!.records({ spaceId, sheet: "contacts", add: 2, invalid: 0 }).done;
    const submitted = await run.playground!.submit({ spaceId }).done;
    expect(submitted).toMatchObject({ ok: true, job: { status: "complete" } });
    const state = (await (await fetch(`${run.url}/playground/state`)).json()) as {
      submissions: { detail: Record<string, unknown>; object: { bytes?: number; firstLines: string[] } }[];
    };
    const mine = state.submissions.filter((s) => s.detail.spaceId === spaceId);
    expect(mine).toHaveLength(1);
    // Every sheet of the blueprint is counted, the one with records and the rest at 0.
    const counts = Object.fromEntries(SHEET_ROLES.map((role) => [role, role === "contacts" ? 2 : 0]));
    expect(mine[0]!.detail).toMatchObject({ records: 2, counts });
    expect(mine[0]!.object.firstLines).toHaveLength(2);
    expect(JSON.parse(mine[0]!.object.firstLines[0]!)).toMatchObject({ sheet: "contacts" });
    const html = text(await page(`?space=${spaceId}`));
    expect(html).toContain("Submissions delivered");
    expect(html).toContain(String(mine[0]!.detail.key));
  });

  it("retries a retryable answer as the relay does, and the job still completes", async () => {
    // Every Flatfile call of the first delivery answers 503 until the handler gives up with a 5xx.
    run.flatfile!.faults.statuses("jobs.ack", [503, 503, 503]);
    const result = await run.playground!.configure({ currency: "JPY", creator: "guest" }).done;
    const delivery = run.activity.delivery(result.eventId)!;
    expect(delivery.attempts.length).toBeGreaterThanOrEqual(2);
    expect(delivery.attempts[0]!.status).toBeGreaterThanOrEqual(500);
    expect(delivery.attempts.at(-1)!.status).toBe(200);
    expect(result).toMatchObject({ ok: true, job: { status: "complete" } });
    expect(result.delivery).toMatch(/after \d attempts/);
  });

  it("falls back to the bundled categories when the reference API fails, and says so in the guide", async () => {
    const result = await run.playground!.configure({ country: "JP", creator: "unknown", reference: "failing" }).done;
    expect(result.ok).toBe(true);
    const html = text(await page(`?space=${result.spaceId}`));
    expect(html).toMatch(/bundled/i);
    expect(html).toContain("audience default");
  });

  it("fills each event template with the latest Space's ids, making the job or commit it names", async () => {
    for (const [name, route] of [
      ["space-configure", "/space-configure"],
      ["commit-created", "/commit-created"],
      ["action-duplicate", "/action-job"],
    ]) {
      const template = readFileSync(join(__dirname, "../../local/events", `${name}.json`), "utf8");
      const filled = run.playground!.fill(template);
      const event = JSON.parse(filled);
      expect(filled).not.toMatch(/\{\{/);
      expect(run.flatfile!.spaces.has(event.context.spaceId)).toBe(true);
      if (event.context.jobId) expect(run.flatfile!.jobs.get(event.context.jobId)?.status).toBe("ready");
      if (event.context.commitId) expect(run.flatfile!.commits.has(event.context.commitId)).toBe(true);
      const answer = await fetch(`${run.url}${route}`, {
        method: "POST",
        headers: { "x-flatfile-signature": signPayload(filled, run.signingSecret) },
        body: filled,
      });
      expect(answer.status).toBe(200);
      expect(run.activity.delivery(event.id)?.source).toBe("file");
    }
  });
});

describe("the page", () => {
  it("escapes what came from outside, and renders the guide's Markdown without live HTML", async () => {
    const result = await run.playground!.configure({ locale: `<script>alert(1)</script>` }).done;
    const html = await page(`?space=${result.spaceId}`);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(sanitizeHtml(`<h1>Hi</h1><img src=x onerror=alert(1)><a href="javascript:x">z</a><!-- c -->`)).toBe(
      "<h1>Hi</h1>&lt;img src=x onerror=alert(1)&gt;&lt;a href=&quot;javascript:x&quot;&gt;z&lt;/a&gt;",
    );
    expect(renderMarkdown("[x](javascript:alert(1)) ![p](https://evil.example/p.png)")).not.toMatch(/href="javascript|<img/);
  });

  it("serves GET / and the playground paths only; the routes stay POST only and anything else is 404", async () => {
    expect((await fetch(`${run.url}/`)).headers.get("content-security-policy")).toMatch(/script-src 'sha256-/);
    expect((await fetch(`${run.url}/space-configure`)).status).toBe(404);
    expect((await fetch(`${run.url}/admin`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${run.url}/nothing`)).status).toBe(404);
    const state = (await (await fetch(`${run.url}/playground/state`)).json()) as { latestSpace: string };
    expect(state.latestSpace).toMatch(/^us_sp_/);
    const live = await fetch(`${run.url}/playground/live?since=${run.activity.version}`);
    expect([200, 204]).toContain(live.status);
    const crossSite = await fetch(`${run.url}/playground/submit`, { method: "POST", headers: { origin: "https://evil.example" } });
    expect(crossSite.status).toBe(403);
    const form = await fetch(`${run.url}/playground/records`, {
      method: "POST",
      body: new URLSearchParams({ op: "add", add: "2", invalid: "0" }),
      redirect: "manual",
    });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toMatch(/^\/\?space=us_sp_/);
  });

  it("offers the blueprint's sheets by role, takes records for each, and names the roles for another", async () => {
    const html = await page();
    expect(html).toContain(`<select name="sheet">${SHEET_ROLES.map((role) => `<option>${role}</option>`).join("")}</select>`);
    expect(text(html)).toContain(`Duplicate ${sheetName(DUPLICABLE_ROLE)}`);
    const post = (sheet: string) =>
      fetch(`${run.url}/playground/records`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ op: "add", add: 1, invalid: 0, sheet }),
      });
    for (const role of SHEET_ROLES) expect((await post(role)).status, role).toBe(200);
    const refused = await post("no-such-sheet");
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: string }).error).toBe(
      `Unknown sheet no-such-sheet: ${SHEET_ROLES.slice(0, -1).join(", ")} or ${SHEET_ROLES.at(-1)}`,
    );
  });

  it("refuses a taken port before starting anything", async () => {
    await expect(startLocalRun({ port: run.port })).rejects.toBeInstanceOf(PortInUseError);
    expect((await fetch(`${run.url}/playground/state`)).status).toBe(200);
  });
});

describe("the page against a hostile Flatfile API (pull mode)", () => {
  const refresh = `<meta http-equiv="refresh" content="0;url=http://127.0.0.1:1/sign-in">`;
  const script = `<script>document.title="owned"</script>`;
  let hostile: HostileServer;
  let pulled: LocalRun;

  beforeAll(async () => {
    // Every answer as the SDK lets it through: counts that are markup, not numbers.
    const sheet = { id: "us_sh_evil", name: "Contacts", slug: "contacts", config: { name: "Contacts", slug: "contacts", fields: [] } };
    hostile = await startHostileFlatfile((method, path) => {
      if (method !== "GET") return { body: { data: { success: true } } };
      if (path === "/v1/events") return { body: { data: [] } };
      if (path === "/v1/spaces/us_sp_evil") return { body: { data: { id: "us_sp_evil", name: "Evil", metadata: {} } } };
      if (path === "/v1/workbooks") return { body: { data: [{ id: "us_wb_evil", name: "Workbook", sheets: [sheet] }] } };
      if (path === "/v1/sheets/us_sh_evil/counts")
        return { body: { data: { success: true, counts: { total: refresh, valid: script, error: `0" onmouseover="alert(1)` } } } };
      if (path === "/v1/sheets/us_sh_evil/records") return { body: { data: { success: true, records: [] } } };
      if (path === "/v1/spaces/us_sp_evil/documents") return { body: { data: [] } };
      return undefined;
    });
    pulled = await startLocalRun({
      port: 0,
      env: { FLATFILE_API_KEY: "sk_hostile", FLATFILE_API_URL: hostile.url, FLATFILE_ENVIRONMENT_ID: "us_env_hostile" },
    });
  });
  afterAll(async () => {
    await pulled?.close();
    await hostile?.close();
  });

  it("escapes record counts on the page and in its live part, which carry the page's CSP", async () => {
    const main = await fetch(`${pulled.url}/?space=us_sp_evil`);
    const live = await fetch(`${pulled.url}/playground/live?space=us_sp_evil&since=-1`);
    for (const html of [await main.text(), await live.text()]) {
      expect(html).toContain('data-space="us_sp_evil"');
      expect(html).not.toMatch(/<meta http-equiv/i);
      expect(html).not.toContain("<script>document.title");
      expect(html).not.toContain(`" onmouseover=`);
    }
    const csp = main.headers.get("content-security-policy");
    expect(csp).toMatch(/default-src 'none'/);
    expect(live.status).toBe(200);
    expect(live.headers.get("content-security-policy")).toBe(csp);
  });

  it("sends the same CSP on every answer the local server gives", async () => {
    const csp = (await fetch(`${pulled.url}/`)).headers.get("content-security-policy");
    expect(csp).toMatch(/script-src 'sha256-/);
    const answers = await Promise.all([
      fetch(`${pulled.url}/playground/state`),
      fetch(`${pulled.url}/playground/live?since=-1`),
      fetch(`${pulled.url}/nothing`),
      fetch(`${pulled.url}/space-configure`, { method: "POST", body: "{}" }),
      fetch(`${pulled.url}/playground/submit`, { method: "POST", headers: { origin: "https://evil.example" } }),
      fetch(`${pulled.url}/playground/submit`, { method: "POST", body: "op=x" }),
    ]);
    for (const answer of answers) expect(answer.headers.get("content-security-policy"), answer.url).toBe(csp);
  });
});
