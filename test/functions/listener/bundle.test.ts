/**
 * The listener's bundle as `npm run build` writes it (dist/listener/index.js) runs the example
 * listener against the stand-in: the plugins, the SDK they import and event.fetch (cross-fetch,
 * aliased to the global fetch) all work from the one file the Lambda loads.
 */
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunction, LISTENER_FUNCTION_NAME } from "../../../infra/bundling";
import type { RouteHandler } from "../../../shared/core/route";
import { seedConfiguredSpace } from "../../support/configured-space";
import { useHarness } from "../../support/fixture";
import { commitCreatedEvent } from "../../support/harness";
import { cleanup, tempDir } from "../../infra/support";

const h = useHarness();
let handler: RouteHandler;
let bytes = 0;
afterAll(cleanup);
beforeAll(async () => {
  const outdir = tempDir("listener-bundle-");
  const built = await buildFunction(LISTENER_FUNCTION_NAME, outdir);
  bytes = built.files.find((f) => f.path.endsWith("index.js"))?.bytes ?? 0;
  handler = (createRequire(__filename)(join(outdir, "index.js")) as { handler: RouteHandler }).handler;
}, 60_000);

describe("dist/listener/index.js", () => {
  it("runs the example's record hook from the bundle", async () => {
    expect(bytes).toBeGreaterThan(0);
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada", email: " Ada@Example.COM" }] });
    const event = {
      ...commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, sheetSlug: "contacts", commitId }),
      dataUrl: `v1/sheets/${c.contactsId}/records?commitId=${commitId}`,
    };
    const answer = await h.deliver(handler, event);
    expect(answer).toMatchObject({ status: 200, body: { handlers: 1 } });
    expect(answer.body.calls).toEqual([`GET /v1/sheets/${c.contactsId}/records 200`, `PUT /v1/sheets/${c.contactsId}/records 200`]);
    const { data } = await h.api.records.get(c.contactsId);
    expect(data.records.map((r) => r.values.email?.value)).toEqual(["ada@example.com"]);
  });
});
