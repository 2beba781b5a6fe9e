/**
 * Pull mode: events from a real Flatfile environment reach the local routes without deploying
 * anything. Each event is handed to the local relay (which routes, signs, delivers and retries it
 * as the deployed relay would) and acknowledged with `events.ack` once it was delivered.
 *
 * It reads the way Flatfile's own poller does (`PollingEventDriver`, flatfile-core-libraries
 * `packages/cli/src/shared/utils/polling.ts`): every poll re-reads a trailing window with
 * `includeAcknowledged: true` and de-duplicates by event id, so an event that becomes visible a
 * little after a newer one, or that someone else acknowledged, is still seen. Unlike that poller it
 * keeps what it handled in a file, so a restart does not handle old events again, and it reads at
 * most MAX_PAGES_PER_POLL pages per poll (a scan that needs more goes on at the next poll).
 *
 * What the API answers is not trusted: an event without an id or a date is skipped and logged;
 * a date in the future never moves the watermark past this machine's clock; bodies are capped.
 *
 * Endpoints: the SDK's `events.list({ environmentId, since, pageSize, pageNumber,
 * includeAcknowledged })` (GET /v1/events) and `events.ack(eventId)` (POST /v1/events/{id}/ack).
 * They are called with fetch rather than the SDK so the relay forwards each event exactly as the
 * API sent it (the SDK turns dates into Date objects).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { PlatformEvent } from "../../infra/relay/forward";
import { normalizeApiUrl } from "../../shared/core/flatfile-client";
import { RELAY_AGENT_SLUG } from "../../shared/core/relay-agent";
import type { Forward } from "./relay";

export interface PullOptions {
  apiUrl?: string;
  apiKey: string;
  environmentId: string;
  /** Where the cursor lives between runs. */
  cursorFile: string;
  forward: Forward;
  intervalMs?: number;
  /** Where to start on the very first run (default: a minute before now, to allow for clock skew). */
  firstSince?: Date;
  log?: (line: string) => void;
}

export interface Cursor {
  /** The newest createdAt handled, never later than this machine's clock when it was read. */
  watermark: string;
  /** Ids already handled or skipped, with the time they count at (ms), for de-duplication. */
  seen: Record<string, number>;
}

export interface PullStatus {
  environmentId: string;
  lastPoll?: string;
  problem?: string;
  /** Set when the environment has our relay deployed: both would answer the same jobs. */
  warning?: string;
  handled: number;
}

export interface EventPull {
  status(): PullStatus;
  /** One poll now (tests); resolves when its events were handled. */
  pollOnce(): Promise<number>;
  /** Stops polling; resolves within STOP_GRACE_MS whatever a poll was doing. */
  stop(): Promise<void>;
}

/** How far back each poll re-reads before the watermark (Flatfile's poller: 5 s). */
export const LOOKBACK_MS = 5_000;
export const PAGE_SIZE = 100;
export const MAX_PAGES_PER_POLL = 5;
/** Ids remembered at most; the oldest go first. */
export const MAX_SEEN = 10_000;
export const STOP_GRACE_MS = 2_000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

class HttpError extends Error {
  constructor(readonly statusCode: number) {
    super(`HTTP ${statusCode}`);
  }
}

const dateMs = (value: unknown): number | undefined => {
  const ms = typeof value === "string" ? Date.parse(value) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

export function readCursor(file: string, now = Date.now()): Cursor | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    // The earlier format ({ since, seenAtSince }) carries on as a watermark with its ids.
    const at = dateMs(parsed.watermark ?? parsed.since);
    if (at === undefined) return undefined;
    const watermark = Math.min(at, now);
    const seen: Record<string, number> = {};
    if (parsed.seen && typeof parsed.seen === "object" && !Array.isArray(parsed.seen)) {
      for (const [id, time] of Object.entries(parsed.seen)) if (typeof time === "number" && Number.isFinite(time)) seen[id] = time;
    } else if (Array.isArray(parsed.seenAtSince)) {
      for (const id of parsed.seenAtSince) if (typeof id === "string") seen[id] = watermark;
    }
    return { watermark: new Date(watermark).toISOString(), seen };
  } catch {
    // A damaged cursor starts afresh, like a first run.
  }
  return undefined;
}

