/**
 * `npm run send`: drives the running `npm start` from the command line, as the page's buttons do
 * (configure, commit, duplicate, submit, or a signed event file); exit code 1 when the job failed
 * or the delivery was refused. Usage: USAGE below, and the README's "Set up and try it locally".
 */
import { existsSync, readFileSync } from "node:fs";
import { signPayload } from "../shared/core/signature";
import { routesFor, servedRoutes, type RoutedEvent } from "../shared/routes";
import { DEFAULT_ROLE, SHEET_ROLES, sheetNameOf } from "./playground/blueprint";
import type { FlowResult } from "./playground/flows";
import { sessionFile, type LocalSession } from "./session";

const FLOWS = ["configure", "commit", "duplicate", "submit"] as const;
/** Every route npm start serves, the customer's listener's too. */
const SERVED = servedRoutes({ listener: true });
const USAGE = `usage: npm run send -- configure|commit|duplicate|submit [options]   or   npm run send -- <event.json>
  configure  --locale fr-CH  --country JP  --currency BHD  --creator member|staff|guest|unknown  --reference ok|slow|failing|none
  commit     --valid N  --invalid N  --sheet ${SHEET_ROLES.join("|")}   (default: 3 valid ${sheetNameOf(DEFAULT_ROLE)} records)
  any        --space us_sp_…  --url http://127.0.0.1:3000  (a file also takes --route ${SERVED.map((r) => r.name).join("|")})`;

/** The path of `--route`: a route's name (`listener`) or its path (`/listener`). */
function routePath(given: string): string {
  const route = SERVED.find((r) => r.name === given || r.path === given);
  if (!route) throw new Exit(2, `--route ${given}: not a route npm start serves (${SERVED.map((r) => r.name).join(", ")})`);
  return route.path;
}

/** Which of our routes a file's event goes to, as the relay decides it (without loading the handlers). */
function routeForEvent(event: unknown): string {
  const routed = (typeof event === "object" && event !== null ? event : {}) as RoutedEvent;
  const route = routesFor(routed)[0];
  if (!route)
    throw new Exit(
      2,
      `No route takes this event (topic ${routed.topic}), so the relay would not forward it: give --route to post it anyway`,
    );
  return route.path;
}

class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function parseArgs(argv: string[]): { positional: string[]; options: Record<string, string> } {
  const positional: string[] = [];
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) {
      positional.push(arg);
      continue;
    }
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Exit(2, `--${name} needs a value\n${USAGE}`);
    options[name] = value;
  }
  return { positional, options };
}

function readSession(): Partial<LocalSession> {
  try {
    return existsSync(sessionFile()) ? (JSON.parse(readFileSync(sessionFile(), "utf8")) as LocalSession) : {};
  } catch {
    return {};
  }
}

async function reach(base: string): Promise<{ mode: string; latestSpace: string | null }> {
  try {
    const answer = await fetch(`${base}/playground/state`, { signal: AbortSignal.timeout(5_000) });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    return (await answer.json()) as { mode: string; latestSpace: string | null };
  } catch {
    throw new Exit(2, `No npm start answers at ${base}: run \`npm start\` first (in another terminal), or set PORT to where it listens.`);
  }
}

async function post(url: string, body: string, contentType: string): Promise<{ status: number; text: string }> {
  const answer = await fetch(url, { method: "POST", headers: { "content-type": contentType, accept: "application/json" }, body });
  return { status: answer.status, text: await answer.text() };
}

function errorOf(text: string): string {
  try {
    return String((JSON.parse(text) as { error?: unknown }).error ?? text);
  } catch {
    return text;
  }
}

