/**
 * Figures 3 and 4: commit-created and the sheet:duplicate action on sheets of N records.
 *
 * The Flatfile stand-in runs in this process; the handler runs from its production bundle in a
 * child process per size (bench/worker.cjs, plain Node: no tsx in its memory), so the peak RSS printed is that child's
 * `process.resourceUsage().maxRSS`: the handler's own peak, one size per process. Calls are
 * counted from the stand-in's request log between sending the event and the answer.
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import type { FlatfileStandIn } from "../local/flatfile-stand-in";
import { createFlatfileClient } from "../shared/core/flatfile-client";
import { DUPLICATE_JOB } from "../functions/action-job/duplicate-sheet";
import { signPayload } from "../shared/core/signature";
import { seedConfiguredSpace } from "../test/support/configured-space";
import { apiEvent, commitCreatedEvent, jobReadyEvent } from "../test/support/harness";
import { median } from "./cold-init";
import { BENCH_LATENCY_MS, countRoundTrips, describeWaves } from "./round-trips";

interface Delivered {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

export interface Worker {
  deliver(event: unknown): Promise<Delivered>;
  maxRssKb(): Promise<number>;
  /** The stacks formatted so far, when the worker was started with bench/count-stacks.cjs. */
  stacksFormatted(): Promise<string[] | null>;
  close(): void;
}

/** A child process running the bundle's handler, against the given environment. */
export async function startWorker(bundle: string, env: Record<string, string>): Promise<Worker> {
  const signingSecret = env.FLATFILE_SIGNING_SECRET ?? "";
  const child: ChildProcess = fork(join(__dirname, "worker.cjs"), [], {
    execArgv: [],
    env: {
      PATH: process.env.PATH ?? "",
      AWS_REGION: "us-east-1",
      POWERTOOLS_LOG_LEVEL: "SILENT",
      POWERTOOLS_METRICS_DISABLED: "true",
      BENCH_BUNDLE: bundle,
      ...env,
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`bench worker exited (${code})`));
      child.once("exit", onExit);
      child.once("message", (m) => {
        child.off("exit", onExit);
        resolve(m as Record<string, unknown>);
      });
    });
  await next(); // ready
  return {
    async deliver(event) {
      const answer = next();
      const rawBody = JSON.stringify(event);
      const request = apiEvent(rawBody, {
        "content-type": "application/json",
        "x-flatfile-signature": signPayload(rawBody, signingSecret),
      });
      child.send({ request });
      return (await answer) as unknown as Delivered;
    },
    async maxRssKb() {
      const answer = next();
      child.send({ rss: true });
      return Number((await answer).maxRssKb);
    },
    async stacksFormatted() {
      const answer = next();
      child.send({ stacks: true });
      return (await answer).stacks as string[] | null;
    },
    close() {
      child.kill();
    },
  };
}

export interface ScaleRun {
  records: number;
  calls: number[];
  routes: string[];
  ms: number[];
  medianMs: number;
  /** Sequential round trips per measured run (bench/round-trips.ts), and the last run's waves. */
  rounds: number[];
  waves: string;
  maxRssKb: number;
  /** The slowest single Flatfile call of the flow timed alone from this process (server side included), if probed. */
  probe?: { route: string; ms: number };
}

async function measure(
  flatfile: FlatfileStandIn,
  worker: Worker,
  records: number,
  runs: number,
  makeEvent: (i: number) => unknown,
  check: (answer: Delivered) => void,
): Promise<ScaleRun> {
  const calls: number[] = [];
  const ms: number[] = [];
  const rounds: number[] = [];
  let routes: string[] = [];
  let lastWaves = "";
  for (let i = -1; i < runs; i++) {
    const event = makeEvent(i);
    const from = flatfile.requests.length;
    const answer = await worker.deliver(event);
    check(answer);
    if (i < 0) continue; // warm-up: the first delivery in a process, and the space's first reconcile
    const made = flatfile.requests.slice(from);
    calls.push(made.length);
    routes = made.map((r) => r.route);
    rounds.push(countRoundTrips(made, BENCH_LATENCY_MS));
    lastWaves = describeWaves(made, BENCH_LATENCY_MS);
    ms.push(answer.ms);
  }
  return { records, calls, routes, ms, medianMs: median(ms), rounds, waves: lastWaves, maxRssKb: await worker.maxRssKb() };
}

