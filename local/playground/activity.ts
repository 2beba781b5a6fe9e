/**
 * What happened, for the page and `npm run send`: every delivery that reached a route (whoever
 * sent it: a button, `npm run send`, the event pull), each attempt's answer, and the outbound
 * calls the handler made during that attempt, in order.
 *
 * The handlers run in this process (as the local gateway calls them), so the calls are seen by
 * wrapping `globalThis.fetch` once, and the lines printed with `console.*` (the customer's
 * listener's logs) by wrapping the console, each attributed to the attempt through
 * AsyncLocalStorage: the page's own reads run outside any attempt and are not recorded.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { format } from "node:util";
import { redact } from "../../shared/core/logger";
import type { RouteHandler } from "../../shared/core/route";
import type { ServedPath } from "../gateway";

export interface OutboundCall {
  method: string;
  /** Host-less path without the query string: ids, never a key or a record value. */
  path: string;
  /** Where it went: "flatfile", "reference" or the host. */
  target: string;
  status: number | "network error" | "timed out" | "pending";
  ms: number;
  at: number;
}

export interface Attempt {
  at: number;
  status: number | "pending";
  /** The answer's body, cut to a readable length. */
  answer: string;
  ms: number;
  calls: OutboundCall[];
  /** What the handler printed with console.* during the attempt, redacted as the function's log is. */
  logs: string[];
}

export type DeliverySource = "button" | "send" | "pull" | "file" | "unknown";

export interface Delivery {
  eventId: string;
  topic: string;
  job?: string;
  route: string;
  spaceId?: string;
  jobId?: string;
  source: DeliverySource;
  /** What the relay made of it ("delivered after 2 attempts", "gave up: …"), when it went through the relay. */
  relay?: string;
  attempts: Attempt[];
}

const MAX_DELIVERIES = 200;
const MAX_ANSWER = 600;
const MAX_LOG_LINES = 50;
const MAX_LOG_LINE = 500;

export class Activity {
  readonly deliveries: Delivery[] = [];
  /** Space ids in the order they were first seen, newest last. */
  readonly spaces: string[] = [];
  /** Bumped on every change; the page polls it. */
  version = 0;
  private readonly current = new AsyncLocalStorage<Attempt>();
  private readonly sources = new Map<string, DeliverySource>();
  private readonly targets: { prefix: string; name: string }[] = [];

  touch(): void {
    this.version += 1;
  }

  noteSpace(spaceId: string | undefined): void {
    if (!spaceId) return;
    const at = this.spaces.indexOf(spaceId);
    if (at >= 0) return;
    this.spaces.push(spaceId);
    this.touch();
  }

  latestSpace(): string | undefined {
    return this.spaces.at(-1);
  }

  /** Tells the recorder who is about to deliver this event (the gateway only sees a request). */
  expect(eventId: string, source: DeliverySource): void {
    this.sources.set(eventId, source);
    // Kept for every route the event reaches; a template posted by hand is never forgotten, so bounded.
    if (this.sources.size > MAX_DELIVERIES) this.sources.delete(this.sources.keys().next().value!);
  }

  /** An event the relay did not forward: nothing will arrive for it. */
  forget(eventId: string): void {
    this.sources.delete(eventId);
  }

  /** The delivery of an event to `route`, or its first one (the relay sends one event to every route that takes it). */
  delivery(eventId: string, route?: string): Delivery | undefined {
    return this.deliveries.find((d) => d.eventId === eventId && (route === undefined || d.route === route));
  }

  setRelayOutcome(eventId: string, words: string, route?: string): void {
    const delivery = this.delivery(eventId, route);
    if (delivery) delivery.relay = words;
    this.touch();
  }

  /** Names outbound calls by where they go (the Flatfile API, the reference API). */
  nameTarget(urlPrefix: string, name: string): void {
    this.targets.push({ prefix: urlPrefix.replace(/\/+$/, ""), name });
  }

