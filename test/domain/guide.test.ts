import { describe, expect, it } from "vitest";
import {
  appendHistory,
  buildGuide,
  GUIDE_SECTIONS,
  readSection,
  renderLocked,
  renderProgress,
  renderSubmitted,
  replaceSection,
  type GuideInput,
} from "../../shared/domain/guide";
import { resolveCurrency } from "../../shared/domain/currency";

const base: GuideInput = {
  audience: "member",
  actorName: "Ada <script>alert(1)</script>",
  currency: resolveCurrency({ locale: "de-DE" }),
  referenceData: { categories: [{ value: "a", label: "A" }], source: "remote", detail: "https://ref.example.test/c at 2026-11-24T10:00:00.000Z" },
  workbookName: "Contacts & Orders",
  sheets: [
    { name: "Contacts", slug: "contacts" },
    { name: "Orders", slug: "orders" },
  ],
};

describe("buildGuide", () => {
  const guide = buildGuide(base);

  it("has every section, once, in order", () => {
    let at = -1;
    for (const name of GUIDE_SECTIONS) {
      const start = guide.body.indexOf(`<!-- section:${name} -->`);
      expect(start).toBeGreaterThan(at);
      expect(guide.body.indexOf(`<!-- section:${name} -->`, start + 1)).toBe(-1);
      expect(guide.body.indexOf(`<!-- /section:${name} -->`)).toBeGreaterThan(start);
      at = start;
    }
    expect(guide.title).toBe("Getting started");
  });

  it("escapes interpolated text", () => {
    expect(guide.body).not.toContain("<script>");
    expect(guide.body).toContain("Ada &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(guide.body).toContain("Contacts &amp; Orders");
  });

  it("states the currency and where the reference data came from", () => {
    expect(readSection(guide.body, "currency")).toContain("Euro (EUR)");
    expect(readSection(guide.body, "currency")).toContain("2 decimal places");
    expect(readSection(guide.body, "reference-data")).toContain("https://ref.example.test/c at 2026-11-24T10:00:00.000Z");
    expect(readSection(guide.body, "progress")).toContain("no records yet");
  });

  it("says plainly when the bundled fallback is in use", () => {
    const fallback = buildGuide({
      ...base,
      referenceData: { ...base.referenceData, source: "bundled", detail: "bundled default: the reference API timed out after 1500 ms" },
    });
    const text = readSection(fallback.body, "reference-data")!;
    expect(text).toContain("was not available");
    expect(text).toContain("bundled default list");
    expect(text).toContain("timed out after 1500 ms");
  });

  it("varies by audience", () => {
    expect(buildGuide({ ...base, audience: "guest" }).body).not.toContain("Duplicate this Sheet");
    expect(buildGuide({ ...base, audience: "internal" }).body).toContain("Internal notes");
  });
});

describe("replaceSection", () => {
  const body = buildGuide(base).body;

  it("keeps everything outside the section byte for byte", () => {
    const next = replaceSection(body, "progress", renderProgress([{ sheetName: "Contacts", total: 12, valid: 10, error: 2 }]));
    const [beforeOld, afterOld] = [body.indexOf("<!-- section:progress -->"), body.indexOf("<!-- /section:progress -->")];
    const [beforeNew, afterNew] = [next.indexOf("<!-- section:progress -->"), next.indexOf("<!-- /section:progress -->")];
    expect(next.slice(0, beforeNew)).toBe(body.slice(0, beforeOld));
    expect(next.slice(afterNew)).toBe(body.slice(afterOld));
    expect(readSection(next, "progress")).toContain("12 records: 10 valid, 2 with errors");
  });

  it("is idempotent and returns the same string when nothing changes", () => {
    const html = renderProgress([{ sheetName: "Orders", total: 1, valid: 1, error: 0 }]);
    const once = replaceSection(body, "progress", html);
    expect(replaceSection(once, "progress", html)).toBe(once);
  });

  it("appends a missing section and keeps the body in front", () => {
    const next = replaceSection("<p>custom</p>", "progress", "<p>x</p>");
    expect(next.startsWith("<p>custom</p>\n<!-- section:progress -->")).toBe(true);
    expect(readSection(next, "progress")).toBe("\n<p>x</p>\n");
  });

  it("is safe with $ patterns in the html", () => {
    expect(readSection(replaceSection(body, "intro", "<p>$& $1 $$</p>"), "intro")).toBe("\n<p>$& $1 $$</p>\n");
  });
});

describe("history", () => {
  const body = buildGuide(base).body;
  const locked = renderLocked({ sheetName: "Contacts <b>", at: "2026-11-24T10:05:00Z", continueSheetName: "Contacts (copy)" });
  const submitted = renderSubmitted({ at: new Date("2026-11-24T11:00:00Z"), actorName: "Ada", records: 1234 });

  it("renders escaped lines", () => {
    expect(locked).toContain("Contacts &lt;b&gt;");
    expect(locked).toContain('<time datetime="2026-11-24T10:05:00.000Z">2026-11-24 10:05 UTC</time>');
    expect(submitted).toContain("Submitted on <time");
    expect(submitted).toContain("</time> by Ada (1,234 records)");
  });

  it("appends in order, idempotently, touching only the history section", () => {
    const one = appendHistory(body, locked);
    expect(appendHistory(one, locked)).toBe(one);
    const two = appendHistory(one, submitted);
    const history = readSection(two, "history")!;
    expect(history).not.toContain("Nothing has been");
    expect(history.indexOf(locked)).toBeLessThan(history.indexOf(submitted));
    expect(appendHistory(two, locked)).toBe(two);
    const cut = (s: string) => s.slice(0, s.indexOf("<!-- section:history -->"));
    expect(cut(two)).toBe(cut(body));
  });
});

describe("renderProgress", () => {
  it("says no records yet for empty sheets", () => {
    const html = renderProgress([
      { sheetName: "Contacts", total: 0, valid: 0, error: 0 },
      { sheetName: "Orders", total: 1, valid: 1, error: 0 },
    ]);
    expect(html).toContain("<strong>Contacts</strong>: no records yet");
    expect(html).toContain("<strong>Orders</strong>: 1 record: 1 valid, 0 with errors");
  });
});
