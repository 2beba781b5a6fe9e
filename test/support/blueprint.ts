/**
 * The blueprint as the flow suites see it: names, roles and records derived from the definitions
 * in place (blueprint/index.ts, or the second blueprint in the "second-blueprint" project), so a
 * suite asserts what the blueprint says rather than the example's Contacts and Orders.
 */
import type { Flatfile } from "@flatfile/api";
import type { Audience } from "../../shared/domain/audience";
import { buildWorkbook, SHEET_ACTIONS, sheetActionsFor, UNKNOWN_CATEGORY_RULE } from "../../shared/domain/blueprint";
import { type CurrencyChoice, resolveCurrency } from "../../shared/domain/currency";
import { BUNDLED_CATEGORIES } from "../../shared/domain/reference-data";
import { SHEET_ROLES } from "../../shared/domain/space-state";

/** The workbook the blueprint plans for an audience, currency and categories (ids made up). */
export function plannedWorkbook(
  audience: Audience = "member",
  currency: CurrencyChoice = resolveCurrency({ locale: "en-US" }),
  categories: readonly { value: string; label?: string }[] = BUNDLED_CATEGORIES,
): Flatfile.CreateWorkbookConfig {
  return buildWorkbook({
    spaceId: "us_sp_planned",
    environmentId: "us_env_planned",
    audience,
    currency,
    referenceData: { source: "bundled", categories: categories.map((c) => ({ value: c.value, label: c.label ?? c.value })), detail: "" },
  });
}

/** The sheet of `role` as planned for `audience`. */
export function plannedSheet(role: string, audience: Audience = "member", currency?: CurrencyChoice): Flatfile.SheetConfig {
  const sheet = plannedWorkbook(audience, currency).sheets?.find((s) => s.slug === role);
  if (!sheet) throw new Error(`the blueprint has no sheet ${role}`);
  return sheet;
}

/** The sheet's name for a role, as the blueprint names it. */
export function sheetName(role: string): string {
  return plannedSheet(role).name;
}

const offersDuplicate = (role: string) =>
  sheetActionsFor("member", role).some((action) => action.operation === SHEET_ACTIONS.duplicate.operation);

/** The first role whose sheet offers Duplicate to a member (the example's Contacts). */
export const DUPLICABLE_ROLE: string = SHEET_ROLES.find(offersDuplicate) ?? SHEET_ROLES[0]!;
/** The first role whose sheet offers no Duplicate (the example's Orders). */
export const PLAIN_ROLE: string = SHEET_ROLES.find((role) => !offersDuplicate(role)) ?? SHEET_ROLES[0]!;
/** The role the commit-time rule acts on (the example's Orders). */
export const RULE_ROLE: string = UNKNOWN_CATEGORY_RULE.sheetSlug;

/** The field that holds the Space's currency (the example's amount), with its sheet's role. */
export function moneyField(sheets: readonly { slug?: string; config?: Flatfile.SheetConfig; fields?: Flatfile.Property[] }[]): {
  role: string;
  field: Flatfile.Property.Number;
} {
  for (const sheet of sheets) {
    const fields = sheet.fields ?? sheet.config?.fields ?? [];
    const field = fields.find((f) => f.type === "number" && (f.metadata as { currency?: unknown } | undefined)?.currency !== undefined);
    if (field) return { role: sheet.slug ?? sheet.config?.slug ?? "", field: field as Flatfile.Property.Number };
  }
  throw new Error("the blueprint has no field in the Space's currency");
}

/** A record for a role's sheet: a value for each of the fields a member gets there, numbered `i`. */
export function recordFor(role: string, i: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of plannedSheet(role).fields) {
    if (field.type === "number") out[field.key] = 10 + i;
    else if (field.type === "date") out[field.key] = "2024-01-01";
    else if (field.type === "boolean") out[field.key] = i % 2 === 0;
    else if (field.type === "enum") out[field.key] = field.config.options[0]?.value;
    else out[field.key] = `${field.key} ${i}`;
  }
  return out;
}

/** The working sheets' names as messages list them: "Contacts & Orders", "A, B & C". */
export function sheetList(): string {
  const names = SHEET_ROLES.map(sheetName);
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} & ${names.at(-1)}` : (names[0] ?? "");
}
