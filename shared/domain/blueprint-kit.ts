/**
 * What a blueprint (blueprint/index.ts) builds its definitions from: the input a sheet builder
 * gets, the constraint and freezing helpers, and the reference data's options. Pure, and it imports
 * no blueprint, so both the customer's and the machinery that reads it (./blueprint) can use it.
 */
import type { Flatfile } from "@flatfile/api";
import type { Audience } from "./audience";
import type { CurrencyChoice } from "./currency";
import type { ReferenceData } from "./reference-data";
import { optionLabel } from "./text";

export interface BlueprintInput {
  spaceId: string;
  environmentId: string;
  audience: Audience;
  currency: CurrencyChoice;
  referenceData: ReferenceData;
  actorName?: string;
}

export const required: Flatfile.Constraint = { type: "required" };
export const unique: Flatfile.Constraint = { type: "unique", config: { caseSensitive: false, ignoreEmpty: true } };

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

// ─── Commit-time rule configuration ──────────────────────────────────────────────────────────

export interface UnknownEnumRule {
  sheetSlug: string;
  fieldKey: string;
  /** "extend": add unknown values as options. "flag": leave the options, only report them. */
  mode: "extend" | "flag";
  /** The most options ever added from data to this field (across all commits). */
  maxNewOptions: number;
  /** The most distinct values one scan keeps, whatever the number of records (memory bound). */
  maxScanValues: number;
  /** Values longer than this are never added (they are counted as skipped). */
  maxValueLength: number;
  labelSuffix: string;
}

/** Flatfile's documented limit on an enum field's options (field-types docs). */
export const ENUM_OPTION_LIMIT = 100;
/** Reference categories offered at most; the rest of ENUM_OPTION_LIMIT is room for the data's. */
export const REFERENCE_OPTION_LIMIT = 80;

export interface CategoryOptions {
  options: Flatfile.EnumPropertyOption[];
  /** Categories the reference data listed. */
  total: number;
  /** Why fewer options than categories, when so. */
  capReason?: string;
}

/** The category options from the reference data: capped, labels made plain. */
export function categoryOptions(referenceData: ReferenceData): CategoryOptions {
  const total = referenceData.categories.length;
  const options = referenceData.categories
    .slice(0, REFERENCE_OPTION_LIMIT)
    .map((c) => ({ value: c.value, label: optionLabel(c.label) || optionLabel(c.value) || c.value }));
  const out: CategoryOptions = { options, total };
  if (total > options.length) {
    out.capReason = `The reference data lists ${total} categories. Flatfile allows at most ${ENUM_OPTION_LIMIT} options in a field, and room is kept for ${ENUM_OPTION_LIMIT - REFERENCE_OPTION_LIMIT} categories found in your data, so the first ${options.length} are offered.`;
  }
  return out;
}
