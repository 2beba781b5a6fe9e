/**
 * YOUR BLUEPRINT: what a new Space gets. The sheets and their fields, the actions and who is
 * offered them, the rules, and the guide's text that depends on them. Edit this file to make the
 * product yours (README, "Make it yours"); shared/domain/blueprint.ts reads it and the handlers call
 * that. Pure (no network, no clock), and data the relay's bundle and the CDK app read too (the
 * actions' operations), so it imports only the kit (shared/domain/blueprint-kit.ts) and types.
 */
import type { Flatfile } from "@flatfile/api";
import type { Audience, StaffRule } from "../shared/domain/audience";
import {
  type BlueprintInput,
  type UnknownEnumRule,
  categoryOptions,
  clone,
  deepFreeze,
  required,
  unique,
} from "../shared/domain/blueprint-kit";
import type { CurrencyChoice } from "../shared/domain/currency";
import type { ReferenceData } from "../shared/domain/reference-data";

/** Written into each workbook's metadata (`blueprintVersion`): raise it for a change you may migrate. */
export const BLUEPRINT_VERSION = 1;
export const WORKBOOK_NAME = "Contacts & Orders";

/** Each sheet's slug is its role: our state, the guide's progress and Submit's counts follow it. */
export const SHEET_SLUGS = { contacts: "contacts", orders: "orders" } as const;
export type SheetSlug = (typeof SHEET_SLUGS)[keyof typeof SHEET_SLUGS];

// ─── Who is staff ────────────────────────────────────────────────────────────────────────────

export const STAFF_RULE: StaffRule = deepFreeze({
  flagKey: "staff",
  roleKey: "role",
  staffRoles: ["staff", "admin"],
  /** Your company's e-mail domains, e.g. ["acme.com"]. Empty: only metadata marks staff. */
  staffEmailDomains: [],
});

// ─── Actions ─────────────────────────────────────────────────────────────────────────────────

/**
 * Sheet actions (job `sheet:<operation>`). Frozen: `buildWorkbook` hands out copies. Duplicate is a
 * foreground action: its outcome dialog carries the link to the copy, and background jobs skip
 * that dialog (events reference, `job:outcome-acknowledged`: "Background jobs will skip this step").
 */
export const SHEET_ACTIONS = deepFreeze({
  duplicate: {
    operation: "duplicate",
    mode: "foreground",
    label: "Duplicate this Sheet and lock down the original",
    description: "Copies this Sheet with its records for you to keep working in, then locks this one so it stays as it is.",
    confirm: true,
  },
} satisfies Record<string, Flatfile.Action>);

/** Workbook actions (job `workbook:<operation>`). Frozen: `buildWorkbook` hands out copies. */
export const WORKBOOK_ACTIONS = deepFreeze({
  submit: {
    operation: "submitActionFg",
    mode: "foreground",
    primary: true,
    constraints: [{ type: "hasAllValid" }, { type: "hasData" }],
    label: "Submit",
    description: "Submit every record in this workbook. You can keep editing afterwards.",
  },
} satisfies Record<string, Flatfile.Action>);

// ─── What each audience may do ───────────────────────────────────────────────────────────────

/**
 * The actions and access a sheet of `role` gets for `audience`. `buildWorkbook` builds from these,
 * and the action handler checks a job against them: a job for an action the person was not
 * offered (any API client can create one) does nothing.
 */
export function sheetActionsFor(audience: Audience, role: string): Flatfile.Action[] {
  if (audience === "guest" || role !== SHEET_SLUGS.contacts) return [];
  return [clone<Flatfile.Action>(SHEET_ACTIONS.duplicate)];
}

/** Undefined: every access Flatfile has. Guests add and edit, never delete. */
export function sheetAccessFor(audience: Audience, _role: string): Flatfile.SheetAccess[] | undefined {
  return audience === "guest" ? ["add", "edit"] : undefined;
}

export function workbookActionsFor(_audience: Audience): Flatfile.Action[] {
  return [clone<Flatfile.Action>(WORKBOOK_ACTIONS.submit)];
}

// ─── Commit-time rule ────────────────────────────────────────────────────────────────────────

/** Category values the options do not know, in a commit's records: added as options ("extend"). */
export const UNKNOWN_CATEGORY_RULE: UnknownEnumRule = deepFreeze({
  sheetSlug: SHEET_SLUGS.orders,
  fieldKey: "category",
  mode: "extend",
  maxNewOptions: 50,
  maxScanValues: 1_000,
  maxValueLength: 100,
  labelSuffix: " (added from data)",
});

