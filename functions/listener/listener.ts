/**
 * The customer's listener (`listener/index.ts`, ordinary `@flatfile/listener` code) behind our
 * route pipeline: the verified event is handed to a `FlatfileListener` the module registered on,
 * within the invocation's deadline, with every HTTP call it makes logged by method, path and
 * status, held to FLATFILE_API_URL's origin and aborted at the deadline (fetch-shim.ts).
 */
import { FlatfileEvent as ListenerEvent, FlatfileListener } from "@flatfile/listener";
import { ConfigurationError } from "../../shared/core/config";
import { BadRequestError } from "../../shared/core/errors";
import type { FlatfileEvent } from "../../shared/core/envelope";
import { DEFAULT_FLATFILE_API_URL } from "../../shared/core/flatfile-client";
import { logger } from "../../shared/core/logger";
import { claimAsDeclared, FINALIZE_RESERVE_MS, type RouteDeps, type RouteSpec } from "../../shared/core/route";
import { LISTENER_ROUTE } from "../../shared/routes";
import { withinDispatch, type ListenerCall } from "./fetch-shim";

/** What `listener/index.ts` default-exports, as a hosted agent's entry does. */
export type ListenerModule = { default: (listener: FlatfileListener) => void };
export type LoadListener = () => Promise<unknown>;

/**
 * The register function of an imported module: its default export, also when the import went
 * through CommonJS interop and `default` is the whole module.
 */
export function registerOf(module: unknown): ListenerModule["default"] {
  let exported = (module as { default?: unknown } | undefined)?.default;
  if (typeof exported !== "function") exported = (exported as { default?: unknown } | undefined)?.default;
  if (typeof exported !== "function") {
    throw new ConfigurationError("listener/index.ts must default-export a function (listener: FlatfileListener) => void");
  }
  return exported as ListenerModule["default"];
}

/**
 * FLATFILE_API_URL as the plugins want it: without `/v1`, which their clients append (a base
 * ending in `/v1` gives `/v1/v1/...`), and without a trailing slash.
 */
export function listenerApiBase(apiUrl: string | undefined): string {
  return (apiUrl ?? DEFAULT_FLATFILE_API_URL).replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * The event's `dataUrl` as `event.data` and `event.update` use it: a path relative to the API
 * base (`v1/sheets/<id>/records?commitId=<id>`), since `@flatfile/listener` prefixes it with the
 * base. A relative one is resolved against the base; one that leads elsewhere is refused.
 */
export function relativeDataUrl(dataUrl: string, apiBase: string): string {
  const base = new URL(`${apiBase}/`);
  let url: URL;
  try {
    url = new URL(dataUrl, base);
  } catch {
    throw new BadRequestError("event dataUrl is not a URL");
  }
  if (url.origin !== base.origin || !url.pathname.startsWith(base.pathname)) {
    throw new BadRequestError("event dataUrl points outside the Flatfile API this deployment calls");
  }
  return `${url.pathname.slice(base.pathname.length)}${url.search}`;
}

function dataUrlOf(event: FlatfileEvent): string | undefined {
  const dataUrl = (event as { dataUrl?: unknown }).dataUrl;
  if (dataUrl === undefined || dataUrl === null || dataUrl === "") return undefined;
  if (typeof dataUrl !== "string") throw new BadRequestError("event dataUrl must be text");
  return dataUrl;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(ms, 0)).unref?.());

export interface ListenerRun {
  /** How many of the listener's callbacks took the event. */
  handlers: number;
  calls: ListenerCall[];
  /** The deadline passed before the listener's callbacks had all returned. */
  timedOut: boolean;
}

/** Hands `event` to a listener built from `register`, and waits for it until `until`. */
export async function dispatchToListener(
  register: ListenerModule["default"],
  event: Record<string, unknown>,
  options: { accessToken: string; apiBase: string; until: number },
): Promise<ListenerRun> {
  const listener = FlatfileListener.create(register);
  listener.setVariables({ accessToken: options.accessToken, apiUrl: `${options.apiBase}/` });
  const controller = new AbortController();
  const calls: ListenerCall[] = [];
  const scope = { origin: new URL(options.apiBase).origin, signal: controller.signal, calls };
  // Built only to ask which callbacks the event reaches; dispatchEvent builds its own.
  const handlers = listener.getListeners(new ListenerEvent(event as never, "", `${options.apiBase}/`), true).length;
  const dispatch = withinDispatch(scope, () => listener.dispatchEvent(event)).then(() => "done" as const);
  const outcome = await Promise.race([dispatch, sleep(options.until - Date.now()).then(() => "deadline" as const)]);
  // At the deadline whatever the listener still has in flight is aborted, and its later calls refused.
  if (outcome === "deadline") controller.abort();
  return { handlers, calls, timedOut: outcome === "deadline" };
}

/** The route, running the module `load` imports (the repo's `listener/index.ts` by default). */
export function createListenerRoute(load: LoadListener): RouteSpec {
  return {
    name: LISTENER_ROUTE.name,
    claim: (event) => claimAsDeclared(LISTENER_ROUTE, event, () => event.id),
    validate(event) {
      const dataUrl = dataUrlOf(event);
      if (dataUrl) relativeDataUrl(dataUrl, listenerApiBase(process.env.FLATFILE_API_URL));
    },
    async handle(event: FlatfileEvent, deps: RouteDeps): Promise<Record<string, unknown>> {
      const apiBase = listenerApiBase(deps.settings.apiUrl);
      // The plugins build their clients when the module is imported, from these variables;
      // the token is read per request.
      process.env.FLATFILE_API_URL = apiBase;
      process.env.FLATFILE_BEARER_TOKEN = deps.settings.apiKey;
      const register = registerOf(await load());
      const dataUrl = dataUrlOf(event);
      const handed = { ...event, ...(dataUrl ? { dataUrl: relativeDataUrl(dataUrl, apiBase) } : {}) };
      const run = await dispatchToListener(register, handed, {
        accessToken: deps.settings.apiKey,
        apiBase,
        until: deps.deadline - FINALIZE_RESERVE_MS,
      });
      logger.info("listener ran", { handlers: run.handlers, calls: run.calls.length, timedOut: run.timedOut });
      return {
        handlers: run.handlers,
        calls: run.calls.map(({ method, path, status }) => `${method} ${path} ${status}`),
        ...(run.timedOut ? { timedOut: true } : {}),
      };
    },
  };
}

// Imported on the first event, once the variables above are set; the import is cached after that.
export const listenerRoute: RouteSpec = createListenerRoute(() => import("../../listener/index.js"));
