/**
 * One bounded GET of the reference-data API, so it can neither flood our memory nor send us
 * elsewhere: the answer's text, or a
 * `ReferenceFetchFailure` whose message is safe to show in the guide. Bounded three ways:
 *   - time: the whole call, body included, within `budgetMs`, even when an injected fetch or
 *     body stream ignores the abort signal;
 *   - size: the body is read from the stream with a running count and abandoned as soon as it
 *     passes `maxChars`, whether or not the server sent a Content-Length (a streaming answer
 *     grew the process by 600 MB before this);
 *   - place: redirects are followed by hand, within the configured URL's origin only (at most
 *     MAX_REDIRECTS); a redirect to any other origin, a downgrade to http included, is a failure,
 *     so categories are never attributed to the configured URL when another server sent them.
 */

export class ReferenceFetchFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ReferenceFetchFailure";
  }
}

export const MAX_REDIRECTS = 3;

export interface BoundedFetchOptions {
  fetch: typeof fetch;
  budgetMs: number;
  /** The body's limit, in characters as decoded. */
  maxChars: number;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || error.name === "TimeoutError");
}

/** Rejects when `signal` aborts, even if `work` ignores the signal (an injected fetch may). */
function racing<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new DOMException("aborted", "AbortError"));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function discard(response: Response): void {
  void response.body?.cancel().catch(() => undefined);
}

const isRedirect = (status: number) => status >= 300 && status < 400;

/** The body as text, read chunk by chunk; stops reading (and cancels the stream) past `maxChars`. */
async function readCapped(response: Response, maxChars: number, signal: AbortSignal): Promise<string> {
  const body = response.body;
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await racing(reader.read(), signal);
      if (done) break;
      text += decoder.decode(value, { stream: true });
      if (text.length > maxChars) {
        throw new ReferenceFetchFailure(`the reference API answer is too large (more than ${maxChars} characters)`);
      }
    }
    text += decoder.decode();
  } catch (error) {
    void reader.cancel().catch(() => undefined);
    throw error;
  }
  // The reader is not released: nothing reads this body again, and on Node 24 `releaseLock()`
  // makes and formats a TypeError, whose first formatted stack in a process decodes the whole
  // source map under --enable-source-maps (tens of ms between two rounds of a configure).
  if (text.length > maxChars) throw new ReferenceFetchFailure(`the reference API answer is too large (more than ${maxChars} characters)`);
  return text;
}

export async function fetchReferenceText(url: URL, options: BoundedFetchOptions): Promise<string> {
  const { budgetMs, maxChars } = options;
  const signal = AbortSignal.timeout(budgetMs);
  try {
    let target = url;
    for (let hop = 0; ; hop += 1) {
      const response = await racing(
        options.fetch(target.href, { method: "GET", headers: { accept: "application/json" }, redirect: "manual", signal }),
        signal,
      );
      if (isRedirect(response.status) || response.type === "opaqueredirect") {
        discard(response);
        const location = response.headers.get("location");
        let next: URL | undefined;
        try {
          next = location ? new URL(location, target) : undefined;
        } catch {
          next = undefined;
        }
        if (!next) throw new ReferenceFetchFailure(`the reference API answered HTTP ${response.status} without a usable redirect`);
        if (next.origin !== url.origin) {
          throw new ReferenceFetchFailure("the reference API redirected to another origin, which is not followed");
        }
        if (hop >= MAX_REDIRECTS) throw new ReferenceFetchFailure(`the reference API redirected more than ${MAX_REDIRECTS} times`);
        target = next;
        continue;
      }
      if (!response.ok) {
        discard(response);
        throw new ReferenceFetchFailure(`the reference API answered HTTP ${response.status}`);
      }
      const length = Number(response.headers.get("content-length") ?? "0");
      if (length > maxChars) {
        // Told in advance: not even started.
        discard(response);
        throw new ReferenceFetchFailure(`the reference API answer is too large (${length} bytes)`);
      }
      return await readCapped(response, maxChars, signal);
    }
  } catch (error) {
    if (error instanceof ReferenceFetchFailure) throw error;
    if (isAbort(error) || signal.aborted) throw new ReferenceFetchFailure(`the reference API timed out after ${budgetMs} ms`);
    const cause = error instanceof Error ? error.message : String(error);
    throw new ReferenceFetchFailure(`the reference API could not be reached (${cause.slice(0, 120)})`);
  }
}