async function runFlow(base: string, flow: (typeof FLOWS)[number], options: Record<string, string>): Promise<number> {
  const body: Record<string, string | number> = {};
  if (options.space) body.space = options.space;
  let path: string = flow;
  if (flow === "configure") {
    for (const key of ["locale", "country", "currency", "creator", "reference"]) if (options[key]) body[key] = options[key]!;
  } else if (flow === "commit") {
    path = "records";
    const given = options.valid !== undefined || options.invalid !== undefined;
    Object.assign(body, {
      op: "add",
      add: options.valid ?? (given ? "0" : "3"),
      invalid: options.invalid ?? "0",
      sheet: options.sheet ?? DEFAULT_ROLE,
    });
  }
  const unknown = Object.keys(options).filter(
    (k) => !["space", "url", "locale", "country", "currency", "creator", "reference", "valid", "invalid", "sheet"].includes(k),
  );
  if (unknown.length) throw new Exit(2, `Unknown option --${unknown[0]}\n${USAGE}`);
  const answer = await post(`${base}/playground/${path}`, JSON.stringify(body), "application/json");
  if (answer.status !== 200) throw new Exit(2, `${flow}: ${errorOf(answer.text)}`);
  const result = JSON.parse(answer.text) as FlowResult;
  for (const line of result.lines) console.log(line);
  console.log(
    result.ok
      ? `✓ ${flow} done (event ${result.eventId})`
      : `✗ ${flow} did not go through: ${result.job?.status === "failed" ? "the job failed" : result.delivery}`,
  );
  console.log(`See it at ${base}/?space=${result.spaceId}`);
  return result.ok ? 0 : 1;
}

async function sendFile(base: string, file: string, options: Record<string, string>, session: Partial<LocalSession>): Promise<number> {
  let body = readFileSync(file, "utf8");
  if (/\{\{\w+\}\}/.test(body)) {
    const filled = await post(`${base}/playground/fill`, body, "application/json");
    if (filled.status !== 200) throw new Exit(2, `Could not fill the template ${file}: ${errorOf(filled.text)}`);
    body = filled.text;
    const event = JSON.parse(body) as { id?: string; context?: { spaceId?: string } };
    console.log(`Filled ${file} for Space ${event.context?.spaceId}: event ${event.id}`);
  }
  const secret = process.env.FLATFILE_SIGNING_SECRET ?? session.signingSecret;
  if (!secret)
    throw new Exit(2, `No signing secret: set FLATFILE_SIGNING_SECRET, or start the local run first (npm start writes ${sessionFile()}).`);
  let route = options.route === undefined ? undefined : routePath(options.route);
  if (!route) {
    let event: unknown;
    try {
      event = JSON.parse(body);
    } catch {
      throw new Exit(2, `${file} is not JSON: give --route to post it anyway`);
    }
    route = routeForEvent(event);
  }
  const url = `${base}${route}`;
  const answer = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-flatfile-signature": signPayload(body, secret) },
    body,
  });
  console.log(`${answer.status} ${url}`);
  console.log(await answer.text());
  return answer.ok ? 0 : 1;
}

async function main(): Promise<number> {
  const { positional, options } = parseArgs(process.argv.slice(2));
  const session = readSession();
  const base = (
    options.url ??
    (process.env.PORT ? `http://127.0.0.1:${process.env.PORT}` : session.url) ??
    "http://127.0.0.1:3000"
  ).replace(/\/+$/, "");
  const target = positional[0];
  const state = await reach(base);
  if (!target) throw new Exit(2, USAGE);
  if ((FLOWS as readonly string[]).includes(target)) {
    if (state.mode !== "embedded")
      throw new Exit(
        2,
        `npm start at ${base} is in ${state.mode} mode: the flows drive the embedded stand-in (start it without FLATFILE_API_KEY)`,
      );
    return runFlow(base, target as (typeof FLOWS)[number], options);
  }
  if (!existsSync(target)) throw new Exit(2, `${target} is neither a flow (${FLOWS.join(", ")}) nor a file\n${USAGE}`);
  return sendFile(base, target, options, session);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(error instanceof Exit ? error.code : 1);
  },
);
