/**
 * The flow and reliability suites run twice (vitest.config.mts): once against a stand-in that
 * keeps the sheets a workbooks.update leaves out, once against one that drops them. This proves
 * the second run really gets a dropping stand-in, so its passing means something.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createFlatfileClient } from "../../shared/core/flatfile-client";

let ff: FlatfileStandIn;
beforeAll(async () => {
  ff = await startFlatfileStandIn();
});
afterAll(async () => {
  await ff?.close();
});

it("gets the stand-in mode its vitest project names", async ({ task }) => {
  const expected = task.file.projectName === "omitted-sheets-dropped" ? "dropped" : "kept";
  const space = ff.seed.space();
  const wb = ff.seed.workbook({
    spaceId: space.id,
    sheets: [
      { name: "A", slug: "a" },
      { name: "B", slug: "b" },
    ],
  });
  const api = createFlatfileClient({ token: ff.apiKey, baseUrl: ff.url });
  const updated = (await api.workbooks.update(wb.id, { sheets: [{ name: "A", slug: "a", fields: [{ type: "string", key: "k" }] }] })).data;
  expect(updated.sheets!.map((s) => s.slug)).toEqual(expected === "kept" ? ["a", "b"] : ["a"]);
});
