/** The stand-in's document bodies: HTML comments dropped unless asked to keep them (undocumented on the platform). */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { createSdkClient } from "../../shared/core/flatfile-sdk";

const stands: FlatfileStandIn[] = [];
beforeAll(async () => {
  stands.push(await startFlatfileStandIn(), await startFlatfileStandIn({ keepHtmlComments: true }));
});
afterAll(async () => {
  await Promise.all(stands.map((s) => s.close()));
});

describe("stand-in: document bodies", () => {
  it("drops HTML comments on create and update by default, keeps them when asked", async () => {
    const [dropping, keeping] = stands as [FlatfileStandIn, FlatfileStandIn];
    const body = "<h1>x</h1>\n<!-- section:progress -->\n<p>y</p><!-- unclosed";
    for (const [stand, expected] of [
      [dropping, "<h1>x</h1>\n\n<p>y</p>"],
      [keeping, body],
    ] as const) {
      const api = createSdkClient({ token: stand.apiKey, baseUrl: stand.url });
      const space = stand.seed.space({});
      const doc = (await api.documents.create(space.id, { title: "t", body })).data;
      expect(doc.body).toBe(expected);
      await api.documents.update(space.id, doc.id, { title: "t", body: `${body}!` });
      expect((await api.documents.get(space.id, doc.id)).data.body).toBe(stand === keeping ? `${body}!` : expected);
    }
  });
});
