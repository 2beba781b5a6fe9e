/**
 * Reliability suite, a second listener in the same environment: its own Space (none of our state),
 * its own Submit on its own workbook, its own space:configure it acknowledged first, its own
 * commits. Delivered to us as the relay would (every job:ready and commit:created of the
 * environment), under transient faults and redelivered: none of its jobs or objects is written
 * by us. The world and the invariants checked after every scenario: ./world.ts.
 */
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";
import { counters, fault } from "./support";
import { deliver, flatfile, mark, redeliver, scenario, useReliabilityWorld } from "./world";

useReliabilityWorld("second-listener");

/** What the other listener owns: a Space without our state, its workbook, its sheet. */
function theirSpace(name: string) {
  const space = flatfile.seed.space({ name: `${name} (theirs)`, metadata: { theirs: { plan: "pro" } } });
  const workbook = flatfile.seed.workbook({
    spaceId: space.id,
    name: "Their workbook",
    sheets: [{ name: "Leads", slug: "leads", records: 3 }],
    actions: [{ operation: "submitActionFg", label: "Send", mode: "foreground", primary: true }],
    metadata: { by: "their listener" },
  });
  return { space, workbook, sheetId: workbook.sheets[0]!.id };
}

/** Writes during `run` that name any of `ids`: each is one of their objects touched by us. */
async function touching(ids: string[], run: () => Promise<void>): Promise<string[]> {
  const m = mark();
  await run();
  const touched = m
    .writes()
    .filter((r) => ids.some((id) => r.path.includes(id)))
    .map((r) => `${r.method} ${r.path}`);
  counters.foreignTouched.push(...touched);
  return touched;
}

describe("a second listener in the same environment", () => {
  scenario("its Submit on its own workbook, after a 503: never acknowledged, never failed, nothing of its written", async () => {
    const { space, workbook, sheetId } = theirSpace("submit");
    const job = flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: space.id, workbookId: workbook.id });
    const event = jobReadyEvent({ job: "workbook:submitActionFg", jobId: job.id, spaceId: space.id, workbookId: workbook.id });
    const touched = await touching([space.id, workbook.id, sheetId, job.id], async () => {
      flatfile.faults.statuses("workbooks.get", [503, 503, 503, 503]);
      fault();
      const first = await deliver("/action-job", event);
      expect([200, 500, 502, 503], first.text).toContain(first.status);
      const again = await redeliver("/action-job", event);
      expect(again.status, again.text).toBe(200);
    });
    expect(touched).toEqual([]);
    expect(flatfile.jobs.get(job.id)?.status).toBe("ready");
    expect(flatfile.spaces.get(space.id)?.metadata).toEqual({ theirs: { plan: "pro" } });
  });

  scenario("its space:configure, acknowledged by it first: left alone, no second workbook or guide", async () => {
    const { space, workbook } = theirSpace("configure");
    const job = flatfile.seed.job({ job: "space:configure", spaceId: space.id, status: "executing" });
    const event = jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id });
    const touched = await touching([space.id, workbook.id, job.id], async () => {
      flatfile.faults.statuses("jobs.get", [503]);
      fault();
      await deliver("/space-configure", event);
      const again = await redeliver("/space-configure", event);
      expect(again.status, again.text).toBe(200);
    });
    expect(touched).toEqual([]);
    expect(flatfile.jobs.get(job.id)?.status).toBe("executing");
    expect([...flatfile.workbooks.values()].filter((w) => w.spaceId === space.id)).toHaveLength(1);
    expect([...flatfile.documents.values()].filter((d) => d.spaceId === space.id)).toEqual([]);
  });

  scenario("its commits, delivered twice and after a 503: nothing of its written", async () => {
    const { space, workbook, sheetId } = theirSpace("commit");
    const { commitId } = flatfile.seed.commit(sheetId, { insert: [{ name: "Grace" }] });
    const event = commitCreatedEvent({ spaceId: space.id, workbookId: workbook.id, sheetId, commitId });
    const touched = await touching([space.id, workbook.id, sheetId], async () => {
      flatfile.faults.statuses("spaces.get", [503]);
      fault();
      await deliver("/commit-created", event);
      expect((await redeliver("/commit-created", event)).status).toBe(200);
      expect((await deliver("/commit-created", event)).status).toBe(200);
    });
    expect(touched).toEqual([]);
    expect([...flatfile.sheets.values()].filter((sheet) => sheet.workbookId === workbook.id)).toHaveLength(1);
  });
});
