/**
 * THE BLUEPRINT'S MACHINERY: reads the customer's definitions (blueprint/index.ts: sheets, fields,
 * actions, rules, the guide's text) and builds what a new Space gets, locks and copies sheets, and
 * runs the commit-time rule. Edit blueprint/index.ts to change the product, not this. Pure (no
 * network, no clock). Who gets what, the currency, the reference data, Submit and the commit-time
 * rule: docs/design.md#the-blueprint.
 */
import type { Flatfile } from "@flatfile/api";
import {
  BLUEPRINT_VERSION,
  blueprintSheets,
  SHEET_ACTIONS,
  sheetAccessFor,
  sheetActionsFor,
  UNKNOWN_CATEGORY_RULE,
  WORKBOOK_ACTIONS,
  WORKBOOK_NAME,
  workbookActionsFor,
} from "../../blueprint";
import type { Audience } from "./audience";
import type { BlueprintInput, UnknownEnumRule } from "./blueprint-kit";
import { ENUM_OPTION_LIMIT } from "./blueprint-kit";
import { MAX_OPTION_LABEL, plainText } from "./text";

// The customer's definitions and the kit, for the modules and tests that import them from here.
export {
  amountField,
  BLUEPRINT_VERSION,
  SHEET_ACTIONS,
  SHEET_SLUGS,
  type SheetSlug,
  sheetAccessFor,
  sheetActionsFor,
  STAFF_RULE,
  UNKNOWN_CATEGORY_RULE,
  WORKBOOK_ACTIONS,
  WORKBOOK_NAME,
  workbookActionsFor,
} from "../../blueprint";
export {
  type BlueprintInput,
  type CategoryOptions,
  categoryOptions,
  ENUM_OPTION_LIMIT,
  REFERENCE_OPTION_LIMIT,
  type UnknownEnumRule,
} from "./blueprint-kit";

// ─── Identity ────────────────────────────────────────────────────────────────────────────────

/** Metadata key and value on everything we make, so later handlers know it is ours. */
export const BLUEPRINT_MARKER = { key: "configuredBy", value: "flatfile-space-configurator" } as const;

/** The tooltip an earlier version toggled on Submit while the workbook was empty; removed on sight. */
export const LEGACY_SUBMIT_TOOLTIP = "Add records before submitting";

/** `"<domain>:<operation>"` of every job our action handler owns. */
/** The jobs of the two actions the flows know by name: `<domain>:<operation>`. */
export const DUPLICATE_JOB = `sheet:${SHEET_ACTIONS.duplicate.operation}`;
export const SUBMIT_JOB = `workbook:${WORKBOOK_ACTIONS.submit.operation}`;

export const OWNED_ACTION_JOBS: readonly string[] = Object.freeze([
  ...Object.values(SHEET_ACTIONS).map((action) => `sheet:${action.operation}`),
  ...Object.values(WORKBOOK_ACTIONS).map((action) => `workbook:${action.operation}`),
]);

// ─── What each audience may do ───────────────────────────────────────────────────────────────

function withAudienceRules(sheet: Flatfile.SheetConfig, audience: Audience): Flatfile.SheetConfig {
  const role = sheet.slug ?? "";
  const actions = sheetActionsFor(audience, role);
  const access = sheetAccessFor(audience, role);
  return { ...sheet, ...(actions.length > 0 ? { actions } : {}), ...(access ? { access } : {}) };
}

/** The action `<domain>:<operation>` as the blueprint offers it there, or undefined when it does not. */
export function offeredAction(
  audience: Audience,
  where: { domain: "sheet"; role: string } | { domain: "workbook" },
  operation: string,
): Flatfile.Action | undefined {
  const actions = where.domain === "sheet" ? sheetActionsFor(audience, where.role) : workbookActionsFor(audience);
  return actions.find((action) => action.operation === operation);
}

const OUR_SHEET_OPERATIONS: readonly string[] = Object.values(SHEET_ACTIONS).map((action) => action.operation);

/**
 * The copy that becomes a role's working sheet: open, with the access the audience has there,
 * and our actions as this blueprint defines them for it (a copy of a sheet an earlier version
 * made is brought up to date); actions others mounted stay as they are.
 */
export function workingSheetConfig(config: Flatfile.SheetConfig, audience: Audience, role: string): Flatfile.SheetConfig {
  const { readonly: _readonly, access: _access, actions: current, ...rest } = config;
  const access = sheetAccessFor(audience, role);
  const actions = [
    ...(current ?? []).filter((action) => !OUR_SHEET_OPERATIONS.includes(action.operation ?? "")),
    ...sheetActionsFor(audience, role),
  ];
  return { ...rest, ...(access ? { access } : {}), ...(actions.length > 0 ? { actions } : {}) };
}

