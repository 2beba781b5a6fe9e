/**
 * `npm start`: the three routes on 127.0.0.1:3000 (PORT to change), calling the Lambda handlers.
 *
 * Without FLATFILE_API_KEY it embeds the Flatfile stand-in with a seeded demo Space and a freshly
 * generated signing secret, and writes signed-ready demo events: no AWS and no Flatfile account.
 * With FLATFILE_API_KEY (and FLATFILE_SIGNING_SECRET) it talks to the real Flatfile API.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { startFlatfileStandIn } from "./flatfile-stand-in";
import { startGateway } from "./gateway";
import { routes } from "./routes";
import { SESSION_FILE, type LocalSession } from "./session";

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 3000);
  const embedded = !process.env.FLATFILE_API_KEY;
  const cleanups: (() => Promise<void>)[] = [];
  let demo: { eventsDir: string; eventFile: string } | undefined;

  if (embedded) {
    const flatfile = await startFlatfileStandIn({ port: Number(process.env.FLATFILE_STANDIN_PORT ?? 0) });
    cleanups.push(() => flatfile.close());
    process.env.FLATFILE_API_KEY = flatfile.apiKey;
    process.env.FLATFILE_API_URL = flatfile.url;
    process.env.FLATFILE_SIGNING_SECRET ??= `whsec_${randomBytes(24).toString("hex")}`;
    delete process.env.FLATFILE_SECRET_ID;
    delete process.env.IDEMPOTENCY_TABLE;

    const space = flatfile.seed.space({ name: "Demo space", metadata: { locale: "de-DE" } });
    const user = flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" });
    const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    const eventsDir = join(dirname(SESSION_FILE), "demo-events");
    mkdirSync(eventsDir, { recursive: true });
    const event = {
      id: `us_evt_${randomBytes(5).toString("hex")}`,
      topic: "job:ready",
      domain: "job",
      createdAt: new Date().toISOString(),
      context: { accountId: space.accountId ?? "us_acc_local0001", environmentId: space.environmentId, spaceId: space.id, jobId: job.id, actorId: user.id },
      payload: { job: "space:configure", info: null, domain: "space", status: "ready", operation: "configure", isPart: false },
    };
    const eventFile = join(eventsDir, "space-configure.json");
    writeFileSync(eventFile, JSON.stringify(event, null, 2));
    demo = { eventsDir, eventFile };
    console.log(`Embedded Flatfile stand-in at ${flatfile.url} with a demo Space ${space.id} (locale de-DE).`);
  } else if (!process.env.FLATFILE_SIGNING_SECRET) {
    console.error("FLATFILE_API_KEY is set, so the real Flatfile API is used: set FLATFILE_SIGNING_SECRET too.");
    process.exit(2);
  }

  const gateway = await startGateway({ port, routes });
  cleanups.push(() => gateway.close());
  console.log(`Listening on ${gateway.url}: POST /space-configure, /action-job, /commit-created`);
  if (demo) {
    // Written once the port is known (PORT=0 picks a free one), for `npm run send`.
    const session: LocalSession = { url: gateway.url, signingSecret: process.env.FLATFILE_SIGNING_SECRET!, eventsDir: demo.eventsDir };
    writeFileSync(SESSION_FILE, JSON.stringify(session, null, 2), { mode: 0o600 });
    console.log(`Send a signed sample event:  npm run send -- ${relative(process.cwd(), demo.eventFile)}`);
  } else {
    console.log("Send a signed event:  npm run send -- <event.json>   (signs with FLATFILE_SIGNING_SECRET)");
  }
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
