import type { Flatfile } from "@flatfile/api";
import { describe, expect, it } from "vitest";
import {
  buildWorkbook,
  collectUnknownEnumValues,
  extendEnumOptions,
  planEnumExtension,
  startUnknownEnumScan,
  archivedConfig,
  ENUM_OPTION_LIMIT,
  isLocked,
  LEGACY_SUBMIT_TOOLTIP,
  lockedConfig,
  withSubmitConstraints,
  UNKNOWN_CATEGORY_RULE,
  WORKBOOK_ACTIONS,
  type RecordLike,
  type UnknownEnumRule,
} from "../../../shared/domain/blueprint";
import { resolveCurrency } from "../../../shared/domain/currency";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const serialization = require("@flatfile/api/serialization") as typeof import("@flatfile/api/serialization");

const wb = buildWorkbook({
  spaceId: "us_sp_1",
  environmentId: "us_env_1",
  audience: "member",
  currency: resolveCurrency({ locale: "en-US" }),
  referenceData: { categories: [{ value: "hw", label: "Hardware" }], source: "remote", detail: "x" },
});
const orders = wb.sheets!.find((s) => s.slug === "orders")!;
const other: Flatfile.Action = { operation: "export", mode: "background", label: "Export", constraints: [{ type: "hasSelection" }] };
const submitOf = (actions: Flatfile.Action[]) => actions.find((a) => a.operation === "submitActionFg")!;
const withTooltip = (a: Flatfile.Action) => ({ ...a, tooltip: LEGACY_SUBMIT_TOOLTIP });

describe("withSubmitConstraints", () => {
  const initial = [other, ...wb.actions!];

  it("keeps hasAllValid and hasData while no sheet is locked, returning the same objects", () => {
    const out = withSubmitConstraints(initial, false);
    expect(out).toEqual(initial);
    expect(out[0]).toBe(other);
    expect(submitOf(out)).toBe(submitOf(initial));
    expect(submitOf(out).constraints).toEqual([{ type: "hasAllValid" }, { type: "hasData" }]);
  });

  it("drops hasAllValid once a sheet is locked and keeps hasData, idempotently", () => {
    const locked = withSubmitConstraints(initial, true);
    expect(locked[0]).toBe(other);
    expect(submitOf(locked).constraints).toEqual([{ type: "hasData" }]);
    expect(submitOf(withSubmitConstraints(locked, true))).toBe(submitOf(locked));
    expect(withSubmitConstraints(locked, false)).toEqual(initial);
  });

  it("brings an earlier version's toggled Submit in line: static hasData, no tooltip", () => {
    const toggledEmpty = [withTooltip({ ...WORKBOOK_ACTIONS.submit, constraints: [{ type: "hasAllValid" }, { type: "hasData" }] })];
    const toggledOffered = [{ ...WORKBOOK_ACTIONS.submit, constraints: [{ type: "hasAllValid" as const }] }];
    for (const actions of [toggledEmpty, toggledOffered]) {
      const out = submitOf(withSubmitConstraints(actions, false));
      expect(out.tooltip).toBeUndefined();
      expect(out.constraints).toEqual([{ type: "hasAllValid" }, { type: "hasData" }]);
    }
    const custom = [{ ...WORKBOOK_ACTIONS.submit, constraints: [...WORKBOOK_ACTIONS.submit.constraints], tooltip: "Send it" }];
    expect(submitOf(withSubmitConstraints(custom, false))).toBe(custom[0]);
  });

  it("does not change its input and passes the SDK's strict WorkbookUpdate schema", () => {
    const before = structuredClone(initial);
    const out = withSubmitConstraints(initial, true);
    expect(initial).toEqual(before);
    const update: Flatfile.WorkbookUpdate = { actions: out };
    expect(() => serialization.WorkbookUpdate.jsonOrThrow(update, { unrecognizedObjectKeys: "fail" })).not.toThrow();
  });
});

describe("locked sheets", () => {
  it("locks a sheet read-only with no access; a snapshot also loses its actions", () => {
    const contacts = wb.sheets!.find((s) => s.slug === "contacts")!;
    expect(isLocked(contacts)).toBe(false);
    expect(isLocked(lockedConfig(contacts))).toBe(true);
    expect(lockedConfig(contacts).actions).toEqual(contacts.actions);
    expect(archivedConfig(contacts)).toMatchObject({ readonly: true, access: [], actions: [] });
  });
});

const rec = (category: unknown): RecordLike => ({ values: { category: { value: category } } });

