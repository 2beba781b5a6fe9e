/**
 * The playground's flows, each done the way the platform does it: the Flatfile stand-in creates
 * the Space, job or commit, the matching event is raised, and the local relay delivers it signed
 * to the route (retrying a retryable answer). The result says what happened in words.
 */
import type { FlatfileStandIn, StoredSheet } from "../flatfile-stand-in";
import type { PlatformEvent } from "../../infra/relay/forward";
import { readSpaceState } from "../../shared/flows/space-state";
import type { Activity } from "./activity";
import { commitCreated, jobReady, newEventId, type EventContext } from "./events";
import { describeOutcome, type Forward } from "./relay";
import type { ReferenceApiStandIn, ReferenceMode } from "./reference-api";

export const CREATORS = ["member", "staff", "guest", "unknown"] as const;
export type Creator = (typeof CREATORS)[number];

export interface CreateSpaceInput {
  locale?: string;
  country?: string;
  currency?: string;
  creator?: Creator;
  reference?: ReferenceMode;
}

export interface RecordsInput {
  spaceId?: string;
  /** "contacts" (the working copy after a duplicate) or "orders". */
  sheet?: "contacts" | "orders";
  /** A sheet by id instead (the page's per-record buttons); it must be in the Space's workbook. */
  sheetId?: string;
  /** Valid records to add. */
  add?: number;
  /** Records in error to add. */
  invalid?: number;
  /** Records to make valid, and to put in error. */
  fix?: string[];
  breakIds?: string[];
  remove?: string[];
}

export interface FlowResult {
  flow: "configure" | "commit" | "duplicate" | "submit";
  /** The job completed, or the commit was handled: false when the job failed or the delivery was refused. */
  ok: boolean;
  spaceId: string;
  eventId: string;
  jobId?: string;
  commitId?: string;
  /** What the relay made of it. */
  delivery: string;
  job?: { status: string; info?: string; heading?: string; message?: string; next?: string };
  /** What happened, in words, one fact a line. */
  lines: string[];
  at: number;
}

export class FlowError extends Error {}

export interface Playground {
  /** Starts a flow: what the stand-in creates is there when this resolves; `done` resolves after delivery. */
  configure(input: CreateSpaceInput): Started;
  records(input: RecordsInput): Started;
  duplicate(input: { spaceId?: string }): Started;
  submit(input: { spaceId?: string }): Started;
  /** Fills an event template (local/events/*.json) with the latest Space's ids, creating the job or commit it names. */
  fill(template: string): string;
  readonly results: FlowResult[];
}

export interface Started {
  spaceId: string;
  done: Promise<FlowResult>;
}

export interface PlaygroundOptions {
  flatfile: FlatfileStandIn;
  forward: Forward;
  activity: Activity;
  reference: ReferenceApiStandIn;
}

const FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Donald", "Frances", "Niklaus"];
const LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Hamilton", "Knuth", "Allen", "Wirth"];

function isLocked(sheet: StoredSheet): boolean {
  const { readonly, access } = sheet.config as { readonly?: unknown; access?: unknown };
  return readonly === true || (Array.isArray(access) && access.length === 0);
}