// ─── The sheets ──────────────────────────────────────────────────────────────────────────────

type Field = Flatfile.Property;

function internalNotesField(): Field {
  return {
    type: "string",
    key: "internalNotes",
    label: "Internal notes",
    description: "Only for your team: never shown to guests.",
  };
}

function contactsSheet(input: BlueprintInput): Flatfile.SheetConfig {
  const fields: Field[] = [
    { type: "string", key: "firstName", label: "First name", constraints: [required] },
    { type: "string", key: "lastName", label: "Last name" },
    { type: "string", key: "email", label: "Email", constraints: [required, unique] },
  ];
  if (input.audience === "internal") fields.push(internalNotesField());
  return {
    name: "Contacts",
    slug: SHEET_SLUGS.contacts,
    description: "The people you deal with. Email must be unique.",
    fields,
  };
}

/** The money field, in the Space's currency. */
export function amountField(currency: CurrencyChoice): Flatfile.Property.Number {
  return {
    type: "number",
    key: "amount",
    label: `Amount (${currency.code})`,
    description: `Order amount in ${currency.code}, up to ${currency.decimals} decimal place${currency.decimals === 1 ? "" : "s"}.`,
    constraints: [required],
    config: { decimalPlaces: currency.decimals },
    metadata: { currency: currency.code, decimals: currency.decimals, locale: currency.locale },
  };
}

function categoryField(referenceData: ReferenceData): Flatfile.Property.Enum {
  const { options, total, capReason } = categoryOptions(referenceData);
  const from =
    referenceData.source === "remote"
      ? "Categories from the reference API"
      : "Categories from the bundled default list (the reference API was not available)";
  return {
    type: "enum",
    key: UNKNOWN_CATEGORY_RULE.fieldKey,
    label: "Category",
    description: capReason ? `${from}: the first ${options.length} of ${total}.` : `${from}.`,
    config: { options },
    metadata: { referenceData: { source: referenceData.source, detail: referenceData.detail, total, offered: options.length } },
  };
}

function ordersSheet(input: BlueprintInput): Flatfile.SheetConfig {
  const isGuest = input.audience === "guest";
  const fields: Field[] = [
    { type: "string", key: "orderId", label: "Order ID", constraints: [required, unique] },
    { type: "string", key: "contactEmail", label: "Contact email", description: "The email of a contact in the Contacts sheet." },
    amountField(input.currency),
    categoryField(input.referenceData),
  ];
  if (!isGuest) {
    fields.push({ type: "date", key: "orderedOn", label: "Order date" }, { type: "string", key: "poNumber", label: "PO number" });
  }
  if (input.audience === "internal") fields.push(internalNotesField());
  return {
    name: "Orders",
    slug: SHEET_SLUGS.orders,
    description: `Orders, with amounts in ${input.currency.code}.`,
    fields,
    metadata: { currency: input.currency.code },
  };
}

/**
 * The workbook's sheets, in order. `buildWorkbook` marks each as ours and gives it the actions
 * and access of `sheetActionsFor` and `sheetAccessFor` for its slug.
 */
export function blueprintSheets(input: BlueprintInput): Flatfile.SheetConfig[] {
  return [contactsSheet(input), ordersSheet(input)];
}

// ─── The guide's text about these sheets ─────────────────────────────────────────────────────

/** What the "Getting started" guide says about this blueprint; the rest of it is shared/domain/guide.ts. */
export const GUIDE_TEXT = {
  /** Where the reference data's categories are offered (the guide's Reference data section). */
  categoriesIn: "the Orders sheet",
  /** Paragraphs under "What to do first", for the Space's audience: HTML, `<strong>` at most. */
  notes(audience: Audience): string[] {
    if (audience === "guest") return ["You can add and edit records; deleting them is not available to guests."];
    const notes = [
      `Need a frozen copy? <strong>${SHEET_ACTIONS.duplicate.label}</strong> (in the Contacts sheet's menu) copies the sheet for you to keep working in and locks the original. The locked original is kept as it was: it is not submitted, and its errors do not hold Submit back.`,
    ];
    if (audience === "internal") notes.push("As staff, you also see an <strong>Internal notes</strong> field on every sheet.");
    return notes;
  },
};
