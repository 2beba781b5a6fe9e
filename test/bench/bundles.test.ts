/**
 * The production bundles work end to end (no timing is asserted here). Each function is built
 * with the one bundling config (infra/bundling.ts: the thin Flatfile client, zod/mini, the ESM
 * builds of the AWS SDK…), loaded in a plain Node child process (bench/worker.cjs, as the
 * bench does), and driven over real HTTP against the Flatfile stand-in with signed events:
 *
 *   space-configure  configures a new space (a user's, then a guest's) and completes its job;
 *   action-job       duplicates a sheet, then submits the workbook, on that configured space;
 *   commit-created   reconciles a commit that adds an unknown category on it.
 *
 * Every Flatfile call our flows make goes through the bundled client (shared/core/flatfile-client.ts)
 * here, so an endpoint it lacks or sends wrongly fails this test instead of production; and no
 * code of the SDK itself may be bundled (it is only the client's types).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_FUNCTION_NAMES, buildFunction, BUNDLE_FILE, FUNCTION_NAMES, type BuiltFunction } from "../../infra/bundling";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { startWorker, type Worker } from "../../bench/scale";
import { createFlatfileClient, type FlatfileApi } from "../../shared/core/flatfile-client";
import { UNKNOWN_CATEGORY_RULE } from "../../shared/domain/blueprint";
import { CONFIGURE_JOB } from "../../functions/space-configure/configure";
import { DUPLICATE_JOB } from "../../functions/action-job/duplicate-sheet";
import { readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { commitCreatedEvent, ENVIRONMENT_ID, jobReadyEvent } from "../support/harness";

const SUBMIT_JOB = "workbook:submitActionFg";

let dir: string;
let flatfile: FlatfileStandIn;
let api: FlatfileApi;
const workers = new Map<string, Worker>();
let built: BuiltFunction[] = [];
const signingSecret = `whsec_${randomBytes(16).toString("hex")}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bundles-test-"));
  flatfile = await startFlatfileStandIn();
  api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
  built = await Promise.all(BUNDLED_FUNCTION_NAMES.map((name) => buildFunction(name, join(dir, name))));
  const env = {
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_SIGNING_SECRET: signingSecret,
    FLATFILE_ENVIRONMENT_ID: ENVIRONMENT_ID,
  };
  for (const name of FUNCTION_NAMES) workers.set(name, await startWorker(join(dir, name, BUNDLE_FILE), env));
}, 120_000);

afterAll(async () => {
  for (const worker of workers.values()) worker.close();
  await flatfile?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const worker = (name: (typeof FUNCTION_NAMES)[number]) => workers.get(name)!;
const jobStatus = (jobId: string) => flatfile.jobs.get(jobId)?.status;

async function configure(actor: { id: string }): Promise<{ spaceId: string; state: SpaceState }> {
  const space = flatfile.seed.space({ metadata: { locale: "en-US" } });
  const job = flatfile.seed.job({ job: CONFIGURE_JOB, spaceId: space.id, status: "ready" });
  const answer = await worker("space-configure").deliver(
    jobReadyEvent({ job: CONFIGURE_JOB, jobId: job.id, spaceId: space.id, actorId: actor.id }),
  );
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(jobStatus(job.id)).toBe("complete");
  const state = readSpaceState((await api.spaces.get(space.id)).data.metadata);
  if (!state) throw new Error("space-configure left no state in the space's metadata");
  return { spaceId: space.id, state };
}

describe("production bundles, driven over HTTP against the Flatfile stand-in", () => {
  it("bundle none of @flatfile/api's code: the functions use its types only", () => {
    expect(built.map((b) => b.name)).toEqual([...BUNDLED_FUNCTION_NAMES]);
    for (const b of built) {
      const inputs = Object.keys(b.metafile.inputs);
      expect([b.name, inputs.some((path) => path.includes("shared/core/flatfile-client.ts"))]).toEqual([b.name, true]);
      expect([b.name, inputs.filter((path) => path.includes("node_modules/@flatfile/"))]).toEqual([b.name, []]);
    }
  });

  it("action-job keeps the S3 and EventBridge clients in a file of their own, loaded on the first Submit only", async () => {
    const actionJob = built.find((b) => b.name === "action-job")!;
    const atInit = Object.keys(actionJob.metafile.inputs).filter((path) => /@aws-sdk\/client-(s3|eventbridge)\//.test(path));
    expect(atInit).toEqual([]);
    const separate = join(dir, "action-job", "submission-clients.js");
    expect(actionJob.files.map((f) => f.path)).toContain(separate);
    // As index.js's import() gets it: the clients and the commands by name.
    const sdk = (await import(separate)) as Record<string, unknown>;
    for (const name of ["s3Client", "eventBridgeClient", "PutEventsCommand", "UploadPartCommand"])
      expect(typeof sdk[name], name).toBe("function");
  });

  it("action-job keeps the Lambda client in a file of its own, loaded on the first hand-off to the worker only", async () => {
    const actionJob = built.find((b) => b.name === "action-job")!;
    const atInit = Object.keys(actionJob.metafile.inputs).filter((path) => path.includes("@aws-sdk/client-lambda/"));
    expect(atInit).toEqual([]);
    const separate = join(dir, "action-job", "worker-client.js");
    expect(actionJob.files.map((f) => f.path)).toContain(separate);
    const sdk = (await import(separate)) as Record<string, unknown>;
    for (const name of ["lambdaClient", "InvokeCommand"]) expect(typeof sdk[name], name).toBe("function");
  });

  it("action-job-worker runs action-job's flows without parsing Submit's clients or the Lambda client at init", () => {
    const worker = built.find((b) => b.name === "action-job-worker")!;
    const atInit = Object.keys(worker.metafile.inputs).filter((path) => /@aws-sdk\/client-(s3|eventbridge|lambda)\//.test(path));
    expect(atInit).toEqual([]);
    expect(Object.keys(worker.metafile.inputs)).toContain("functions/action-job/actions.ts");
  });

  let configured: { spaceId: string; state: SpaceState };

  it("space-configure: configures a new space for a user and for a guest, and completes each job", async () => {
    const user = flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" });
    configured = await configure(user);
    expect(flatfile.workbooks.get(configured.state.workbookId)?.spaceId).toBe(configured.spaceId);
    expect(flatfile.documents.get(configured.state.guideDocumentId)?.spaceId).toBe(configured.spaceId);
    expect(flatfile.spaces.get(configured.spaceId)?.primaryWorkbookId).toBe(configured.state.workbookId);

    const guest = flatfile.seed.guest({ email: "grace@example.com", name: "Grace Hopper" });
    await configure(guest);
    const routes = new Set(flatfile.requests.map((r) => r.route));
    for (const route of ["users.get", "guests.get", "workbooks.create", "documents.create", "spaces.update", "jobs.complete"])
      expect(routes).toContain(route);
  });

  it("action-job: duplicates a sheet and submits the workbook, completing both jobs", async () => {
    const { spaceId, state } = configured;
    const contacts = state.sheets.contacts!;
    flatfile.seed.commit(contacts, { insert: [{ firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" }] });

    const duplicate = flatfile.seed.job({ job: DUPLICATE_JOB, spaceId, workbookId: state.workbookId, sheetId: contacts, status: "ready" });
    const copied = await worker("action-job").deliver(
      jobReadyEvent({
        job: DUPLICATE_JOB,
        jobId: duplicate.id,
        spaceId,
        workbookId: state.workbookId,
        sheetId: contacts,
        sheetSlug: "contacts",
      }),
    );
    expect(copied.status, JSON.stringify(copied.body)).toBe(200);
    expect(copied.body).toMatchObject({ status: "complete", lockedSheetId: contacts });
    expect(jobStatus(duplicate.id)).toBe("complete");

    const submit = flatfile.seed.job({ job: SUBMIT_JOB, spaceId, workbookId: state.workbookId, status: "ready" });
    const submitted = await worker("action-job").deliver(
      jobReadyEvent({ job: SUBMIT_JOB, jobId: submit.id, spaceId, workbookId: state.workbookId }),
    );
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(jobStatus(submit.id)).toBe("complete");
  });

  it("commit-created: reconciles a commit with an unknown category (counts, records, workbook and guide)", async () => {
    const { spaceId, state } = configured;
    const orders = state.sheets[UNKNOWN_CATEGORY_RULE.sheetSlug]!;
    const { commitId } = flatfile.seed.commit(orders, { insert: [{ orderId: "o-1", amount: 12, category: "bundled-new-category" }] });
    const answer = await worker("commit-created").deliver(
      commitCreatedEvent({ spaceId, workbookId: state.workbookId, sheetId: orders, commitId }),
    );
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.ignored).toBeUndefined();
    expect(answer.body).toMatchObject({
      sheet: UNKNOWN_CATEGORY_RULE.sheetSlug,
      guide: "updated",
      categories: { added: ["bundled-new-category"] },
    });
  });
});