export function createPlayground(options: PlaygroundOptions): Playground {
  const { flatfile, forward, activity } = options;
  const results: FlowResult[] = [];
  const actors = new Map<string, string>();
  let spaceNumber = 0;
  let recordNumber = 0;

  function space(spaceId: string | undefined) {
    const id = spaceId ?? activity.latestSpace();
    const found = id ? flatfile.spaces.get(id) : undefined;
    if (!found) throw new FlowError(id ? `Space ${id} does not exist in the stand-in` : "There is no Space yet: create one first");
    return found;
  }

  function workbookOf(spaceId: string) {
    const state = readSpaceState(flatfile.spaces.get(spaceId)?.metadata);
    const workbook = (state && flatfile.workbooks.get(state.workbookId)) || [...flatfile.workbooks.values()].find((w) => w.spaceId === spaceId);
    if (!workbook) throw new FlowError(`Space ${spaceId} has no workbook yet: configure it first`);
    return workbook;
  }

  /** The sheet people work in: the one our state names for the role (the copy, after a duplicate). */
  function workingSheet(spaceId: string, kind: "contacts" | "orders"): StoredSheet {
    const named = readSpaceState(flatfile.spaces.get(spaceId)?.metadata)?.sheets[kind];
    const working = named ? flatfile.sheets.get(named) : undefined;
    if (working) return working;
    const sheets = workbookOf(spaceId).sheetIds.map((id) => flatfile.sheets.get(id)).filter((s): s is StoredSheet => !!s);
    const ofKind = sheets.filter((s) => s.slug === kind || s.slug.startsWith(`${kind}-copy`));
    const sheet = ofKind.filter((s) => !isLocked(s)).at(-1) ?? ofKind.at(-1);
    if (!sheet) throw new FlowError(`Space ${spaceId} has no ${kind} sheet`);
    return sheet;
  }

  function sheetById(spaceId: string, sheetId: string): StoredSheet {
    const sheet = workbookOf(spaceId).sheetIds.includes(sheetId) ? flatfile.sheets.get(sheetId) : undefined;
    if (!sheet) throw new FlowError(`Sheet ${sheetId} is not in Space ${spaceId}`);
    return sheet;
  }

  function useReferenceApi(mode: ReferenceMode): void {
    const url = options.reference.urlFor(mode);
    if (url) process.env.REFERENCE_DATA_URL = url;
    else delete process.env.REFERENCE_DATA_URL;
  }

  function eventContext(spaceId: string): EventContext {
    const found = space(spaceId);
    return { accountId: found.accountId, environmentId: found.environmentId, spaceId, actorId: actors.get(spaceId) };
  }

  function jobSummary(jobId: string): FlowResult["job"] {
    const job = flatfile.jobs.get(jobId);
    if (!job) return undefined;
    const outcome = (job.outcome ?? {}) as { heading?: string; message?: string; next?: { label?: string; id?: string; url?: string } };
    const next = outcome.next ? `${outcome.next.label ?? "next"} → ${outcome.next.id ?? outcome.next.url ?? ""}` : undefined;
    return { status: job.status, info: job.info, heading: outcome.heading, message: outcome.message, next };
  }

  function countsLine(spaceId: string): string[] {
    try {
      return workbookOf(spaceId).sheetIds.flatMap((id) => {
        const sheet = flatfile.sheets.get(id);
        if (!sheet) return [];
        const error = sheet.records.filter((r) => !r.valid).length;
        return [`${sheet.name}: ${sheet.records.length} records, ${error} in error${isLocked(sheet) ? " (locked)" : ""}`];
      });
    } catch {
      return [];
    }
  }

  /** The guide's progress, from the state it is rendered from. */
  function guideProgress(spaceId: string): string | undefined {
    const progress = readSpaceState(flatfile.spaces.get(spaceId)?.metadata)?.guide?.progress;
    if (!progress?.length) return undefined;
    const each = progress.map((p) => `${p.sheetName}: ${p.total > 0 ? `${p.total} records: ${p.valid} valid, ${p.error} with errors` : "no records yet"}`);
    return `Guide progress: ${each.join(" · ")}`;
  }

  async function deliver(flow: FlowResult["flow"], spaceId: string, event: PlatformEvent, extra: Partial<FlowResult>): Promise<FlowResult> {
    const outcome = await forward(event, "button");
    const jobId = event.context?.jobId;
    const job = jobId ? jobSummary(jobId) : undefined;
    const attempt = activity.delivery(String(event.id))?.attempts.at(-1);
    const answered = outcome.kind === "delivered";
    const ok = answered && (job ? job.status === "complete" : true);
    const lines: string[] = [];
    if (job) {
      lines.push(`Job ${jobId} ${job.status}${job.heading ? `: ${job.heading}` : ""}${job.message ? ` · ${job.message}` : ""}`);
      if (job.next) lines.push(`Next: ${job.next}`);
      if (job.status !== "complete" && job.info && job.info !== job.message) lines.push(`Info: ${job.info}`);
    }
    if (!answered) lines.push(`Delivery: ${describeOutcome(outcome)}`);
    else if (attempt && attempt.status !== 200) lines.push(`Answer: HTTP ${attempt.status} ${attempt.answer}`);
    const result: FlowResult = { flow, ok, spaceId, eventId: String(event.id), jobId, delivery: describeOutcome(outcome), job, lines, at: Date.now(), ...extra };
    result.lines.push(...(extra.lines ?? []));
    results.push(result);
    if (results.length > 50) results.shift();
    activity.touch();
    return result;
  }

  function contactValues(valid: boolean): Record<string, unknown> {
    const n = recordNumber++;
    const first = FIRST[n % FIRST.length]!;
    const last = LAST[Math.floor(n / FIRST.length) % LAST.length]!;
    // Email is required on Contacts: an empty one is the error Flatfile would flag.
    return { firstName: first, lastName: last, email: valid ? `${first}.${last}.${n}@example.com`.toLowerCase() : "" };
  }

  function orderValues(valid: boolean): Record<string, unknown> {
    const n = recordNumber++;
    return { orderId: `PO-${1000 + n}`, contactEmail: "", amount: valid ? 19.9 + n : null, category: "books" };
  }

  return {
    results,

    configure(input) {
      const creator = input.creator ?? "member";
      const metadata: Record<string, string> = {};
      for (const key of ["locale", "country", "currency"] as const) if (input[key]?.trim()) metadata[key] = input[key]!.trim();
      spaceNumber += 1;
      const created = flatfile.seed.space({ name: `Playground Space ${spaceNumber}`, metadata });
      let actorId: string;
      if (creator === "staff") actorId = flatfile.seed.user({ email: "grace@yourcompany.example", name: "Grace Hopper", metadata: { staff: true } }).id;
      else if (creator === "member") actorId = flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" }).id;
      else if (creator === "guest") actorId = flatfile.seed.guest({ email: "guest@example.com", name: "Gus Guest", spaceIds: [created.id] }).id;
      else actorId = `us_usr_unknown${spaceNumber.toString().padStart(4, "0")}`;
      actors.set(created.id, actorId);
      const job = flatfile.seed.job({ job: "space:configure", spaceId: created.id });
      activity.noteSpace(created.id);
      // Read by space-configure on each delivery: each Space gets the reference API it asked for.
      useReferenceApi(input.reference ?? "ok");
      const event = jobReady({ ...eventContext(created.id), job: "space:configure", jobId: job.id });
      const described = [
        `Space ${created.id} created by ${creator === "unknown" ? "an unknown actor" : `a ${creator}`}` +
          (Object.keys(metadata).length ? ` with ${Object.entries(metadata).map(([k, v]) => `${k} ${v}`).join(", ")}` : " with no metadata") +
          `; reference API ${input.reference ?? "ok"}`,
      ];
      const done = deliver("configure", created.id, event, {}).then((result) => {
        result.lines.unshift(...described);
        result.lines.push(...countsLine(created.id));
        return result;
      });
      return { spaceId: created.id, done };
    },

    records(input) {
      const spaceId = space(input.spaceId).id;
      const sheet = input.sheetId ? sheetById(spaceId, input.sheetId) : workingSheet(spaceId, input.sheet ?? "contacts");
      const add = Math.max(0, Math.min(input.add ?? 0, 1000));
      const invalid = Math.max(0, Math.min(input.invalid ?? 0, 1000));
      const values = sheet.slug.startsWith("orders") ? orderValues : contactValues;
      const byId = new Set(sheet.records.map((r) => r.id));
      for (const id of [...(input.fix ?? []), ...(input.breakIds ?? []), ...(input.remove ?? [])]) {
        if (!byId.has(id)) throw new FlowError(`Record ${id} is not in ${sheet.name}`);
      }
      const insert = [...Array.from({ length: invalid }, () => values(false)), ...Array.from({ length: add }, () => values(true))];
      if (insert.length === 0 && !input.fix?.length && !input.breakIds?.length && !input.remove?.length) {
        throw new FlowError("Nothing to change: add records, or pick records to fix, break or delete");
      }
      const fixes = (input.fix ?? []).map((id) => ({ id, values: pick(fixed(sheet, id, values), sheet) }));
      const breaks = (input.breakIds ?? []).map((id) => ({ id, values: pick(values(false), sheet) }));
      const { commitId } = flatfile.seed.commit(sheet.id, { insert, invalid, update: [...fixes, ...breaks], delete: input.remove });
      if (fixes.length) flatfile.seed.markInvalid(sheet.id, fixes.map((f) => f.id), false);
      if (breaks.length) flatfile.seed.markInvalid(sheet.id, breaks.map((b) => b.id), true);
      const said = [
        insert.length ? `added ${insert.length} record${insert.length === 1 ? "" : "s"} (${invalid} in error)` : "",
        fixes.length ? `fixed ${fixes.length}` : "",
        breaks.length ? `put ${breaks.length} in error` : "",
        input.remove?.length ? `deleted ${input.remove.length}` : "",
      ].filter(Boolean);
      const event = commitCreated({ ...eventContext(spaceId), workbookId: sheet.workbookId, sheetId: sheet.id, sheetSlug: sheet.slug, commitId });
      const done = deliver("commit", spaceId, event, { commitId }).then((result) => {
        result.lines.unshift(`${sheet.name}: ${said.join(", ")} in commit ${commitId}`);
        result.lines.push(...countsLine(spaceId));
        const progress = guideProgress(spaceId);
        if (progress) result.lines.push(progress);
        return result;
      });
      return { spaceId, done };
    },

    duplicate(input) {
      const spaceId = space(input.spaceId).id;
      const sheet = workingSheet(spaceId, "contacts");
      const job = flatfile.seed.job({ job: "sheet:duplicate", spaceId, workbookId: sheet.workbookId, sheetId: sheet.id });
      const event = jobReady({ ...eventContext(spaceId), workbookId: sheet.workbookId, sheetId: sheet.id, sheetSlug: sheet.slug, job: "sheet:duplicate", jobId: job.id });
      const done = deliver("duplicate", spaceId, event, {}).then((result) => {
        result.lines.push(...countsLine(spaceId));
        return result;
      });
      return { spaceId, done };
    },

    submit(input) {
      const spaceId = space(input.spaceId).id;
      const workbook = workbookOf(spaceId);
      const job = flatfile.seed.job({ job: "workbook:submitActionFg", spaceId, workbookId: workbook.id });
      const event = jobReady({ ...eventContext(spaceId), workbookId: workbook.id, job: "workbook:submitActionFg", jobId: job.id });
      const done = deliver("submit", spaceId, event, {}).then((result) => {
        result.lines.push(...countsLine(spaceId));
        return result;
      });
      return { spaceId, done };
    },

    fill(template) {
      let parsed: PlatformEvent;
      try {
        parsed = JSON.parse(template) as PlatformEvent;
      } catch {
        throw new FlowError("The template is not JSON");
      }
      const ids: Record<string, string> = { eventId: newEventId(), createdAt: new Date().toISOString() };
      const job = parsed.payload?.job;
      if (parsed.topic === "job:ready" && job === "space:configure") {
        // As a dashboard would: a new Space with a locale, and its configure job.
        const created = flatfile.seed.space({ name: `Playground Space ${++spaceNumber}`, metadata: { locale: "de-DE" } });
        const actorId = flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" }).id;
        actors.set(created.id, actorId);
        activity.noteSpace(created.id);
        useReferenceApi("ok");
        Object.assign(ids, { spaceId: created.id, jobId: flatfile.seed.job({ job, spaceId: created.id }).id });
      } else {
        const spaceId = space(undefined).id;
        const workbook = workbookOf(spaceId);
        const sheet = workingSheet(spaceId, "contacts");
        Object.assign(ids, { spaceId, workbookId: workbook.id, sheetId: sheet.id, sheetSlug: sheet.slug });
        if (parsed.topic === "commit:created") {
          ids.commitId = flatfile.seed.commit(sheet.id, { insert: [contactValues(true), contactValues(true), contactValues(true)] }).commitId;
        } else if (parsed.topic === "job:ready" && typeof job === "string") {
          const domain = job.split(":")[0];
          ids.jobId = flatfile.seed.job({ job, spaceId, workbookId: workbook.id, sheetId: domain === "sheet" ? sheet.id : undefined }).id;
        } else {
          throw new FlowError(`The template's topic ${String(parsed.topic)} is not one the playground can fill`);
        }
      }
      const found = flatfile.spaces.get(ids.spaceId!)!;
      Object.assign(ids, { accountId: found.accountId, environmentId: found.environmentId, actorId: actors.get(found.id) ?? "us_usr_unknown0000" });
      const filled = template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => ids[name] ?? whole);
      const left = filled.match(/\{\{\w+\}\}/);
      if (left) throw new FlowError(`The template names ${left[0]}, which this event has no value for`);
      activity.expect(ids.eventId!, "file");
      return filled;
    },
  };
}

/** Valid values for a record being fixed: a Contacts email from the name it already has. */
function fixed(sheet: StoredSheet, id: string, values: (valid: boolean) => Record<string, unknown>): Record<string, unknown> {
  const fresh = values(true);
  const current = sheet.records.find((r) => r.id === id)?.values ?? {};
  if (typeof current.firstName === "string" && typeof current.lastName === "string" && typeof fresh.email === "string") {
    fresh.email = `${current.firstName}.${current.lastName}.${id.slice(-4)}@example.com`.toLowerCase();
  }
  return fresh;
}

/** Only the keys the sheet has (an edit never adds a column). */
function pick(values: Record<string, unknown>, sheet: StoredSheet): Record<string, unknown> {
  const keys = new Set(((sheet.config.fields as { key?: string }[] | undefined) ?? []).map((f) => f.key));
  return Object.fromEntries(Object.entries(values).filter(([key]) => keys.has(key) && key !== "firstName" && key !== "lastName" && key !== "orderId"));
}
