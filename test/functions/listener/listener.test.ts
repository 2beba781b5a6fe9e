/**
 * The listener route through its handler (signed as the relay sends), against the stand-in: the
 * example listener's record hook and custom action, and what the route holds every listener to
 * (its calls go only to FLATFILE_API_URL and end at the deadline; a dataUrl must lead there too).
 */
import { FlatfileClient } from "@flatfile/api";
import type { FlatfileListener } from "@flatfile/listener";
import { describe, expect, it } from "vitest";
import { handler } from "../../../functions/listener/handler";
import { createListenerRoute, listenerApiBase, relativeDataUrl } from "../../../functions/listener/listener";
import { createRoute } from "../../../shared/core/route";
import { seedConfiguredSpace } from "../../support/configured-space";
import { useHarness } from "../../support/fixture";
import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";

const h = useHarness();
// Not imported from listener/index.ts: importing it here would build its plugins' clients before
// the route has set FLATFILE_API_URL (they read it at import), as a hosted agent's would be.
const EXAMPLE_ACTION_JOB = "workbook:myAction";

async function emailsOf(sheetId: string): Promise<unknown[]> {
  const { data } = await h.api.records.get(sheetId);
  return data.records.map((r) => r.values.email?.value);
}

function commitEvent(c: { spaceId: string; workbookId: string }, sheetId: string, sheetSlug: string, commitId: string) {
  return {
    ...commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId, sheetSlug, commitId, actorId: "us_usr_person01" }),
    dataUrl: `v1/sheets/${sheetId}/records?commitId=${commitId}`,
  };
}

/** A handler running `register` instead of listener/index.ts. */
const running = (register: (listener: FlatfileListener) => void) => createRoute(createListenerRoute(async () => ({ default: register })));

describe("POST /listener with the example listener", () => {
  it("runs the record hook on a Contacts commit: the addresses are written back normalised", async () => {
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, {
      insert: [
        { firstName: "Ada", email: "  Ada@Example.COM " },
        { firstName: "Bob", email: "bob@example.com" },
      ],
    });
    const answer = await h.deliver(handler, commitEvent(c, c.contactsId, "contacts", commitId));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ handlers: 1 });
    expect(await emailsOf(c.contactsId)).toEqual(["ada@example.com", "bob@example.com"]);
    // Read from and written back (gzipped, by event.update) to the commit's dataUrl, each call logged.
    const puts = h.flatfile.requests.filter((r) => r.method === "PUT" && r.route === "records.update");
    expect(puts.map((r) => r.path)).toEqual([`/v1/sheets/${c.contactsId}/records?commitId=${commitId}`]);
    expect(answer.body.calls).toEqual([`GET /v1/sheets/${c.contactsId}/records 200`, `PUT /v1/sheets/${c.contactsId}/records 200`]);
  });

  it("leaves a commit on another sheet to no callback", async () => {
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.ordersId, { insert: [{ orderId: "o-1", amount: 1, category: "books" }] });
    const before = h.flatfile.requests.length;
    const answer = await h.deliver(handler, commitEvent(c, c.ordersId, "orders", commitId));
    expect(answer).toMatchObject({ status: 200, body: { handlers: 0, calls: [] } });
    expect(h.flatfile.requests.length).toBe(before);
  });

  it("completes its custom action's job through plugin-job-handler, whose SDK client sends Keep-Alive", async () => {
    const space = h.flatfile.seed.space({});
    const job = h.flatfile.seed.job({ job: EXAMPLE_ACTION_JOB, spaceId: space.id });
    const answer = await h.deliver(handler, jobReadyEvent({ job: EXAMPLE_ACTION_JOB, jobId: job.id, spaceId: space.id }));
    expect(answer.status).toBe(200);
    const done = (await h.api.jobs.get(job.id)).data;
    expect(done.status).toBe("complete");
    expect(done.outcome?.message).toBe("The example action ran.");
    // The plugin's client was built from FLATFILE_API_URL without /v1: it appends v1 once.
    expect(answer.body.calls).toEqual([
      `POST /v1/jobs/${job.id}/ack 200`,
      `POST /v1/jobs/${job.id}/ack 200`,
      `POST /v1/jobs/${job.id}/complete 200`,
    ]);
  });
});

