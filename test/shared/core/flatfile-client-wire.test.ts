/**
 * Every endpoint of the functions' Flatfile client, over real HTTP: first side by side with the
 * real SDK (`@flatfile/api`'s generated clients) against a recording server, which must receive
 * the same method, path, query, body and headers from both; then against the stand-in, which
 * validates each body with the SDK's own schemas.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Flatfile } from "@flatfile/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../../local/flatfile-stand-in";
import { createFlatfileClient, type FlatfileApi } from "../../../shared/core/flatfile-client";
import { createSdkClient } from "../../../shared/core/flatfile-sdk";
import { judge } from "../../../shared/core/failures";

interface Ids {
  spaceId: string;
  workbookId: string;
  sheetId: string;
  documentId: string;
  jobId: (step: "get" | "ack" | "complete" | "fail") => string;
  userId: string;
  guestId: string;
  appId: string;
  commitId: string;
}

const sheet = {
  name: "Contacts",
  slug: "contacts",
  fields: [
    { key: "email", type: "string", label: "Email", constraints: [{ type: "required" }] },
    { key: "tier", type: "enum", label: "Tier", config: { options: [{ value: "gold", label: "Gold" }] } },
  ],
  actions: [{ operation: "duplicate", label: "Duplicate", mode: "foreground", constraints: [{ type: "hasData" }] }],
  access: ["*"],
} satisfies Flatfile.SheetConfig;

/** One call per endpoint, with bodies and queries of the shapes the functions send. */
function calls(ids: Ids): Record<string, (api: FlatfileApi) => Promise<unknown>> {
  return {
    "apps.get": (api) => api.apps.get(ids.appId),
    "commits.complete": (api) => api.commits.complete(ids.commitId),
    "documents.create": (api) => api.documents.create(ids.spaceId, { title: "Getting started", body: "<p>Hello</p>" }),
    "documents.get": (api) => api.documents.get(ids.spaceId, ids.documentId),
    "documents.list": (api) => api.documents.list(ids.spaceId),
    "documents.update": (api) => api.documents.update(ids.spaceId, ids.documentId, { title: "Getting started", body: "<p>Again</p>" }),
    "guests.get": (api) => api.guests.get(ids.guestId),
    "jobs.get": (api) => api.jobs.get(ids.jobId("get")),
    "jobs.ack": (api) => api.jobs.ack(ids.jobId("ack"), { info: "Working", progress: 10 }),
    "jobs.complete": (api) =>
      api.jobs.complete(ids.jobId("complete"), {
        outcome: { heading: "Done", message: "Ready", acknowledge: true, next: { type: "id", id: ids.workbookId, label: "Open" } },
        info: "Ready",
      }),
    "jobs.fail": (api) =>
      api.jobs.fail(ids.jobId("fail"), { outcome: { heading: "Stopped", message: "Try again", acknowledge: true }, info: "x" }),
    "records.get": (api) => api.records.get(ids.sheetId, { pageSize: 500, pageNumber: 1, filter: "valid", fields: ["email", "tier"] }),
    "sheets.duplicateSheet": (api) => api.sheets.duplicateSheet(ids.sheetId, { name: "Contacts (working copy)", slug: "contacts-2" }),
    "sheets.getRecordCounts": (api) => api.sheets.getRecordCounts(ids.sheetId),
    "spaces.get": (api) => api.spaces.get(ids.spaceId),
    "spaces.update": (api) =>
      api.spaces.update(ids.spaceId, { primaryWorkbookId: ids.workbookId, metadata: { ours: { v: 1 }, kept: true } }),
    "users.get": (api) => api.users.get(ids.userId),
    "workbooks.create": (api) =>
      api.workbooks.create({
        name: "Contacts & Orders",
        spaceId: ids.spaceId,
        labels: ["primary"],
        sheets: [sheet],
        actions: [
          { operation: "submitActionFg", label: "Submit", mode: "foreground", primary: true, constraints: [{ type: "hasAllValid" }] },
        ],
        settings: { trackChanges: true },
        metadata: { createdBy: "configurator" },
      }),
    "workbooks.get": (api) => api.workbooks.get(ids.workbookId),
    "workbooks.list": (api) => api.workbooks.list({ spaceId: ids.spaceId }),
    "workbooks.update": (api) => api.workbooks.update(ids.workbookId, { sheets: [{ ...sheet, access: [] }] }),
  };
}

const endpointsOf = (api: FlatfileApi) =>
  Object.entries(api)
    .flatMap(([resource, methods]) => Object.keys(methods as object).map((method) => `${resource}.${method}`))
    .sort();