export const handlerEnv = (flatfile: FlatfileStandIn, signingSecret: string) => ({
  FLATFILE_API_KEY: flatfile.apiKey,
  FLATFILE_API_URL: flatfile.url,
  FLATFILE_SIGNING_SECRET: signingSecret,
  FLATFILE_ENVIRONMENT_ID: "us_env_local0001",
});

/** commit-created: each run commits 10 new orders (one with a new category) on an Orders sheet of `records`. */
export async function commitCreatedAtSize(
  flatfile: FlatfileStandIn,
  bundle: string,
  records: number,
  runs: number,
  signingSecret: string,
): Promise<ScaleRun> {
  const c = await seedConfiguredSpace(flatfile, { contacts: 0, orders: records });
  const worker = await startWorker(bundle, handlerEnv(flatfile, signingSecret));
  try {
    return await measure(
      flatfile,
      worker,
      records,
      runs,
      (i) => {
        const insert = Array.from({ length: 10 }, (_, k) => ({
          orderId: `o-${i}-${k}`,
          amount: 10 + k,
          category: k === 0 ? `new-${i + 1}` : "books",
        }));
        const { commitId } = flatfile.seed.commit(c.ordersId, { insert });
        return commitCreatedEvent({ spaceId: c.spaceId, workbookId: c.workbookId, sheetId: c.ordersId, commitId });
      },
      (answer) => {
        if (answer.status !== 200 || answer.body.ignored)
          throw new Error(`commit-created answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      },
    );
  } finally {
    worker.close();
  }
}

/** sheet:duplicate: each run duplicates the Contacts sheet of `records` records and locks the original. */
export async function duplicateAtSize(
  flatfile: FlatfileStandIn,
  bundle: string,
  records: number,
  runs: number,
  signingSecret: string,
): Promise<ScaleRun> {
  const c = await seedConfiguredSpace(flatfile, { contacts: records, orders: 0 });
  const worker = await startWorker(bundle, handlerEnv(flatfile, signingSecret));
  // Each run duplicates the working sheet the previous one made: duplicating the locked original
  // again would take the "already locked" shortcut and measure no copy at all.
  let workingSheetId = c.contactsId;
  try {
    return await measure(
      flatfile,
      worker,
      records,
      runs,
      () => {
        const job = flatfile.seed.job({
          job: DUPLICATE_JOB,
          spaceId: c.spaceId,
          workbookId: c.workbookId,
          sheetId: workingSheetId,
          status: "ready",
        });
        return jobReadyEvent({
          job: DUPLICATE_JOB,
          jobId: job.id,
          spaceId: c.spaceId,
          workbookId: c.workbookId,
          sheetId: workingSheetId,
          sheetSlug: "contacts",
        });
      },
      (answer) => {
        const copy = answer.body.copySheetId;
        if (answer.status !== 200 || answer.body.ignored || answer.body.already || typeof copy !== "string") {
          throw new Error(`action-job made no copy (${answer.status}): ${JSON.stringify(answer.body)}`);
        }
        workingSheetId = copy;
      },
    ).then(async (run) => {
      // How long the stand-in's own copy takes at this size (it copies every record in memory).
      const api = createFlatfileClient({ token: flatfile.apiKey, baseUrl: flatfile.url });
      const started = performance.now();
      await api.sheets.duplicateSheet(c.contactsId, { name: "Probe copy", slug: `probe-${records}` });
      return { ...run, probe: { route: "sheets.duplicate", ms: performance.now() - started } };
    });
  } finally {
    worker.close();
  }
}
