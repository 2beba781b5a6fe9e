/**
 * OWNED_SPACES (the `ownedSpaces` deploy setting) through the handlers, against the stand-in: in an
 * environment shared with other Apps, only our Spaces' events are acted on, decided before any
 * write (the acknowledgement included) from what Flatfile says of the Space and its App.
 */
import { afterEach, describe, expect, it } from "vitest";
import { handler as actionJob } from "../../functions/action-job/handler";
import { handler as commitCreated } from "../../functions/commit-created/handler";
import { handler as spaceConfigure } from "../../functions/space-configure/handler";
import { OWNED_SPACES_ENV, parseOwnedSpaces } from "../../shared/core/owned-spaces";
import { seedConfiguredSpace } from "../support/configured-space";
import { useHarness } from "../support/fixture";
import { commitCreatedEvent, jobReadyEvent } from "../support/harness";

const h = useHarness();
afterEach(() => {
  delete process.env[OWNED_SPACES_ENV];
});

function configureJob(space: { id: string }) {
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  return { job, event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }) };
}

const writesSince = (from: number) => h.flatfile.requests.slice(from).filter((r) => r.method !== "GET");

describe("ownedSpaces", () => {
  it("leaves another App's Space untouched: no acknowledgement, no workbook, the job still ready", async () => {
    process.env[OWNED_SPACES_ENV] = "space:portal";
    const space = h.flatfile.seed.space({ namespace: "billing" });
    const { job, event } = configureJob(space);
    const from = h.flatfile.requests.length;
    const answer = await h.deliver(spaceConfigure, event);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ignored: true, reason: expect.stringContaining('namespace "billing"') });
    expect(writesSince(from)).toEqual([]);
    expect(h.flatfile.requests.slice(from).map((r) => r.route)).toEqual(["spaces.get"]);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("ready");
    expect([...h.flatfile.workbooks.values()].filter((w) => w.spaceId === space.id)).toEqual([]);
  });

  it("configures a Space with the namespace, and one of an App with it, as Flatfile's space: filter matches", async () => {
    process.env[OWNED_SPACES_ENV] = "space:portal";
    const own = h.flatfile.seed.space({ namespace: "portal" });
    const app = h.flatfile.seed.app({ namespace: "portal" });
    const ofApp = h.flatfile.seed.space({ appId: app.id });
    for (const space of [own, ofApp]) {
      const { job, event } = configureJob(space);
      const answer = await h.deliver(spaceConfigure, event);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.ignored).toBeUndefined();
      expect(h.flatfile.jobs.get(job.id)?.status).toBe("complete");
    }
    expect(h.flatfile.requests.filter((r) => r.route === "apps.get")).toHaveLength(1);
  });

  it("takes an App's Spaces by its id, and not another App's", async () => {
    const ours = h.flatfile.seed.app({ namespace: "one" });
    const theirs = h.flatfile.seed.app({ namespace: "two" });
    process.env[OWNED_SPACES_ENV] = ours.id;
    const a = configureJob(h.flatfile.seed.space({ appId: ours.id }));
    const b = configureJob(h.flatfile.seed.space({ appId: theirs.id }));
    expect((await h.deliver(spaceConfigure, a.event)).body.ignored).toBeUndefined();
    expect((await h.deliver(spaceConfigure, b.event)).body).toMatchObject({ ignored: true });
    expect(h.flatfile.jobs.get(a.job.id)?.status).toBe("complete");
    expect(h.flatfile.jobs.get(b.job.id)?.status).toBe("ready");
  });

  it("answers 5xx without acknowledging when the Space cannot be read, and a retry decides", async () => {
    process.env[OWNED_SPACES_ENV] = "space:portal";
    const space = h.flatfile.seed.space({ namespace: "portal" });
    const { job, event } = configureJob(space);
    h.flatfile.faults.statuses("spaces.get", [503, 503, 503, 503, 503, 503]);
    const from = h.flatfile.requests.length;
    const first = await h.deliver(spaceConfigure, event);
    expect(first.status).toBeGreaterThanOrEqual(500);
    expect(writesSince(from)).toEqual([]);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("ready");
    h.flatfile.faults.clear();
    const retry = await h.deliver(spaceConfigure, event);
    expect(retry.status).toBe(200);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("complete");
  });

  it("ignores a Submit and a commit in a Space that is not ours, with nothing written", async () => {
    const c = await seedConfiguredSpace(h.flatfile);
    process.env[OWNED_SPACES_ENV] = "space:portal";
    const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.workbookId });
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada", email: "ada@example.com" }] });
    const from = h.flatfile.requests.length;
    const submit = await h.deliver(
      actionJob,
      jobReadyEvent({ job: "workbook:submitActionFg", jobId: job.id, spaceId: c.spaceId, workbookId: c.workbookId }),
    );
    const commit = await h.deliver(
      commitCreated,
      commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, commitId }),
    );
    expect([submit.body.ignored, commit.body.ignored]).toEqual([true, true]);
    expect(writesSince(from)).toEqual([]);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("ready");
  });

  it("reads our Space once per action job, and adds no read to a commit or a configure", async () => {
    const spaceReads = async (deliver: () => Promise<{ status: number; body: Record<string, unknown> }>) => {
      const from = h.flatfile.requests.length;
      const answer = await deliver();
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.ignored).toBeUndefined();
      return h.flatfile.requests.slice(from).filter((r) => r.route === "spaces.get").length;
    };
    const ourSpace = async () => {
      const c = await seedConfiguredSpace(h.flatfile, { contacts: 2 });
      h.flatfile.spaces.get(c.spaceId)!.namespace = "portal";
      return c;
    };
    const commit = async () => {
      const c = await ourSpace();
      const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada", email: "ada@example.com" }] });
      return spaceReads(() =>
        h.deliver(commitCreated, commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, commitId })),
      );
    };
    const configure = () => spaceReads(() => h.deliver(spaceConfigure, configureJob(h.flatfile.seed.space({ namespace: "portal" })).event));
    const without = { commit: await commit(), configure: await configure() };
    process.env[OWNED_SPACES_ENV] = "space:portal";

    const c = await ourSpace();
    for (const job of ["sheet:duplicate", "workbook:submitActionFg"] as const) {
      const sheetId = job === "sheet:duplicate" ? c.contactsId : undefined;
      const seeded = h.flatfile.seed.job({ job, spaceId: c.spaceId, workbookId: c.workbookId, ...(sheetId ? { sheetId } : {}) });
      const event = jobReadyEvent({
        job,
        jobId: seeded.id,
        spaceId: c.spaceId,
        workbookId: c.workbookId,
        ...(sheetId ? { sheetId, sheetSlug: "contacts" } : {}),
      });
      expect(await spaceReads(() => h.deliver(actionJob, event)), job).toBe(1);
      expect(h.flatfile.jobs.get(seeded.id)?.status).toBe("complete");
    }
    expect({ commit: await commit(), configure: await configure() }).toEqual(without);
  });

  it("refuses a setting that is neither space:<namespace> nor an App id, naming it", () => {
    expect(parseOwnedSpaces("")).toBeUndefined();
    expect(parseOwnedSpaces(" space:portal , us_app_abc123 ")).toEqual({ namespaces: ["portal"], appIds: ["us_app_abc123"] });
    expect(() => parseOwnedSpaces("portal")).toThrow(/"portal" is neither/);
    expect(() => parseOwnedSpaces("space:../x")).toThrow(/neither/);
  });
});