function writeCursor(file: string, cursor: Cursor): void {
  mkdirSync(dirname(file), { recursive: true });
  // Written whole then renamed: a stop mid-write leaves the previous cursor, never half of one.
  writeFileSync(`${file}.tmp`, JSON.stringify(cursor));
  renameSync(`${file}.tmp`, file);
}

async function readCapped(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`the answer is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describeFailure(error: unknown, what = "events.list"): string {
  if (error instanceof HttpError && (error.statusCode === 401 || error.statusCode === 403))
    return `Flatfile refused ${what} (HTTP ${error.statusCode}): check FLATFILE_API_KEY and FLATFILE_ENVIRONMENT_ID`;
  return `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
}

/** An event fit to hand on, or why not. */
function checkEvent(raw: unknown, now: number): { event: PlatformEvent; id: string; at: number } | { skip: string; id?: string } {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return { skip: "an event that is not an object" };
  const event = raw as PlatformEvent & { createdAt?: unknown };
  const id = typeof event.id === "string" && event.id.length > 0 && event.id.length <= 200 ? event.id : undefined;
  if (!id) return { skip: "an event without an id" };
  const at = dateMs(event.createdAt);
  if (at === undefined) return { skip: `event ${JSON.stringify(id)}: its createdAt is not a date`, id };
  // A date ahead of this clock counts as now: it may be handled, never move the watermark ahead.
  return { event, id, at: Math.min(at, now) };
}

