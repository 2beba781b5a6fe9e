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
import { commitCreatedEvent, ENVIRONMENT_ID } from "../../support/harness";

const printed: string[] = [];
vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
  printed.push(format(...args));
});

const AWS_SECRET = "aws-secret-access-key-for-the-test-0123456789";
const h = useHarness({ env: { AWS_SECRET_ACCESS_KEY: AWS_SECRET } });
const running = (register: (listener: FlatfileListener) => void) => createRoute(createListenerRoute(async () => ({ default: register })));

async function deliverCommit(route: ReturnType<typeof running>, before?: (spaceId: string) => Promise<void>) {
  const c = await seedConfiguredSpace(h.flatfile);
  await before?.(c.spaceId);
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

describe("secrets the listener reads through event.secrets", () => {
  it("are redacted from what it prints: an environment's secret, a Space's override, and the list they came from", async () => {
    printed.length = 0;
    const read: string[] = [];
    const route = running((listener) =>
      listener.on("commit:created", async (event) => {
        const token = await event.secrets("PARTNER_TOKEN");
        const region = await event.secrets("PARTNER_REGION");
        read.push(token, region);
        console.log("partner token is", token, "in", region);
        console.log(event);
        console.info(JSON.stringify({ token }));
      }),
    );
    const answer = await deliverCommit(route, async (spaceId) => {
      await h.api.secrets.upsert({ name: "PARTNER_TOKEN", value: "env-token-value-1234", environmentId: ENVIRONMENT_ID });
      await h.api.secrets.upsert({ name: "PARTNER_TOKEN", value: "space-token-value-5678", environmentId: ENVIRONMENT_ID, spaceId });
      await h.api.secrets.upsert({ name: "PARTNER_REGION", value: "eu1", environmentId: ENVIRONMENT_ID });
      await h.api.secrets.upsert({ name: "UNREAD_SECRET", value: "never-read-but-fetched-42", environmentId: ENVIRONMENT_ID });
    });
    expect(answer.status).toBe(200);
    // The Space's override was the one read, beside the environment's own secret.
    expect(read).toEqual(["space-token-value-5678", "eu1"]);
    const text = printed.join("\n");
    expect(text).toContain("partner token is [REDACTED] in [REDACTED]");
    for (const value of ["space-token-value-5678", "env-token-value-1234", "eu1", "never-read-but-fetched-42"]) {
      expect(text).not.toContain(value);
    }
  });
});
