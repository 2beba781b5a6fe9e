/**
 * Signs a Flatfile event file and posts it to the local gateway:
 *   npm run send -- local/events/space-configure.json [--route /space-configure] [--url http://127.0.0.1:3000]
 * The signing secret comes from FLATFILE_SIGNING_SECRET, or from the session file `npm start` writes.
 */
import { existsSync, readFileSync } from "node:fs";
import { signPayload } from "../shared/core/signature";
import { routeForEvent } from "./routes";
import { SESSION_FILE, type LocalSession } from "./session";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const route = option("--route");
  const urlOption = option("--url");
  const file = args[0];
  if (!file) {
    console.error("usage: npm run send -- <event.json> [--route /space-configure] [--url http://127.0.0.1:3000]");
    process.exit(2);
  }
  const session: Partial<LocalSession> = existsSync(SESSION_FILE) ? JSON.parse(readFileSync(SESSION_FILE, "utf8")) : {};
  const secret = process.env.FLATFILE_SIGNING_SECRET ?? session.signingSecret;
  if (!secret) {
    console.error(`No signing secret: set FLATFILE_SIGNING_SECRET or start the local run first (npm start writes ${SESSION_FILE}).`);
    process.exit(2);
  }
  const body = readFileSync(file, "utf8");
  const url = `${urlOption ?? session.url ?? "http://127.0.0.1:3000"}${route ?? routeForEvent(JSON.parse(body))}`;
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-flatfile-signature": signPayload(body, secret) },
    body,
  });
  console.log(`${response.status} ${url}`);
  console.log(await response.text());
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
