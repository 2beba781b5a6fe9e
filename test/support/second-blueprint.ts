/**
 * A second blueprint, for the "second-blueprint" test project (vitest.config.mts), which runs the
 * flow suites with it in place of blueprint/index.ts: three sheets with other names and slugs, the
 * Duplicate on the last sheet and the commit-time rule on the middle one, actions with other
 * operations and labels, and its own guide text. It exports what blueprint/index.ts exports, so a
 * suite that passes with both follows the blueprint instead of repeating the example's.
 */
import type { Flatfile } from "@flatfile/api";
import type { Audience, StaffRule } from "../../shared/domain/audience";
import {
  type BlueprintInput,
  type UnknownEnumRule,
  categoryOptions,
  clone,
  deepFreeze,
  required,
  unique,
} from "../../shared/domain/blueprint-kit";
import type { CurrencyChoice } from "../../shared/domain/currency";

export const BLUEPRINT_VERSION = 7;
export const WORKBOOK_NAME = "Supply chain";

export const SHEET_SLUGS = { suppliers: "suppliers", products: "products", shipments: "shipments" } as const;
export type SheetSlug = (typeof SHEET_SLUGS)[keyof typeof SHEET_SLUGS];

export const STAFF_RULE: StaffRule = deepFreeze({ flagKey: "staff", roleKey: "role", staffRoles: ["buyer"], staffEmailDomains: [] });

export const SHEET_ACTIONS = deepFreeze({
  duplicate: {
    operation: "snapshotSheet",
    mode: "foreground",
    label: "Snapshot this sheet",
    description: "Keeps this sheet as it is and gives you a copy to go on with.",
    confirm: true,
  },
} satisfies Record<string, Flatfile.Action>);

export const WORKBOOK_ACTIONS = deepFreeze({
  submit: {
    operation: "sendToWarehouse",
    mode: "foreground",
    primary: true,
    constraints: [{ type: "hasAllValid" }, { type: "hasData" }],
    label: "Send to the warehouse",
    description: "Sends every record to the warehouse.",
  },
} satisfies Record<string, Flatfile.Action>);

export function sheetActionsFor(audience: Audience, role: string): Flatfile.Action[] {
  if (audience === "guest" || role !== SHEET_SLUGS.shipments) return [];
  return [clone<Flatfile.Action>(SHEET_ACTIONS.duplicate)];
}

export function sheetAccessFor(audience: Audience, _role: string): Flatfile.SheetAccess[] | undefined {
  return audience === "guest" ? ["add", "edit"] : undefined;
}

export function workbookActionsFor(_audience: Audience): Flatfile.Action[] {
  return [clone<Flatfile.Action>(WORKBOOK_ACTIONS.submit)];
}

export const UNKNOWN_CATEGORY_RULE: UnknownEnumRule = deepFreeze({
  sheetSlug: SHEET_SLUGS.products,
  fieldKey: "family",
  mode: "extend",
  maxNewOptions: 40,
  maxScanValues: 1_000,
  maxValueLength: 80,
  labelSuffix: " (new)",
});

function priceField(currency: CurrencyChoice): Flatfile.Property.Number {
  return {
    type: "number",
    key: "unitPrice",
    label: `Unit price (${currency.code})`,
    constraints: [required],
    config: { decimalPlaces: currency.decimals },
    metadata: { currency: currency.code, decimals: currency.decimals, locale: currency.locale },
  };
}

function suppliersSheet(input: BlueprintInput): Flatfile.SheetConfig {
  const fields: Flatfile.Property[] = [
    { type: "string", key: "code", label: "Supplier code", constraints: [required, unique] },
    { type: "string", key: "company", label: "Company", constraints: [required] },
  ];
  if (input.audience !== "guest") fields.push({ type: "string", key: "contactEmail", label: "Contact email" });
  return { name: "Suppliers", slug: SHEET_SLUGS.suppliers, fields };
}

function productsSheet(input: BlueprintInput): Flatfile.SheetConfig {
  const { options } = categoryOptions(input.referenceData);
  const fields: Flatfile.Property[] = [
    { type: "string", key: "sku", label: "SKU", constraints: [required, unique] },
    { type: "string", key: "supplierCode", label: "Supplier code" },
    { type: "enum", key: UNKNOWN_CATEGORY_RULE.fieldKey, label: "Family", config: { options } },
    priceField(input.currency),
  ];
  if (input.audience === "internal") fields.push({ type: "number", key: "margin", label: "Margin" });
  return { name: "Products", slug: SHEET_SLUGS.products, fields, metadata: { currency: input.currency.code } };
}

function shipmentsSheet(input: BlueprintInput): Flatfile.SheetConfig {
  const fields: Flatfile.Property[] = [
    { type: "string", key: "shipmentId", label: "Shipment", constraints: [required, unique] },
    { type: "string", key: "sku", label: "SKU", constraints: [required] },
    { type: "number", key: "quantity", label: "Quantity" },
  ];
  if (input.audience !== "guest") fields.push({ type: "date", key: "shippedOn", label: "Shipped on" });
  return { name: "Shipments", slug: SHEET_SLUGS.shipments, fields };
}

export function blueprintSheets(input: BlueprintInput): Flatfile.SheetConfig[] {
  return [suppliersSheet(input), productsSheet(input), shipmentsSheet(input)];
}

export function amountField(currency: CurrencyChoice): Flatfile.Property.Number {
  return priceField(currency);
}

export const GUIDE_TEXT = {
  categoriesIn: "the Products sheet",
  notes(audience: Audience): string[] {
    if (audience === "guest") return ["Guests add and edit records here, and delete none."];
    return [`To keep a sheet as it is, use <strong>${SHEET_ACTIONS.duplicate.label}</strong> in the Shipments sheet's menu.`];
  },
};
