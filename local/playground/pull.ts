/**
 * Pull mode: events from a real Flatfile environment reach the local routes without deploying
 * anything, as `flatfile develop` does for hosted listeners. Polls `events.list` for the
 * environment since the last event seen, hands each event to the local relay (which routes,
 * signs, delivers and retries it as the deployed relay would), acknowledges it with
 * `events.ack`, and keeps its cursor in a file so a restart does not handle old events again.
 *
 * Source for the endpoints: the SDK's `events.list({ environmentId, since, pageSize, pageNumber,
 * includeAcknowledged })` (GET /v1/events) and `events.ack(eventId)` (POST /v1/events/{id}/ack);
 * the docs name polling `events.list` as one of the ways events reach code
 * (../../shared/flatfile-notes.md, "Events"). They are called with fetch rather than the SDK so
 * the relay forwards each event exactly as the API sent it (the SDK turns dates into Date objects).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { normalizeApiUrl } from "../../shared/core/flatfile-client";
import type { PlatformEvent } from "../../infra/relay/forward";
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
  /** createdAt of the newest event handled. */
  since: string;
  /** Ids handled at exactly `since` (the API's `since` may include it). */
  seenAtSince: string[];
}

export interface EventPull {
  status(): { environmentId: string; lastPoll?: string; problem?: string; handled: number };
  /** One poll now (tests); resolves when its events were handled. */
  pollOnce(): Promise<number>;
  stop(): Promise<void>;
}

const PAGE_SIZE = 100;

export function readCursor(file: string): Cursor | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as Partial<Cursor>;
    if (typeof parsed.since === "string" && Array.isArray(parsed.seenAtSince))
      return { since: parsed.since, seenAtSince: parsed.seenAtSince.map(String) };
  } catch {
    // A damaged cursor starts afresh, like a first run.
  }
  return undefined;
}

function writeCursor(file: string, cursor: Cursor): void {
  mkdirSync(dirname(file), { recursive: true });
  // Written whole then renamed: a stop mid-write leaves the previous cursor, never half of one.
  writeFileSync(`${file}.tmp`, JSON.stringify(cursor, null, 2));
  renameSync(`${file}.tmp`, file);
}

function createdAt(event: object): string {
  const value = (event as { createdAt?: unknown }).createdAt;
  return value instanceof Date ? value.toISOString() : typeof value === "string" ? new Date(value).toISOString() : "";
}

export function startEventPull(options: PullOptions): EventPull {
  const base = normalizeApiUrl(options.apiUrl);
  const headers = { authorization: `Bearer ${options.apiKey}`, "content-type": "application/json" };
  async function call(method: string, path: string): Promise<unknown> {
    const response = await fetch(`${base}${path}`, { method, headers, signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { statusCode: response.status });
    return text ? JSON.parse(text) : undefined;
  }
  const events = {
    async list(query: { since: string; pageNumber: number }): Promise<{ data: PlatformEvent[] }> {
      const search = new URLSearchParams({
        environmentId: options.environmentId,
        since: query.since,
        pageSize: String(PAGE_SIZE),
        pageNumber: String(query.pageNumber),
      });
      const answer = (await call("GET", `/events?${search}`)) as { data?: unknown };
      return { data: Array.isArray(answer?.data) ? (answer.data as PlatformEvent[]) : [] };
    },
    ack: (id: string) => call("POST", `/events/${encodeURIComponent(id)}/ack`),
  };
  let cursor: Cursor = readCursor(options.cursorFile) ?? {
    since: (options.firstSince ?? new Date(Date.now() - 60_000)).toISOString(),
    seenAtSince: [],
  };
  let lastPoll: string | undefined;
  let problem: string | undefined;
  let handled = 0;
  let stopped = false;
  let running: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function poll(): Promise<number> {
    const fresh: PlatformEvent[] = [];
    for (let pageNumber = 1; ; pageNumber += 1) {
      const { data } = await events.list({ since: cursor.since, pageNumber });
      for (const event of data) {
        const at = createdAt(event);
        if (!at || at < cursor.since || (at === cursor.since && cursor.seenAtSince.includes(String(event.id)))) continue;
        fresh.push(event);
      }
      if (data.length < PAGE_SIZE) break;
    }
    fresh.sort((a, b) => createdAt(a).localeCompare(createdAt(b)));
    for (const event of fresh) {
      if (stopped) break;
      const outcome = await options.forward(event, "pull");
      if (outcome.kind !== "ignored") {
        await events.ack(String(event.id)).catch((error: unknown) => {
          options.log?.(`could not acknowledge ${String(event.id)}: ${error instanceof Error ? error.message : String(error)}`);
        });
        handled += 1;
      }
      const at = createdAt(event);
      cursor = { since: at, seenAtSince: at === cursor.since ? [...cursor.seenAtSince, String(event.id)] : [String(event.id)] };
      writeCursor(options.cursorFile, cursor);
    }
    return fresh.length;
  }

  function pollOnce(): Promise<number> {
    running ??= poll()
      .then((count) => {
        problem = undefined;
        return count;
      })
      .catch((error: unknown) => {
        const status = (error as { statusCode?: number }).statusCode;
        problem = `events.list failed: ${status ? `HTTP ${status}` : error instanceof Error ? error.message : String(error)}`;
        options.log?.(problem);
        return 0;
      })
      .finally(() => {
        lastPoll = new Date().toISOString();
        running = undefined;
      });
    return running;
  }

  const loop = async () => {
    if (stopped) return;
    await pollOnce();
    if (!stopped) timer = setTimeout(loop, options.intervalMs ?? 1_000);
  };
  timer = setTimeout(loop, 0);

  return {
    status: () => ({ environmentId: options.environmentId, lastPoll, problem, handled }),
    pollOnce,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
