/**
 * What the listener route guarantees for a job whatever the customer's code does: a job it left
 * open after a throw, a timeout or a plain return is failed with a message a person can act on;
 * a job it never acted on is left untouched; jobs our own routes own never reach it; and a commit
 * made by our own key (a record hook's write-back) is not given to it again.
 */
import type { FlatfileListener } from "@flatfile/listener";
import { afterEach, describe, expect, it } from "vitest";
import { SELF_ACTOR_ENV } from "../../../functions/commit-created/commit-created";
import { handler } from "../../../functions/listener/handler";
import { createListenerRoute, RETRY_TEMPORARY_ENV, RETRYING_INFO, rawFailureIn } from "../../../functions/listener/listener";
import { API_KEY_ACTOR } from "../../../local/flatfile/store";
import { FAILED_HEADINGS } from "../../../shared/core/job-outcomes";
import { sweepOpenJobs } from "../../../functions/job-sweep/sweep";
import { createFlatfileClient } from "../../../shared/core/flatfile-client";
import { OPEN_JOB_BOUND_MS, openJobStore } from "../../../shared/core/open-jobs";
import { createRoute } from "../../../shared/core/route";
import { OWNED_ACTION_JOBS } from "../../../shared/domain/blueprint";
import { seedConfiguredSpace } from "../../support/configured-space";
import { useHarness } from "../../support/fixture";
import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";

const h = useHarness();
afterEach(() => {
  delete process.env[SELF_ACTOR_ENV];
  delete process.env[RETRY_TEMPORARY_ENV];
});

const JOB = "workbook:customerAction";
const running = (register: (listener: FlatfileListener) => void) => createRoute(createListenerRoute(async () => ({ default: register })));

/** A job:ready for a fresh job of `job`, and a way to read it back. */
function readyJob(job = JOB, status?: "ready" | "executing") {
  const space = h.flatfile.seed.space({});
  const seeded = h.flatfile.seed.job({ job, spaceId: space.id, ...(status ? { status } : {}) });
  return {
    event: jobReadyEvent({ job, jobId: seeded.id, spaceId: space.id }),
    read: async () => (await h.api.jobs.get(seeded.id)).data,
    id: seeded.id,
    spaceId: space.id,
  };
}

/** A listener that acknowledges the job, then does `then`. */
const acking = (then: () => Promise<unknown> | unknown) =>
  running((listener) =>
    listener.on("job:ready", { job: JOB }, async (event) => {
      await event.fetch(`v1/jobs/${event.context.jobId}/ack`, { method: "POST", data: JSON.stringify({ info: "Working", progress: 10 }) });
      await then();
    }),
  );

function expectFailedForAPerson(job: { status?: string; outcome?: Record<string, unknown> | null }, why: RegExp) {
  expect(job.status).toBe("failed");
  expect(job.outcome?.heading).toBe(FAILED_HEADINGS.unexpected);
  expect(job.outcome?.message).toMatch(why);
  expect(job.outcome?.message).not.toMatch(/Status code|Body:|Error:|customer bug|http/i);
}

