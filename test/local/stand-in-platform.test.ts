/**
 * What the stand-in models beyond request validation, where the platform's docs are silent or set
 * a limit: sheets left out of workbooks.update (either way), what the SDK's serializer lets
 * through, the enum options limit, HTML comments in document bodies, duplicateSheet's defaults.
 */
import type { Flatfile } from "@flatfile/api";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { platformFromEnv, startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createSdkClient, type SdkApi } from "../../shared/core/flatfile-sdk";

let ff: FlatfileStandIn;
let api: SdkApi;

beforeAll(async () => {
  ff = await startFlatfileStandIn({ platform: { omittedSheets: "kept", dropHtmlComments: true } });
  api = createSdkClient({ token: ff.apiKey, baseUrl: ff.url, retry: { maxRetries: 0 } });
});
afterAll(async () => {
  await ff?.close();
});
beforeEach(() => ff.reset());

async function statusOf(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return 200;
  } catch (error) {
    return error instanceof FlatfileError ? error.statusCode : undefined;
  }
}

const fields: Flatfile.Property[] = [{ type: "string", key: "name", label: "Name" }];
const options = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `v${i}`, label: `Option ${i}` }));

async function twoSheetWorkbook() {
  const space = ff.seed.space();
  const wb = ff.seed.workbook({
    spaceId: space.id,
    sheets: [
      { name: "A", slug: "a", records: 3 },
      { name: "B", slug: "b", records: 2 },
    ],
  });
  return { space, wb, a: wb.sheets[0]!, b: wb.sheets[1]! };
}

describe("sheets left out of workbooks.update", () => {
  it("keeps them, with their records, when the stand-in keeps omitted sheets (the default)", async () => {
    const { wb, a, b } = await twoSheetWorkbook();
    const updated = (await api.workbooks.update(wb.id, { sheets: [{ name: "A", slug: "a", fields, readonly: true }] })).data;
    expect(updated.sheets!.map((s) => s.slug)).toEqual(["a", "b"]);
    expect(ff.sheets.get(b.id)!.records).toHaveLength(2);
    expect(ff.sheets.get(a.id)!.config.readonly).toBe(true);
  });

  it("deletes them when the stand-in drops omitted sheets, and reset restores the mode it started with", async () => {
    ff.platform.omittedSheets = "dropped";
    const { wb, b } = await twoSheetWorkbook();
    const updated = (await api.workbooks.update(wb.id, { sheets: [{ name: "A", slug: "a", fields }] })).data;
    expect(updated.sheets!.map((s) => s.slug)).toEqual(["a"]);
    expect(ff.sheets.has(b.id)).toBe(false);
    expect(await statusOf(api.sheets.get(b.id))).toBe(404);
    ff.reset();
    expect(ff.platform.omittedSheets).toBe("kept");
  });

  it("reads its mode from STAND_IN_OMITTED_SHEETS, refusing a value it does not know", () => {
    expect(platformFromEnv({}).omittedSheets).toBe("kept");
    expect(platformFromEnv({ STAND_IN_OMITTED_SHEETS: "dropped" }).omittedSheets).toBe("dropped");
    expect(() => platformFromEnv({ STAND_IN_OMITTED_SHEETS: "gone" })).toThrow(/kept.*dropped/);
    expect(platformFromEnv({ STAND_IN_DROP_HTML_COMMENTS: "0" }).dropHtmlComments).toBe(false);
    expect(platformFromEnv({}).dropHtmlComments).toBe(true);
    expect(platformFromEnv({}).disabledHooks).toBe("skipped");
    expect(platformFromEnv({ STAND_IN_DISABLED_HOOKS: "raised" }).disabledHooks).toBe("raised");
    expect(() => platformFromEnv({ STAND_IN_DISABLED_HOOKS: "sometimes" })).toThrow(/skipped.*raised/);
  });
});

