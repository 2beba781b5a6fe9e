/**
 * Submit's delivery at N records: the production action-job bundle in a child process per size
 * (bench/scale.ts's worker), writing to a real local S3 (s3rver) and the local EventBridge. The
 * figures are the child's peak RSS, the Flatfile calls (from the stand-in's request log) and the
 * deliveries it took (a sheet too large for one invocation is carried on by the next).
 *
 * The child gets the heap flags Lambda's Node runtime passes for the function's memory (new space
 * a tenth of it, half of that per semi-space, the rest old space), since peak RSS is mostly how
 * much garbage V8 is allowed to keep.
 */
import type { FlatfileStandIn } from "../local/flatfile-stand-in";
import type { LocalSubmissions } from "../local/playground/submissions";
import { jobReadyEvent } from "../test/support/harness";
import { seedConfiguredSpace } from "../test/support/configured-space";
import { BENCH_LATENCY_MS, countRoundTrips, describeWaves } from "./round-trips";
import { startWorker } from "./scale";

/** Lambda's runtime flags for a function of `memoryMb` (its bootstrap: new space = memory / 10). */
export function lambdaHeapFlags(memoryMb: number): string {
  const newSpace = Math.floor(memoryMb / 10);
  return `--max-semi-space-size=${Math.floor(newSpace / 2)} --max-old-space-size=${memoryMb - newSpace}`;
}

export interface SubmissionRun {
  records: number;
  calls: number;
  deliveries: number;
  ms: number;
  maxRssKb: number;
  events: number;
  /** Sequential round trips of the delivery that finished the submission, and its waves. */
  rounds: number;
  waves: string;
}

export async function submissionAtSize(
  flatfile: FlatfileStandIn,
  bundle: string,
  records: number,
  signingSecret: string,
  local: LocalSubmissions,
  nodeOptions: string,
): Promise<SubmissionRun> {
  const c = await seedConfiguredSpace(flatfile, { contacts: 0, orders: 0 });
  // Realistic lines: every record with its three values, inserted as one commit.
  const contacts = Array.from({ length: records }, (_, i) => ({
    firstName: `Ada ${i}`,
    lastName: "Lovelace",
    email: `ada${i}@example.com`,
  }));
  flatfile.seed.records(c.contactsId, contacts);
  const job = flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.workbookId });
  const event = jobReadyEvent({ job: "workbook:submitActionFg", jobId: job.id, spaceId: c.spaceId, workbookId: c.workbookId });
  const worker = await startWorker(bundle, {
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_SIGNING_SECRET: signingSecret,
    FLATFILE_ENVIRONMENT_ID: "us_env_local0001",
    ...local.env,
    NODE_OPTIONS: nodeOptions,
  });
  try {
    const from = flatfile.requests.length;
    const started = Date.now();
    let deliveries = 0;
    let lastFrom = from;
    for (;;) {
      deliveries += 1;
      lastFrom = flatfile.requests.length;
      const answer = await worker.deliver(event);
      if (answer.status === 200 && answer.body.status === "complete") break;
      if (answer.status < 500 || deliveries >= 20) throw new Error(`submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    }
    const ms = Date.now() - started;
    const events = (await local.list()).filter((s) => s.detail.jobId === job.id).length;
    const last = flatfile.requests.slice(lastFrom);
    return {
      records,
      calls: flatfile.requests.length - from,
      deliveries,
      ms,
      maxRssKb: await worker.maxRssKb(),
      events,
      rounds: countRoundTrips(last, BENCH_LATENCY_MS),
      waves: describeWaves(last, BENCH_LATENCY_MS),
    };
  } finally {
    worker.close();
  }
}
