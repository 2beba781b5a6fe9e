/**
 * The playground's flows, each done the way the platform does it: the Flatfile stand-in creates
 * the Space, job or commit, the matching event is raised, and the local relay delivers it signed
 * to the route (retrying a retryable answer). The result says what happened in words.
 */
import type { FlatfileStandIn, StoredEvent, StoredSheet } from "../flatfile-stand-in";
import type { PlatformEvent } from "../../infra/relay/forward";
import { readSpaceState } from "../../shared/flatfile/space-state";
import type { Activity } from "./activity";
import { DEFAULT_ROLE, DUPLICABLE_ROLE, DUPLICATE_JOB, SUBMIT_JOB } from "./blueprint";
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
  /** A sheet's role in the blueprint (its working copy after a duplicate); the first sheet when left out. */
  sheet?: string;
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

/** The event as a listener is sent it (the stand-in's own bookkeeping left out). */
function sent(event: StoredEvent): PlatformEvent {
  const { acknowledgedAt: _at, acknowledgedBy: _by, ...rest } = event;
  return { ...rest };
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
    const workbook =
      (state && flatfile.workbooks.get(state.workbookId)) || [...flatfile.workbooks.values()].find((w) => w.spaceId === spaceId);
    if (!workbook) throw new FlowError(`Space ${spaceId} has no workbook yet: configure it first`);
    return workbook;
  }

  /** The sheet people work in: the one our state names for the role (the copy, after a duplicate). */
  function workingSheet(spaceId: string, kind: string): StoredSheet {
    const named = readSpaceState(flatfile.spaces.get(spaceId)?.metadata)?.sheets[kind];
    const working = named ? flatfile.sheets.get(named) : undefined;
    if (working) return working;
    const sheets = workbookOf(spaceId)
      .sheetIds.map((id) => flatfile.sheets.get(id))
      .filter((s): s is StoredSheet => !!s);
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

  /** The person (or not) who creates a Space, made in the stand-in. */
  function creatorId(creator: Creator): string {
    if (creator === "staff")
      return flatfile.seed.user({ email: "grace@yourcompany.example", name: "Grace Hopper", metadata: { staff: true } }).id;
    if (creator === "member") return flatfile.seed.user({ email: "ada@example.com", name: "Ada Lovelace" }).id;
    if (creator === "guest") return flatfile.seed.guest({ email: "guest@example.com", name: "Gus Guest" }).id;
    return `us_usr_unknown${spaceNumber.toString().padStart(4, "0")}`;
  }

  function useReferenceApi(mode: ReferenceMode): void {
    const url = options.reference.urlFor(mode);
    if (url) process.env.REFERENCE_DATA_URL = url;
    else delete process.env.REFERENCE_DATA_URL;
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
    const each = progress.map(
      (p) => `${p.sheetName}: ${p.total > 0 ? `${p.total} records: ${p.valid} valid, ${p.error} with errors` : "no records yet"}`,
    );
    return `Guide progress: ${each.join(" · ")}`;
  }

  async function deliver(flow: FlowResult["flow"], spaceId: string, event: PlatformEvent, extra: Partial<FlowResult>): Promise<FlowResult> {
    const outcome = await forward(event, "button");
    const jobId = event.context?.jobId;
    const job = jobId ? jobSummary(jobId) : undefined;
    const attempt = activity.delivery(String(event.id), outcome.kind === "ignored" ? undefined : outcome.route)?.attempts.at(-1);
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
    const result: FlowResult = {
      flow,
      ok,
      spaceId,
      eventId: String(event.id),
      jobId,
      delivery: describeOutcome(outcome),
      job,
      lines,
      at: Date.now(),
      ...extra,
    };
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
      const actorId = creatorId(creator);
      // As the dashboard or an embedded app creates one: space:created, then a ready space:configure job.
      const { space: created, event } = flatfile.act.createSpace({ name: `Playground Space ${spaceNumber}`, metadata, actorId });
      if (!event) throw new FlowError("The stand-in made no space:configure job");
      actors.set(created.id, actorId);
      activity.noteSpace(created.id);
      // Read by space-configure on each delivery: each Space gets the reference API it asked for.
      useReferenceApi(input.reference ?? "ok");
      const described = [
        `Space ${created.id} created by ${creator === "unknown" ? "an unknown actor" : `a ${creator}`}` +
          (Object.keys(metadata).length
            ? ` with ${Object.entries(metadata)
                .map(([k, v]) => `${k} ${v}`)
                .join(", ")}`
            : " with no metadata") +
          `; reference API ${input.reference ?? "ok"}`,
      ];
      const done = deliver("configure", created.id, sent(event), {}).then((result) => {
        result.lines.unshift(...described);
        result.lines.push(...countsLine(created.id));
        return result;
      });
      return { spaceId: created.id, done };
    },

    records(input) {
      const spaceId = space(input.spaceId).id;
      const sheet = input.sheetId ? sheetById(spaceId, input.sheetId) : workingSheet(spaceId, input.sheet ?? DEFAULT_ROLE);
      const add = Math.max(0, Math.min(input.add ?? 0, 1000));
      const invalid = Math.max(0, Math.min(input.invalid ?? 0, 1000));
      // The example's values, picked by the fields they fill, so a renamed sheet gets the same ones.
      const values = hasField(sheet, "orderId") ? orderValues : contactValues;
      const byId = new Set(sheet.records.map((r) => r.id));
      for (const id of [...(input.fix ?? []), ...(input.breakIds ?? []), ...(input.remove ?? [])]) {
        if (!byId.has(id)) throw new FlowError(`Record ${id} is not in ${sheet.name}`);
      }
      const insert = [...Array.from({ length: invalid }, () => values(false)), ...Array.from({ length: add }, () => values(true))];
      if (insert.length === 0 && !input.fix?.length && !input.breakIds?.length && !input.remove?.length) {
        throw new FlowError("Nothing to change: add records, or pick records to fix, break or delete");
      }
      const fixes = (input.fix ?? []).map((id) => ({ id, values: pick(fixed(sheet, id, values), sheet), valid: true }));
      const breaks = (input.breakIds ?? []).map((id) => ({ id, values: pick(values(false), sheet), valid: false }));
      // As a person editing the sheet: one commit, and its commit:created.
      const { commitId, event } = flatfile.act.commit(
        sheet.id,
        { insert, invalid, update: [...fixes, ...breaks], delete: input.remove },
        { actorId: actors.get(spaceId) },
      );
      const said = [
        insert.length ? `added ${insert.length} record${insert.length === 1 ? "" : "s"} (${invalid} in error)` : "",
        fixes.length ? `fixed ${fixes.length}` : "",
        breaks.length ? `put ${breaks.length} in error` : "",
        input.remove?.length ? `deleted ${input.remove.length}` : "",
      ].filter(Boolean);
      const done = deliver("commit", spaceId, sent(event), { commitId }).then((result) => {
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
      const sheet = workingSheet(spaceId, DUPLICABLE_ROLE);
      // As a person pressing the sheet action: a ready sheet:duplicate job.
      const { event } = flatfile.act.runAction({ job: DUPLICATE_JOB, sheetId: sheet.id, actorId: actors.get(spaceId) });
      const done = deliver("duplicate", spaceId, sent(event), {}).then((result) => {
        result.lines.push(...countsLine(spaceId));
        return result;
      });
      return { spaceId, done };
    },

    submit(input) {
      const spaceId = space(input.spaceId).id;
      const workbook = workbookOf(spaceId);
      const { event } = flatfile.act.runAction({ job: SUBMIT_JOB, workbookId: workbook.id, actorId: actors.get(spaceId) });
      const done = deliver("submit", spaceId, sent(event), {}).then((result) => {
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
      const job = parsed.payload?.job;
      // The stand-in makes what the event names and raises it; the template takes that event's ids.
      let raised: PlatformEvent;
      if (parsed.topic === "job:ready" && job === "space:configure") {
        const actorId = creatorId("member");
        const created = flatfile.act.createSpace({ name: `Playground Space ${++spaceNumber}`, metadata: { locale: "de-DE" }, actorId });
        if (!created.event) throw new FlowError("The stand-in made no space:configure job");
        actors.set(created.space.id, actorId);
        activity.noteSpace(created.space.id);
        useReferenceApi("ok");
        raised = sent(created.event);
      } else {
        const spaceId = space(undefined).id;
        const actorId = actors.get(spaceId);
        const sheet = workingSheet(spaceId, DUPLICABLE_ROLE);
        if (parsed.topic === "commit:created") {
          raised = sent(
            flatfile.act.commit(sheet.id, { insert: [contactValues(true), contactValues(true), contactValues(true)] }, { actorId }).event,
          );
        } else if (parsed.topic === "job:ready" && typeof job === "string") {
          const sheetJob = job.startsWith("sheet:");
          raised = sent(
            flatfile.act.runAction({
              job,
              sheetId: sheetJob ? sheet.id : undefined,
              workbookId: sheetJob ? undefined : sheet.workbookId,
              actorId,
            }).event,
          );
        } else {
          throw new FlowError(`The template's topic ${String(parsed.topic)} is not one the playground can fill`);
        }
      }
      const ids: Record<string, string> = { eventId: String(raised.id), createdAt: String(raised.createdAt) };
      for (const [key, value] of Object.entries(raised.context ?? {})) if (typeof value === "string") ids[key] = value;
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

function hasField(sheet: StoredSheet, key: string): boolean {
  return ((sheet.config.fields as { key?: string }[] | undefined) ?? []).some((f) => f.key === key);
}

/** Only the keys the sheet has (an edit never adds a column). */
function pick(values: Record<string, unknown>, sheet: StoredSheet): Record<string, unknown> {
  const keys = new Set(((sheet.config.fields as { key?: string }[] | undefined) ?? []).map((f) => f.key));
  return Object.fromEntries(
    Object.entries(values).filter(([key]) => keys.has(key) && key !== "firstName" && key !== "lastName" && key !== "orderId"),
  );
}
