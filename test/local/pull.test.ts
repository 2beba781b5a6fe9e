/**
 * Pull mode against the stand-in: a Space created through the stand-in's API (not our routes) is
 * configured by a running local run that polls events.list, each event delivered once through the
 * relay's code and acknowledged; a restart does not handle old events again, even one whose
 * acknowledgement did not go through (the cursor is kept in a file).
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";
import type { RelayOutcome } from "../../infra/relay/forward";
import { DEFAULT_ENVIRONMENT_ID, startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { startLocalRun, type LocalRun } from "../../local/local-run";
import { type EventPull, MAX_PAGES_PER_POLL, PAGE_SIZE, type PullOptions, readCursor, startEventPull } from "../../local/playground/pull";
import { pullCursorFile } from "../../local/session";
import { RELAY_AGENT_SLUG } from "../../shared/core/relay-agent";
import { startHostileFlatfile } from "../support/hostile-servers";

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

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
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

/** startEventPull as npm start runs it, with a forward that records what reached the relay. */
function recordingPull(
  apiUrl: string,
  overrides: Partial<PullOptions> = {},
  cursorFile = join(mkdtempSync(join(tmpdir(), "cursor-")), "c.json"),
) {
  const forwarded: string[] = [];
  const logged: string[] = [];
  const pull = startEventPull({
    apiUrl,
    apiKey: "sk_test",
    environmentId: DEFAULT_ENVIRONMENT_ID,
    cursorFile,
    forward: async (event) => {
      forwarded.push(String(event.id));
      return { kind: "ignored", reason: "recorded" } as RelayOutcome;
    },
    // Polls only when the test asks (the first one starts at once).
    intervalMs: 3_600_000,
    log: (line) => logged.push(line),
    ...overrides,
  });
  pulls.push(pull);
  return { pull, forwarded, logged, cursorFile };
}
const pulls: EventPull[] = [];
afterEach(async () => {
  for (const pull of pulls.splice(0)) await pull.stop();
});

const event = <T = string>(id: string, createdAt: T) => ({
  id,
  topic: "space:created",
  domain: "space",
  context: { accountId: "us_acc_1", environmentId: DEFAULT_ENVIRONMENT_ID },
  payload: {},
  createdAt,
});