describe("unknown categories", () => {
  it("reduces pages of records to the values the options lack", () => {
    let acc = startUnknownEnumScan(orders);
    acc = collectUnknownEnumValues(acc, [rec("hw"), rec("toys"), rec(" toys "), rec(""), rec(null), { values: {} }]);
    acc = collectUnknownEnumValues(acc, [rec("food"), rec(7), rec("toys")]);
    expect(acc.unknown).toEqual(["toys", "food", "7"]);
    expect(acc.scanned).toBe(9);
  });

  it("extends the options, marked, and is idempotent", () => {
    const acc = collectUnknownEnumValues(undefined, [rec("hw"), rec("toys"), rec("food")]);
    expect(acc.unknown).toEqual(["hw", "toys", "food"]); // no sheet known yet: filtered when applied
    const plan = planEnumExtension(orders, acc);
    expect(plan).toMatchObject({ changed: true, added: ["toys", "food"], flagged: [] });
    const field = plan.sheet.fields.find((f) => f.key === "category") as Flatfile.Property.Enum;
    expect(field.config.options).toEqual([
      { value: "hw", label: "Hardware" },
      { value: "toys", label: "toys (added from data)", meta: { addedFromData: true } },
      { value: "food", label: "food (added from data)", meta: { addedFromData: true } },
    ]);
    const again = extendEnumOptions(plan.sheet, acc);
    expect(again).toBe(plan.sheet);
    // a rescan of the same records against the extended sheet finds nothing
    const rescan = collectUnknownEnumValues(startUnknownEnumScan(plan.sheet), [rec("hw"), rec("toys"), rec("food")]);
    expect(rescan.unknown).toEqual([]);
    expect(extendEnumOptions(plan.sheet, rescan)).toBe(plan.sheet);
    // input untouched
    expect((orders.fields.find((f) => f.key === "category") as Flatfile.Property.Enum).config.options).toHaveLength(1);
    const update: Flatfile.WorkbookUpdate = { sheets: [{ ...plan.sheet, id: "us_sh_1" }] };
    expect(() => serialization.WorkbookUpdate.jsonOrThrow(update, { unrecognizedObjectKeys: "fail" })).not.toThrow();
  });

  it("caps the options added from data over the sheet's life, and bounds the scan", () => {
    const rule: UnknownEnumRule = { ...UNKNOWN_CATEGORY_RULE, maxNewOptions: 3, maxScanValues: 5 };
    const page = Array.from({ length: 1_000 }, (_, i) => rec(`v${i % 8}`));
    const acc = collectUnknownEnumValues(undefined, page, rule);
    expect(acc.unknown).toEqual(["v0", "v1", "v2", "v3", "v4"]);
    expect(acc.skipped).toBeGreaterThan(0);
    const first = planEnumExtension(orders, acc, rule);
    expect(first.added).toEqual(["v0", "v1", "v2"]);
    expect(first.flagged).toEqual(["v3", "v4"]);
    const second = planEnumExtension(first.sheet, collectUnknownEnumValues(undefined, [rec("new")], rule), rule);
    expect(second).toMatchObject({ changed: false, added: [], flagged: ["new"] });
    expect(second.sheet).toBe(first.sheet);
  });

  it("never takes the field past Flatfile's 100 options, counting those from the reference data", () => {
    const full: Flatfile.SheetConfig = {
      ...orders,
      fields: orders.fields.map((f) =>
        f.key === "category" && f.type === "enum"
          ? {
              ...f,
              config: { options: Array.from({ length: ENUM_OPTION_LIMIT - 2 }, (_, i) => ({ value: `ref${i}`, label: `Ref ${i}` })) },
            }
          : f,
      ),
    };
    const plan = planEnumExtension(full, collectUnknownEnumValues(undefined, [rec("a"), rec("b"), rec("c"), rec("d")]));
    expect(plan.added).toEqual(["a", "b"]);
    expect(plan.flagged).toEqual(["c", "d"]);
    const field = plan.sheet.fields.find((f) => f.key === "category") as Flatfile.Property.Enum;
    expect(field.config.options).toHaveLength(ENUM_OPTION_LIMIT);
    expect(planEnumExtension(plan.sheet, collectUnknownEnumValues(undefined, [rec("e")]))).toMatchObject({
      changed: false,
      added: [],
      flagged: ["e"],
    });
  });

  it("labels options added from data as one plain line", () => {
    const plan = planEnumExtension(orders, collectUnknownEnumValues(undefined, [rec("toy\u0007s\u202E")]));
    const field = plan.sheet.fields.find((f) => f.key === "category") as Flatfile.Property.Enum;
    expect(field.config.options.at(-1)).toMatchObject({ value: "toy\u0007s\u202E", label: "toys (added from data)" });
  });

  it("ignores over-long values", () => {
    const acc = collectUnknownEnumValues(undefined, [rec("x".repeat(500)), rec("ok")]);
    expect(acc.unknown).toEqual(["ok"]);
    expect(acc.skipped).toBe(1);
  });

  it("flag mode reports and changes nothing", () => {
    const rule: UnknownEnumRule = { ...UNKNOWN_CATEGORY_RULE, mode: "flag" };
    const acc = collectUnknownEnumValues(startUnknownEnumScan(orders, rule), [rec("toys")], rule);
    const plan = planEnumExtension(orders, acc, rule);
    expect(plan).toMatchObject({ changed: false, added: [], flagged: ["toys"] });
    expect(plan.sheet).toBe(orders);
  });

  it("leaves a sheet without the field alone", () => {
    const contacts = wb.sheets!.find((s) => s.slug === "contacts")!;
    const acc = collectUnknownEnumValues(undefined, [rec("toys")]);
    expect(extendEnumOptions(contacts, acc)).toBe(contacts);
    expect(extendEnumOptions(orders, undefined)).toBe(orders);
  });

  it("the scan state survives JSON (it can be carried between pages or invocations)", () => {
    const acc = collectUnknownEnumValues(startUnknownEnumScan(orders), [rec("toys")]);
    expect(JSON.parse(JSON.stringify(acc))).toEqual(acc);
  });
});