/** Whether two sheet configs differ in what `workingSheetConfig` decides (lock, access, our actions). */
export function differsAsWorkingSheet(config: Flatfile.SheetConfig, working: Flatfile.SheetConfig): boolean {
  if (config.readonly === true) return true;
  const sameAccess =
    config.access === undefined || working.access === undefined
      ? config.access === working.access
      : config.access.length === working.access.length && config.access.every((value) => working.access!.includes(value));
  return !sameAccess || JSON.stringify(config.actions ?? []) !== JSON.stringify(working.actions ?? []);
}

export function buildWorkbook(input: BlueprintInput): Flatfile.CreateWorkbookConfig {
  // Every sheet is marked ours, and gets the actions and access its role has for the audience.
  const sheets = blueprintSheets(input).map((sheet) =>
    withAudienceRules({ ...sheet, metadata: { [BLUEPRINT_MARKER.key]: BLUEPRINT_MARKER.value, ...sheet.metadata } }, input.audience),
  );
  const actions = workbookActionsFor(input.audience);
  return {
    name: WORKBOOK_NAME,
    spaceId: input.spaceId,
    environmentId: input.environmentId,
    labels: [`${BLUEPRINT_MARKER.key}:${BLUEPRINT_MARKER.value}`, `currency:${input.currency.code}`, `audience:${input.audience}`],
    sheets,
    actions,
    metadata: {
      [BLUEPRINT_MARKER.key]: BLUEPRINT_MARKER.value,
      blueprintVersion: BLUEPRINT_VERSION,
      audience: input.audience,
      currency: { ...input.currency },
      referenceData: { source: input.referenceData.source, detail: input.referenceData.detail },
    },
  };
}

// ─── Submit and locked sheets ───────────────────────────────────────────────────────────────

function isSubmit(action: Flatfile.Action): boolean {
  return action.operation === WORKBOOK_ACTIONS.submit.operation;
}

/** A sheet config nobody can change: no access, read-only. Its actions stay (duplicate it to go on). */
export function lockedConfig(config: Flatfile.SheetConfig): Flatfile.SheetConfig {
  return { ...config, readonly: true, access: [] };
}

/** A locked snapshot replaced by a working copy: locked, and without actions (it is done with). */
export function archivedConfig(config: Flatfile.SheetConfig): Flatfile.SheetConfig {
  return { ...lockedConfig(config), actions: [] };
}

export function isLocked(config: Flatfile.SheetConfig): boolean {
  return config.readonly === true && Array.isArray(config.access) && config.access.length === 0;
}

/**
 * The workbook's actions with Submit's constraints as the workbook's sheets call for: `hasData`
 * always; `hasAllValid` only while no sheet is locked (see the module comment). An earlier
 * version's toggled tooltip goes. Every other action, and Submit when it is right already, is
 * returned as the same object. Idempotent.
 */
export function withSubmitConstraints(actions: readonly Flatfile.Action[], anySheetLocked: boolean): Flatfile.Action[] {
  return actions.map((action) => {
    if (!isSubmit(action)) return action;
    const current = action.constraints ?? [];
    const others = current.filter((c) => c.type !== "hasData" && c.type !== "hasAllValid");
    const wanted: Flatfile.ActionConstraint[] = [
      ...others,
      ...(anySheetLocked ? [] : [{ type: "hasAllValid" as const }]),
      { type: "hasData" },
    ];
    const sameConstraints = current.length === wanted.length && current.every((c, i) => c.type === wanted[i]!.type);
    const legacyTooltip = action.tooltip === LEGACY_SUBMIT_TOOLTIP;
    if (sameConstraints && !legacyTooltip) return action;
    const next: Flatfile.Action = { ...action, constraints: wanted };
    if (legacyTooltip) delete next.tooltip;
    return next;
  });
}

// ─── Commit-time rule: category values the options do not know ────────────────────────────

/**
 * Running state of a scan over pages of records: JSON-serialisable and bounded (at most
 * `limit` values of at most `maxValueLength` characters), whatever the number of records.
 */
export interface UnknownEnumScan {
  fieldKey: string;
  /** Option values known when the scan started (empty when started without the sheet). */
  known: string[];
  /** Distinct values not in `known`, first seen first. */
  unknown: string[];
  limit: number;
  maxValueLength: number;
  /** Cells with a new value that did not fit (over the limit, or too long). */
  skipped: number;
  /** Records looked at. */
  scanned: number;
}

/** A record as `records.get` returns it; only `values[field].value` is read. */
export interface RecordLike {
  values: Record<string, { value?: unknown } | undefined>;
}

function enumField(sheet: Flatfile.SheetConfig, fieldKey: string): Flatfile.Property.Enum | undefined {
  const field = sheet.fields.find((f) => f.key === fieldKey);
  return field?.type === "enum" ? field : undefined;
}

function optionValue(option: Flatfile.EnumPropertyOption): string | undefined {
  return option.value === undefined || option.value === null ? undefined : String(option.value);
}

function isFromData(option: Flatfile.EnumPropertyOption): boolean {
  return option.meta?.addedFromData === true;
}