describe("what reaches the stand-in is what survives the SDK's serializer", () => {
  it("stores a sheet without the keys the SDK strips, and refuses them sent raw", async () => {
    const { wb, a } = await twoSheetWorkbook();
    // Sheet-level constraints are not in SheetConfigOrUpdate: the SDK drops them silently.
    const sheet = {
      name: "A",
      slug: "a",
      fields,
      constraints: [{ type: "unique", fields: ["name"], name: "u" }],
    } as unknown as Flatfile.SheetConfigOrUpdate;
    await api.workbooks.update(wb.id, { sheets: [sheet] });
    const sent = ff.requests.find((r) => r.route === "workbooks.update")!.body as { sheets: Record<string, unknown>[] };
    expect(sent.sheets[0]).not.toHaveProperty("constraints");
    expect(ff.sheets.get(a.id)!.config).not.toHaveProperty("constraints");

    const raw = await fetch(`${ff.url}/workbooks/${wb.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ff.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ sheets: [sheet] }),
    });
    expect(raw.status).toBe(400);
    expect(ff.sheets.get(a.id)!.config).not.toHaveProperty("constraints");
  });
});

describe("enum options above Flatfile's documented 100", () => {
  const enumSheet = (n: number): Flatfile.SheetConfig => ({
    name: "Orders",
    slug: "orders",
    fields: [{ type: "enum", key: "category", label: "Category", config: { options: options(n) } }],
  });

  it("accepts 100 and refuses 101 on create, creating nothing", async () => {
    const space = ff.seed.space();
    expect(await statusOf(api.workbooks.create({ name: "W", spaceId: space.id, sheets: [enumSheet(100)] }))).toBe(200);
    expect(await statusOf(api.workbooks.create({ name: "W2", spaceId: space.id, sheets: [enumSheet(101)] }))).toBe(400);
    expect([...ff.workbooks.values()].map((w) => w.name)).toEqual(["W"]);
  });

  it("refuses an update that grows an enum past 100, leaving the sheet as it was", async () => {
    const space = ff.seed.space();
    const wb = (await api.workbooks.create({ name: "W", spaceId: space.id, sheets: [enumSheet(99)] })).data;
    const error = await api.workbooks.update(wb.id, { sheets: [enumSheet(101)] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FlatfileError);
    expect((error as FlatfileError).statusCode).toBe(400);
    expect(JSON.stringify((error as FlatfileError).body)).toContain("sheets[0].fields[0].config.options");
    const stored = (await api.workbooks.get(wb.id)).data.sheets![0]!.config.fields[0] as Flatfile.Property.Enum;
    expect(stored.config.options).toHaveLength(99);
  });
});

describe("document bodies", () => {
  const body = "<!-- progress -->\n## Progress\n<!-- /progress -->\nText <!-- unterminated";

  it("keeps HTML comments when the stand-in keeps them", async () => {
    ff.platform.dropHtmlComments = false;
    const space = ff.seed.space();
    const doc = (await api.documents.create(space.id, { title: "Guide", body })).data;
    expect((await api.documents.get(space.id, doc.id)).data.body).toBe(body);
  });

  it("drops them on create and on update by default", async () => {
    const space = ff.seed.space();
    const doc = (await api.documents.create(space.id, { title: "Guide", body })).data;
    expect(doc.body).toBe("\n## Progress\n\nText ");
    await api.documents.update(space.id, doc.id, { title: "Guide", body: "a<!-- x -->b" });
    expect((await api.documents.get(space.id, doc.id)).data.body).toBe("ab");
  });
});

describe("duplicateSheet", () => {
  it("names the copy as the SDK documents when no name or slug is given", async () => {
    const { a } = await twoSheetWorkbook();
    const copy = (await api.sheets.duplicateSheet(a.id, {})).data;
    expect(copy.name).toBe("Copy of A");
    expect(copy.slug).toMatch(/^a-copy-\d+$/);
    expect(ff.sheets.get(copy.id)!.records).toHaveLength(3);
  });
});