describe("a job the listener took", () => {
  it("is failed with a message when a callback threw after acknowledging it", async () => {
    const j = readyJob();
    const answer = await h.deliver(
      acking(() => {
        throw new Error("customer bug");
      }),
      j.event,
    );
    expect(answer).toMatchObject({ status: 200, body: { job: "failed", left: "executing", failures: 1 } });
    expectFailedForAPerson(await j.read(), /one of its steps failed/);
  });

  it("is failed with a message when the deadline passed, inside the invocation", async () => {
    const j = readyJob();
    const started = Date.now();
    const answer = await h.deliver(
      acking(() => new Promise(() => undefined)),
      j.event,
      { remainingMs: 6_000 },
    );
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(answer).toMatchObject({ status: 200, body: { job: "failed", timedOut: true } });
    expectFailedForAPerson(await j.read(), /did not finish within the 1 seconds/);
  });

  it("is failed with a message when the listener returned and left it executing", async () => {
    const j = readyJob();
    const answer = await h.deliver(
      acking(() => undefined),
      j.event,
    );
    expect(answer.body).toMatchObject({ job: "failed", left: "executing" });
    expectFailedForAPerson(await j.read(), /ended without completing the job/);
  });

  it("is acknowledged and failed when a callback threw before touching it", async () => {
    const j = readyJob();
    const route = running((listener) =>
      listener.on("job:ready", { job: JOB }, () => {
        throw new Error("customer bug");
      }),
    );
    const answer = await h.deliver(route, j.event);
    expect(answer.body).toMatchObject({ job: "failed", left: "ready" });
    // Read before the run (is it still the listener's to run?) and after it (what did it leave?).
    expect(h.flatfile.requests.filter((r) => r.path.includes(j.id)).map((r) => r.route)).toEqual([
      "jobs.get",
      "jobs.get",
      "jobs.ack",
      "jobs.fail",
    ]);
    expectFailedForAPerson(await j.read(), /one of its steps failed/);
  });

  it("is left as the listener ended it, and a duplicate changes nothing", async () => {
    const j = readyJob();
    const completing = running((listener) =>
      listener.on("job:ready", { job: JOB }, async (event) => {
        await event.fetch(`v1/jobs/${event.context.jobId}/ack`, { method: "POST", data: "{}" });
        await event.fetch(`v1/jobs/${event.context.jobId}/complete`, {
          method: "POST",
          data: JSON.stringify({ outcome: { message: "Done." } }),
        });
      }),
    );
    const first = await h.deliver(completing, j.event);
    expect(first.body).toMatchObject({ job: "complete" });
    const writes = h.flatfile.requests.length;
    const second = await h.deliver(completing, j.event);
    expect(second.body).toMatchObject({ job: "complete", replayed: true });
    expect(h.flatfile.requests.length).toBe(writes);
    expect((await j.read()).outcome?.message).toBe("Done.");
  });

  it("is not run again by another event for the same job once it ended", async () => {
    const j = readyJob();
    let runs = 0;
    const completing = running((listener) =>
      listener.on("job:ready", { job: JOB }, async (event) => {
        runs++;
        await event.fetch(`v1/jobs/${event.context.jobId}/ack`, { method: "POST", data: "{}" });
        await event.fetch(`v1/jobs/${event.context.jobId}/complete`, {
          method: "POST",
          data: JSON.stringify({ outcome: { message: "Done." } }),
        });
      }),
    );
    expect((await h.deliver(completing, j.event)).body).toMatchObject({ job: "complete" });
    const from = h.flatfile.requests.length;
    // Not a redelivery (its own event id): the idempotency store cannot tell, the job's status can.
    const another = { ...j.event, id: `${String(j.event.id)}b` };
    const answer = await h.deliver(completing, another);
    expect(answer).toMatchObject({ status: 200, body: { handlers: 0, ignored: true, job: "complete" } });
    expect(runs).toBe(1);
    expect(h.flatfile.requests.slice(from).map((r) => r.route)).toEqual(["jobs.get"]);
    expect((await j.read()).outcome?.message).toBe("Done.");
  });
});

describe("a job the listener did not take", () => {
  it("is declined untouched when no callback takes it", async () => {
    const j = readyJob("workbook:nobodysAction");
    const before = h.flatfile.requests.length;
    const answer = await h.deliver(handler, j.event);
    expect(answer).toMatchObject({ status: 200, body: { handlers: 0, job: "declined" } });
    expect(h.flatfile.requests.slice(before).map((r) => r.route)).toEqual(["jobs.get"]);
    expect((await j.read()).status).toBe("ready");
  });

  it("is left alone, never given to the listener, when someone else already started it", async () => {
    const j = readyJob(JOB, "executing");
    let called = false;
    const route = running((listener) =>
      listener.on("job:ready", { job: JOB }, () => {
        called = true;
      }),
    );
    const before = h.flatfile.requests.length;
    const answer = await h.deliver(route, j.event);
    expect(answer).toMatchObject({
      status: 200,
      body: { handlers: 0, ignored: true, reason: expect.stringMatching(/someone else started it/) },
    });
    expect(called).toBe(false);
    expect(h.flatfile.requests.slice(before).map((r) => r.route)).toEqual(["jobs.get"]);
    expect((await j.read()).status).toBe("executing");
  });

  it("is declined untouched when its callback returned without acting on it", async () => {
    const j = readyJob();
    const route = running((listener) => listener.on("job:ready", { job: JOB }, () => undefined));
    const before = h.flatfile.requests.length;
    const answer = await h.deliver(route, j.event);
    expect(answer.body).toMatchObject({ handlers: 1, job: "declined" });
    expect(h.flatfile.requests.slice(before).map((r) => r.route)).toEqual(["jobs.get"]);
    expect((await j.read()).status).toBe("ready");
  });

  it("never reaches the listener when one of our routes owns it", async () => {
    let called = false;
    const route = running((listener) =>
      listener.on("job:ready", () => {
        called = true;
      }),
    );
    for (const job of ["space:configure", ...OWNED_ACTION_JOBS]) {
      const j = readyJob(job);
      const answer = await h.deliver(route, j.event);
      expect(answer).toMatchObject({ status: 200, body: { ignored: true } });
      expect((await j.read()).status).toBe("ready");
    }
    expect(called).toBe(false);
  });
});

