/**
 * Reliability suite, the customer's listener route (POST /listener, running listener/index.ts: a
 * record hook on Contacts and a plugin-job-handler job) under Flatfile faults: 503s the SDK's
 * retries cannot absorb, a write-back lost to a 503, a hung call cut at the deadline, a copy
 * arriving while the first is in progress, and a listener printing its event. Every job it took
 * ends complete or failed with a sentence, nothing is written twice, no secret is printed. The
 * world and the invariants checked after every scenario: ./world.ts.
 */
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, vi } from "vitest";

vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { handler as listenerHandler } from "../../../functions/listener/handler";
import { listenOnLoopback } from "../../../local/loopback";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import { LISTENER_ROUTE } from "../../../shared/routes";
import { seedConfiguredSpace } from "../../support/configured-space";
import { apiEvent, commitCreatedEvent, jobReadyEvent } from "../../support/harness";
import { fault, send, sleep, type Answer } from "./support";
import { flatfile, jobStatus, mark, own, scenario, signingSecret, SHORT_TIMEOUT_MS, useReliabilityWorld } from "./world";

useReliabilityWorld("listener");

const ACTION = "workbook:myAction";

/**
 * POST /listener as API Gateway invokes it, telling the handler it has `timeoutMs` (the world's
 * gateway serves our three routes; this one serves the listener's, with the same event shape).
 */
async function listenerGateway(timeoutMs: number) {
  return listenOnLoopback(
    createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", async () => {
        const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]));
        const started = Date.now();
        const result = await listenerHandler(apiEvent(Buffer.concat(chunks).toString("utf8"), headers), {
          getRemainingTimeInMillis: () => Math.max(timeoutMs - (Date.now() - started), 0),
          awsRequestId: "reliability",
        });
        response.writeHead(result.statusCode ?? 200, { "content-type": "application/json", ...(result.headers as object) });
        response.end(result.body ?? "");
      });
    }),
  );
}

let full: Awaited<ReturnType<typeof listenerGateway>>;
let short: Awaited<ReturnType<typeof listenerGateway>>;
beforeAll(async () => {
  full = await listenerGateway(25_000);
  short = await listenerGateway(SHORT_TIMEOUT_MS);
});
afterAll(async () => {
  await Promise.allSettled([full?.close(), short?.close()]);
});

const toListener = (event: Record<string, unknown>, via = full): Promise<Answer> =>
  send(via.url, LISTENER_ROUTE.path, JSON.stringify(event), signingSecret);

/** As the relay does after a 5xx: faults gone, the same event again until it is not a 5xx. */
async function redeliverToListener(event: Record<string, unknown>): Promise<Answer> {
  flatfile.faults.clear();
  let answer = await toListener(event);
  for (let attempt = 1; attempt < 4 && answer.status >= 500; attempt++) {
    await sleep(100 * attempt);
    answer = await toListener(event);
  }
  return answer;
}

function actionJob(spaceId: string) {
  const job = flatfile.seed.job({ job: ACTION, spaceId });
  own(job.id);
  return { jobId: job.id, event: jobReadyEvent({ job: ACTION, jobId: job.id, spaceId }) };
}

async function contactsCommit(emails: string[]) {
  const c = await seedConfiguredSpace(flatfile);
  const { commitId } = flatfile.seed.commit(c.contactsId, { insert: emails.map((email, i) => ({ firstName: `Ada ${i}`, email })) });
  const event = {
    ...commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.contactsId, sheetSlug: "contacts", commitId }),
    dataUrl: `v1/sheets/${c.contactsId}/records?commitId=${commitId}`,
  };
  const emailsNow = async () =>
    (await createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url }).records.get(c.contactsId)).data.records.map(
      (r) => r.values.email?.value,
    );
  return { c, event, emailsNow };
}

describe("the listener route under Flatfile faults", () => {
  scenario("baseline: the record hook writes a commit back normalised, and the action's job completes", async () => {
    const commit = await contactsCommit([" Ada@Example.COM "]);
    const a = await toListener(commit.event);
    expect(a.status, a.text).toBe(200);
    expect(await commit.emailsNow()).toEqual(["ada@example.com"]);
    const j = actionJob(commit.c.spaceId);
    const b = await toListener(j.event);
    expect(b.status, b.text).toBe(200);
    expect(jobStatus(j.jobId)).toMatchObject({ status: "complete", message: "The example action ran." });
  });

  scenario(
    "503s on the plugin's jobs.complete past the SDK's retries: the job is failed with a sentence, never the raw text",
    async () => {
      const space = flatfile.seed.space({});
      const j = actionJob(space.id);
      flatfile.faults.statuses("jobs.complete", [503, 503, 503]);
      fault(3);
      const m = mark();
      const a = await toListener(j.event);
      expect(a.status, a.text).toBe(200);
      expect(jobStatus(j.jobId)).toMatchObject({ status: "failed", message: expect.stringMatching(/temporarily unavailable/) });
      expect(JSON.stringify(m.all().map((r) => r.body))).not.toMatch(/Status code|Body:/);
      // A redelivery changes nothing: the answer is replayed.
      const again = await toListener(j.event);
      expect(again.body).toMatchObject({ replayed: true });
    },
    30_000,
  );

  scenario("a write-back lost to a 503 is answered 5xx, and the redelivery writes it once", async () => {
    const commit = await contactsCommit([" GRACE@example.com"]);
    flatfile.faults.statuses("records.update", [503]);
    fault();
    const first = await toListener(commit.event);
    expect(first.status, first.text).toBe(503);
    const again = await redeliverToListener(commit.event);
    expect(again.status, again.text).toBe(200);
    expect(await commit.emailsNow()).toEqual(["grace@example.com"]);
  });

  scenario("a hung records read is cut at the deadline, answered 5xx inside the invocation, and redelivered", async () => {
    const commit = await contactsCommit([" Hang@Example.com"]);
    flatfile.faults.hang("records.get", 1);
    fault();
    const started = Date.now();
    const first = await toListener(commit.event, short);
    expect(Date.now() - started).toBeLessThan(SHORT_TIMEOUT_MS);
    expect(first.status, first.text).toBe(503);
    const again = await redeliverToListener(commit.event);
    expect(again.status, again.text).toBe(200);
    expect(await commit.emailsNow()).toEqual(["hang@example.com"]);
  });

  scenario(
    "a copy of a job event arriving while the first is in progress is answered 503 with Retry-After; the job completes once",
    async () => {
      const space = flatfile.seed.space({});
      const j = actionJob(space.id);
      flatfile.faults.latency("jobs.ack", 400);
      fault();
      const [first, copy] = await Promise.all([toListener(j.event), sleep(100).then(() => toListener(j.event))]);
      expect(first.status, first.text).toBe(200);
      expect(copy.status, copy.text).toBe(503);
      expect(copy.headers["retry-after"]).toMatch(/^\d+$/);
      const later = await redeliverToListener(j.event);
      expect(later.body).toMatchObject({ replayed: true });
      expect(flatfile.requests.filter((r) => r.route === "jobs.complete" && r.path.includes(j.jobId))).toHaveLength(1);
      expect(jobStatus(j.jobId).status).toBe("complete");
    },
  );
});
