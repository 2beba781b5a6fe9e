/**
 * space:configure handed to the customer's listener (spaceConfigureBy "listener": the functions'
 * SPACE_CONFIGURE_BY). Through POST /listener as the relay sends it (its forwarded fields, signed),
 * against the stand-in: @flatfile/plugin-space-configure's configureSpace creates the Space's
 * workbook and document and completes the job, once however often the event is delivered; our
 * space-configure route declines the job untouched. With the setting at "ours" (unset), it is the
 * other way round.
 */
import type { FlatfileListener } from "@flatfile/listener";
import { afterEach, describe, expect, it } from "vitest";
import { createListenerRoute } from "../../../functions/listener/listener";
import { handler as configureHandler } from "../../../functions/space-configure/handler";
import { forwardedBody } from "../../../infra/relay/forward";
import { createRoute, SPACE_CONFIGURE_BY_ENV } from "../../../shared/core/route";
import { useHarness } from "../../support/fixture";
import { jobReadyEvent } from "../../support/harness";

const h = useHarness();
afterEach(() => {
  delete process.env[SPACE_CONFIGURE_BY_ENV];
});

/** A listener module as a customer writes one with plugin-space-configure. */
const listenerRoute = createRoute(
  createListenerRoute(async () => {
    // Imported here, as listener/index.ts would be: the plugin builds its client at import, from
    // the FLATFILE_API_URL the route has set by then.
    const { configureSpace } = await import("@flatfile/plugin-space-configure");
    return {
      default: (listener: FlatfileListener) => {
        listener.use(
          configureSpace({
            workbooks: [
              {
                name: "Customers",
                sheets: [
                  { name: "People", slug: "people", fields: [{ key: "name", type: "string", label: "Name" }] },
                  { name: "Firms", slug: "firms", fields: [{ key: "title", type: "string", label: "Title" }] },
                ],
              },
            ],
            documents: [{ title: "Welcome", body: "# Welcome\n\nStart with People." }],
          }),
        );
      },
    };
  }),
);

/** A new Space with its ready space:configure job, and the body the relay sends for its job:ready. */
function newSpace() {
  const space = h.flatfile.seed.space({});
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  const body = forwardedBody(jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }));
  return { spaceId: space.id, jobId: job.id, body };
}

const workbooksOf = (spaceId: string) => [...h.flatfile.workbooks.values()].filter((w) => w.spaceId === spaceId);
const requestsFor = (jobId: string) => h.flatfile.requests.filter((r) => r.path.includes(jobId));

describe('spaceConfigureBy "listener": configureSpace through POST /listener', () => {
  it("creates the Space's workbook with its sheets and its document, and completes the job", async () => {
    process.env[SPACE_CONFIGURE_BY_ENV] = "listener";
    const s = newSpace();
    const answer = await h.deliver(listenerRoute, s.body);
    expect(answer).toMatchObject({ status: 200, body: { handlers: 1, job: "complete" } });
    const workbooks = workbooksOf(s.spaceId);
    expect(workbooks).toHaveLength(1);
    const sheets = workbooks[0]!.sheetIds.map((id) => h.flatfile.sheets.get(id)!.slug);
    expect(sheets).toEqual(["people", "firms"]);
    expect((await h.api.spaces.get(s.spaceId)).data.primaryWorkbookId).toBe(workbooks[0]!.id);
    expect([...h.flatfile.documents.values()].filter((d) => d.spaceId === s.spaceId).map((d) => d.title)).toEqual(["Welcome"]);
    const job = (await h.api.jobs.get(s.jobId)).data;
    expect(job.status).toBe("complete");
    expect(job.info).toBe("Space configured");
  });

  it("makes no second workbook when the relay delivers the same event again: the stored answer is replayed", async () => {
    process.env[SPACE_CONFIGURE_BY_ENV] = "listener";
    const s = newSpace();
    expect((await h.deliver(listenerRoute, s.body)).body).toMatchObject({ job: "complete" });
    const calls = h.flatfile.requests.length;
    const again = await h.deliver(listenerRoute, s.body);
    expect(again).toMatchObject({ status: 200, body: { job: "complete", replayed: true } });
    expect(h.flatfile.requests.length).toBe(calls);
    expect(workbooksOf(s.spaceId)).toHaveLength(1);
  });

  it("is declined by our space-configure route, which neither acknowledges nor configures it", async () => {
    process.env[SPACE_CONFIGURE_BY_ENV] = "listener";
    const s = newSpace();
    const answer = await h.deliver(configureHandler, s.body);
    expect(answer).toMatchObject({ status: 200, body: { ignored: true, reason: expect.stringContaining("listener") } });
    expect(requestsFor(s.jobId)).toEqual([]);
    expect(workbooksOf(s.spaceId)).toEqual([]);
    expect((await h.api.jobs.get(s.jobId)).data.status).toBe("ready");
  });
});

describe('spaceConfigureBy "ours" (the default)', () => {
  it("keeps the job our route's: the listener is not given it, and our route configures the Space", async () => {
    const s = newSpace();
    const declined = await h.deliver(listenerRoute, s.body);
    expect(declined).toMatchObject({ status: 200, body: { ignored: true, reason: expect.stringContaining("space-configure") } });
    expect(requestsFor(s.jobId)).toEqual([]);
    const ours = await h.deliver(configureHandler, s.body);
    expect(ours.status).toBe(200);
    expect((await h.api.jobs.get(s.jobId)).data.status).toBe("complete");
    expect(workbooksOf(s.spaceId)).toHaveLength(1);
  });

  it("refuses a SPACE_CONFIGURE_BY it does not know, before anything is called", async () => {
    process.env[SPACE_CONFIGURE_BY_ENV] = "theirs";
    const s = newSpace();
    const answer = await h.deliver(configureHandler, s.body);
    expect(answer.status).toBe(500);
    expect(requestsFor(s.jobId)).toEqual([]);
  });
});