export function startEventPull(options: PullOptions): EventPull {
  const base = normalizeApiUrl(options.apiUrl);
  const headers = { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" };
  const stopping = new AbortController();
  const log = (line: string) => options.log?.(line);

  async function call(method: string, path: string): Promise<unknown> {
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]);
    const response = await fetch(`${base}${path}`, { method, headers, signal, redirect: "error" });
    const text = await readCapped(response, MAX_BODY_BYTES);
    if (!response.ok) throw new HttpError(response.status);
    return text ? JSON.parse(text) : undefined;
  }
  async function listEvents(since: string, pageNumber: number): Promise<unknown[]> {
    const search = new URLSearchParams({
      environmentId: options.environmentId,
      since,
      includeAcknowledged: "true",
      pageSize: String(PAGE_SIZE),
      pageNumber: String(pageNumber),
    });
    const answer = (await call("GET", `/events?${search}`)) as { data?: unknown } | undefined;
    if (!Array.isArray(answer?.data)) throw new Error("the answer has no list of events");
    return answer.data;
  }

  let warning: string | undefined;
  // A deployed relay in this environment answers the same jobs as these local routes would.
  async function lookForRelay(): Promise<void> {
    const answer = (await call("GET", `/agents?${new URLSearchParams({ environmentId: options.environmentId })}`)) as
      | { data?: unknown }
      | undefined;
    const agents = Array.isArray(answer?.data) ? (answer.data as { id?: unknown; slug?: unknown }[]) : [];
    const relay = agents.find((agent) => agent?.slug === RELAY_AGENT_SLUG);
    if (!relay) return;
    warning =
      `Environment ${options.environmentId} has the relay deployed (agent ${String(relay.id)}, slug ${RELAY_AGENT_SLUG}): ` +
      "it answers the same jobs as these local routes. Use a development environment without the relay.";
    log(`warning: ${warning}`);
  }
  void lookForRelay().catch((error: unknown) => {
    // A refused key is for the polls to report, once.
    const refused = error instanceof HttpError && (error.statusCode === 401 || error.statusCode === 403);
    if (!stopped && !refused)
      log(`could not list the environment's agents to look for a deployed relay: ${describeFailure(error, "agents.list")}`);
  });

  const cursor: Cursor = readCursor(options.cursorFile) ?? {
    watermark: (options.firstSince ?? new Date(Date.now() - 60_000)).toISOString(),
    seen: {},
  };
  /** A scan reads every page for one `since`; one that needs more pages than a poll reads goes on at the next. */
  let scan: { since: string; nextPage: number; newest: number } | undefined;
  let lastPoll: string | undefined;
  let problem: string | undefined;
  let failures = 0;
  let handled = 0;
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Each skipped event is logged once, not at every poll that reads it again.
  const skipsLogged = new Set<string>();

  function remember(id: string, at: number): void {
    cursor.seen[id] = at;
  }

  function prune(): void {
    const horizon = Date.parse(cursor.watermark) - 2 * LOOKBACK_MS;
    let entries = Object.entries(cursor.seen).filter(([, at]) => at >= horizon);
    if (entries.length > MAX_SEEN) entries = entries.sort((a, b) => b[1] - a[1]).slice(0, MAX_SEEN);
    cursor.seen = Object.fromEntries(entries);
    if (skipsLogged.size > MAX_SEEN) skipsLogged.clear();
  }

  async function poll(): Promise<number> {
    const now = Date.now();
    scan ??= {
      since: new Date(Math.min(Date.parse(cursor.watermark), now) - LOOKBACK_MS).toISOString(),
      nextPage: 1,
      newest: Date.parse(cursor.watermark),
    };
    const fresh = new Map<string, { event: PlatformEvent; at: number }>();
    let complete = false;
    for (let page = 0; page < MAX_PAGES_PER_POLL && !stopped; page += 1) {
      const data = await listEvents(scan.since, scan.nextPage);
      scan.nextPage += 1;
      for (const raw of data) {
        const checked = checkEvent(raw, now);
        if ("skip" in checked) {
          if (checked.id && cursor.seen[checked.id] !== undefined) continue;
          if (!skipsLogged.has(checked.skip)) log(`skipped ${checked.skip}`);
          skipsLogged.add(checked.skip);
          if (checked.id) remember(checked.id, now);
          continue;
        }
        // Older than any window read (an API that ignores `since`): handled already, or never ours to handle.
        if (checked.at < Date.parse(scan.since) - LOOKBACK_MS) continue;
        if (cursor.seen[checked.id] === undefined && !fresh.has(checked.id)) fresh.set(checked.id, checked);
      }
      if (data.length < PAGE_SIZE) {
        complete = true;
        break;
      }
    }
    const ordered = [...fresh.entries()].sort((a, b) => a[1].at - b[1].at);
    let count = 0;
    for (const [id, { event, at }] of ordered) {
      if (stopped) break;
      try {
        const outcome = await options.forward(event, "pull");
        if (outcome.kind !== "ignored") {
          await call("POST", `/events/${encodeURIComponent(id)}/ack`).catch((error: unknown) => {
            log(`could not acknowledge ${id}: ${error instanceof Error ? error.message : String(error)}`);
          });
          handled += 1;
        }
      } catch (error) {
        log(`event ${id} could not be delivered and is skipped: ${error instanceof Error ? error.message : String(error)}`);
      }
      remember(id, at);
      scan.newest = Math.max(scan.newest, at);
      count += 1;
      writeCursor(options.cursorFile, cursor);
    }
    if (complete && !stopped) {
      cursor.watermark = new Date(Math.min(scan.newest, now)).toISOString();
      scan = undefined;
    }
    prune();
    writeCursor(options.cursorFile, cursor);
    return count;
  }

  function pollOnce(): Promise<number> {
    running ??= poll()
      .then((count) => {
        if (problem) log("events.list answers again");
        problem = undefined;
        failures = 0;
        return count;
      })
      .catch((error: unknown) => {
        if (stopped) return 0;
        failures += 1;
        const next = describeFailure(error);
        // Said once while it lasts, on the page and in the log, not at every poll.
        if (next !== problem) log(next);
        problem = next;
        return 0;
      })
      .finally(() => {
        lastPoll = new Date().toISOString();
        running = undefined;
      });
    return running;
  }

  const interval = options.intervalMs ?? 1_000;
  const loop = async () => {
    if (stopped) return;
    await pollOnce();
    const delay = failures ? Math.min(interval * 2 ** Math.min(failures, 10), MAX_BACKOFF_MS) : interval;
    if (!stopped) timer = setTimeout(loop, delay);
  };
  timer = setTimeout(loop, 0);

  return {
    status: () => ({ environmentId: options.environmentId, lastPoll, problem, warning, handled }),
    pollOnce,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      stopping.abort();
      // A delivery in flight is the relay's to finish or give up; the process need not wait for it.
      let grace: NodeJS.Timeout | undefined;
      await Promise.race([running, new Promise((resolve) => (grace = setTimeout(resolve, STOP_GRACE_MS)))]);
      clearTimeout(grace);
    },
  };
}
