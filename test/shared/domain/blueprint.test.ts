import type { Flatfile } from "@flatfile/api";
import { describe, expect, it } from "vitest";
import type { Audience } from "../../../shared/domain/audience";
import {
  BLUEPRINT_MARKER,
  buildWorkbook,
  ENUM_OPTION_LIMIT,
  REFERENCE_OPTION_LIMIT,
  lockedConfig,
  offeredAction,
  OWNED_ACTION_JOBS,
  SHEET_ACTIONS,
  workingSheetConfig,
  WORKBOOK_ACTIONS,
  type BlueprintInput,
} from "../../../shared/domain/blueprint";
import { resolveCurrency } from "../../../shared/domain/currency";
import type { ReferenceData } from "../../../shared/domain/reference-data";
import { SHEET_ROLES } from "../../../shared/domain/space-state";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const serialization = require("@flatfile/api/serialization") as typeof import("@flatfile/api/serialization");

const remote: ReferenceData = {
  categories: [
    { value: "hw", label: "Hardware" },
    { value: "sw", label: "Software" },
  ],
  source: "remote",
  detail: "https://ref.example.test/categories at 2026-11-24T10:00:00.000Z",
};

function input(audience: Audience, overrides: Partial<BlueprintInput> = {}): BlueprintInput {
  return {
    spaceId: "us_sp_123",
    environmentId: "us_env_123",
    audience,
    currency: resolveCurrency({ locale: "de-DE" }),
    referenceData: remote,
    actorName: "Ada",
    ...overrides,
  };
}

const sheet = (wb: Flatfile.CreateWorkbookConfig, slug: string) => wb.sheets?.find((s) => s.slug === slug);
const keys = (s: Flatfile.SheetConfig | undefined) => s?.fields.map((f) => f.key);
const field = (s: Flatfile.SheetConfig | undefined, key: string) => s?.fields.find((f) => f.key === key);

/** What the SDK would send: serialized strictly (an unknown key fails instead of being stripped). */
function wire(config: Flatfile.CreateWorkbookConfig): unknown {
  const strict = serialization.CreateWorkbookConfig.jsonOrThrow(config, { unrecognizedObjectKeys: "fail" });
  const asSent = serialization.CreateWorkbookConfig.jsonOrThrow(config, { unrecognizedObjectKeys: "strip" });
  expect(asSent).toEqual(strict);
  const parsed = serialization.CreateWorkbookConfig.parse(JSON.parse(JSON.stringify(strict)), { unrecognizedObjectKeys: "fail" });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return strict;
}

describe("action definitions", () => {
  it("derives the owned job names from the actions", () => {
    expect(OWNED_ACTION_JOBS).toEqual(["sheet:duplicate", "workbook:submitActionFg"]);
  });
  it("defines the duplicate and submit actions", () => {
    expect(SHEET_ACTIONS.duplicate).toMatchObject({
      operation: "duplicate",
      mode: "foreground",
      label: "Duplicate this Sheet and lock down the original",
    });
    expect(WORKBOOK_ACTIONS.submit).toMatchObject({
      operation: "submitActionFg",
      mode: "foreground",
      primary: true,
      constraints: [{ type: "hasAllValid" }, { type: "hasData" }],
      label: "Submit",
    });
    expect(Object.isFrozen(WORKBOOK_ACTIONS.submit.constraints)).toBe(true);
  });
});

describe("what each audience is offered", () => {
  it("offers exactly the actions buildWorkbook puts on each sheet and on the workbook", () => {
    for (const audience of ["internal", "member", "guest", "default"] as Audience[]) {
      const workbook = buildWorkbook(input(audience));
      for (const sheet of workbook.sheets!) {
        const offered = ["duplicate", "submitActionFg", "delete"].filter((op) =>
          offeredAction(audience, { domain: "sheet", role: sheet.slug! }, op),
        );
        expect(offered).toEqual((sheet.actions ?? []).map((a) => a.operation));
      }
      expect(offeredAction(audience, { domain: "workbook" }, WORKBOOK_ACTIONS.submit.operation)).toBeDefined();
    }
    expect(offeredAction("guest", { domain: "sheet", role: "contacts" }, "duplicate")).toBeUndefined();
  });

  it("opens a copy of a locked sheet with the access the audience has on it", () => {
    for (const audience of ["member", "guest"] as Audience[]) {
      const contacts = buildWorkbook(input(audience)).sheets!.find((s) => s.slug === "contacts")!;
      const working = workingSheetConfig(lockedConfig(contacts), audience, "contacts");
      expect(working.readonly).toBeUndefined();
      expect(working.access).toEqual(contacts.access);
    }
    expect(workingSheetConfig(lockedConfig(buildWorkbook(input("guest")).sheets![0]!), "guest", "contacts").access).toEqual([
      "add",
      "edit",
    ]);
  });
});

