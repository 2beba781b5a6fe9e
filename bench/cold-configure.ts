/**
 * Figure 2b: a configure from a cold process, as the first delivery after a Lambda cold start.
 * Each sample is a new process that loads the production bundle (dist/space-configure, through
 * bench/worker.cjs) and handles one signed `job:ready` for a fresh space, against the Flatfile
 * stand-in and the reference API (+latency each). Time to ready: from sending the delivery until
 * `jobs.complete` reaches the stand-in. Each sample is taken with source maps on, as deployed, and
 * with them off, interleaved: whatever formats an error stack on the way (the first formatted
 * stack decodes the whole source map) shows as the difference, and as a stall between rounds.
 * One more cold process, with bench/count-stacks.cjs loaded, counts the stacks formatted while
 * it handles the delivery (that process is not timed).
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { FlatfileStandIn } from "../local/flatfile-stand-in";
import { median } from "./cold-init";
import { waves } from "./round-trips";
import { handlerEnv, startWorker } from "./scale";
import { runHandlerFlowIn, seedConfigureJob } from "./space-configure";

export interface ColdConfigureSample {
  readyMs: number;
  answerMs: number;
  /** Between the start of the first round and the start of the second, beyond the latency. */
  stallMs: number;
}

export interface ColdConfigureRow {
  readyMs: number;
  answerMs: number;
  stallMs: number;
  samples: ColdConfigureSample[];
}

export async function coldConfigure(
  flatfile: FlatfileStandIn,
  referenceUrl: string,
  bundle: string,
  runs: number,
  latencyMs: number,
): Promise<{ withMaps: ColdConfigureRow; without: ColdConfigureRow; stacksFormatted: string[] }> {
  const signingSecret = `whsec_${randomBytes(16).toString("hex")}`;
  const samples = { withMaps: [] as ColdConfigureSample[], without: [] as ColdConfigureSample[] };
  const env = handlerEnv(flatfile, signingSecret);
  for (let i = 0; i < runs; i++) {
    for (const variant of ["withMaps", "without"] as const) {
      const worker = await startWorker(bundle, {
        ...env,
        REFERENCE_DATA_URL: referenceUrl,
        ...(variant === "withMaps" ? { NODE_OPTIONS: "--enable-source-maps" } : {}),
      });
      try {
        const inputs = seedConfigureJob(flatfile, 1_000 + 2 * i + (variant === "withMaps" ? 0 : 1));
        const from = flatfile.requests.length;
        const sentAt = Date.now();
        const answer = await runHandlerFlowIn(worker, inputs);
        const made = flatfile.requests.slice(from);
        const complete = made.find((r) => r.route === "jobs.complete");
        if (!complete || flatfile.jobs.get(inputs.jobId)?.status !== "complete") {
          throw new Error(`the cold configure did not complete its job: ${JSON.stringify(answer.body)}`);
        }
        const [first, second] = waves(made, latencyMs);
        samples[variant].push({
          readyMs: complete.at - sentAt,
          answerMs: answer.ms,
          stallMs: first && second ? second.start - first.start - latencyMs : Number.NaN,
        });
      } finally {
        worker.close();
      }
    }
  }
  const counting = await startWorker(bundle, {
    ...env,
    REFERENCE_DATA_URL: referenceUrl,
    NODE_OPTIONS: `--enable-source-maps --require ${join(__dirname, "count-stacks.cjs")}`,
  });
  let stacksFormatted: string[];
  try {
    const before = (await counting.stacksFormatted()) ?? [];
    await runHandlerFlowIn(counting, seedConfigureJob(flatfile, 999));
    const after = await counting.stacksFormatted();
    if (!after) throw new Error("bench/count-stacks.cjs was not loaded in the worker");
    stacksFormatted = after.slice(before.length);
  } finally {
    counting.close();
  }
  const row = (s: ColdConfigureSample[]): ColdConfigureRow => ({
    readyMs: median(s.map((x) => x.readyMs)),
    answerMs: median(s.map((x) => x.answerMs)),
    stallMs: median(s.map((x) => x.stallMs)),
    samples: s,
  });
  return { withMaps: row(samples.withMaps), without: row(samples.without), stacksFormatted };
}