/**
 * Starts a scan. With the sheet, values that are options already are not kept; without it
 * (when the records are read before the sheet), every distinct value is kept up to the limit
 * and `extendEnumOptions` filters them.
 */
export function startUnknownEnumScan(sheet?: Flatfile.SheetConfig, rule: UnknownEnumRule = UNKNOWN_CATEGORY_RULE): UnknownEnumScan {
  const options = (sheet && enumField(sheet, rule.fieldKey)?.config.options) || [];
  return {
    fieldKey: rule.fieldKey,
    known: options.map(optionValue).filter((v): v is string => v !== undefined),
    unknown: [],
    limit: rule.maxScanValues,
    maxValueLength: rule.maxValueLength,
    skipped: 0,
    scanned: 0,
  };
}

function cellText(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() || undefined;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return String(value);
  return undefined;
}

/**
 * Folds one page of records into the scan and returns the new scan (the input is not changed).
 * `acc` undefined starts a scan without the sheet (see `startUnknownEnumScan`).
 */
export function collectUnknownEnumValues(
  acc: UnknownEnumScan | undefined,
  recordsPage: readonly RecordLike[],
  rule: UnknownEnumRule = UNKNOWN_CATEGORY_RULE,
): UnknownEnumScan {
  const start = acc ?? startUnknownEnumScan(undefined, rule);
  const known = new Set(start.known);
  const unknown = [...start.unknown];
  const seen = new Set(unknown);
  let skipped = start.skipped;
  for (const record of recordsPage) {
    const value = cellText(record?.values?.[start.fieldKey]?.value);
    if (value === undefined || known.has(value) || seen.has(value)) continue;
    if (value.length > start.maxValueLength || unknown.length >= start.limit) {
      skipped += 1;
      continue;
    }
    unknown.push(value);
    seen.add(value);
  }
  return { ...start, unknown, skipped, scanned: start.scanned + recordsPage.length };
}

export interface EnumExtension {
  /** The sheet config to write back: the very same object when nothing changes. */
  sheet: Flatfile.SheetConfig;
  changed: boolean;
  /** Values added as options ("extend"). */
  added: string[];
  /** Values not options yet and not added: all of them in "flag" mode, the overflow in "extend". */
  flagged: string[];
  /** Cells the scan could not keep (over its limit, or too long). */
  skipped: number;
}

/**
 * Applies a finished scan to the sheet. "extend": each scanned value that is not an option yet
 * becomes `{ value, label: value + labelSuffix, meta: { addedFromData: true } }`, first seen
 * first, while the options added from data number at most `rule.maxNewOptions` and the field's
 * options at most ENUM_OPTION_LIMIT. "flag": the
 * sheet is left as it is and the values are reported. Idempotent: applied to its own output
 * with the same scan, nothing changes (`changed: false`, the same sheet object).
 */
export function planEnumExtension(
  sheetConfig: Flatfile.SheetConfig,
  acc: UnknownEnumScan | undefined,
  rule: UnknownEnumRule = UNKNOWN_CATEGORY_RULE,
): EnumExtension {
  const skipped = acc?.skipped ?? 0;
  const field = acc ? enumField(sheetConfig, acc.fieldKey) : undefined;
  if (!acc || !field) return { sheet: sheetConfig, changed: false, added: [], flagged: [], skipped };
  const options = field.config.options ?? [];
  const present = new Set(options.map(optionValue).filter((v): v is string => v !== undefined));
  const candidates = acc.unknown.filter((v) => !present.has(v));
  const room =
    rule.mode === "extend"
      ? Math.max(0, Math.min(rule.maxNewOptions - options.filter(isFromData).length, ENUM_OPTION_LIMIT - options.length))
      : 0;
  const added = candidates.slice(0, room);
  const flagged = candidates.slice(added.length);
  if (added.length === 0) return { sheet: sheetConfig, changed: false, added, flagged, skipped };
  const newOptions: Flatfile.EnumPropertyOption[] = added.map((value) => ({
    value,
    label: `${plainText(value, Math.max(1, MAX_OPTION_LABEL - rule.labelSuffix.length))}${rule.labelSuffix}`,
    meta: { addedFromData: true },
  }));
  const nextField: Flatfile.Property.Enum = { ...field, config: { ...field.config, options: [...options, ...newOptions] } };
  const sheet: Flatfile.SheetConfig = { ...sheetConfig, fields: sheetConfig.fields.map((f) => (f === field ? nextField : f)) };
  return { sheet, changed: true, added, flagged, skipped };
}

/** The sheet config with the scan's unknown values added as options (see `planEnumExtension`). */
export function extendEnumOptions(
  sheetConfig: Flatfile.SheetConfig,
  acc: UnknownEnumScan | undefined,
  rule: UnknownEnumRule = UNKNOWN_CATEGORY_RULE,
): Flatfile.SheetConfig {
  return planEnumExtension(sheetConfig, acc, rule).sheet;
}
