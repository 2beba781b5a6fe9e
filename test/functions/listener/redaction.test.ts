/**
 * What the customer's code prints never carries a key: `console.log(event)` (FlatfileEvent keeps
 * the key as `_accessToken`), the key printed on purpose, or the AWS credentials. Its own file:
 * console.log is captured before the first dispatch wraps it.
 */
import { format, inspect } from "node:util";
import type { FlatfileListener } from "@flatfile/listener";
import { describe, expect, it, vi } from "vitest";
import { createListenerRoute } from "../../../functions/listener/listener";
import { createRoute } from "../../../shared/core/route";
import { seedConfiguredSpace } from "../../support/configured-space";
import { useHarness } from "../../support/fixture";
import { commitCreatedEvent } from "../../support/harness";

const printed: string[] = [];
vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
  printed.push(format(...args));
});

const AWS_SECRET = "aws-secret-access-key-for-the-test-0123456789";
const h = useHarness({ env: { AWS_SECRET_ACCESS_KEY: AWS_SECRET } });
const running = (register: (listener: FlatfileListener) => void) => createRoute(createListenerRoute(async () => ({ default: register })));

async function deliverCommit(route: ReturnType<typeof running>) {
  const c = await seedConfiguredSpace(h.flatfile);
  const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] });
  const event = commitCreatedEvent({
    spaceId: c.spaceId,
    workbookId: c.workbookId,
    sheetId: c.contactsId,
    sheetSlug: "contacts",
    commitId,
  });
  return h.deliver(route, event);
}

describe("what the listener prints", () => {
  it("has no key in console.log(event), in inspect or in JSON of the event and the listener", async () => {
    const seen: string[] = [];
    const route = running((listener) =>
      listener.on("commit:created", (event) => {
        console.log(event);
        seen.push(inspect(event, { depth: 5 }), JSON.stringify(event), inspect(listener, { depth: 3 }));
      }),
    );
    const answer = await deliverCommit(route);
    expect(answer.status).toBe(200);
    expect(printed.length).toBeGreaterThan(0);
    for (const text of [...printed, ...seen]) {
      expect(text).not.toContain(h.flatfile.apiKey);
      expect(text).not.toContain("_accessToken");
    }
    // Still there for the library, which sends it.
    expect(printed.join("\n")).toContain("commit:created");
  });

  it("redacts the key, the signing secret and AWS credentials printed on purpose", async () => {
    printed.length = 0;
    const route = running((listener) =>
      listener.on("commit:created", () => {
        console.log(
          "key",
          process.env.FLATFILE_BEARER_TOKEN,
          "signing",
          process.env.FLATFILE_SIGNING_SECRET,
          "aws",
          process.env.AWS_SECRET_ACCESS_KEY,
        );
      }),
    );
    await deliverCommit(route);
    const text = printed.join("\n");
    expect(text).toContain("[REDACTED]");
    for (const secret of [h.flatfile.apiKey, h.signingSecret, AWS_SECRET]) expect(text).not.toContain(secret);
  });
});