describe("pull mode reads as Flatfile's own poller does", () => {
  it("handles an event that became visible after a newer one, and one someone else acknowledged, each once", async () => {
    const { pull, forwarded } = recordingPull(flatfile.url, { apiKey: flatfile.apiKey });
    const newer = new Date().toISOString();
    flatfile.events.push(event("us_evt_newer", newer));
    await pull.pollOnce();
    await pull.pollOnce();
    expect(forwarded).toContain("us_evt_newer");
    // Raised a second earlier, listed only now; and one another listener acknowledged first.
    flatfile.events.push(event("us_evt_late", new Date(Date.parse(newer) - 1_000).toISOString()));
    flatfile.events.push({ ...event("us_evt_acked", new Date().toISOString()), acknowledgedAt: new Date().toISOString() });
    await pull.pollOnce();
    await pull.pollOnce();
    expect(forwarded.filter((id) => id === "us_evt_late")).toHaveLength(1);
    expect(forwarded.filter((id) => id === "us_evt_acked")).toHaveLength(1);
    expect(forwarded.filter((id) => id === "us_evt_newer")).toHaveLength(1);
    expect(flatfile.requests.filter((r) => r.route === "events.list").every((r) => r.path.includes("includeAcknowledged=true"))).toBe(true);
  });

  it("skips and logs once an event whose createdAt is not a date; the others still go through", async () => {
    const events = [
      event("us_evt_bad", "not a date"),
      event("us_evt_nodate", { $date: 1 }),
      event("us_evt_good", new Date().toISOString()),
      42,
    ];
    const hostile = await startHostileFlatfile((method, path) =>
      method === "GET" && path === "/v1/events" ? { body: { data: events } } : { body: {} },
    );
    try {
      const { pull, forwarded, logged } = recordingPull(hostile.url);
      for (let i = 0; i < 3; i += 1) await pull.pollOnce();
      expect(forwarded).toEqual(["us_evt_good"]);
      expect(pull.status().problem).toBeUndefined();
      expect(logged.filter((line) => line.includes("us_evt_bad"))).toHaveLength(1);
      expect(logged.filter((line) => /not an object/.test(line))).toHaveLength(1);
    } finally {
      await hostile.close();
    }
  });

  it("never moves the cursor past now for an event dated in the year 9999, even across a restart", async () => {
    const events: unknown[] = [event("us_evt_future", "9999-12-31T23:59:59.000Z")];
    const hostile = await startHostileFlatfile((method, path, query) => {
      if (method !== "GET" || path !== "/v1/events") return { body: {} };
      const since = Date.parse(query.get("since") ?? "");
      return { body: { data: events.filter((e) => Date.parse((e as { createdAt: string }).createdAt) >= since) } };
    });
    try {
      const first = recordingPull(hostile.url);
      await first.pull.pollOnce();
      expect(first.forwarded).toEqual(["us_evt_future"]);
      events.push(event("us_evt_after", new Date().toISOString()));
      await first.pull.pollOnce();
      expect(first.forwarded).toEqual(["us_evt_future", "us_evt_after"]);
      await first.pull.stop();
      expect(Date.parse(readCursor(first.cursorFile)!.watermark)).toBeLessThanOrEqual(Date.now());

      const again = recordingPull(hostile.url, {}, first.cursorFile);
      events.push(event("us_evt_later", new Date().toISOString()));
      await again.pull.pollOnce();
      await again.pull.pollOnce();
      expect(again.forwarded).toEqual(["us_evt_later"]);
    } finally {
      await hostile.close();
    }
  });

  it("reads a bounded number of pages per poll from an API that always answers a full page", async () => {
    const page = Array.from({ length: PAGE_SIZE }, (_, i) => event(`us_evt_${i}`, new Date().toISOString()));
    const hostile = await startHostileFlatfile((method, path) =>
      method === "GET" && path === "/v1/events" ? { body: { data: page } } : { body: {} },
    );
    try {
      const { pull, forwarded } = recordingPull(hostile.url);
      const lists = () => hostile.hits.filter((hit) => hit.path.startsWith("/v1/events"));
      const first = await Promise.race([pull.pollOnce(), new Promise((resolve) => setTimeout(() => resolve("still polling"), 10_000))]);
      expect(first).not.toBe("still polling");
      expect(lists().length).toBe(MAX_PAGES_PER_POLL);
      await pull.pollOnce();
      expect(lists().length).toBe(2 * MAX_PAGES_PER_POLL);
      // The scan goes on where it stopped; the same ids are handled once.
      expect(new URL(lists().at(-1)!.path, hostile.url).searchParams.get("pageNumber")).toBe(String(2 * MAX_PAGES_PER_POLL));
      expect(forwarded).toHaveLength(PAGE_SIZE);
    } finally {
      await hostile.close();
    }
  });

  it("says once to check FLATFILE_API_KEY and FLATFILE_ENVIRONMENT_ID on a 401 or 403, and the page says it too", async () => {
    for (const status of [401, 403]) {
      const hostile = await startHostileFlatfile(() => ({ status, body: { errors: [{ message: "Unauthorized" }] } }));
      try {
        const { pull, logged } = recordingPull(hostile.url);
        for (let i = 0; i < 4; i += 1) await pull.pollOnce();
        const advice = logged.filter((line) => line.includes("check FLATFILE_API_KEY and FLATFILE_ENVIRONMENT_ID"));
        expect(advice, logged.join("\n")).toHaveLength(1);
        expect(advice[0]).toContain(`HTTP ${status}`);
        expect(pull.status().problem).toBe(advice[0]);
      } finally {
        await hostile.close();
      }
    }
    const refusing = await startHostileFlatfile(() => ({ status: 401, body: { errors: [{ message: "Unauthorized" }] } }));
    const local = await startLocalRun({
      port: 0,
      env: { FLATFILE_API_KEY: "sk_wrong", FLATFILE_API_URL: refusing.url, FLATFILE_ENVIRONMENT_ID: "us_env_x" },
    });
    try {
      await local.pull!.pollOnce();
      const page = (await (await fetch(`${local.url}/`)).text()).replace(/<[^>]*>/g, "");
      expect(page).toContain("check FLATFILE_API_KEY and FLATFILE_ENVIRONMENT_ID");
    } finally {
      await local.close();
      await refusing.close();
    }
  });
});

