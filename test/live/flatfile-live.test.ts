/**
 * Live mode: the same handlers against the real Flatfile API. Runs only when a key is given:
 *
 *   FLATFILE_LIVE_API_KEY=sk_... FLATFILE_LIVE_ENVIRONMENT_ID=us_env_... npx vitest run test/live
 *   (FLATFILE_LIVE_API_URL selects another region, e.g. https://platform.eu.flatfile.com/api)
 *
 * It creates a Space without autoconfigure, a `space:configure` job for it, delivers the signed
 * `job:ready` event to the handler, checks what Flatfile now holds, and deletes the Space.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { handler as actionJob } from "../../functions/action-job/handler";
import { handler as spaceConfigure } from "../../functions/space-configure/handler";
import { resetSettingsCache } from "../../shared/core/config";
import { createSdkClient, type SdkApi } from "../../shared/core/flatfile-sdk";
import { resetInProcessIdempotency } from "../../shared/core/idempotency";
import { signPayload } from "../../shared/core/signature";
import { readSpaceState } from "../../shared/flatfile/space-state";
import { apiEvent } from "../support/harness";

const apiKey = process.env.FLATFILE_LIVE_API_KEY;
const environmentId = process.env.FLATFILE_LIVE_ENVIRONMENT_ID;
const apiUrl = process.env.FLATFILE_LIVE_API_URL;

describe.skipIf(!apiKey || !environmentId)("live Flatfile API", () => {
  const signingSecret = `whsec_${randomBytes(16).toString("hex")}`;
  let api: SdkApi;
  let spaceId: string | undefined;

  beforeAll(() => {
    Object.assign(process.env, {
      FLATFILE_API_KEY: apiKey,
      FLATFILE_SIGNING_SECRET: signingSecret,
      FLATFILE_ENVIRONMENT_ID: environmentId,
    });
    if (apiUrl) process.env.FLATFILE_API_URL = apiUrl;
    delete process.env.FLATFILE_SECRET_ID;
    delete process.env.IDEMPOTENCY_TABLE;
    resetSettingsCache();
    resetInProcessIdempotency();
    api = createSdkClient({ token: apiKey!, baseUrl: apiUrl });
  });
  afterAll(async () => {
    if (spaceId) await api.spaces.delete(spaceId).catch(() => undefined);
  });

  async function deliver(route: typeof spaceConfigure, event: Record<string, unknown>) {
    const body = JSON.stringify(event);
    const result = await route(apiEvent(body, { "x-flatfile-signature": signPayload(body, signingSecret) }), {
      getRemainingTimeInMillis: () => 25_000,
      awsRequestId: "live",
    });
    return { status: result.statusCode, body: JSON.parse(result.body ?? "{}") as Record<string, unknown> };
  }

  function jobEvent(job: string, jobId: string, context: Record<string, unknown>) {
    const [domain, operation] = job.split(":");
    return {
      id: `us_evt_live${randomBytes(6).toString("hex")}`,
      topic: "job:ready",
      domain: "job",
      createdAt: new Date().toISOString(),
      context: { accountId: "us_acc_live0000", environmentId, jobId, ...context },
      payload: { job, domain, operation, status: "ready", info: null, isPart: false, input: {} },
    };
  }

  it("configures a real Space, then duplicates and locks its Contacts sheet", async () => {
    const space = (await api.spaces.create({ name: "Space configurator live test", environmentId, metadata: { locale: "ja-JP" } })).data;
    spaceId = space.id;
    const job = (await api.jobs.create({ type: "space", operation: "configure", source: space.id, environmentId, status: "ready" })).data;

    const configured = await deliver(spaceConfigure, jobEvent("space:configure", job.id, { spaceId: space.id }));
    expect(configured.status).toBe(200);
    expect(configured.body).toMatchObject({ status: "complete", currency: "JPY" });
    expect((await api.jobs.get(job.id)).data.status).toBe("complete");
    const after = (await api.spaces.get(space.id)).data;
    const state = readSpaceState(after.metadata);
    expect(state?.workbookId).toBe(configured.body.workbookId);
    expect(after.primaryWorkbookId).toBe(state?.workbookId);

    const contacts = state!.sheets.contacts!;
    const duplicate = (await api.jobs.create({ type: "sheet", operation: "duplicate", source: contacts, environmentId, status: "ready" }))
      .data;
    const duplicated = await deliver(
      actionJob,
      jobEvent("sheet:duplicate", duplicate.id, { spaceId: space.id, workbookId: state!.workbookId, sheetId: contacts }),
    );
    expect(duplicated.status).toBe(200);
    expect(duplicated.body).toMatchObject({ status: "complete" });
    const workbook = (await api.workbooks.get(state!.workbookId)).data;
    expect(workbook.sheets?.find((s) => s.id === contacts)?.config.access).toEqual([]);
    expect(workbook.sheets?.some((s) => s.id === duplicated.body.copySheetId)).toBe(true);
  }, 60_000);
});