  /** Wraps the route handlers so each request is recorded as an attempt of its event's delivery. */
  recordRoutes<R extends Partial<Record<ServedPath, RouteHandler>>>(routes: R): R {
    const wrapped = {} as Record<string, RouteHandler>;
    for (const [path, handler] of Object.entries(routes) as [ServedPath, RouteHandler][]) {
      wrapped[path] = async (event, context) => {
        const attempt: Attempt = { at: Date.now(), status: "pending", answer: "", ms: 0, calls: [], logs: [] };
        this.attach(path, event.body, event.isBase64Encoded, attempt);
        try {
          const result = await this.current.run(attempt, () => handler(event, context));
          attempt.status = result.statusCode ?? 200;
          attempt.answer = (result.body ?? "").slice(0, MAX_ANSWER);
          return result;
        } catch (error) {
          attempt.status = 500;
          attempt.answer = "the handler crashed";
          throw error;
        } finally {
          attempt.ms = Date.now() - attempt.at;
          this.touch();
        }
      };
    }
    return wrapped as R;
  }

  private attach(route: string, body: string | undefined, base64: boolean, attempt: Attempt): void {
    let event: { id?: unknown; topic?: unknown; context?: Record<string, unknown>; payload?: Record<string, unknown> } = {};
    try {
      const text = base64 ? Buffer.from(body ?? "", "base64").toString("utf8") : (body ?? "");
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object") event = parsed as typeof event;
    } catch {
      // Not JSON: recorded under an unknown id, as the route will answer 400.
    }
    const text = (value: unknown) => (typeof value === "string" ? value.slice(0, 100) : undefined);
    const eventId = text(event.id) ?? "(no id)";
    let delivery = this.delivery(eventId, route);
    if (!delivery) {
      delivery = {
        eventId,
        topic: text(event.topic) ?? "(no topic)",
        job: text(event.payload?.job),
        route,
        spaceId: text(event.context?.spaceId),
        jobId: text(event.context?.jobId),
        source: this.sources.get(eventId) ?? "send",
        attempts: [],
      };
      this.deliveries.push(delivery);
      if (this.deliveries.length > MAX_DELIVERIES) this.deliveries.shift();
      this.noteSpace(delivery.spaceId);
    }
    delivery.attempts.push(attempt);
    this.touch();
  }

  /**
   * Wraps console.* so that a line printed inside an attempt is kept with it, formatted and
   * redacted (shared/core/logger.ts, as functions/listener/console-redaction.ts does on Lambda),
   * and still printed. Returns the undo.
   */
  installConsoleRecorder(): () => void {
    const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
    const originals = methods.map((method) => console[method]);
    const wrappers = methods.map((method, i) => {
      const original = originals[i]!;
      const wrapper = (...args: unknown[]) => {
        const attempt = this.current.getStore();
        if (attempt && attempt.logs.length < MAX_LOG_LINES) {
          attempt.logs.push(redact(format(...args)).slice(0, MAX_LOG_LINE));
          this.touch();
        }
        original.apply(console, args);
      };
      console[method] = wrapper;
      return wrapper;
    });
    return () => {
      methods.forEach((method, i) => {
        if (console[method] === wrappers[i]) console[method] = originals[i]!;
      });
    };
  }

  /** Replaces globalThis.fetch with one that records calls made inside an attempt. Returns the undo. */
  installFetchRecorder(): () => void {
    const original = globalThis.fetch;
    const recorder: typeof fetch = async (input, init) => {
      const attempt = this.current.getStore();
      if (!attempt) return original(input, init);
      const href = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
      const url = new URL(href);
      const target = this.targets.find((t) => href.startsWith(t.prefix));
      const call: OutboundCall = { method, path: url.pathname, target: target?.name ?? url.host, status: "pending", ms: 0, at: Date.now() };
      attempt.calls.push(call);
      this.touch();
      try {
        const response = await original(input, init);
        call.status = response.status;
        return response;
      } catch (error) {
        call.status = (error as Error)?.name === "AbortError" || (error as Error)?.name === "TimeoutError" ? "timed out" : "network error";
        throw error;
      } finally {
        call.ms = Date.now() - call.at;
        this.touch();
      }
    };
    globalThis.fetch = recorder;
    return () => {
      if (globalThis.fetch === recorder) globalThis.fetch = original;
    };
  }
}
