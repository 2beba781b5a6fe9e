/**
 * The playground's page, rendered on the server from plain data. Everything shown went through
 * `escape` (it came from events, handlers or Flatfile; numbers too, since the SDK checks no answer)
 * except the guide, which goes through the Markdown renderer's own sanitizing. A few lines of
 * script refresh the live part; PAGE_CSP allows that script and the style by hash, nothing else.
 */
import { createHash } from "node:crypto";
import type { Delivery } from "../playground/activity";
import type { FlowResult } from "../playground/flows";
import { DUPLICABLE_ROLE, SHEET_ROLES, sheetNameOf } from "../playground/blueprint";
import { CREATORS } from "../playground/flows";
import { REFERENCE_MODES } from "../playground/reference-api";
import { renderMarkdown } from "./markdown";
import type { ActionView, SheetView, SpaceView } from "./view";
import type { SubmissionView } from "../playground/submissions";
import type { Invocation } from "../lambda-stand-in";

export interface PageInput {
  /** "embedded": buttons drive the stand-in; "pull": events come from a real environment. */
  mode: "embedded" | "pull" | "routes-only";
  spaceId?: string;
  space?: SpaceView;
  spaces: readonly string[];
  deliveries: readonly Delivery[];
  results: readonly FlowResult[];
  version: number;
  pull?: { environmentId: string; lastPoll?: string; problem?: string; warning?: string };
  /** Each submission Submit delivered locally: its event and the start of its object. */
  submissions?: readonly SubmissionView[];
  /** Each run of a function the local Lambda was asked for (the action-job worker). */
  invocations?: readonly Invocation[];
}

