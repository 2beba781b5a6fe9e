/**
 * Every HTTP call the customer's listener makes goes through the global fetch: the SDK's clients
 * built by the plugins use it, and `event.fetch` reaches it through `cross-fetch` (replaced by a
 * shim over the global fetch in the bundle and the tests). This wraps it once, and only calls made
 * inside a dispatch (an AsyncLocalStorage scope, which a callback's later calls still carry) are
 * changed: our own calls outside a scope go through untouched.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { logger } from "../../shared/core/logger";

/** One call the listener made, as logged: never a body, a query or a header. */
export interface ListenerCall {
  method: string;
  path: string;
  /** The answer's status; 0 when none came (refused, aborted, network error). */
  status: number;
  ms: number;
  /** Why the call got no answer, if so. */
  refused?: string;
}

export interface DispatchScope {
  /** The only origin the listener may call: FLATFILE_API_URL's. */
  readonly origin: string;
  /** Aborted at the deadline: calls in flight end, later ones are refused. */
  readonly signal: AbortSignal;
  readonly calls: ListenerCall[];
  /**
   * Runs before a call is sent, with its body when that is text. A reason it answers, or an error
   * it throws, refuses the call: it never reaches Flatfile (the listener's ack of its job is
   * recorded this way first, as our routes record theirs; a raw failure message is held back).
   */
  readonly beforeSend?: (call: Readonly<ListenerCall>, body: string | undefined) => Promise<string | undefined>;
}

const scopes = new AsyncLocalStorage<DispatchScope>();
let original: typeof fetch | undefined;

/** The headers of a call, less those Node's fetch refuses or computes itself. */
function cleanHeaders(input: RequestInfo | URL, init: RequestInit | undefined): Headers {
  const headers = new Headers(input instanceof Request ? input.headers : undefined);
  new Headers(init?.headers).forEach((value, key) => {
    headers.set(key, value);
  });
  // @flatfile/api 1.23.1 sends `Keep-Alive: timeout=200`, which undici refuses before sending
  // (`invalid keep-alive header`); event.update sets a Content-Length fetch computes anyway.
  headers.delete("keep-alive");
  headers.delete("content-length");
  return headers;
}

function urlOf(input: RequestInfo | URL): URL {
  return new URL(input instanceof Request ? input.url : input instanceof URL ? input.href : String(input));
}

function refusal(message: string): TypeError {
  // fetch rejects with a TypeError for anything that is not an HTTP answer; callers expect that.
  return new TypeError(message);
}

async function scopedFetch(scope: DispatchScope, input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const started = Date.now();
  let url: URL;
  try {
    url = urlOf(input);
  } catch {
    throw refusal("the listener's fetch was given an address that is not a URL");
  }
  const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
  // Listed from its start, so that one still in flight at the deadline is seen (status 0).
  const call: ListenerCall = { method, path: url.pathname, status: 0, ms: 0 };
  scope.calls.push(call);
  const finish = (extra: Partial<ListenerCall>) => {
    Object.assign(call, extra, { ms: Date.now() - started });
    const log = call.status >= 400 || call.refused ? logger.warn.bind(logger) : logger.info.bind(logger);
    log("listener call", { ...call });
  };
  if (url.origin !== scope.origin) {
    finish({ path: "(another origin)", refused: "another origin than FLATFILE_API_URL" });
    throw refusal("the listener may call only the Flatfile API it was given (FLATFILE_API_URL)");
  }
  if (scope.signal.aborted) {
    finish({ refused: "after the deadline" });
    throw refusal("the listener's time for this event is over");
  }
  const body = init?.body ?? (input instanceof Request ? input.body : undefined);
  if (scope.beforeSend) {
    let held: string | undefined;
    try {
      held = await scope.beforeSend(call, typeof body === "string" ? body : undefined);
    } catch {
      held = "could not be recorded first";
    }
    if (held) {
      finish({ refused: held });
      throw refusal(`the listener's call was not sent: ${held}`);
    }
  }
  const signals = init?.signal ? AbortSignal.any([scope.signal, init.signal]) : scope.signal;
  try {
    const response = await (original as typeof fetch)(url.href, {
      ...init,
      method,
      headers: cleanHeaders(input, init),
      body,
      signal: signals,
      ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
    } as RequestInit);
    finish({ status: response.status });
    return response;
  } catch (error) {
    finish({ refused: scope.signal.aborted ? "aborted at the deadline" : error instanceof Error ? error.name : "failed" });
    throw error;
  }
}

/** Replaces the global fetch with one that changes only calls made inside `withinDispatch`. */
export function installFetchShim(): void {
  if (original) return;
  original = globalThis.fetch;
  globalThis.fetch = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const scope = scopes.getStore();
    return scope ? scopedFetch(scope, input, init) : (original as typeof fetch)(input, init);
  } as typeof fetch;
}

/** Runs `work` as listener code: its calls (and those of anything it starts) go through `scope`. */
export function withinDispatch<T>(scope: DispatchScope, work: () => Promise<T>): Promise<T> {
  installFetchShim();
  return scopes.run(scope, work);
}
