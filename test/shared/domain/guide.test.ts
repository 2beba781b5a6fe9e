import { describe, expect, it } from "vitest";
import {
  buildGuide,
  initialGuideState,
  MAX_HISTORY_ENTRIES,
  renderGuide,
  renderProgress,
  withHistory,
  withProgress,
  type GuideInput,
} from "../../../shared/domain/guide";
import { resolveCurrency } from "../../../shared/domain/currency";
import { decodeReferences, expectOneInertHtmlBlock, guideSection, renderMarkdown, sectionCount } from "../../support/guide";

const base: GuideInput = {
  audience: "member",
  actorName: "Ada <script>alert(1)</script>",
  currency: resolveCurrency({ locale: "de-DE" }),
  referenceData: { source: "remote", detail: "https://ref.example.test/c at 2026-11-24T10:00:00.000Z", total: 1, offered: 1 },
  workbookName: "Contacts & Orders",
  sheets: [
    { name: "Contacts", slug: "contacts" },
    { name: "Orders", slug: "orders" },
  ],
};

const HOSTILE = "Ada\n\n[click here](https://evil.example/login)\n\n![](https://evil.example/p.png)";

describe("buildGuide", () => {
  const guide = buildGuide(base);

  it("has every section once, in order, and no comment markers", () => {
    let at = -1;
    for (const name of ["intro", "currency", "reference-data", "progress", "history"] as const) {
      expect(sectionCount(guide.body, name)).toBe(1);
      const start = guide.body.indexOf(guideSection(guide.body, name)!.slice(0, 12));
      expect(start).toBeGreaterThan(at);
      at = start;
    }
    expect(guide.body).not.toContain("<!--");
    expect(guide.title).toBe("Getting started");
  });

  it("escapes interpolated text", () => {
    expect(guide.body).not.toContain("<script>");
    expect(guideSection(guide.body, "intro")).toContain("Welcome, Ada <script>alert(1)</script>!");
    expect(guideSection(guide.body, "intro")).toContain("Contacts & Orders");
  });

  it("states the currency and where the reference data came from", () => {
    expect(guideSection(guide.body, "currency")).toContain("Euro (EUR)");
    expect(guideSection(guide.body, "currency")).toContain("2 decimal places");
    expect(guideSection(guide.body, "reference-data")).toContain("https://ref.example.test/c at 2026-11-24T10:00:00.000Z");
    expect(guideSection(guide.body, "progress")).toContain("no records yet");
  });

  it("says plainly when the bundled fallback is in use, and when the list was capped", () => {
    const fallback = buildGuide({
      ...base,
      referenceData: { source: "bundled", detail: "bundled default: the reference API timed out after 1500 ms", total: 5, offered: 5 },
    });
    const text = guideSection(fallback.body, "reference-data")!;
    expect(text).toContain("was not available");
    expect(text).toContain("bundled default list");
    expect(text).toContain("timed out after 1500 ms");
    const capped = buildGuide({
      ...base,
      referenceData: { ...base.referenceData!, total: 140, offered: 80, capReason: "Flatfile allows at most 100 options." },
    });
    expect(guideSection(capped.body, "reference-data")).toContain("Only the first 80 categories are offered in the Orders sheet.");
    expect(guideSection(capped.body, "reference-data")).toContain("Flatfile allows at most 100 options.");
  });

  it("varies by audience", () => {
    expect(buildGuide({ ...base, audience: "guest" }).body).not.toContain("Duplicate this Sheet");
    expect(buildGuide({ ...base, audience: "internal" }).body).toContain("Internal notes");
  });
});