describe("the record hook's write-back", () => {
  it("is not given to the listener again: a commit by our own key ends the loop", async () => {
    process.env[SELF_ACTOR_ENV] = API_KEY_ACTOR;
    // The loop exists only where the platform raises commit:created for the write-back, which the
    // SDK sends with X-Disable-Hooks: the stand-in is set that way here (reset puts it back).
    h.flatfile.platform.disabledHooks = "raised";
    const c = await seedConfiguredSpace(h.flatfile);
    const { commitId } = h.flatfile.seed.commit(c.contactsId, { insert: [{ firstName: "Ada", email: " ADA@example.com" }] });
    const delivered = (id: string, actorId: string) => ({
      ...commitCreatedEvent({
        spaceId: c.spaceId,
        workbookId: c.workbookId,
        sheetId: c.contactsId,
        sheetSlug: "contacts",
        commitId: id,
        actorId,
      }),
      dataUrl: `v1/sheets/${c.contactsId}/records?commitId=${id}`,
    });
    const first = await h.deliver(handler, delivered(commitId, "us_usr_person01"));
    expect(first.body).toMatchObject({ handlers: 1 });
    // The write-back raised its own commit:created, made by our key.
    const writeBack = h.flatfile.events.filter((e) => e.topic === "commit:created").at(-1);
    expect(writeBack?.context.actorId).toBe(API_KEY_ACTOR);
    const before = h.flatfile.requests.length;
    const second = await h.deliver(handler, delivered(String(writeBack?.context.commitId), API_KEY_ACTOR));
    expect(second.body).toMatchObject({ ignored: true, reason: expect.stringContaining("own key") });
    expect(h.flatfile.requests.length).toBe(before);
  });
});

describe("the open-job record of a job the listener took", () => {
  const store = openJobStore(undefined);
  const sweepLater = () =>
    sweepOpenJobs({
      api: createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url, retry: { baseDelayMs: 5, maxDelayMs: 10 } }),
      store,
      now: Date.now() + OPEN_JOB_BOUND_MS + 1_000,
    });

  it("is written before its ack, so the sweep fails the job with our message when the invocation could not end it", async () => {
    const j = readyJob();
    let recordedAtAck: unknown;
    const answer = await h.deliver(
      acking(async () => {
        recordedAtAck = await store.recorded(j.id);
        // From here on the route cannot read or end the job: as if the invocation had died.
        h.flatfile.faults.statuses("jobs.get", [503, 503, 503]);
      }),
      j.event,
    );
    expect(recordedAtAck).toMatchObject({ jobId: j.id, spaceId: j.spaceId });
    expect(answer.status).toBe(503);
    expect((await j.read()).status).toBe("executing");
    expect(await store.recorded(j.id)).toBeDefined();
    const report = await sweepLater();
    expect(report.swept).toEqual([j.id]);
    const swept = await j.read();
    expect(swept.status).toBe("failed");
    expect(swept.outcome?.heading).toBe(FAILED_HEADINGS.swept);
    expect(swept.outcome?.message).toMatch(/^This job was stopped/);
    expect(await store.recorded(j.id)).toBeUndefined();
  });

  it("is forgotten once the listener completed the job, and once the route failed it", async () => {
    const completed = readyJob();
    const completing = running((listener) =>
      listener.on("job:ready", { job: JOB }, async (event) => {
        await event.fetch(`v1/jobs/${event.context.jobId}/ack`, { method: "POST", data: "{}" });
        await event.fetch(`v1/jobs/${event.context.jobId}/complete`, {
          method: "POST",
          data: JSON.stringify({ outcome: { message: "Done." } }),
        });
      }),
    );
    expect((await h.deliver(completing, completed.event)).body).toMatchObject({ job: "complete" });
    const failed = readyJob();
    const throwing = acking(() => {
      throw new Error("customer bug");
    });
    expect((await h.deliver(throwing, failed.event)).body).toMatchObject({ job: "failed" });
    expect(await store.recorded(completed.id)).toBeUndefined();
    expect(await store.recorded(failed.id)).toBeUndefined();
    expect((await sweepLater()).swept).toEqual([]);
  });

  it("is never written for a job the listener did not touch: the sweep leaves it alone", async () => {
    const j = readyJob();
    const route = running((listener) => listener.on("job:ready", { job: JOB }, () => undefined));
    expect((await h.deliver(route, j.event)).body).toMatchObject({ job: "declined" });
    expect(await store.recorded(j.id)).toBeUndefined();
    expect(await sweepLater()).toMatchObject({ swept: [], finished: [] });
    expect((await j.read()).status).toBe("ready");
  });

  it("makes a redelivery end the job instead of running the listener on it again", async () => {
    const j = readyJob();
    let runs = 0;
    const route = acking(() => {
      runs += 1;
      if (runs === 1) h.flatfile.faults.statuses("jobs.get", [503, 503, 503]);
    });
    const [first, second] = await h.deliverUntilSettled(route, j.event);
    expect(first?.status).toBe(503);
    expect(second?.body).toMatchObject({ job: "failed", left: "executing", handlers: 0 });
    expect(runs).toBe(1);
    const job = await j.read();
    expect(job.outcome?.heading).toBe(FAILED_HEADINGS.unexpected);
    expect(job.outcome?.message).toMatch(/interrupted before it ended/);
    expect(await store.recorded(j.id)).toBeUndefined();
  });
});

