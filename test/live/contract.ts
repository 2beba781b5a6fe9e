/**
 * The platform contract, as checks that run against any Flatfile API: the real one (contract.test.ts,
 * with a key: `npm run test:live`) and the stand-in (test/local/contract-on-stand-in.test.ts), so
 * the code that a person with a key runs is exercised in every `npm test`.
 *
 * Each row is one assumption the product or the stand-in makes, with its source. `reliedOn` rows
 * are ones the product's correctness depends on: the live run fails unless they are confirmed.
 * The others are where the docs are silent: the stand-in models the least convenient answer, the
 * product is written to work either way, and the row says which way this API went.
 *
 * Everything it creates lives in two Spaces it deletes at the end, whatever happened.
 */
import { randomBytes } from "node:crypto";
import { Events } from "@flatfile/api/api/resources/events/client/Client";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import type { Flatfile } from "@flatfile/api";
import { handler as actionJob } from "../../functions/action-job/handler";
import { handler as commitCreated } from "../../functions/commit-created/handler";
import { handler as spaceConfigure } from "../../functions/space-configure/handler";
import { resetSettingsCache } from "../../shared/core/config";
import { normalizeApiUrl } from "../../shared/core/flatfile-client";
import { createSdkClient, createSdkFetcher, type SdkApi } from "../../shared/core/flatfile-sdk";
import { resetInProcessIdempotency } from "../../shared/core/idempotency";
import type { RouteHandler } from "../../shared/core/route";
import { signPayload } from "../../shared/core/signature";
import { isLocked } from "../../shared/domain/blueprint";
import { readSpaceState, type SpaceState } from "../../shared/flatfile/space-state";
import { apiEvent } from "../support/harness";

export interface ContractTarget {
  apiKey: string;
  environmentId: string;
  /** Default: production. */
  apiUrl?: string;
  /** How long to wait for an event to show in events.list (the real API is not immediate). */
  eventWaitMs?: number;
}

export interface ContractRow {
  assumption: string;
  source: string;
  /** The product depends on it (a live run fails unless confirmed). */
  reliedOn: boolean;
  /** undefined: could not be checked (an earlier step failed). */
  confirmed: boolean | undefined;
  observed: string;
}

type Event = Record<string, unknown> & { id: string; topic: string; context: Record<string, unknown>; payload: Record<string, unknown> };