describe("what the route holds a listener to", () => {
  it("refuses a call to another origin than FLATFILE_API_URL, and logs it without its address", async () => {
    let seen: unknown;
    const route = running((listener) =>
      listener.on("commit:created", async () => {
        seen = await fetch("http://169.254.169.254/latest/meta-data/").then(
          () => "answered",
          (error: Error) => error.message,
        );
      }),
    );
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] });
    const answer = await h.deliver(route, commitEvent(c, c.contactsId, "contacts", commitId));
    expect(answer.status).toBe(200);
    expect(seen).toMatch(/only the Flatfile API/);
    expect(answer.body.calls).toEqual(["GET (another origin) 0"]);
  });

  it("aborts a call still in flight at the deadline and answers 5xx within the invocation, for the relay to retry", async () => {
    h.flatfile.faults.hang("jobs.get");
    let ended: unknown;
    const route = running((listener) =>
      listener.on("commit:created", async () => {
        ended = await new FlatfileClient().jobs.get("us_jb_hanging1").then(
          () => "answered",
          (error: unknown) => (error as Error).name,
        );
      }),
    );
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] });
    const started = Date.now();
    // 6 s left: the route's deadline is 5 s away, the listener's 4 s before that.
    const answer = await h.deliver(route, commitEvent(c, c.contactsId, "contacts", commitId), { remainingMs: 6_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answer.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The SDK's own 60 s timeout would have kept it waiting; the shim ended it.
    expect(ended).toBeDefined();
    expect(ended).not.toBe("answered");
  });

  it("answers 5xx for a commit whose callback threw, so that the relay delivers it again", async () => {
    const route = running((listener) =>
      listener.on("commit:created", () => {
        throw new Error("customer bug");
      }),
    );
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] });
    const answer = await h.deliver(route, commitEvent(c, c.contactsId, "contacts", commitId));
    expect(answer.status).toBe(503);
    expect(JSON.stringify(answer.body)).not.toContain("customer bug");
  });

  it("answers 5xx for a commit whose write-back met a 503 that event.fetch only logged, and the redelivery writes it", async () => {
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada", email: " ADA@example.com" }] });
    h.flatfile.faults.statuses("records.update", [503]);
    const [first, second] = await h.deliverUntilSettled(handler, commitEvent(c, c.contactsId, "contacts", commitId));
    expect(first?.status).toBe(503);
    expect(second).toMatchObject({ status: 200, body: { handlers: 1 } });
    expect(await emailsOf(c.contactsId)).toEqual(["ada@example.com"]);
  });

  it("refuses an event whose dataUrl leads to another origin, before any call", async () => {
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] });
    const before = h.flatfile.requests.length;
    const event = { ...commitEvent(c, c.contactsId, "contacts", commitId), dataUrl: "https://attacker.example/v1/sheets/x/records" };
    const answer = await h.deliver(handler, event);
    expect(answer.status).toBe(400);
    expect(h.flatfile.requests.length).toBe(before);
  });

  it("gives the plugins FLATFILE_API_URL without /v1, and a dataUrl relative to it", () => {
    expect(listenerApiBase("https://platform.flatfile.com/api/v1/")).toBe("https://platform.flatfile.com/api");
    expect(listenerApiBase("http://127.0.0.1:9/v1")).toBe("http://127.0.0.1:9");
    expect(listenerApiBase(undefined)).toBe("https://platform.flatfile.com/api");
    const base = "https://platform.flatfile.com/api";
    expect(relativeDataUrl("v1/sheets/us_sh_1/records?commitId=us_vr_1", base)).toBe("v1/sheets/us_sh_1/records?commitId=us_vr_1");
    expect(relativeDataUrl(`${base}/v1/sheets/us_sh_1/records`, base)).toBe("v1/sheets/us_sh_1/records");
    expect(() => relativeDataUrl("https://platform.flatfile.com/other/v1/x", base)).toThrow(/outside/);
    expect(() => relativeDataUrl("../../v1/x", base)).toThrow(/outside/);
    expect(() => relativeDataUrl("//evil.example/v1/x", base)).toThrow(/outside/);
  });
});
