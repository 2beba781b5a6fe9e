/**
 * The flow and reliability suites run twice (vitest.config.mts): once against the stand-in's
 * defaults, once against one that answers the other way where the docs are silent. This proves
 * the second run really gets the other stand-in, so its passing means something.
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
  const otherWay = task.file.projectName === "platform-other-way";
  const expected = otherWay ? "dropped" : "kept";
  expect(ff.platform.disabledHooks).toBe(otherWay ? "raised" : "skipped");
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
