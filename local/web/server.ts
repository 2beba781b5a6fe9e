/**
 * The playground's HTTP side, served beside the routes by the local gateway (its `fallback`):
 *   GET  /                       the page (the latest Space, or ?space=<id>)
 *   GET  /playground/live        the live part of the page, 204 when nothing changed (?since=<version>)
 *   GET  /playground/state       what happened, as JSON (for `npm run send` and tests)
 *   POST /playground/configure | records | duplicate | submit   the buttons (and `npm run send -- <flow>`)
 *   POST /playground/fill        an event template filled with the latest Space's ids
 * A form post is answered 303 to the page at once, the delivery going on in the background; a
 * JSON post waits and answers the flow's result. Anything else is left to the gateway (404).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FlatfileApi } from "../../shared/core/flatfile-client";
import type { Activity } from "../playground/activity";
import { rolesInWords, SHEET_ROLES } from "../playground/blueprint";
import { CREATORS, FlowError, type Creator, type Playground, type RecordsInput, type Started } from "../playground/flows";
import { REFERENCE_MODES, type ReferenceMode } from "../playground/reference-api";
import { PAGE_CSP, renderLive, renderPage, type PageInput } from "./page";
import { readSpaceView, type SpaceView } from "./view";
import type { SubmissionView } from "../playground/submissions";
import type { Invocation } from "../lambda-stand-in";

export interface WebOptions {
  activity: Activity;
  /** Reads what the page shows (the stand-in, or the real API in pull mode). */
  api: FlatfileApi;
  mode: PageInput["mode"];
  /** The flows behind the buttons (embedded mode only). */
  playground?: Playground;
  pull?: () => PageInput["pull"];
  /** What Submit delivered to the local S3 and EventBridge. */
  submissions?: () => Promise<SubmissionView[]>;
  /** The local Lambda's invocations (the action-job worker's runs). */
  invocations?: () => readonly Invocation[];
}

/** Sent on every answer of the local server (the gateway sends them on its own answers too). */
export const LOCAL_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": PAGE_CSP,
  "x-content-type-options": "nosniff",
};

const MAX_FORM_BYTES = 1024 * 1024;
/** A rendered Space is reused this long when nothing was delivered in between. */
const VIEW_MAX_AGE_MS = 5_000;

type Fields = Record<string, string | string[] | undefined>;

async function readFields(request: IncomingMessage): Promise<{ fields: Fields; raw: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw new FlowError("The request body is too large");
    chunks.push(chunk as Buffer);
  }
  const raw = Buffer.concat(chunks).toString("utf8");
  if ((request.headers["content-type"] ?? "").includes("application/json")) {
    if (!raw) return { fields: {}, raw };
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new FlowError("Expected a JSON object");
    const fields: Fields = {};
    for (const [key, value] of Object.entries(parsed)) {
      fields[key] = Array.isArray(value) ? value.map(String) : value === null || value === undefined ? undefined : String(value);
    }
    return { fields, raw };
  }
  const fields: Fields = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const seen = fields[key];
    fields[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return { fields, raw };
}

const one = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value)?.trim() || undefined;
const many = (value: string | string[] | undefined) =>
  (value === undefined ? [] : Array.isArray(value) ? value : value.split(",")).map((v) => v.trim()).filter(Boolean);
const count = (value: string | string[] | undefined) => {
  const n = Number(one(value) ?? 0);
  if (!Number.isInteger(n) || n < 0 || n > 1000) throw new FlowError("Record counts must be whole numbers from 0 to 1000");
  return n;
};

function recordsInput(fields: Fields): RecordsInput {
  const op = one(fields.op) ?? "add";
  const recordIds = many(fields.recordId);
  const sheet = one(fields.sheet);
  if (sheet && !SHEET_ROLES.includes(sheet)) throw new FlowError(`Unknown sheet ${sheet}: ${rolesInWords()}`);
  const input: RecordsInput = { spaceId: one(fields.space), sheet: sheet as RecordsInput["sheet"], sheetId: one(fields.sheetId) };
  if (op === "add") return { ...input, add: count(fields.add), invalid: count(fields.invalid) };
  if (op === "fix") return { ...input, fix: recordIds };
  if (op === "break") return { ...input, breakIds: recordIds };
  if (op === "delete") return { ...input, remove: recordIds };
  throw new FlowError(`Unknown records operation ${op}: add, fix, break or delete`);
}

