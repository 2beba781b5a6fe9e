/**
 * Through POST /listener as the relay sends an event (its forwarded fields, signed), against the
 * stand-in: a listener registered with `listener.namespace([...])` runs only for events of its
 * namespace, for a commit and for a job through plugin-job-handler.
 */
import type { FlatfileListener } from "@flatfile/listener";
import { describe, expect, it } from "vitest";
import { createListenerRoute } from "../../../functions/listener/listener";
import { forwardedBody } from "../../../infra/relay/forward";
import { createRoute } from "../../../shared/core/route";
import { seedConfiguredSpace } from "../../support/configured-space";
import { useHarness } from "../../support/fixture";
import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";

const h = useHarness();
const RED_JOB = "workbook:redAction";

/** A listener with one namespaced node: commits and a job of `space:red` only. */
function namespaced(seen: string[]) {
  return createRoute(
    createListenerRoute(async () => {
      // Imported here, as listener/index.ts would be: the plugin builds its client at import,
      // from the FLATFILE_API_URL the route has set by then.
      const { jobHandler } = await import("@flatfile/plugin-job-handler");
      return {
        default: (listener: FlatfileListener) => {
          listener.namespace(["space:red"], (red) => {
            red.on("commit:created", (event) => {
              seen.push(`commit ${event.context.commitId}`);
            });
            red.use(jobHandler(RED_JOB, async () => ({ outcome: { message: "Red ran." } })));
          });
        },
      };
    }),
  );
}

/** The body the relay sends for a platform event (forwardedBody), with the event's namespaces. */
const asRelaySends = (event: Record<string, unknown>, namespaces: string[]) => forwardedBody({ ...event, namespaces } as never);

describe("a namespaced listener through POST /listener", () => {
  it("fires for a commit of its namespace only", async () => {
    const seen: string[] = [];
    const route = namespaced(seen);
    const c = await seedConfiguredSpace(h.flatfile);
    const commit = (commitId: string) =>
      commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, sheetSlug: "contacts", commitId });
    const red = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada" }] }).commitId;
    const blue = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Bob" }] }).commitId;
    const redAnswer = await h.deliver(route, asRelaySends(commit(red), ["space:red"]));
    const blueAnswer = await h.deliver(route, asRelaySends(commit(blue), ["space:blue"]));
    const noneAnswer = await h.deliver(route, asRelaySends(commit(blue), []));
    expect(redAnswer).toMatchObject({ status: 200, body: { handlers: 1 } });
    expect(blueAnswer).toMatchObject({ status: 200, body: { handlers: 0, calls: [] } });
    expect(noneAnswer).toMatchObject({ status: 200, body: { handlers: 0, calls: [] } });
    expect(seen).toEqual([`commit ${red}`]);
  });

  it("runs its job for its namespace, and leaves the same job of another namespace untouched", async () => {
    const route = namespaced([]);
    const space = h.flatfile.seed.space({});
    const redJob = h.flatfile.seed.job({ job: RED_JOB, spaceId: space.id });
    const blueJob = h.flatfile.seed.job({ job: RED_JOB, spaceId: space.id });
    const event = (jobId: string) => jobReadyEvent({ job: RED_JOB, jobId, spaceId: space.id });
    const blueAnswer = await h.deliver(route, asRelaySends(event(blueJob.id), ["space:blue"]));
    expect(blueAnswer.body).toMatchObject({ handlers: 0, job: "declined" });
    // Read (is it still open?), never written.
    expect(h.flatfile.requests.filter((r) => r.path.includes(blueJob.id)).map((r) => r.route)).toEqual(["jobs.get"]);
    const redAnswer = await h.deliver(route, asRelaySends(event(redJob.id), ["space:red"]));
    expect(redAnswer).toMatchObject({ status: 200, body: { handlers: 1, job: "complete" } });
    expect((await h.api.jobs.get(redJob.id)).data.outcome?.message).toBe("Red ran.");
    expect((await h.api.jobs.get(blueJob.id)).data.status).toBe("ready");
  });
});