export function escape(value: unknown): string {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const time = (at: number) => new Date(at).toISOString().slice(11, 23);
const list = (items: string[], empty = "none") => (items.length ? items.map(escape).join(", ") : `<span class="muted">${empty}</span>`);

function hidden(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join("");
}

function actionsTable(actions: readonly ActionView[]): string {
  if (!actions.length) return `<p class="muted">No actions.</p>`;
  const rows = actions
    .map(
      (a) =>
        `<tr><td>${escape(a.label)}${a.primary ? ` <span class="tag">primary</span>` : ""}</td><td><code>${escape(a.operation)}</code></td>` +
        `<td>${escape(a.mode ?? "")}</td><td>${list(a.constraints)}</td><td>${escape(a.tooltip ?? "")}</td></tr>`,
    )
    .join("");
  return `<table class="actions"><tr><th>action</th><th>operation</th><th>mode</th><th>constraints</th><th>tooltip</th></tr>${rows}</table>`;
}

function sheetSection(sheet: SheetView, spaceId: string, controls: boolean): string {
  const counts = sheet.counts
    ? `<span class="counts" data-total="${escape(sheet.counts.total)}" data-error="${escape(sheet.counts.error)}">${escape(sheet.counts.total)} records · ${escape(sheet.counts.valid)} valid · ${escape(sheet.counts.error)} in error</span>`
    : `<span class="muted">counts unavailable</span>`;
  const lock = sheet.locked
    ? `<span class="tag locked">locked (read-only)</span>`
    : `<span class="tag open">open${sheet.access ? `: ${escape(sheet.access.join(", "))}` : ""}</span>`;
  const fields = sheet.fields
    .map((f) => {
      const money = f.currency
        ? `<span class="currency">${escape(f.currency)} · ${escape(f.decimals ?? "?")} decimals</span>`
        : f.decimals !== undefined
          ? `${escape(f.decimals)} decimals`
          : "";
      const options = f.options ? `<details><summary>${escape(f.options.length)} options</summary>${list(f.options)}</details>` : "";
      return `<tr><td>${escape(f.label)}<br><code>${escape(f.key)}</code></td><td>${escape(f.type)}</td><td>${list(f.constraints, "")}</td><td>${money}${options}</td></tr>`;
    })
    .join("");
  const keys = sheet.fields.map((f) => f.key);
  const records = sheet.records
    .map((record) => {
      const cells = keys
        .map((key) => {
          const cell = record.values.find((v) => v.key === key);
          const messages = cell?.messages.length ? `<div class="message">${cell.messages.map(escape).join("<br>")}</div>` : "";
          return `<td${cell?.messages.length ? ` class="error"` : ""}>${escape(cell?.value ?? "")}${messages}</td>`;
        })
        .join("");
      const buttons =
        controls && !sheet.locked
          ? `<td class="record-actions"><form method="post" action="/playground/records">${hidden({ space: spaceId, sheetId: sheet.id, recordId: record.id })}` +
            `<button name="op" value="${record.valid ? "break" : "fix"}">${record.valid ? "Put in error" : "Fix"}</button>` +
            `<button name="op" value="delete">Delete</button></form></td>`
          : "";
      return `<tr data-record="${escape(record.id)}" data-valid="${escape(record.valid)}">${cells}${buttons}</tr>`;
    })
    .join("");
  const more =
    sheet.counts && sheet.counts.total > sheet.records.length
      ? `<p class="muted">First ${escape(sheet.records.length)} of ${escape(sheet.counts.total)} records.</p>`
      : "";
  return `<section class="sheet" data-sheet="${escape(sheet.id)}" data-slug="${escape(sheet.slug)}" data-locked="${escape(sheet.locked)}">
<h4>${escape(sheet.name)} <code>${escape(sheet.slug)}</code> ${lock} ${counts}</h4>
<table class="fields"><tr><th>field</th><th>type</th><th>constraints</th><th>currency, options</th></tr>${fields}</table>
<h5>Sheet actions</h5>${actionsTable(sheet.actions)}
<h5>Records</h5>${records ? `<table class="records"><tr>${keys.map((k) => `<th>${escape(k)}</th>`).join("")}</tr>${records}</table>${more}` : `<p class="muted">No records.</p>`}
</section>`;
}

function spaceSection(input: PageInput, controls: boolean): string {
  const space = input.space;
  if (!space) {
    return `<section><h2>No Space yet</h2><p>${
      input.mode === "embedded"
        ? "Create one with the form above, or run <code>npm run send -- configure</code>."
        : "Waiting for the first event from Flatfile."
    }</p></section>`;
  }
  const metadata = Object.entries(space.metadata).map(([k, v]) => `${k}: ${v}`);
  const workbooks = space.workbooks
    .map(
      (wb) => `<section class="workbook" data-workbook="${escape(wb.id)}"><h3>Workbook ${escape(wb.name)} <code>${escape(wb.id)}</code></h3>
<p>Labels: ${list(wb.labels)}</p><h5>Workbook actions</h5>${actionsTable(wb.actions)}
${wb.sheets.map((sheet) => sheetSection(sheet, space.id, controls)).join("\n")}</section>`,
    )
    .join("\n");
  const guide = space.guide
    ? `<section id="guide"><h3>Document: ${escape(space.guide.title)}</h3><div class="guide">${renderMarkdown(space.guide.body)}</div></section>`
    : `<section id="guide"><h3>Guide</h3><p class="muted">No guide yet.</p></section>`;
  const problems = space.problems.length ? `<p class="problem">Could not read: ${list(space.problems)}</p>` : "";
  return `<section id="space" data-space="${escape(space.id)}"><h2>${escape(space.name)} <code>${escape(space.id)}</code></h2>
<p>Metadata: ${list(metadata)}${space.audience ? ` · audience <strong>${escape(space.audience)}</strong>` : ""}${space.currency ? ` · currency <strong>${escape(space.currency)}</strong>` : ""}</p>
${problems}${workbooks || `<p class="muted">No workbook yet.</p>`}
${guide}</section>`;
}

function jobsSection(space: SpaceView | undefined): string {
  const rows = (space?.jobs ?? [])
    .map(
      (job) =>
        `<tr data-job="${escape(job.id)}" data-kind="${escape(job.job)}" data-status="${escape(job.status)}"><td><code>${escape(job.job)}</code><br><code>${escape(job.id)}</code></td>` +
        `<td class="status">${escape(job.status)}</td><td>${escape(job.progress ?? "")}</td><td>${escape(job.info ?? "")}</td>` +
        `<td>${job.heading ? `<strong>${escape(job.heading)}</strong> ` : ""}${escape(job.message ?? "")}${job.next ? `<br>next: ${escape(job.next)}` : ""}</td></tr>`,
    )
    .join("");
  return `<section id="jobs"><h3>Jobs</h3>${rows ? `<table><tr><th>job</th><th>status</th><th>progress</th><th>info</th><th>outcome</th></tr>${rows}</table>` : `<p class="muted">No jobs yet.</p>`}</section>`;
}

function deliveriesSection(deliveries: readonly Delivery[]): string {
  const rows = [...deliveries]
    .reverse()
    .map((d) => {
      const attempts = d.attempts
        .map((a, i) => {
          const calls = a.calls
            .map(
              (c) =>
                `<li><code>${escape(c.method)} ${escape(c.path)}</code> → ${escape(c.status)} <span class="muted">${escape(c.target)} · ${escape(c.ms)} ms</span></li>`,
            )
            .join("");
          // What the handler printed (the customer's listener's console), redacted when it was recorded.
          const logs = (a.logs ?? []).map((line) => `<li><code>${escape(line)}</code></li>`).join("");
          return (
            `<div class="attempt"><strong>attempt ${i + 1}</strong> at ${escape(time(a.at))}: HTTP ${escape(a.status)} in ${escape(a.ms)} ms <code class="answer">${escape(a.answer)}</code>` +
            `<details${calls ? "" : " hidden"}><summary>${escape(a.calls.length)} calls</summary><ol>${calls}</ol></details>` +
            `<details class="logs"${logs ? "" : " hidden"}><summary>${escape(a.logs?.length ?? 0)} log lines</summary><ol>${logs}</ol></details></div>`
          );
        })
        .join("");
      return (
        `<tr data-event="${escape(d.eventId)}" data-route="${escape(d.route)}"><td><code>${escape(d.topic)}</code>${d.job ? `<br><code>${escape(d.job)}</code>` : ""}<br><span class="muted">${escape(d.eventId)}</span></td>` +
        `<td><code>${escape(d.route)}</code><br>via ${escape(d.source)}</td><td>${attempts}${d.relay ? `<div class="muted">relay: ${escape(d.relay)}</div>` : ""}</td></tr>`
      );
    })
    .join("");
  return `<section id="events"><h3>Events delivered</h3>${rows ? `<table><tr><th>event</th><th>route</th><th>answer, and the calls the handler made</th></tr>${rows}</table>` : `<p class="muted">Nothing delivered yet.</p>`}</section>`;
}

function resultsSection(results: readonly FlowResult[]): string {
  const latest = [...results].reverse().slice(0, 5);
  if (!latest.length) return "";
  const items = latest
    .map(
      (r) =>
        `<li class="${r.ok ? "ok" : "failed"}" data-flow="${escape(r.flow)}"><strong>${escape(r.flow)}</strong> ${escape(time(r.at))}: ${r.lines.map(escape).join("<br>")}</li>`,
    )
    .join("");
  return `<section id="results"><h3>What the last buttons did</h3><ul>${items}</ul></section>`;
}

function submissionsSection(submissions: readonly SubmissionView[]): string {
  const items = submissions
    .map((s) => {
      const d = s.detail;
      const object = s.object.problem
        ? `<p class="muted">The object could not be read (${escape(s.object.problem)}).</p>`
        : `<p>${escape(s.object.bytes)} bytes; first lines:</p><pre>${s.object.firstLines.map(escape).join("\n")}</pre>`;
      return `<li data-submission="${escape(d.jobId)}"><p>Event <code>Workbook submitted</code> on bus <code>${escape(s.bus)}</code> at ${escape(s.time)}: ${escape(d.records)} records ${escape(JSON.stringify(d.counts ?? {}))}, by ${escape(d.submittedBy ?? "unknown")}</p><p>Object <code>s3://${escape(d.bucket)}/${escape(d.key)}</code></p>${object}</li>`;
    })
    .join("");
  return `<section id="submissions"><h3>Submissions delivered</h3>${items ? `<ul>${items}</ul>` : `<p class="muted">Nothing submitted yet.</p>`}</section>`;
}

/** Shown once action-job has handed a job to its worker. */
function invocationsSection(invocations: readonly Invocation[]): string {
  if (invocations.length === 0) return "";
  const items = invocations
    .map((i) => {
      const job = (i.payload as { event?: { context?: { jobId?: unknown } } } | null)?.event?.context?.jobId;
      const ended = i.endedAt ? `, ended ${escape(i.endedAt.slice(11, 23))}` : "";
      return `<li class="${i.outcome === "succeeded" || i.outcome === "running" ? "ok" : "failed"}" data-invocation="${escape(i.requestId)}"><strong>${escape(i.functionName)}</strong> ${escape(i.type)}${job ? ` for job <code>${escape(job)}</code>` : ""}: ${escape(i.outcome)}${i.error ? ` (${escape(i.error)})` : ""}, started ${escape(i.startedAt.slice(11, 23))}${ended}</li>`;
    })
    .join("");
  return `<section id="invocations"><h3>Worker runs (local Lambda)</h3><ul>${items}</ul></section>`;
}

/** The part the script refreshes. */
export function renderLive(input: PageInput): string {
  const controls = input.mode === "embedded";
  const deliveries = input.spaceId ? input.deliveries.filter((d) => !d.spaceId || d.spaceId === input.spaceId) : input.deliveries;
  return `<div id="live" data-version="${escape(input.version)}">
<div class="space-column">${spaceSection(input, controls)}</div>
<aside>${resultsSection(input.results.filter((r) => !input.spaceId || r.spaceId === input.spaceId))}
${jobsSection(input.space)}
${submissionsSection(input.submissions ?? [])}
${invocationsSection(input.invocations ?? [])}
${deliveriesSection(deliveries)}</aside>
</div>`;
}

function controlsSection(input: PageInput): string {
  if (input.mode === "pull") {
    return (
      `<section id="controls"><p>Pull mode: events come from Flatfile environment <code>${escape(input.pull?.environmentId)}</code>` +
      `${input.pull?.lastPoll ? `, last polled ${escape(input.pull.lastPoll)}` : ""}. Act in Flatfile; this page shows what reached the routes.` +
      `${input.pull?.problem ? ` <span class="problem">${escape(input.pull.problem)}</span>` : ""}</p>` +
      `${input.pull?.warning ? `<p class="problem" id="relay-warning">${escape(input.pull.warning)}</p>` : ""}</section>`
    );
  }
  if (input.mode !== "embedded")
    return `<section id="controls"><p>The routes call the real Flatfile API; send signed events with <code>npm run send -- &lt;file.json&gt;</code>.</p></section>`;
  const space = { space: input.spaceId };
  const options = (values: readonly string[], selected: string) =>
    values.map((v) => `<option${v === selected ? " selected" : ""}>${escape(v)}</option>`).join("");
  return `<section id="controls">
<form method="post" action="/playground/configure" class="card"><h3>Create a Space</h3>
<label>locale <input name="locale" placeholder="fr-CH" size="8"></label>
<label>country <input name="country" placeholder="JP" size="4"></label>
<label>currency <input name="currency" placeholder="BHD" size="5"></label>
<label>creator <select name="creator">${options(CREATORS, "member")}</select></label>
<label>reference API <select name="reference">${options(REFERENCE_MODES, "ok")}</select></label>
<button>Create Space</button></form>
<form method="post" action="/playground/records" class="card"><h3>Change records</h3>${hidden(space)}
<label>sheet <select name="sheet">${SHEET_ROLES.map((role) => `<option>${escape(role)}</option>`).join("")}</select></label>
<label>valid <input name="add" type="number" min="0" max="1000" value="3" size="4"></label>
<label>in error <input name="invalid" type="number" min="0" max="1000" value="1" size="4"></label>
<button name="op" value="add">Add records</button></form>
<form method="post" action="/playground/duplicate" class="card"><h3>Sheet action</h3>${hidden(space)}<button>Duplicate ${escape(sheetNameOf(DUPLICABLE_ROLE))}</button></form>
<form method="post" action="/playground/submit" class="card"><h3>Workbook action</h3>${hidden(space)}<button>Submit</button></form>
</section>`;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0 1.5rem 3rem;color:#1d2330}
header{display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap;border-bottom:1px solid #ccd;margin-bottom:1rem}
h1{font-size:1.3rem}h2{font-size:1.2rem}h3{font-size:1.05rem;margin:1.2rem 0 .4rem}h4{margin:.8rem 0 .3rem}h5{margin:.5rem 0 .2rem;color:#556}
code{font-size:12px;color:#445}.muted{color:#889}.problem{color:#b00}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #dde;padding:.2rem .45rem;vertical-align:top;text-align:left}
th{background:#f3f4f8}.tag{border-radius:3px;padding:0 .4rem;font-size:12px;background:#eef}.locked{background:#fde2e2;color:#900}.open{background:#e3f6e5;color:#164}
td.error{background:#fff0f0}.message{color:#b00;font-size:12px}.counts{font-weight:normal;margin-left:.5rem}
#controls{display:flex;gap:.8rem;flex-wrap:wrap}.card{border:1px solid #ccd;border-radius:6px;padding:.3rem .8rem .7rem}.card h3{margin:.3rem 0}
label{margin-right:.5rem}.sheet{border-left:3px solid #ccd;padding-left:.8rem;margin:1rem 0}
.guide{border:1px solid #ccd;border-radius:6px;padding:0 1rem;max-width:60rem;background:#fcfcff}
#results li.ok{color:#164}#results li.failed{color:#900}.answer{display:block;white-space:pre-wrap;word-break:break-all;max-width:50rem}
nav a{margin-right:.5rem}
#live{display:grid;grid-template-columns:minmax(0,11fr) minmax(0,9fr);gap:1.5rem}
@media (max-width:1100px){#live{display:block}}`;

// Polls a cheap version counter; when it moved, swaps the live part for a fresh render.
const SCRIPT = `const live = () => document.getElementById("live");
setInterval(async () => {
  const url = new URL("/playground/live", location.href);
  url.search = location.search;
  url.searchParams.set("since", live().dataset.version);
  const answer = await fetch(url).catch(() => undefined);
  if (answer && answer.status === 200) live().outerHTML = await answer.text();
}, 700);`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

/**
 * The one policy the local server sends on every answer: the page's own script and style (by
 * hash, so the policy is the same on every response), reads of this origin, forms posted here.
 * Markup that slipped into a value could neither run script nor load anything.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function renderPage(input: PageInput): string {
  const nav = input.spaces
    .slice(-12)
    .reverse()
    .map((id) => `<a href="/?space=${encodeURIComponent(id)}"${id === input.spaceId ? ` aria-current="page"` : ""}>${escape(id)}</a>`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Flatfile Space Configurator · local playground</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><header><h1>Flatfile Space Configurator · local playground</h1><nav>${nav ? `Spaces: ${nav}` : ""}</nav></header>
${controlsSection(input)}
${renderLive(input)}
<script>${SCRIPT}</script>
</body></html>`;
}
