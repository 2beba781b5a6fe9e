/**
 * `npm start` and `npm run send` as a person runs them on a fresh clone (no AWS, no Flatfile
 * account), as real processes: each flow and each event template against a running npm start, a
 * second npm start on a taken port, `send` with nothing running, and SIGTERM to `npm start`.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";
import { sheetList } from "../support/blueprint";

/** The environment of someone with nothing configured; state in a folder of its own. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, POWERTOOLS_LOG_LEVEL: "WARN", ...extra };
  for (const key of Object.keys(env)) {
    if (
      key.startsWith("FLATFILE_") ||
      key.startsWith("AWS_") ||
      key === "IDEMPOTENCY_TABLE" ||
      key === "REFERENCE_DATA_URL" ||
      key === "PORT"
    )
      delete env[key];
  }
  return { ...env, ...extra };
}

const stateDir = mkdtempSync(join(tmpdir(), "npm-start-"));
let child: ChildProcess;
let exited: Promise<number | null>;
let url: string;
let port: number;

function startNpm(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exited: Promise<number | null>;
} {
  const started = spawn("npm", ["start"], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  started.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  started.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<number | null>((resolve) => started.on("exit", (code) => resolve(code)));
  return { child: started, output: () => ({ stdout, stderr }), exited: done };
}

function send(
  args: string[],
  env: NodeJS.ProcessEnv = bareEnv({ LOCAL_STATE_DIR: stateDir }),
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile("npm", ["run", "--silent", "send", "--", ...args], { cwd: REPO_ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/**
 * For a test that runs `npm run send` several times: each is a new npm + tsx process, a few seconds
 * on a loaded machine (the four sends of the first test took 20 s beside two CPU burners).
 */
const SENDS_TIMEOUT_MS = 120_000;

const portOpen = (p: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(p, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

beforeAll(async () => {
  const npm = startNpm(bareEnv({ PORT: "0", LOCAL_STATE_DIR: stateDir }));
  child = npm.child;
  exited = npm.exited;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const listening = npm.output().stdout.match(/Listening on (http:\/\/127\.0\.0\.1:(\d+))/);
      if (listening) {
        clearInterval(timer);
        url = listening[1]!;
        port = Number(listening[2]);
        resolve();
      }
    }, 100);
    void npm.exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`npm start exited (${code}):\n${JSON.stringify(npm.output())}`));
    });
  });
}, 60_000);

afterAll(() => {
  if (child.exitCode === null) child.kill("SIGKILL");
});

describe("npm run send against a running npm start", () => {
  it(
    "runs configure, commit, duplicate and submit on the latest Space, saying what happened",
    async () => {
      const configure = await send(["configure", "--locale", "fr-CH"]);
      expect(configure.stdout).toMatch(/Space us_sp_\w+ created by a member with locale fr-CH/);
      expect(configure.stdout).toContain(`complete: Space ready · ${sheetList()} ready · prices in CHF`);
      expect(configure.code).toBe(0);

      const commit = await send(["commit"]);
      expect(commit.stdout).toMatch(/Contacts: added 3 records \(0 in error\)/);
      expect(commit.stdout).toMatch(/Contacts: 3 records, 0 in error/);
      expect(commit.code).toBe(0);

      const duplicate = await send(["duplicate"]);
      expect(duplicate.stdout).toMatch(/Next: Open the copy → us_sh_/);
      expect(duplicate.stdout).toMatch(/Contacts: 3 records, 0 in error \(locked\)/);
      expect(duplicate.code).toBe(0);

      const submit = await send(["submit"]);
      expect(submit.stdout).toMatch(/complete/);
      expect(submit.code).toBe(0);
    },
    SENDS_TIMEOUT_MS,
  );

  it(
    "exits non-zero when the job failed",
    async () => {
      expect((await send(["configure", "--currency", "JPY", "--creator", "guest"])).code).toBe(0);
      const commit = await send(["commit", "--invalid", "2"]);
      expect(commit.stdout).toMatch(/added 2 records \(2 in error\)/);
      const submit = await send(["submit"]);
      expect(submit.stdout).toMatch(/failed: Action needed · Nothing was submitted/);
      expect(submit.stdout).toMatch(/✗ submit did not go through: the job failed/);
      expect(submit.code).toBe(1);
    },
    SENDS_TIMEOUT_MS,
  );

  it(
    "sends each file in local/events, filled with the latest Space's ids, in order (found by PORT)",
    async () => {
      for (const [name, route] of [
        ["space-configure", "/space-configure"],
        ["commit-created", "/commit-created"],
        ["action-duplicate", "/action-job"],
        ["action-submit", "/action-job"],
      ]) {
        const sent = await send([`local/events/${name}.json`], bareEnv({ LOCAL_STATE_DIR: stateDir, PORT: String(port) }));
        expect(sent.stdout).toContain(`200 ${url}${route}`);
        expect(sent.stdout).toMatch(/"status":"complete"|"counts"/);
        expect(sent.code).toBe(0);
      }
      // The customer's listener takes any event sent to it by name: the example completes its own job.
      const listener = await send(["local/events/listener-action.json", "--route", "listener"]);
      expect(listener.stdout).toContain(`200 ${url}/listener`);
      expect(listener.stdout).toMatch(/"job":"complete"/);
      expect(listener.code).toBe(0);
    },
    SENDS_TIMEOUT_MS,
  );
});

describe("starting and stopping", () => {
  it("refuses a second npm start on the same port with one line, touching nothing of the first", async () => {
    const session = readFileSync(join(stateDir, "local-session.json"), "utf8");
    const second = startNpm(bareEnv({ PORT: String(port), LOCAL_STATE_DIR: stateDir }));
    expect(await second.exited).not.toBe(0);
    expect(second.output().stderr.trim()).toBe(`port ${port} is in use: is another npm start running? Set PORT to choose another`);
    expect(readFileSync(join(stateDir, "local-session.json"), "utf8")).toBe(session);
    expect((await fetch(`${url}/playground/state`)).status).toBe(200);
  }, 30_000);

  it("npm run send with nothing running says to run npm start first", async () => {
    const nothing = await send(["configure"], bareEnv({ LOCAL_STATE_DIR: mkdtempSync(join(tmpdir(), "no-start-")), PORT: "9" }));
    expect(nothing.stderr).toMatch(/No npm start answers at http:\/\/127\.0\.0\.1:9: run `npm start` first/);
    expect(nothing.code).toBe(2);
  });

  it("stops on SIGTERM to the npm start process itself, freeing its port and removing its session file", async () => {
    child.kill("SIGTERM");
    await exited;
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(join(stateDir, "local-session.json"))).toBe(false);
  }, 20_000);
});