const statusOf = (error: unknown) => (error instanceof FlatfileError ? error.statusCode : undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeError = (error: unknown) =>
  error instanceof FlatfileError ? `HTTP ${error.statusCode}` : error instanceof Error ? error.message : String(error);

/** Runs every check in order, cleans up, and answers one row per assumption. */
export async function runContract(target: ContractTarget): Promise<ContractRow[]> {
  const rows: ContractRow[] = [];
  const signingSecret = `whsec_${randomBytes(16).toString("hex")}`;
  const saved = { ...process.env };
  Object.assign(process.env, {
    FLATFILE_API_KEY: target.apiKey,
    FLATFILE_SIGNING_SECRET: signingSecret,
    FLATFILE_ENVIRONMENT_ID: target.environmentId,
  });
  if (target.apiUrl) process.env.FLATFILE_API_URL = target.apiUrl;
  else delete process.env.FLATFILE_API_URL;
  for (const name of ["FLATFILE_SECRET_ID", "IDEMPOTENCY_TABLE", "REFERENCE_DATA_URL"]) delete process.env[name];
  resetSettingsCache();
  resetInProcessIdempotency();

  const api = createSdkClient({ token: target.apiKey, baseUrl: target.apiUrl });
  const events = new Events({ token: target.apiKey, environment: normalizeApiUrl(target.apiUrl), fetcher: createSdkFetcher({}) });
  const environmentId = target.environmentId;
  const waitMs = target.eventWaitMs ?? 30_000;
  const spaces: string[] = [];

  /** Adds a row from a check; an exception is "not confirmed" with what went wrong. */
  async function check(
    row: Omit<ContractRow, "confirmed" | "observed">,
    run: () => Promise<{ confirmed: boolean; observed: string }>,
  ): Promise<void> {
    try {
      rows.push({ ...row, ...(await run()) });
    } catch (error) {
      rows.push({ ...row, confirmed: false, observed: `error: ${describeError(error)}` });
    }
  }
  const skipped = (row: Omit<ContractRow, "confirmed" | "observed">, why: string) =>
    rows.push({ ...row, confirmed: undefined, observed: `not checked: ${why}` });

  /** The first event matching, polling events.list of the space until it shows or time is up. */
  async function findEvent(spaceId: string, topic: string, match: (e: Event) => boolean): Promise<Event | undefined> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const page = (await events.list({ environmentId, spaceId, topic, pageSize: 100, includeAcknowledged: true }))
        .data as unknown as Event[];
      const found = page.find(match);
      if (found || Date.now() >= deadline) return found ? (JSON.parse(JSON.stringify(found)) as Event) : undefined;
      await sleep(Math.min(1_000, Math.max(50, waitMs / 20)));
    }
  }

  async function deliver(route: RouteHandler, event: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = JSON.stringify(event);
    const result = await route(apiEvent(body, { "x-flatfile-signature": signPayload(body, signingSecret) }), {
      getRemainingTimeInMillis: () => 25_000,
      awsRequestId: `contract-${randomBytes(4).toString("hex")}`,
    } as never);
    return { status: result.statusCode ?? 0, body: JSON.parse(result.body ?? "{}") as Record<string, unknown> };
  }

  function jobEvent(job: string, jobId: string, context: Record<string, unknown>): Event {
    const [domain, operation] = job.split(":");
    return {
      id: `us_evt_contract${randomBytes(5).toString("hex")}`,
      topic: "job:ready",
      domain: "job",
      createdAt: new Date().toISOString(),
      context: { accountId: "us_acc_contract0", environmentId, jobId, ...context },
      payload: { job, domain, operation, status: "ready", info: null, isPart: false, input: {} },
    };
  }

  /** An action job as a button press makes it, and the job:ready the platform raised for it (or one built like it). */
  async function actionReady(
    job: string,
    source: string,
    context: Record<string, unknown>,
  ): Promise<{ jobId: string; event: Event; raised: boolean }> {
    const [type, operation] = job.split(":") as [string, string];
    const created = (
      await api.jobs.create({ type: type as Flatfile.JobType, operation, source, environmentId, trigger: "immediate", input: {} })
    ).data;
    const spaceId = String(context.spaceId);
    const raised = await findEvent(spaceId, "job:ready", (e) => e.context.jobId === created.id);
    return {
      jobId: created.id,
      event: raised ?? jobEvent(job, created.id, { ...context, actionName: operation }),
      raised: raised !== undefined,
    };
  }

  try {
    // ── A Space created with autoConfigure, configured by our handler from the event raised ──
    const created = (
      await api.spaces.create({
        name: "Space configurator contract check",
        environmentId,
        autoConfigure: true,
        metadata: { locale: "fr-CH" },
      })
    ).data;
    spaces.push(created.id);
    const spaceId = created.id;
    const configureEvent = await findEvent(spaceId, "job:ready", (e) => e.payload.job === "space:configure");
    rows.push({
      assumption: "POST /v1/spaces with autoConfigure raises job:ready for space:configure, listed by events.list",
      source: "docs: guides/dynamic-configurations; SDK ListEventsRequest",
      reliedOn: true,
      confirmed: configureEvent !== undefined,
      observed: configureEvent ? `job ${String(configureEvent.context.jobId)}` : `none within ${waitMs} ms`,
    });
    let configureJobId = configureEvent ? String(configureEvent.context.jobId) : undefined;
    if (!configureJobId)
      configureJobId = (
        await api.jobs.create({ type: "space", operation: "configure", source: spaceId, environmentId, trigger: "immediate" })
      ).data.id;
    const event = configureEvent ?? jobEvent("space:configure", configureJobId, { spaceId });

    let state: SpaceState | undefined;
    await check(
      {
        assumption: "our handler configures the Space: job complete, one workbook, one guide",
        source: "the product's contract (docs/contract.md, Delivery guarantees)",
        reliedOn: true,
      },
      async () => {
        const answer = await deliver(spaceConfigure, event);
        const job = (await api.jobs.get(configureJobId!)).data;
        state = readSpaceState((await api.spaces.get(spaceId)).data.metadata);
        const workbooks = (await api.workbooks.list({ spaceId })).data;
        const documents = (await api.documents.list(spaceId)).data;
        const ok =
          answer.status === 200 && job.status === "complete" && workbooks.length === 1 && documents.length === 1 && state !== undefined;
        return {
          confirmed: ok,
          observed: `HTTP ${answer.status}, job ${job.status}, ${workbooks.length} workbook(s), ${documents.length} document(s)`,
        };
      },
    );

    if (configureEvent) {
      await check(
        {
          assumption: "events.ack hides the event from events.list unless includeAcknowledged",
          source: "SDK ListEventsRequest.includeAcknowledged, events.ack",
          reliedOn: true,
        },
        async () => {
          await events.ack(configureEvent.id);
          const listed = (await events.list({ environmentId, spaceId, topic: "job:ready", pageSize: 100 })).data as unknown as Event[];
          const hidden = !listed.some((e) => e.id === configureEvent.id);
          return { confirmed: hidden, observed: hidden ? "hidden after ack" : "still listed after ack" };
        },
      );
    }

    const contacts = state?.sheets.contacts;
    const workbookId = state?.workbookId;
    let commitId: string | undefined;
    const contactRow = (i: number) => ({
      firstName: { value: `Ada ${i}` },
      lastName: { value: "Lovelace" },
      email: { value: `ada${i}@example.com` },
    });
    const insertRow = {
      assumption:
        "records.insert with X-Force-Hooks makes one commit and raises commit:created with sheetId, workbookId, commitId, actorId",
      source: "events reference; SDK Context; flatfile-plugins utils/testing test.helpers.ts (X-Force-Hooks)",
      reliedOn: true,
    };
    if (!contacts || !workbookId) skipped(insertRow, "the Space was not configured");
    else
      await check(insertRow, async () => {
        const forced = { headers: { "X-Force-Hooks": "true" } };
        const inserted = (await api.records.insert(contacts, [contactRow(1), contactRow(2), contactRow(3)], forced)).data;
        commitId = inserted.commitId ?? inserted.versionId;
        const raised = await findEvent(
          spaceId,
          "commit:created",
          (e) => e.context.sheetId === contacts && (e.context.commitId ?? e.context.versionId) === commitId,
        );
        const context = raised?.context ?? {};
        const ok = raised !== undefined && context.workbookId === workbookId && typeof context.actorId === "string";
        if (raised) {
          const answer = await deliver(commitCreated, raised);
          return {
            confirmed: ok && answer.status === 200,
            observed: `commit ${commitId}; event ${raised.id}; our handler HTTP ${answer.status}`,
          };
        }
        return { confirmed: false, observed: `commit ${commitId}; no commit:created within ${waitMs} ms` };
      });

    const unhookedRow = {
      assumption: "records.insert with the SDK's default X-Disable-Hooks: true raises no commit:created",
      source: "SDK records/client/Client.js (sends the header); undocumented: Submit and Duplicate recount either way",
      reliedOn: false,
    };
    if (!contacts) skipped(unhookedRow, "the Space was not configured");
    else
      await check(unhookedRow, async () => {
        const inserted = (await api.records.insert(contacts, [contactRow(4)])).data;
        const written = inserted.commitId ?? inserted.versionId;
        const raised = await findEvent(
          spaceId,
          "commit:created",
          (e) => e.context.sheetId === contacts && (e.context.commitId ?? e.context.versionId) === written,
        );
        return raised
          ? { confirmed: false, observed: `raised: event ${raised.id} for commit ${written}` }
          : { confirmed: true, observed: `not raised within ${waitMs} ms (commit ${written})` };
      });

    let copyId: string | undefined;
    const duplicateRow = {
      assumption: "duplicate through our handler: copy with every record, original read back locked (access [], readonly)",
      source: "SDK duplicateSheet doc comment; support article 'updating sheets'",
      reliedOn: true,
    };
    if (!contacts || !workbookId) skipped(duplicateRow, "the Space was not configured");
    else
      await check(duplicateRow, async () => {
        const before = (await api.sheets.getRecordCounts(contacts)).data.counts;
        const {
          jobId,
          event: ready,
          raised,
        } = await actionReady("sheet:duplicate", contacts, {
          spaceId,
          workbookId,
          sheetId: contacts,
          sheetSlug: "contacts",
          slugs: { sheet: "contacts" },
        });
        const answer = await deliver(actionJob, ready);
        copyId = typeof answer.body.copySheetId === "string" ? answer.body.copySheetId : undefined;
        const job = (await api.jobs.get(jobId)).data;
        const original = (await api.workbooks.get(workbookId)).data.sheets?.find((s) => s.id === contacts);
        const copied = copyId ? (await api.sheets.getRecordCounts(copyId)).data.counts : undefined;
        const locked = original ? isLocked(original.config) : false;
        const ok = job.status === "complete" && copied?.total === before.total && locked;
        return {
          confirmed: ok,
          observed: `job ${job.status}${raised ? "" : " (no job:ready seen: event built)"}; ${before.total} → copy ${copied?.total ?? "none"}; original access ${JSON.stringify(original?.config.access)}, readonly ${String(original?.config.readonly)}`,
        };
      });

    const copyConfigRow = {
      assumption: "duplicateSheet copies the sheet's config (fields, actions) with its data (undocumented)",
      source: "undocumented; stand-in copies the whole config",
      reliedOn: false,
    };
    if (!copyId || !workbookId) skipped(copyConfigRow, "no copy was made");
    else
      await check(copyConfigRow, async () => {
        const sheets = (await api.workbooks.get(workbookId)).data.sheets ?? [];
        const copy = sheets.find((s) => s.id === copyId);
        const original = sheets.find((s) => s.id === contacts);
        const sameFields =
          JSON.stringify(copy?.config.fields?.map((f) => f.key)) === JSON.stringify(original?.config.fields?.map((f) => f.key));
        return {
          confirmed: sameFields,
          observed: `copy fields ${sameFields ? "match" : "differ"}; copy actions ${copy?.config.actions?.length ?? 0}`,
        };
      });

    const submitRow = {
      assumption: "submit through our handler completes on the working sheets and locks them",
      source: "the product's contract (docs/behaviour.md, The actions)",
      reliedOn: true,
    };
    if (!workbookId) skipped(submitRow, "the Space was not configured");
    else
      await check(submitRow, async () => {
        const { jobId, event: ready } = await actionReady("workbook:submitActionFg", workbookId, { spaceId, workbookId });
        const answer = await deliver(actionJob, ready);
        const job = (await api.jobs.get(jobId)).data;
        const working = (await api.workbooks.get(workbookId)).data.sheets?.find((s) => s.id === (copyId ?? contacts));
        const locked = working ? isLocked(working.config) : false;
        return {
          confirmed: answer.status === 200 && job.status === "complete" && locked,
          observed: `HTTP ${answer.status}, job ${job.status}, working sheet locked: ${locked}`,
        };
      });

    // ── Where the docs are silent: scratch objects in a second Space ──
    const scratch = (await api.spaces.create({ name: "Space configurator contract scratch", environmentId })).data;
    spaces.push(scratch.id);

    await check(
      {
        assumption: "HTML comments in a document body are dropped (undocumented; least convenient)",
        source: "undocumented (docs: Markdown, HTML allowed)",
        reliedOn: false,
      },
      async () => {
        const body = "<p>before</p><!-- section:progress --><p>after</p>";
        const doc = (await api.documents.create(scratch.id, { title: "Contract check", body })).data;
        const stored = (await api.documents.get(scratch.id, doc.id)).data.body;
        const kept = stored.includes("<!-- section:progress -->");
        return { confirmed: !kept, observed: kept ? "kept" : `dropped (stored ${JSON.stringify(stored)})` };
      },
    );

    const fields: Flatfile.Property[] = [{ type: "string", key: "name", label: "Name" }];
    await check(
      {
        assumption: "workbooks.update keeps a sheet left out of `sheets` (undocumented; evidence leans to kept)",
        source: "undocumented; flatfile-plugins space-reconfigure-plugin deletes such sheets itself",
        reliedOn: false,
      },
      async () => {
        const wb = (
          await api.workbooks.create({
            name: "Contract omitted sheets",
            spaceId: scratch.id,
            environmentId,
            sheets: [
              { name: "A", slug: "a", fields },
              { name: "B", slug: "b", fields },
            ],
          })
        ).data;
        await api.workbooks.update(wb.id, { sheets: [{ name: "A", slug: "a", fields, readonly: true }] });
        const slugs = ((await api.workbooks.get(wb.id)).data.sheets ?? []).map((s) => s.slug).sort();
        const kept = slugs.includes("b");
        return { confirmed: kept, observed: kept ? `kept (${slugs.join(", ")})` : `dropped (${slugs.join(", ")})` };
      },
    );

    await check(
      {
        assumption: "an enum field with more than 100 options is refused with 400 (least convenient past the documented 100)",
        source: "docs: field types (at most 100 options)",
        reliedOn: false,
      },
      async () => {
        const options = Array.from({ length: 101 }, (_, i) => ({ value: `v${i}`, label: `Option ${i}` }));
        try {
          await api.workbooks.create({
            name: "Contract enum",
            spaceId: scratch.id,
            environmentId,
            sheets: [{ name: "E", slug: "e", fields: [{ type: "enum", key: "e", label: "E", config: { options } }] }],
          });
          return { confirmed: false, observed: "accepted" };
        } catch (error) {
          const status = statusOf(error);
          if (status === undefined) throw error;
          return { confirmed: status === 400, observed: `HTTP ${status}` };
        }
      },
    );

    let failedJobId: string | undefined;
    await check(
      {
        assumption: "a finished job refuses ack, complete and fail with 400",
        source: "SDK JobStatus; jobs docs (no reopening documented)",
        reliedOn: true,
      },
      async () => {
        const job = (
          await api.jobs.create({ type: "space", operation: "contractCheck", source: scratch.id, environmentId, trigger: "immediate" })
        ).data;
        await api.jobs.ack(job.id, { info: "contract check" });
        await api.jobs.fail(job.id, { info: "contract check: failed on purpose" });
        failedJobId = job.id;
        const answers: string[] = [];
        for (const [name, call] of [
          ["ack", () => api.jobs.ack(job.id, { info: "again" })],
          ["complete", () => api.jobs.complete(job.id, { info: "again" })],
          ["fail", () => api.jobs.fail(job.id, { info: "again" })],
        ] as const) {
          answers.push(
            `${name} ${await call().then(
              () => "200",
              (error: unknown) => String(statusOf(error) ?? describeError(error)),
            )}`,
          );
        }
        return { confirmed: answers.every((a) => a.endsWith(" 400")), observed: answers.join(", ") };
      },
    );

    const retryRow = {
      assumption: "jobs.retry does not exist (undocumented beyond one line; least convenient)",
      source: "API reference: 'Retry a failed job'",
      reliedOn: false,
    };
    if (!failedJobId) skipped(retryRow, "no failed job to retry");
    else
      await check(retryRow, async () => {
        try {
          const retried = (await api.jobs.retry(failedJobId!)).data;
          return { confirmed: false, observed: `exists: the job is now ${retried.status}` };
        } catch (error) {
          const status = statusOf(error);
          if (status === undefined) throw error;
          return { confirmed: status === 404 || status === 405, observed: `HTTP ${status}` };
        }
      });

    await check(
      {
        assumption: "spaces.update replaces metadata whole (no merge); our state writes are safe either way",
        source: "SDK SpaceConfig.metadata (one value)",
        reliedOn: false,
      },
      async () => {
        await api.spaces.update(scratch.id, { metadata: { first: 1 } });
        await api.spaces.update(scratch.id, { metadata: { second: 2 } });
        const metadata = (await api.spaces.get(scratch.id)).data.metadata as Record<string, unknown>;
        const replaced = !("first" in metadata);
        return { confirmed: replaced, observed: replaced ? "replaced" : "merged (safe too: we always write the whole state)" };
      },
    );
  } finally {
    for (const id of spaces) await api.spaces.delete(id).catch(() => undefined);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    resetSettingsCache();
  }
  return rows;
}

/** The rows as a fixed-width table, one assumption a line. */
export function formatTable(rows: readonly ContractRow[]): string {
  const verdict = (row: ContractRow) => (row.confirmed === undefined ? "not checked" : row.confirmed ? "confirmed" : "NOT confirmed");
  const lines = rows.map((row) => [verdict(row), row.reliedOn ? "relied on" : "either way", row.assumption, row.observed, row.source]);
  const header = ["result", "product", "assumption", "observed", "source"];
  const widths = header.map((h, i) => Math.min(i === 2 ? 90 : i === 3 ? 60 : 40, Math.max(h.length, ...lines.map((l) => l[i]!.length))));
  const cell = (text: string, i: number) => (text.length > widths[i]! ? `${text.slice(0, widths[i]! - 1)}…` : text.padEnd(widths[i]!));
  return [header, widths.map((w) => "-".repeat(w)), ...lines].map((l) => l.map(cell).join(" | ")).join("\n");
}
