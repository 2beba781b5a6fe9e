/**
 * Reference data from an external API, fetched while a Space is configured: the order
 * categories offered in the Orders sheet. Never throws: anything short of a good answer in time
 * gives the bundled default list and a plain-language reason.
 *
 * Accepted response (JSON, HTTP 2xx, at most 1 M characters, read with a running count so a
 * longer one is abandoned as it streams; redirects only within the URL's origin), any of:
 *   { "categories": [{ "value": "hw", "label": "Hardware" }, ...] }   label optional (defaults to value)
 *   { "categories": ["Hardware", "Software"] }                        value = label = the string
 *   [{ "value": "hw", "label": "Hardware" }, ...]  or  ["Hardware", "Software"]
 * Values and labels are trimmed; empty values are dropped, duplicates keep the first; 1 to 500
 * categories, each value and label at most 200 characters. Extra keys are ignored.
 *
 * Good answers are cached per URL in module scope for `ttlMs` (default 5 min), so warm Lambda
 * invocations skip the call. Failures are remembered for 5 s at most, so a down API costs one
 * wait per burst rather than one per event. When a refresh fails within an hour of a good
 * answer, that answer is served (marked stale in `detail`) rather than the bundled list.
 */
import * as z from "zod/mini";
import "../core/zod-locale";
import { fetchReferenceText, ReferenceFetchFailure } from "../core/reference-fetch";

export interface Category {
  value: string;
  label: string;
}

export interface ReferenceData {
  categories: Category[];
  source: "remote" | "bundled";
  /** Where and when it came from, or why the bundled list is in use. Safe to show to users. */
  detail: string;
}

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
const MAX_CATEGORIES = 500;
const MAX_TEXT = 200;

/** Used when the reference API is not configured or gives no good answer in time. */
export const BUNDLED_CATEGORIES: readonly Category[] = Object.freeze(
  [
    { value: "hardware", label: "Hardware" },
    { value: "software", label: "Software" },
    { value: "services", label: "Services" },
    { value: "subscriptions", label: "Subscriptions" },
    { value: "other", label: "Other" },
  ].map((c) => Object.freeze(c)),
);

const text = z.string().check(z.trim(), z.maxLength(MAX_TEXT));
const CategoryItem = z.union([
  z.pipe(
    text,
    z.transform((value: string) => ({ value, label: value })),
  ),
  z.pipe(
    z.object({ value: text, label: z.optional(text) }),
    z.transform(({ value, label }: { value: string; label?: string | undefined }) => ({ value, label: label || value })),
  ),
]);
const CategoryList = z.array(CategoryItem).check(z.maxLength(MAX_CATEGORIES * 2));

/** The accepted response shapes (see the module comment), normalised to `Category[]`. */
export const ReferenceResponse = z.pipe(
  z.pipe(
    z.union([CategoryList, z.object({ categories: CategoryList })]),
    z.transform((parsed: Category[] | { categories: Category[] }) => {
      const items = Array.isArray(parsed) ? parsed : parsed.categories;
      const seen = new Set<string>();
      const out: Category[] = [];
      for (const item of items) {
        if (!item.value || seen.has(item.value)) continue;
        seen.add(item.value);
        out.push(item);
      }
      return out;
    }),
  ),
  z.array(z.object({ value: z.string(), label: z.string() })).check(z.minLength(1, "no categories"), z.maxLength(MAX_CATEGORIES)),
);

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
