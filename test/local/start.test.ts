/**
 * `npm start` as a person runs it on a fresh clone: no AWS, no Flatfile account. It is started as
 * a real process, sent the signed demo event with `npm run send`, and must answer per the contract.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";

const run = promisify(execFile);
const tsx = join(REPO_ROOT, "node_modules", ".bin", "tsx");

/** The environment of someone with nothing configured. */
function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: "0", POWERTOOLS_LOG_LEVEL: "WARN" };
  for (const key of Object.keys(env)) if (key.startsWith("FLATFILE_") || key.startsWith("AWS_") || key === "IDEMPOTENCY_TABLE" || key === "REFERENCE_DATA_URL") delete env[key];
  return env;
}

let child: ChildProcess;
let url: string;
let sendHint: string;

beforeAll(async () => {
  child = spawn(tsx, ["local/start.ts"], { cwd: REPO_ROOT, env: bareEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const listening = output.match(/Listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const hint = output.match(/npm run send -- (\S+)/);
      if (listening && hint) {
        url = listening[1]!;
        sendHint = hint[1]!;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.on("exit", (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
}, 40_000);

afterAll(() => {
  child?.kill("SIGTERM");
});

describe("npm start", () => {
  it("configures the demo space when sent the signed sample event it printed", async () => {
    const { stdout } = await run(tsx, ["local/send.ts", sendHint], { cwd: REPO_ROOT, env: bareEnv() });
    const [statusLine, ...rest] = stdout.trim().split("\n");
    expect(statusLine).toBe(`200 ${url}/space-configure`);
    const body = JSON.parse(rest.join("\n"));
    expect(body).toMatchObject({ status: "complete", currency: "EUR", audience: "member" });
    expect(body.workbookId).toMatch(/^us_wb_/);

    // The same event again is a replay, not a second workbook.
    const again = await run(tsx, ["local/send.ts", sendHint], { cwd: REPO_ROOT, env: bareEnv() });
    expect(JSON.parse(again.stdout.trim().split("\n").slice(1).join("\n"))).toMatchObject({ replayed: true, workbookId: body.workbookId });
  });

  it("answers 401 to an unsigned event and 404 off the three routes", async () => {
    const unsigned = await fetch(`${url}/space-configure`, { method: "POST", body: "{}" });
    expect(unsigned.status).toBe(401);
    const elsewhere = await fetch(`${url}/admin`, { method: "POST", body: "{}" });
    expect(elsewhere.status).toBe(404);
  });
});