export function createWebHandler(options: WebOptions): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const { activity } = options;
  let cached: { spaceId: string; version: number; at: number; view: SpaceView } | undefined;

  async function spaceView(spaceId: string | undefined): Promise<SpaceView | undefined> {
    if (!spaceId) return undefined;
    if (cached && cached.spaceId === spaceId && cached.version === activity.version && Date.now() - cached.at < VIEW_MAX_AGE_MS)
      return cached.view;
    const version = activity.version;
    const jobIds = [...new Set(activity.deliveries.filter((d) => d.spaceId === spaceId && d.jobId).map((d) => d.jobId!))];
    // An answer shaped in a way nobody foresaw shows as a problem, not as a broken page.
    const view = await readSpaceView(options.api, spaceId, jobIds).catch(
      (error: unknown): SpaceView => ({
        ...{ id: spaceId, name: spaceId, metadata: {}, workbooks: [], jobs: [] },
        problems: [`the Space: ${error instanceof Error ? error.message : String(error)}`],
      }),
    );
    cached = { spaceId, version, at: Date.now(), view };
    return view;
  }

  async function pageInput(url: URL): Promise<PageInput> {
    const spaceId = url.searchParams.get("space") || activity.latestSpace();
    return {
      mode: options.mode,
      spaceId,
      space: await spaceView(spaceId),
      spaces: activity.spaces,
      deliveries: activity.deliveries,
      results: options.playground?.results ?? [],
      version: activity.version,
      pull: options.pull?.(),
      submissions: (await options.submissions?.()) ?? [],
      invocations: options.invocations?.() ?? [],
    };
  }

  function send(response: ServerResponse, status: number, body: string, type: string, extra: Record<string, string> = {}): true {
    response.writeHead(status, { ...LOCAL_SECURITY_HEADERS, "content-type": type, "cache-control": "no-store", ...extra });
    response.end(body);
    return true;
  }

  const json = (response: ServerResponse, status: number, body: unknown) =>
    send(response, status, JSON.stringify(body, null, 2), "application/json");

  function start(flow: string, fields: Fields): Started {
    const playground = options.playground;
    if (!playground) throw new FlowError("The buttons drive the embedded stand-in: start without FLATFILE_API_KEY to use them");
    switch (flow) {
      case "configure": {
        const creator = one(fields.creator) ?? "member";
        const reference = one(fields.reference) ?? "ok";
        if (!CREATORS.includes(creator as Creator)) throw new FlowError(`Unknown creator ${creator}: one of ${CREATORS.join(", ")}`);
        if (!REFERENCE_MODES.includes(reference as ReferenceMode))
          throw new FlowError(`Unknown reference API mode ${reference}: one of ${REFERENCE_MODES.join(", ")}`);
        return playground.configure({
          locale: one(fields.locale),
          country: one(fields.country),
          currency: one(fields.currency),
          creator: creator as Creator,
          reference: reference as ReferenceMode,
        });
      }
      case "records":
        return playground.records(recordsInput(fields));
      case "duplicate":
        return playground.duplicate({ spaceId: one(fields.space) });
      case "submit":
        return playground.submit({ spaceId: one(fields.space) });
      default:
        throw new FlowError(`Unknown flow ${flow}`);
    }
  }

  return async (request, response) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const host = (request.headers.host ?? "").replace(/:\d+$/, "");
    // Only this machine's names: a page elsewhere cannot read it through DNS rebinding.
    if (host !== "127.0.0.1" && host !== "localhost") return false;
    const method = request.method ?? "GET";

    if (method === "GET" && url.pathname === "/") {
      return send(response, 200, renderPage(await pageInput(url)), "text/html; charset=utf-8");
    }
    if (method === "GET" && url.pathname === "/playground/live") {
      const since = Number(url.searchParams.get("since"));
      const spaceId = url.searchParams.get("space") || activity.latestSpace();
      const fresh = cached && cached.spaceId === spaceId && Date.now() - cached.at < VIEW_MAX_AGE_MS;
      if (since === activity.version && fresh) return send(response, 204, "", "text/plain");
      return send(response, 200, renderLive(await pageInput(url)), "text/html; charset=utf-8");
    }
    if (method === "GET" && url.pathname === "/playground/state") {
      return json(response, 200, {
        version: activity.version,
        mode: options.mode,
        latestSpace: activity.latestSpace() ?? null,
        spaces: activity.spaces,
        deliveries: activity.deliveries,
        results: options.playground?.results ?? [],
        pull: options.pull?.() ?? null,
        submissions: (await options.submissions?.()) ?? [],
      });
    }
    const flow = /^\/playground\/(configure|records|duplicate|submit|fill)$/.exec(url.pathname)?.[1];
    if (method !== "POST" || !flow) return false;

    // A form on another site cannot press the buttons (browsers send Origin on cross-site posts).
    const origin = request.headers.origin;
    if (origin && !/^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(origin))
      return json(response, 403, { error: "cross-site request refused" });
    const wantsJson = (request.headers.accept ?? "").includes("application/json");
    try {
      const { fields, raw } = await readFields(request);
      if (flow === "fill") {
        if (!options.playground) throw new FlowError("Templates are filled from the embedded stand-in: start without FLATFILE_API_KEY");
        return send(response, 200, options.playground.fill(raw), "application/json");
      }
      const started = start(flow, fields);
      if (wantsJson) return json(response, 200, await started.done);
      // The page shows the delivery as it goes; an error is on the page too, in the results.
      started.done.catch(() => undefined);
      return send(response, 303, "", "text/plain", { location: `/?space=${encodeURIComponent(started.spaceId)}` });
    } catch (error) {
      const message =
        error instanceof FlowError || error instanceof SyntaxError ? error.message : "The playground failed: see the npm start output";
      if (!(error instanceof FlowError) && !(error instanceof SyntaxError)) console.error(error);
      if (wantsJson || flow === "fill") return json(response, 400, { error: message });
      return send(
        response,
        400,
        `<!doctype html><meta charset="utf-8"><p>${message.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)}</p><p><a href="/">Back</a></p>`,
        "text/html; charset=utf-8",
      );
    }
  };
}
