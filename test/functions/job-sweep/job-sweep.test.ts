/**
 * The sweep against DynamoDB (dynalite, with the table and its open-jobs index as the stack makes
 * them) and the Flatfile stand-in: jobs the routes acknowledged and left open past the bound are
 * failed with a message a person can act on; anything that ended is only forgotten.
 */
import { QueryCommand, DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { handler as jobSweepHandler } from "../../../functions/job-sweep/handler";
import { handler as spaceConfigure } from "../../../functions/space-configure/handler";
import { resetSettingsCache } from "../../../shared/core/config";
import { createFlatfileClient, type FlatfileApi } from "../../../shared/core/flatfile-client";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import {
  OPEN_JOB_BOUND_MS,
  OPEN_JOB_KEY_PREFIX,
  OPEN_JOB_SWEEP_INTERVAL_MS,
  OPEN_JOBS_INDEX,
  openJobStore,
  PLATFORM_ACK_TIMEOUT_MS,
  type OpenJobStore,
} from "../../../shared/core/open-jobs";
import { sweepOpenJobs, sweptMessage, type SweepReport } from "../../../functions/job-sweep/sweep";
import { dynamoEnv, startLocalDynamo, type LocalDynamo } from "../../support/dynalite";
import { jobReadyEvent } from "../../support/harness";
import { useHarness } from "../../support/fixture";

let dynamo: LocalDynamo;
let api: FlatfileApi;
let store: OpenJobStore;
let raw: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
const h = useHarness(() => ({ env: dynamoEnv(dynamo) }));
beforeAll(() => {
  api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url, retry: { baseDelayMs: 5, maxDelayMs: 10 } });
  store = openJobStore(dynamo.table);
  raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
});
afterAll(async () => {
  raw?.destroy();
  await dynamo?.close();
  resetSettingsCache();
});
beforeEach(async () => {
  // Forget whatever the last test tracked: the sweep reads the whole open-jobs partition.
  for (const job of await store.ackedBefore(Number.MAX_SAFE_INTEGER, 1_000)) await store.forget(job.jobId);
});

const past = () => Date.now() + OPEN_JOB_BOUND_MS + 1_000;
const jobOf = async (id: string) => (await api.jobs.get(id)).data;
const tracked = async () => (await store.ackedBefore(Number.MAX_SAFE_INTEGER, 1_000)).map((job) => job.jobId);

function seedConfigureJob() {
  const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  return { space, job, event: jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id }) };
}

/** A job our route acknowledged and left open: a temporary failure, and the relay never came back. */
async function abandonedJob(): Promise<string> {
  const { job, event } = seedConfigureJob();
  h.flatfile.faults.statuses("workbooks.create", [503, 503, 503]);
  const answer = await h.deliver(spaceConfigure, event);
  expect(answer.status).toBeGreaterThanOrEqual(500);
  expect((await jobOf(job.id)).status).toBe("executing");
  return job.id;
}

