/**
 * Reference data from an external API (the Orders categories): the shapes it may answer in and the
 * bundled list. Never throws: anything short of a good answer gives the bundled list and a reason.
 * The fetch is shared/core/reference-data-source.ts; accepted answers: docs/design.md#reference-data.
 */
import * as z from "zod/mini";
import "../core/zod-locale";

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