describe("buildWorkbook", () => {
  it.each<Audience>(["internal", "member", "guest", "default"])("%s: passes the SDK's strict schema with nothing stripped", (audience) => {
    const wb = buildWorkbook(input(audience));
    const json = wire(wb) as { sheets: { fields: unknown[] }[] };
    expect(json.sheets).toHaveLength(SHEET_ROLES.length);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("the strict check is not vacuous: an unknown key anywhere fails", () => {
    const wb = buildWorkbook(input("member"));
    expect(() => wire({ ...wb, bogus: 1 } as never)).toThrow();
    const nested = structuredClone(wb);
    ((nested.sheets![1]!.fields[2] as Flatfile.Property.Number).config as Record<string, unknown>).currency = "EUR";
    expect(() => wire(nested)).toThrow();
  });

  it("member: full Contacts and Orders, duplicate action, no internal notes", () => {
    const wb = buildWorkbook(input("member"));
    const contacts = sheet(wb, "contacts");
    const orders = sheet(wb, "orders");
    expect(keys(contacts)).toEqual(["firstName", "lastName", "email"]);
    expect(field(contacts, "firstName")).toMatchObject({ type: "string", constraints: [{ type: "required" }] });
    expect(field(contacts, "lastName")).toMatchObject({ type: "string" });
    expect(field(contacts, "lastName")?.constraints).toBeUndefined();
    expect(field(contacts, "email")?.constraints?.map((c) => c.type)).toEqual(["required", "unique"]);
    expect(contacts?.actions).toEqual([
      {
        operation: "duplicate",
        mode: "foreground",
        label: "Duplicate this Sheet and lock down the original",
        description: expect.any(String),
        confirm: true,
      },
    ]);
    expect(contacts?.access).toBeUndefined();
    expect(keys(orders)).toEqual(["orderId", "contactEmail", "amount", "category", "orderedOn", "poNumber"]);
    expect(orders?.access).toBeUndefined();
  });

  it("default is shaped like member", () => {
    const strip = (wb: Flatfile.CreateWorkbookConfig) => ({ ...wb, labels: [], metadata: {} });
    expect(strip(buildWorkbook(input("default")))).toEqual(strip(buildWorkbook(input("member"))));
  });

  it("internal: member plus internal notes on every sheet", () => {
    const wb = buildWorkbook(input("internal"));
    expect(keys(sheet(wb, "contacts"))).toEqual(["firstName", "lastName", "email", "internalNotes"]);
    expect(keys(sheet(wb, "orders"))).toEqual(["orderId", "contactEmail", "amount", "category", "orderedOn", "poNumber", "internalNotes"]);
    expect(sheet(wb, "contacts")?.actions?.map((a) => a.operation)).toEqual(["duplicate"]);
  });

  it("guest: restricted sheets, no duplicate action, no Orders extras", () => {
    const wb = buildWorkbook(input("guest"));
    for (const s of wb.sheets ?? []) {
      expect(s.access).toEqual(["add", "edit"]);
      expect(s.actions ?? []).toEqual([]);
    }
    expect(keys(sheet(wb, "contacts"))).toEqual(["firstName", "lastName", "email"]);
    expect(keys(sheet(wb, "orders"))).toEqual(["orderId", "contactEmail", "amount", "category"]);
    expect(wb.actions?.map((a) => a.operation)).toEqual(["submitActionFg"]);
  });

  it.each([
    [{ locale: "de-DE" }, "EUR", 2],
    [{ locale: "ja-JP" }, "JPY", 0],
    [{ currency: "BHD" }, "BHD", 3],
  ])("money field in the Space's currency (%j)", (metadata, code, decimals) => {
    const currency = resolveCurrency(metadata);
    const wb = buildWorkbook(input("member", { currency }));
    const amount = field(sheet(wb, "orders"), "amount");
    expect(amount).toMatchObject({
      type: "number",
      label: `Amount (${code})`,
      config: { decimalPlaces: decimals },
      metadata: { currency: code, decimals, locale: currency.locale },
    });
    expect(wb.labels).toContain(`currency:${code}`);
    expect(wb.metadata.currency).toEqual(currency);
    const json = wire(wb) as { sheets: { slug: string; fields: { key: string; config?: unknown; label?: string }[] }[] };
    const sent = json.sheets.find((s) => s.slug === "orders")?.fields.find((f) => f.key === "amount");
    expect(sent).toMatchObject({ label: `Amount (${code})`, config: { decimalPlaces: decimals } });
  });

  it("category options come from the reference data", () => {
    const wb = buildWorkbook(input("member"));
    const category = field(sheet(wb, "orders"), "category");
    expect(category?.type).toBe("enum");
    expect(category?.type === "enum" && category.config.options).toEqual([
      { value: "hw", label: "Hardware" },
      { value: "sw", label: "Software" },
    ]);
    const bundled = buildWorkbook(input("member", { referenceData: { ...remote, source: "bundled", detail: "bundled default: x" } }));
    expect(field(sheet(bundled, "orders"), "category")?.description).toMatch(/bundled/);
  });

  it("makes option labels from outside one plain line of at most 100 characters, and keeps the values", () => {
    const hostile: ReferenceData = {
      ...remote,
      categories: [
        { value: "hw", label: "Hard\u0000ware\n\n[click](https://evil.example)\u202E" },
        { value: "long", label: "L".repeat(500) },
        { value: "tab\tbed", label: "" },
      ],
    };
    const category = field(sheet(buildWorkbook(input("member", { referenceData: hostile })), "orders"), "category");
    const options = category?.type === "enum" ? category.config.options : [];
    expect(options.map((o) => o.value)).toEqual(["hw", "long", "tab\tbed"]);
    expect(options[0]!.label).toBe("Hardware [click](https://evil.example)");
    expect(options[1]!.label).toHaveLength(100);
    expect(options[2]!.label).toBe("tab bed");
    for (const o of options) expect(o.label).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/);
  });

  it("offers at most REFERENCE_OPTION_LIMIT reference categories, leaving room under Flatfile's 100", () => {
    const many: ReferenceData = { ...remote, categories: Array.from({ length: 500 }, (_, i) => ({ value: `c${i}`, label: `C ${i}` })) };
    const category = field(sheet(buildWorkbook(input("member", { referenceData: many })), "orders"), "category");
    expect(category?.type === "enum" && category.config.options.length).toBe(REFERENCE_OPTION_LIMIT);
    expect(REFERENCE_OPTION_LIMIT).toBeLessThan(ENUM_OPTION_LIMIT);
    expect(category?.metadata).toMatchObject({ referenceData: { total: 500, offered: REFERENCE_OPTION_LIMIT } });
  });

  it("marks the workbook and carries the primary submit action, with the static hasData constraint", () => {
    const wb = buildWorkbook(input("member"));
    expect(wb).toMatchObject({ name: expect.any(String), spaceId: "us_sp_123", environmentId: "us_env_123" });
    expect(wb.metadata[BLUEPRINT_MARKER.key]).toBe(BLUEPRINT_MARKER.value);
    expect(wb.labels).toContain(`${BLUEPRINT_MARKER.key}:${BLUEPRINT_MARKER.value}`);
    expect(wb.actions).toEqual([
      {
        operation: "submitActionFg",
        mode: "foreground",
        primary: true,
        label: "Submit",
        description: expect.any(String),
        constraints: [{ type: "hasAllValid" }, { type: "hasData" }],
      },
    ]);
  });

  it("is pure: same input, same output; outputs do not share state with the definitions", () => {
    const a = buildWorkbook(input("member"));
    const b = buildWorkbook(input("member"));
    expect(a).toEqual(b);
    a.actions?.[0]?.constraints?.push({ type: "hasSelection" });
    sheet(a, "contacts")?.actions?.pop();
    expect(buildWorkbook(input("member"))).toEqual(b);
    expect(WORKBOOK_ACTIONS.submit.constraints).toEqual([{ type: "hasAllValid" }, { type: "hasData" }]);
  });
});