describe("the sweep", () => {
  it("fails a job the route acknowledged and left open past the bound, with a message a person can act on, and forgets it", async () => {
    const jobId = await abandonedJob();
    expect(await tracked()).toEqual([jobId]);

    const report = await sweepOpenJobs({ api, store, now: past() });
    expect(report).toEqual({ swept: [jobId], finished: [], deferred: [] });
    const job = await jobOf(jobId);
    expect(job.status).toBe("failed");
    expect(job.outcome).toMatchObject({
      heading: "Stopped",
      acknowledge: true,
      message: sweptMessage({ what: "Setting up this Space", jobId, kind: "space:configure" }),
    });
    // Configure has no button to press again: the message says what a person can do instead.
    expect(job.outcome?.message).toMatch(
      /^Setting up this Space was stopped: .* for 3 minutes.*create a new Space.*ask your administrator.*job us_jb_/,
    );
    expect(job.outcome?.message).not.toMatch(/run it again|press/i);
    expect(await tracked()).toEqual([]);
  });

  it("leaves a job alone while it is inside the bound", async () => {
    const jobId = await abandonedJob();
    const report = await sweepOpenJobs({ api, store, now: Date.now() + OPEN_JOB_BOUND_MS - 60_000 });
    expect(report).toEqual({ swept: [], finished: [], deferred: [] });
    expect((await jobOf(jobId)).status).toBe("executing");
    expect(await tracked()).toEqual([jobId]);
  });

  it("tracks nothing once a job completes, so the sweep has nothing to do", async () => {
    const { job, event } = seedConfigureJob();
    expect((await h.deliver(spaceConfigure, event)).status).toBe(200);
    expect(await tracked()).toEqual([]);
    expect(await sweepOpenJobs({ api, store, now: past() })).toEqual({ swept: [], finished: [], deferred: [] });
    expect((await jobOf(job.id)).status).toBe("complete");
  });

  it("only forgets a tracked job that has ended (or is gone) since, without failing it", async () => {
    const complete = h.flatfile.seed.job({ job: "space:configure", status: "complete" }).id;
    await store.track({ jobId: complete, what: "Setting up this Space" });
    await store.track({ jobId: "us_jb_deleted001", what: "Duplicating this sheet" });
    const before = h.flatfile.requests.length;
    const report = await sweepOpenJobs({ api, store, now: past() });
    expect(report.swept).toEqual([]);
    expect(report.finished.sort()).toEqual([complete, "us_jb_deleted001"].sort());
    expect(h.flatfile.requests.slice(before).map((r) => r.route)).not.toContain("jobs.fail");
    expect((await jobOf(complete)).status).toBe("complete");
    expect(await tracked()).toEqual([]);
  });

  it("accepts Flatfile's 400 for a job that finished between the read and the fail", async () => {
    const jobId = await abandonedJob();
    h.flatfile.faults.statuses("jobs.fail", [400]);
    const report = await sweepOpenJobs({ api, store, now: past() });
    expect(report).toEqual({ swept: [], finished: [jobId], deferred: [] });
    expect(await tracked()).toEqual([]);
  });

  it("keeps a job it could not fail for the next run", async () => {
    const jobId = await abandonedJob();
    h.flatfile.faults.statuses("jobs.fail", [503, 503, 503]);
    expect(await sweepOpenJobs({ api, store, now: past() })).toEqual({ swept: [], finished: [], deferred: [jobId] });
    expect(await tracked()).toEqual([jobId]);
    expect(await sweepOpenJobs({ api, store, now: past() })).toEqual({ swept: [jobId], finished: [], deferred: [] });
  });

  it("takes the oldest first, a batch at a time, by querying the open-jobs index up to the cut-off", async () => {
    const ids = [0, 1, 2].map(() => h.flatfile.seed.job({ job: "space:configure", status: "executing" }).id);
    const t0 = Date.now();
    await store.track({ jobId: ids[2]!, what: "c" }, t0 - 3_000);
    await store.track({ jobId: ids[0]!, what: "a" }, t0 - 9_000);
    await store.track({ jobId: ids[1]!, what: "b" }, t0 - 6_000);
    // A later delivery of the same job moves its time to that delivery's ack (the platform's
    // timer counts from the last ack too).
    await store.track({ jobId: ids[0]!, what: "a" }, t0);
    const query = await raw.send(
      new QueryCommand({
        TableName: dynamo.table,
        IndexName: OPEN_JOBS_INDEX,
        KeyConditionExpression: "openJobs = :p",
        ExpressionAttributeValues: { ":p": { S: "open" } },
      }),
    );
    expect(query.Items?.map((item) => item.jobId?.S)).toEqual([ids[1], ids[2], ids[0]]);
    const first = await sweepOpenJobs({ api, store, now: t0 - 2_000 + OPEN_JOB_BOUND_MS, batch: 1 });
    expect(first.swept).toEqual([ids[1]]);
    const second = await sweepOpenJobs({ api, store, now: t0 - 2_000 + OPEN_JOB_BOUND_MS, batch: 5 });
    expect(second.swept).toEqual([ids[2]]);
    expect(await tracked()).toEqual([ids[0]]);
  });

  it("the scheduled function reads its settings and the table from the environment, like the routes", async () => {
    const jobId = h.flatfile.seed.job({ job: "sheet:duplicate", status: "executing" }).id;
    await store.track({ jobId, what: "Duplicating this sheet" }, Date.now() - OPEN_JOB_BOUND_MS - 1_000);
    const report = await jobSweepHandler({}, { getRemainingTimeInMillis: () => 60_000 });
    expect(report.swept).toEqual([jobId]);
    expect((await jobOf(jobId)).outcome?.message).toMatch(
      /^Duplicating this sheet was stopped: .*Press "Duplicate this Sheet and lock down the original" again\. If it stops again, ask your administrator.*job us_jb_/,
    );
    const item = await raw.send(new GetItemCommand({ TableName: dynamo.table, Key: { id: { S: `${OPEN_JOB_KEY_PREFIX}${jobId}` } } }));
    expect(item.Item).toBeUndefined();
  });

  it("tells a person how to start each kind of job again: the button an action came from, a new Space for configure, the administrator otherwise", async () => {
    const submit = h.flatfile.seed.job({ job: "workbook:submitActionFg", status: "executing" }).id;
    const configure = h.flatfile.seed.job({ job: "space:configure", status: "executing" }).id;
    const foreign = h.flatfile.seed.job({ job: "workbook:someoneElsesAction", status: "executing" }).id;
    for (const jobId of [submit, configure, foreign]) await store.track({ jobId, what: "This job" });
    expect((await sweepOpenJobs({ api, store, now: past() })).swept.sort()).toEqual([submit, configure, foreign].sort());
    const messageOf = async (jobId: string) => (await jobOf(jobId)).outcome?.message ?? "";
    expect(await messageOf(submit)).toMatch(/Press "Submit" again\./);
    expect(await messageOf(configure)).toMatch(/create a new Space to start over, or ask your administrator/);
    expect(await messageOf(configure)).not.toMatch(/press|run it again/i);
    expect(await messageOf(foreign)).toMatch(/nothing is working on it any more\. Ask your administrator to check .*job us_jb_/);
    expect(await messageOf(foreign)).not.toMatch(/press|run it again|new Space/i);
  });

  /** The schedule, minute by minute on the platform's clock: it moves, then the sweep runs at that time. */
  async function runSchedule(minutes: number, intervalMs: number, boundMs: number): Promise<SweepReport[]> {
    const reports: SweepReport[] = [];
    for (let elapsed = 0; elapsed < minutes * 60_000; elapsed += 60_000) {
      h.flatfile.clock.advance(60_000);
      if ((elapsed + 60_000) % intervalMs === 0) reports.push(await sweepOpenJobs({ api, store, now: h.flatfile.clock.now(), boundMs }));
    }
    return reports;
  }

  it("on its schedule fails a job we left open with our message before the platform's 5-minute timer can", async () => {
    expect(OPEN_JOB_BOUND_MS + OPEN_JOB_SWEEP_INTERVAL_MS).toBeLessThan(PLATFORM_ACK_TIMEOUT_MS);
    const jobId = await abandonedJob();
    const reports = await runSchedule(10, OPEN_JOB_SWEEP_INTERVAL_MS, OPEN_JOB_BOUND_MS);
    expect(reports.flatMap((r) => r.swept)).toEqual([jobId]);
    expect(reports.flatMap((r) => r.endedByOthers ?? [])).toEqual([]);
    expect((await jobOf(jobId)).outcome?.heading).toBe("Stopped");
    expect(h.flatfile.timedOutJobs).toEqual([]);
  });

  it("with the old numbers (bound 10 minutes, every 5) the platform fails the job first, and the sweep reports it as ended by someone else", async () => {
    const jobId = await abandonedJob();
    const reports = await runSchedule(15, 5 * 60_000, 10 * 60_000);
    expect(h.flatfile.timedOutJobs).toEqual([jobId]);
    expect(reports.flatMap((r) => r.swept)).toEqual([]);
    expect(reports.flatMap((r) => r.endedByOthers ?? [])).toEqual([jobId]);
    expect((await jobOf(jobId)).outcome?.heading).not.toBe("Stopped");
    expect(await tracked()).toEqual([]);
  });

  it("reports a tracked job a person canceled or another listener failed, but not one the relay or our route failed", async () => {
    const ids = ["canceled", "foreign", "relay", "ours"].map(() => h.flatfile.seed.job({ job: "space:configure", status: "executing" }).id);
    for (const jobId of ids) await store.track({ jobId, what: "Setting up this Space" });
    await createSdkClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url }).jobs.cancel(ids[0]!, {});
    await api.jobs.fail(ids[1]!, { outcome: { heading: "Import failed", message: "theirs" } });
    await api.jobs.fail(ids[2]!, { outcome: { heading: "Configuration service unavailable", message: "the relay gave up" } });
    await api.jobs.fail(ids[3]!, { outcome: { heading: "Unexpected error", message: "our route failed it" } });
    const report = await sweepOpenJobs({ api, store, now: past() });
    expect(report.finished.sort()).toEqual([...ids].sort());
    expect(report.endedByOthers?.sort()).toEqual([ids[0], ids[1]].sort());
    expect(await tracked()).toEqual([]);
  });
});
