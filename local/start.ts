/**
 * `npm start`: the routes (shared/routes.ts) and the playground page on 127.0.0.1:3000 (PORT to change). What
 * runs in each mode is in local-run.ts. Stops cleanly on SIGINT and SIGTERM (the npm script
 * `exec`s node, so a signal to `npm start` reaches this process).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { servedRoutes } from "../shared/routes";
import { ConfigError, startLocalRun } from "./local-run";
import { sessionFile, type LocalSession } from "./session";

const STOP_DEADLINE_MS = 4_000;

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const run = await startLocalRun({ port });
  const file = sessionFile();
  const session: LocalSession = { url: run.url, signingSecret: run.signingSecret, pid: process.pid, mode: run.mode };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(session, null, 2), { mode: 0o600 });

  console.log(`Playground: ${run.url}/`);
  console.log(
    `Listening on ${run.url}: POST ${servedRoutes({ listener: true })
      .map((route) => route.path)
      .join(", ")}`,
  );
  if (run.mode === "embedded") {
    console.log("Embedded Flatfile stand-in. Try:  npm run send -- configure --locale fr-CH   (then commit, duplicate, submit)");
  } else if (run.mode === "pull") {
    console.log(`Pulling events from Flatfile environment ${process.env.FLATFILE_ENVIRONMENT_ID} and delivering them here.`);
    console.log("A deployed relay in the same environment answers the same jobs: use a development environment.");
  } else {
    console.log("Send a signed event:  npm run send -- <event.json>   (signs with FLATFILE_SIGNING_SECRET)");
  }

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Whatever is still running (a delivery the relay is retrying, a slow API), the process goes.
    await Promise.race([run.close(), new Promise((resolve) => setTimeout(resolve, STOP_DEADLINE_MS))]);
    try {
      // Only our own session file: another npm start on another port may have written its own.
      if ((JSON.parse(readFileSync(file, "utf8")) as LocalSession).pid === process.pid) rmSync(file);
    } catch {
      // already gone
    }
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  // A taken port or a bad setting is one line; anything else too, but it is a bug worth reporting.
  process.exit(error instanceof ConfigError ? 2 : 1);
});