describe("npm start in pull mode", () => {
  it("warns, in the log and on the page, when the environment has the relay deployed", async () => {
    await run?.close();
    const relay = await fetch(`${flatfile.url}/agents?environmentId=${DEFAULT_ENVIRONMENT_ID}`, {
      method: "POST",
      headers: { authorization: `Bearer ${flatfile.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ slug: RELAY_AGENT_SLUG, compiler: "js", source: "relay", topics: ["job:ready"] }),
    });
    expect(relay.status).toBe(200);
    const logged: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => void logged.push(String(line)));
    try {
      run = await start();
      await until(() => run!.pull!.status().warning !== undefined, "the relay warning");
      expect(logged.filter((line) => line.includes(RELAY_AGENT_SLUG))).toHaveLength(1);
      expect(logged.join("\n")).toMatch(/has the relay deployed .* answers the same jobs/);
      const page = (await (await fetch(`${run.url}/`)).text()).replace(/<[^>]*>/g, "");
      expect(page).toContain(`slug ${RELAY_AGENT_SLUG}`);
    } finally {
      spy.mockRestore();
      await run?.close();
      run = undefined;
      for (const agent of [...flatfile.agents.values()]) flatfile.agents.delete(agent.id);
    }
  });

  it("does not warn when the environment's only agent is someone else's", async () => {
    await fetch(`${flatfile.url}/agents?environmentId=${DEFAULT_ENVIRONMENT_ID}`, {
      method: "POST",
      headers: { authorization: `Bearer ${flatfile.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ compiler: "js", source: "customer code", topics: ["job:ready"] }),
    });
    run = await start();
    await run.pull!.pollOnce();
    await until(() => flatfile.requests.some((r) => r.route === "agents.list"), "the agents to be listed");
    await run.pull!.pollOnce();
    expect(run.pull!.status().warning).toBeUndefined();
    await run.close();
    run = undefined;
    for (const agent of [...flatfile.agents.values()]) flatfile.agents.delete(agent.id);
  });

  it("stops within a few seconds on SIGTERM while the API keeps answering full pages", async () => {
    const page = Array.from({ length: PAGE_SIZE }, (_, i) => event(`us_evt_${i}`, new Date().toISOString()));
    const hostile = await startHostileFlatfile((method, path) =>
      method === "GET" && path === "/v1/events" ? { body: { data: page } } : { body: {} },
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: "0",
      POWERTOOLS_LOG_LEVEL: "WARN",
      FLATFILE_API_KEY: "sk_hostile",
      FLATFILE_API_URL: hostile.url,
      FLATFILE_ENVIRONMENT_ID: "us_env_hostile",
      LOCAL_STATE_DIR: mkdtempSync(join(tmpdir(), "pull-sigterm-")),
    };
    delete env.FLATFILE_SIGNING_SECRET;
    const child = spawn("npm", ["start"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await until(
        () => /Listening on/.test(output) && hostile.hits.length > MAX_PAGES_PER_POLL,
        `npm start to be polling:\n${output}`,
        45_000,
      );
      const signalled = Date.now();
      child.kill("SIGTERM");
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 8_000))]);
      expect(code, output).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(8_000);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await hostile.close();
    }
  }, 60_000);
});