describe("the client sends what the SDK sends", () => {
  let server: Server;
  let base: string;
  const received: { method: string; url: string; headers: IncomingHttpHeaders; body: unknown }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        received.push({ method: req.method!, url: req.url!, headers: req.headers, body: text ? JSON.parse(text) : undefined });
        res.writeHead(200, { "content-type": "application/json" });
        const list = req.method === "GET" && /\/(documents|workbooks)(\?|$)/.test(req.url!);
        res.end(JSON.stringify({ data: list ? [] : {} }));
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const ids: Ids = {
    spaceId: "us_sp_1",
    workbookId: "us_wb_1",
    sheetId: "us_sh_1",
    documentId: "us_dc_1",
    jobId: () => "us_jb_1",
    userId: "us_usr_1",
    guestId: "us_g_1",
    appId: "us_app_1",
    commitId: "us_vr_1",
  };

  it("has a call here for every endpoint of the client", () => {
    expect(endpointsOf(createFlatfileClient({ token: "t", baseUrl: base }))).toEqual(Object.keys(calls(ids)).sort());
  });

  for (const [name, call] of Object.entries(calls(ids))) {
    it(`${name}: same method, path, query, body and headers`, async () => {
      const seen = (run: () => Promise<unknown>) => {
        received.length = 0;
        return run().then(() => received[0]!);
      };
      const sdk = await seen(() => call(createSdkClient({ token: "sk_wire", baseUrl: base })));
      const ours = await seen(() => call(createFlatfileClient({ token: "sk_wire", baseUrl: base })));
      expect({ method: ours.method, url: ours.url, body: ours.body }).toEqual({ method: sdk.method, url: sdk.url, body: sdk.body });
      for (const header of ["authorization", "x-disable-hooks", "content-type"]) {
        expect([header, ours.headers[header]]).toEqual([header, sdk.headers[header]]);
      }
    });
  }

  it("sends a key the SDK would strip, so that the stand-in's strict schemas see it", async () => {
    const body = { sheets: [{ ...sheet, constraints: [{ type: "unique", fields: ["email"] }] }] } as unknown as Flatfile.WorkbookUpdate;
    received.length = 0;
    await createSdkClient({ token: "t", baseUrl: base }).workbooks.update("us_wb_1", body);
    await createFlatfileClient({ token: "t", baseUrl: base }).workbooks.update("us_wb_1", body);
    const [sdk, ours] = received as { body: { sheets: Record<string, unknown>[] } }[];
    expect(sdk!.body.sheets[0]).not.toHaveProperty("constraints");
    expect(ours!.body.sheets[0]).toHaveProperty("constraints");
  });
});

describe("every endpoint against the stand-in", () => {
  let ff: FlatfileStandIn;
  let ids: Ids;

  beforeAll(async () => {
    ff = await startFlatfileStandIn();
    const space = ff.seed.space({ metadata: { kept: true } });
    const workbook = ff.seed.workbook({ spaceId: space.id, name: "Contacts", sheets: [{ ...sheet, records: 3 }] });
    const api = createFlatfileClient({ token: ff.apiKey, baseUrl: ff.url });
    const document = (await api.documents.create(space.id, { title: "Getting started", body: "x" })).data;
    const jobs = {
      get: ff.seed.job({ job: "space:configure", spaceId: space.id }).id,
      ack: ff.seed.job({ job: "space:configure", spaceId: space.id }).id,
      complete: ff.seed.job({ job: "space:configure", spaceId: space.id, status: "executing" }).id,
      fail: ff.seed.job({ job: "space:configure", spaceId: space.id, status: "executing" }).id,
    };
    ids = {
      spaceId: space.id,
      workbookId: workbook.id,
      sheetId: workbook.sheets[0]!.id,
      documentId: document.id,
      jobId: (step) => jobs[step],
      userId: ff.seed.user({ email: "ada@example.com", name: "Ada" }).id,
      guestId: ff.seed.guest({ email: "guest@example.com", name: "Guest", spaceIds: [space.id] }).id,
      appId: ff.seed.app({ namespace: "portal" }).id,
      commitId: ff.seed.commit(workbook.sheets[0]!.id, { insert: [{ email: "ada@example.com" }] }).commitId,
    };
  });
  afterAll(async () => {
    await ff?.close();
  });

  it("answers each call with data, its body valid for the SDK's schemas", async () => {
    const api = createFlatfileClient({ token: ff.apiKey, baseUrl: ff.url, retry: { maxRetries: 0 } });
    for (const [name, call] of Object.entries(calls(ids))) {
      const answer = (await call(api).catch((error: unknown) => ({ failed: judge(error).detail }))) as { data?: unknown; failed?: string };
      expect([name, answer.failed]).toEqual([name, undefined]);
      expect([name, answer.data !== undefined]).toEqual([name, true]);
    }
  });

  it("refuses a body with a key the SDK would silently strip", async () => {
    const api = createFlatfileClient({ token: ff.apiKey, baseUrl: ff.url, retry: { maxRetries: 0 } });
    const body = { sheets: [{ ...sheet, constraints: [{ type: "unique", fields: ["email"] }] }] } as unknown as Flatfile.WorkbookUpdate;
    await expect(api.workbooks.update(ids.workbookId, body)).rejects.toMatchObject({ statusCode: 400 });
  });
});