describe("names and data are text, never Markdown", () => {
  it("(the check is not vacuous: HTML escaping alone, as before, let the link and the image through)", () => {
    const htmlOnly = HOSTILE.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const rendered = renderMarkdown(`<h1>Getting started</h1>\n<p>Welcome, ${htmlOnly}!</p>\n`);
    expect(rendered).toContain('<a href="https://evil.example/login">click here</a>');
    expect(rendered).toContain('<img src="https://evil.example/p.png" alt="">');
  });

  it("keeps a hostile user name and submitter name inert in the welcome line and the history", () => {
    let state = initialGuideState({ ...base, actorName: HOSTILE, sheets: [{ name: HOSTILE, slug: "contacts" }], workbookName: HOSTILE });
    state = withHistory(state, { id: "us_jb_1", kind: "submitted", at: "2026-11-24T11:00:00Z", actorName: HOSTILE, records: 3 });
    state = withHistory(state, {
      id: "us_jb_2",
      kind: "locked",
      at: "2026-11-24T11:05:00Z",
      sheetName: HOSTILE,
      continueSheetName: `${HOSTILE} (copy)`,
    });
    const { body } = renderGuide(state);
    expectOneInertHtmlBlock(body);
    // What a person reads: the name on one line, its characters intact.
    const flat = "Ada [click here](https://evil.example/login) ![](https://evil.example/p.png)";
    expect(guideSection(body, "intro")).toContain(`Welcome, ${flat}!`);
    expect(guideSection(body, "history")).toContain(`by ${flat} (3 records)`);
  });

  it("keeps hostile reference-data text, currency text and e-mail addresses inert", () => {
    const body = buildGuide({
      ...base,
      actorName: "mallory@evil.example",
      currency: { ...resolveCurrency({}), locale: "en-US\n\n# Heading *bold* _em_ `code` | table | ~~strike~~" },
      referenceData: {
        source: "bundled",
        detail: "bundled default: <img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) www.evil.example",
        total: 5,
        offered: 5,
      },
    }).body;
    expectOneInertHtmlBlock(body);
    // Outside the character references, none of Markdown's markup characters is left.
    expect(body.replace(/&#\d+;/g, "")).not.toMatch(/[#*_`|~@[\]]/);
    expect(guideSection(body, "reference-data")).toContain("<img src=x onerror=alert(1)> [x](javascript:alert(1)) www.evil.example");
  });

  it("caps the length of interpolated text", () => {
    const body = buildGuide({ ...base, actorName: "A".repeat(10_000) }).body;
    const welcome = guideSection(body, "intro")!.match(/Welcome, (A+…)!/);
    expect(welcome?.[1]?.length).toBeLessThanOrEqual(100);
  });
});

describe("the guide's state", () => {
  const state = initialGuideState(base);

  it("renders the same body for the same state, whatever was written before", () => {
    expect(renderGuide(state)).toEqual(renderGuide(JSON.parse(JSON.stringify(state))));
  });

  it("adds history lines once per id, oldest first, keeping the newest", () => {
    const locked = {
      id: "us_jb_1",
      kind: "locked" as const,
      at: "2026-11-24T10:05:00Z",
      sheetName: "Contacts <b>",
      continueSheetName: "Contacts (copy)",
    };
    const submitted = { id: "us_jb_2", kind: "submitted" as const, at: "2026-11-24T11:00:00Z", actorName: "Ada", records: 1234 };
    const one = withHistory(state, locked);
    expect(withHistory(one, locked)).toBe(one);
    const two = withHistory(one, submitted);
    const history = guideSection(renderGuide(two).body, "history")!;
    expect(history).not.toContain("Nothing has been");
    expect(history).toContain(
      '<time datetime="2026-11-24T10:05:00.000Z">2026-11-24 10:05 UTC</time>: <strong>Contacts <b></strong> was locked; keep working in <strong>Contacts (copy)</strong>.',
    );
    expect(history.indexOf("was locked")).toBeLessThan(history.indexOf("Submitted on"));
    expect(history).toContain("</time> by Ada (1,234 records)");

    let many = state;
    for (let i = 0; i < MAX_HISTORY_ENTRIES + 5; i++) many = withHistory(many, { ...submitted, id: `us_jb_${i}`, records: i });
    expect(many.history).toHaveLength(MAX_HISTORY_ENTRIES);
    expect(many.history[0]).toMatchObject({ records: 5 });
  });

  it("shows the progress it is given, for the working sheets", () => {
    const next = withProgress(state, [
      { role: "contacts", sheetName: "Contacts (copy)", total: 12, valid: 10, error: 2 },
      { role: "orders", sheetName: "Orders", total: 0, valid: 0, error: 0 },
    ]);
    const progress = guideSection(renderGuide(next).body, "progress")!;
    expect(progress).toContain("<strong>Contacts (copy)</strong>: 12 records: 10 valid, 2 with errors");
    expect(progress).toContain("Fix the records with errors before you submit.");
    expect(guideSection(renderGuide(next).body, "intro")).toContain("<strong>Contacts (copy)</strong> and <strong>Orders</strong>");
  });
});

describe("renderProgress", () => {
  it("says no records yet for empty sheets", () => {
    const html = decodeReferences(
      renderProgress([
        { role: "contacts", sheetName: "Contacts", total: 0, valid: 0, error: 0 },
        { role: "orders", sheetName: "Orders", total: 1, valid: 1, error: 0 },
      ]),
    );
    expect(html).toContain("<strong>Contacts</strong>: no records yet");
    expect(html).toContain("<strong>Orders</strong>: 1 record: 1 valid, 0 with errors");
  });
});

describe("when the counts were taken", () => {
  const rows = [{ role: "contacts", sheetName: "Contacts", total: 2, valid: 2, error: 0 }];

  it("says when it counted, and that writes through the API may show later", () => {
    const html = renderProgress(rows, undefined, "2026-12-03T09:15:42.000Z");
    expect(html).toContain('Counted on <time datetime="2026-12-03T09:15:42.000Z">2026-12-03 09:15 UTC</time>.');
    expect(html).toContain("Submit counts again before it checks");
    expect(renderProgress(rows)).not.toContain("Counted on");
  });

  it("escapes a time it cannot read, and says nothing of it once submitted", () => {
    const odd = renderProgress(rows, undefined, "<b>soon</b>");
    expect(odd).not.toContain("<b>");
    expect(decodeReferences(odd)).toContain("Counted on <b>soon</b>.");
    const submitted = { jobId: "us_jb_1", at: "2026-12-03T09:20:00.000Z", records: 2 };
    expect(renderProgress(rows, submitted, "2026-12-03T09:15:42.000Z")).not.toContain("Counted on");
  });
});

describe("a currency given but not understood", () => {
  it("is named in the guide instead of saying none was given", () => {
    const text = guideSection(buildGuide({ ...base, currency: resolveCurrency({ currency: "EURO" }) }).body, "currency")!;
    expect(text).toContain("US Dollar (USD)");
    expect(text).toContain('Not understood: "EURO" is not a currency code');
    expect(text).not.toContain("No currency, locale or country was given");
  });

  it("escapes what it names", () => {
    const { body } = buildGuide({ ...base, currency: resolveCurrency({ currency: "<img src=x onerror=alert(1)>" }) });
    expect(body).not.toContain("<img");
    expectOneInertHtmlBlock(body);
  });
});
