/**
 * The action jobs' critical path in round trips, counted as the bench counts them (bench/round-trips.ts)
 * from the stand-in's request log. Every call is 150 ms late, not the bench's 50, so that calls of
 * one round sent on a loaded machine still arrive inside its wave.
 */
import { describe, expect, it } from "vitest";
import { countRoundTrips, describeWaves } from "../../../bench/round-trips";
import { handler } from "../../../functions/action-job/handler";
import { configureSpace, useHarness } from "../../support/fixture";
import { jobReadyEvent } from "../../support/harness";

const LATENCY_MS = 150;
const h = useHarness({ latencyMs: LATENCY_MS });

type Configured = Awaited<ReturnType<typeof configureSpace>>;
const contact = (i: number) => ({ firstName: `Ada ${i}`, lastName: "Lovelace", email: `ada${i}@example.com` });

function actionJob(c: Configured, job: "sheet:duplicate" | "workbook:submitActionFg") {
  const sheetId = job === "sheet:duplicate" ? c.state.sheets.contacts! : undefined;
  const seeded = h.flatfile.seed.job({ job, spaceId: c.spaceId, workbookId: c.state.workbookId, ...(sheetId ? { sheetId } : {}) });
  const event = jobReadyEvent({
    job,
    jobId: seeded.id,
    spaceId: c.spaceId,
    workbookId: c.state.workbookId,
    actorId: c.userId,
    ...(sheetId ? { sheetId, sheetSlug: "contacts" } : {}),
  });
  return { jobId: seeded.id, event };
}

/** Delivers the event and answers the rounds its Flatfile calls took, with the waves for the message. */
async function roundsOf(event: unknown): Promise<{ rounds: number; waves: string; body: Record<string, unknown> }> {
  const from = h.flatfile.requests.length;
  const answer = await h.deliver(handler, event);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const made = h.flatfile.requests.slice(from);
  return { rounds: countRoundTrips(made, LATENCY_MS), waves: describeWaves(made, LATENCY_MS), body: answer.body };
}

describe("action jobs in at most 5 round trips", () => {
  it("Duplicate: reads under the leases, copy beside the ack, lock beside the count, guide and state beside the read-back, complete", async () => {
    const c = await configureSpace(h);
    h.flatfile.seed.commit(c.state.sheets.contacts!, { insert: [contact(1), contact(2)] });
    const { rounds, waves, body } = await roundsOf(actionJob(c, "sheet:duplicate").event);
    expect(body).toMatchObject({ status: "complete", reusedCopy: false, guide: "updated" });
    expect(rounds, waves).toBeLessThanOrEqual(5);
  });

  it("Submit: reads under the leases, counts beside the ack, lock, read-back, guide and state beside complete", async () => {
    const c = await configureSpace(h);
    h.flatfile.seed.commit(c.state.sheets.contacts!, { insert: [contact(1), contact(2)] });
    const { rounds, waves, body } = await roundsOf(actionJob(c, "workbook:submitActionFg").event);
    expect(body).toMatchObject({ status: "complete", records: 2, guide: "updated" });
    expect(rounds, waves).toBeLessThanOrEqual(5);
  });
});
