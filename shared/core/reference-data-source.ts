/**
 * The reference data source: the one GET (./reference-fetch.ts), parsed by the domain's shapes
 * (shared/domain/reference-data.ts), with a cache. Never throws: anything short of a good answer
 * in time gives the bundled default list and a plain-language reason.
 *
 * Good answers are cached per URL in module scope for `ttlMs` (default 5 min), so warm Lambda
 * invocations skip the call. Failures are remembered for 5 s at most, so a down API costs one
 * wait per burst rather than one per event. When a refresh fails within an hour of a good
 * answer, that answer is served (marked stale in `detail`) rather than the bundled list.
 */
import { BUNDLED_CATEGORIES, type Category, type ReferenceData, ReferenceResponse } from "../domain/reference-data";
import { fetchReferenceText, ReferenceFetchFailure } from "./reference-fetch";

export interface LoadReferenceDataOptions {
  /** Time allowed for the call, body included. Default 1500 ms, at most 2000 ms. */
  budgetMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
  /** How long a good answer is reused. Default 5 minutes. */
  ttlMs?: number;
}

export const DEFAULT_BUDGET_MS = 1_500;
export const MAX_BUDGET_MS = 2_000;
export const DEFAULT_TTL_MS = 5 * 60_000;
const FAILURE_TTL_MS = 5_000;
const MAX_STALE_MS = 60 * 60_000;
const MAX_BODY_CHARS = 1024 * 1024;

interface CacheEntry {
  data: ReferenceData;
  fetchedAt: number;
  expiresAt: number;
}
interface FailureEntry {
  reason: string;
  until: number;
}

const goodAnswers = new Map<string, CacheEntry>();
const recentFailures = new Map<string, FailureEntry>();

/** Forgets every cached answer and failure (for tests). */
export function resetReferenceDataCache(): void {
  goodAnswers.clear();
  recentFailures.clear();
}

function bundled(reason: string): ReferenceData {
  return { categories: BUNDLED_CATEGORIES.map((c) => ({ ...c })), source: "bundled", detail: `bundled default: ${reason}` };
}

function copy(data: ReferenceData, detail = data.detail): ReferenceData {
  return { categories: data.categories.map((c) => ({ ...c })), source: data.source, detail };
}

/** The URL without credentials, query or fragment: what may appear in a guide or a log. */
function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

class Failure extends Error {}

async function fetchCategories(url: URL, fetchImpl: typeof fetch, budgetMs: number): Promise<Category[]> {
  let body: string;
  try {
    // Bounded in time and size, and never read from another origin (shared/core/reference-fetch.ts).
    body = await fetchReferenceText(url, { fetch: fetchImpl, budgetMs, maxChars: MAX_BODY_CHARS });
  } catch (error) {
    throw new Failure(error instanceof ReferenceFetchFailure ? error.message : `the reference API failed (${String(error).slice(0, 120)})`);
  }
  if (body.length > MAX_BODY_CHARS) throw new Failure(`the reference API answer is too large (${body.length} characters)`);
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new Failure("the reference API answered with invalid JSON");
  }
  const parsed = ReferenceResponse.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    throw new Failure(`the reference API answered with an unexpected shape (${where}${issue?.message ?? "invalid"})`);
  }
  return parsed.data;
}

function clampBudget(budgetMs: number | undefined): number {
  if (budgetMs === undefined) return DEFAULT_BUDGET_MS;
  if (!Number.isFinite(budgetMs)) return budgetMs > 0 ? MAX_BUDGET_MS : 0;
  return Math.max(0, Math.min(MAX_BUDGET_MS, Math.floor(budgetMs)));
}

export async function loadReferenceData(url: string | undefined, opts: LoadReferenceDataOptions = {}): Promise<ReferenceData> {
  try {
    return await load(url, opts);
  } catch (error) {
    // Not expected; the contract is never to throw.
    return bundled(`the reference data could not be loaded (${error instanceof Error ? error.message : String(error)})`);
  }
}

async function load(rawUrl: string | undefined, opts: LoadReferenceDataOptions): Promise<ReferenceData> {
  const now = opts.now ?? Date.now;
  const ttlMs = Math.max(0, opts.ttlMs ?? DEFAULT_TTL_MS);
  if (!rawUrl?.trim()) return bundled("no reference API is configured");
  let url: URL;
  try {
    url = new URL(rawUrl.trim());
  } catch {
    return bundled("the reference API URL is not a valid URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return bundled(`the reference API URL must be http(s), not ${url.protocol}`);

  const key = url.href;
  const started = now();
  const cached = goodAnswers.get(key);
  if (cached && started < cached.expiresAt) return copy(cached.data);

  const fresh = (reason: string): ReferenceData => {
    if (cached && started - cached.fetchedAt < MAX_STALE_MS) {
      return copy(cached.data, `${cached.data.detail} (stale: ${reason})`);
    }
    return bundled(reason);
  };

  const failed = recentFailures.get(key);
  if (failed && started < failed.until) return fresh(failed.reason);

  const budgetMs = clampBudget(opts.budgetMs);
  if (budgetMs <= 0) return fresh("there was no time left to call the reference API");

  try {
    const categories = await fetchCategories(url, opts.fetch ?? fetch, budgetMs);
    const fetchedAt = now();
    const data: ReferenceData = { categories, source: "remote", detail: `${displayUrl(url)} at ${new Date(fetchedAt).toISOString()}` };
    recentFailures.delete(key);
    if (ttlMs > 0) goodAnswers.set(key, { data, fetchedAt, expiresAt: fetchedAt + ttlMs });
    return copy(data);
  } catch (error) {
    const reason = error instanceof Failure ? error.message : `the reference API failed (${String(error)})`;
    recentFailures.set(key, { reason, until: now() + FAILURE_TTL_MS });
    return fresh(reason);
  }
}
