import { describe, expect, it } from "vitest";
import { guideSection as readSection } from "../../support/guide";
import { resolveCurrency } from "../../../shared/domain/currency";
import { BUNDLED_CATEGORIES, type ReferenceData } from "../../../shared/domain/reference-data";
import { buildSpaceSetup, warmUpSpaceSetup } from "../../../shared/domain/space-setup";
import { REFERENCE_OPTION_LIMIT } from "../../../shared/domain/blueprint";

const bundled: ReferenceData = {
  categories: BUNDLED_CATEGORIES.map((c) => ({ ...c })),
  source: "bundled",
  detail: "bundled default: the API was down",
};
const base = { spaceId: "us_sp_1", environmentId: "us_env_1", referenceData: bundled };

describe("buildSpaceSetup", () => {
  it("shapes the workbook and the guide together for a guest in Japan", () => {
    const setup = buildSpaceSetup({ ...base, actor: { kind: "guest", name: "Gus" }, currency: resolveCurrency({ locale: "ja-JP" }) });
    expect(setup.audience).toBe("guest");
    expect(setup.workbook.sheets?.every((s) => JSON.stringify(s.access) === JSON.stringify(["add", "edit"]))).toBe(true);
    const amount = setup.workbook.sheets?.find((s) => s.slug === "orders")?.fields.find((f) => f.key === "amount");
    expect(amount).toMatchObject({ label: "Amount (JPY)", config: { decimalPlaces: 0 } });
    expect(readSection(setup.guide.body, "intro")).toContain("deleting them is not available to guests");
    expect(readSection(setup.guide.body, "intro")).toContain("<strong>Contacts</strong> and <strong>Orders</strong>");
    expect(readSection(setup.guide.body, "currency")).toContain("(JPY)");
    expect(readSection(setup.guide.body, "reference-data")).toContain("bundled default list");
    // The guide is its state, rendered.
    expect(setup.guideState.progress.map((p) => p.role)).toEqual(["contacts", "orders"]);
  });

  it("caps the reference data at the options a field may have and says so in the guide", () => {
    const many: ReferenceData = {
      categories: Array.from({ length: 140 }, (_, i) => ({ value: `c${i}`, label: `Category ${i}` })),
      source: "remote",
      detail: "https://ref.example.test/c at 2026-11-24T10:00:00.000Z",
    };
    const setup = buildSpaceSetup({ ...base, referenceData: many, actor: { kind: "user", name: "Ada" }, currency: resolveCurrency({}) });
    const category = setup.workbook.sheets?.find((s) => s.slug === "orders")?.fields.find((f) => f.key === "category");
    expect(category?.type === "enum" && category.config.options).toHaveLength(REFERENCE_OPTION_LIMIT);
    expect(category?.description).toContain(`the first ${REFERENCE_OPTION_LIMIT} of 140`);
    const text = readSection(setup.guide.body, "reference-data")!;
    expect(text).toContain(`Only the first ${REFERENCE_OPTION_LIMIT} categories are offered in the Orders sheet.`);
    expect(text).toContain("The reference data lists 140 categories");
  });

  it("gives staff the internal notes and says so in the guide", () => {
    const setup = buildSpaceSetup({
      ...base,
      actor: { kind: "user", name: "Grace", metadata: { staff: true } },
      currency: resolveCurrency({}),
    });
    expect(setup.audience).toBe("internal");
    expect(setup.workbook.sheets?.every((s) => s.fields.some((f) => f.key === "internalNotes"))).toBe(true);
    expect(readSection(setup.guide.body, "intro")).toContain("Internal notes");
  });
});

describe("warmUpSpaceSetup", () => {
  it("changes nothing a later setup is built from: the same inputs give the same setup before and after it", () => {
    const input = { ...base, actor: { kind: "user" as const, name: "Ada" }, currency: resolveCurrency({ locale: "de-DE" }) };
    const before = buildSpaceSetup(input);
    warmUpSpaceSetup();
    warmUpSpaceSetup();
    expect(buildSpaceSetup(input)).toEqual(before);
    expect(bundled.categories).toEqual(BUNDLED_CATEGORIES);
  });
});