describe("a job plugin-job-handler failed on a temporary 503", () => {
  it("never shows a person the raw 'Status code: 503 Body: ...': the route fails it with a sentence instead", async () => {
    const j = readyJob("workbook:myAction");
    // Every attempt of the plugin's jobs.complete (the SDK's own two retries included) gets 503.
    h.flatfile.faults.statuses("jobs.complete", [503, 503, 503]);
    const answer = await h.deliver(handler, j.event);
    expect(answer).toMatchObject({ status: 200, body: { job: "failed", left: "executing" } });
    const job = await j.read();
    expectFailedForAPerson(job, /temporarily unavailable\. Try again in a few minutes/);
    // The plugin's own fail, with the SDK's error text, never reached Flatfile: only ours did.
    const fails = h.flatfile.requests.filter((r) => r.route === "jobs.fail");
    expect(fails).toHaveLength(1);
    expect(JSON.stringify(h.flatfile.requests.map((r) => r.body))).not.toMatch(/Status code|Body:/);
    expect(answer.body.calls).toContain(`POST /v1/jobs/${j.id}/fail 0`);
  }, 15_000);

  it("is told apart from a listener's own failure message, which is sent as it is", () => {
    expect(rawFailureIn(JSON.stringify({ info: "Status code: 503\nBody: {}", outcome: { message: "x" } }))).toEqual({ temporary: true });
    expect(rawFailureIn(JSON.stringify({ outcome: { message: "Status code: 404\nBody: {}" } }))).toEqual({ temporary: false });
    expect(rawFailureIn(JSON.stringify({ outcome: { message: "Timeout exceeded when calling POST /jobs/{jobId}/complete." } }))).toEqual({
      temporary: true,
    });
    expect(rawFailureIn(JSON.stringify({ outcome: { message: "The file has no header row: add one and upload again." } }))).toBeUndefined();
    expect(rawFailureIn("not json")).toBeUndefined();
  });
});

describe("a job whose callback met a temporary failure (a 503 from Flatfile)", () => {
  /** Acknowledges the job, then completes it through event.fetch, which answers undefined on an HTTP error. */
  const completingOrThrowing = running((listener) =>
    listener.on("job:ready", { job: JOB }, async (event) => {
      await event.fetch(`v1/jobs/${event.context.jobId}/ack`, { method: "POST", data: "{}" });
      const done = await event.fetch(`v1/jobs/${event.context.jobId}/complete`, {
        method: "POST",
        data: JSON.stringify({ outcome: { message: "Done." } }),
      });
      if (done === undefined) throw new Error("could not complete the job");
    }),
  );

  it("is failed for a person by default: run at most once", async () => {
    const j = readyJob();
    h.flatfile.faults.statuses("jobs.complete", [503]);
    const answers = await h.deliverUntilSettled(completingOrThrowing, j.event);
    expect(answers.map((a) => a.status)).toEqual([200]);
    expect(answers[0]?.body).toMatchObject({ job: "failed", left: "executing" });
    expectFailedForAPerson(await j.read(), /temporarily unavailable\. Try again in a few minutes/);
  });

  it("with listenerRetryTemporary, is left executing and answered 5xx, and the redelivery runs the listener again", async () => {
    process.env[RETRY_TEMPORARY_ENV] = "true";
    const j = readyJob();
    h.flatfile.faults.statuses("jobs.complete", [503]);
    const first = await h.deliver(completingOrThrowing, j.event);
    expect(first.status).toBe(503);
    const open = await j.read();
    expect(open.status).toBe("executing");
    expect(open.info).toBe(RETRYING_INFO);
    expect(await openJobStore(undefined).recorded(j.id)).toBeDefined();
    const again = await h.deliver(completingOrThrowing, j.event);
    expect(again).toMatchObject({ status: 200, body: { job: "complete", handlers: 1 } });
    expect((await j.read()).outcome?.message).toBe("Done.");
    expect(await openJobStore(undefined).recorded(j.id)).toBeUndefined();
  });

  it("with listenerRetryTemporary, a callback's own failure with no temporary cause is still failed at once", async () => {
    process.env[RETRY_TEMPORARY_ENV] = "true";
    const j = readyJob();
    const answer = await h.deliver(
      acking(() => {
        throw new Error("customer bug");
      }),
      j.event,
    );
    expect(answer).toMatchObject({ status: 200, body: { job: "failed" } });
    expectFailedForAPerson(await j.read(), /one of its steps failed/);
  });
});
