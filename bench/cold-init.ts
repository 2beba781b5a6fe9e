/**
 * Cold init: fresh Node processes that `require()` a bundle until its `handler` is a function.
 *
 * Each run is one new `node` process (nothing cached between runs but the OS page cache, the same
 * for every bundle). Inside the child, `process.hrtime.bigint()` brackets the `require()`; the
 * parent also times the whole process (spawn → exit, so Node's own start-up is included). The
 * child is given a Lambda-like environment: no node_modules next to the bundle, AWS_REGION set,
 * and the NODE_OPTIONS the stack sets on the functions (`--enable-source-maps`) for our bundles.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { REPO_ROOT } from "../infra/bundling";

/** The baseline handler: the package root's FlatfileClient, touched so it is not tree-shaken. */
export const BASELINE_HANDLER_SOURCE = `import { FlatfileClient } from "@flatfile/api";

const client = new FlatfileClient({ token: "x" });

export const handler = async () => ({ statusCode: 200, body: typeof client.jobs });
`;

export interface BuiltBundle {
  path: string;
  bytes: number;
}

/**
 * Bundles the baseline exactly as the issue says: plain esbuild `{ bundle, minify, platform: node }`
 * (no plugins, no define, no target), from a handler in the repository root so `@flatfile/api`
 * resolves from node_modules.
 */
export async function buildBaselineBundle(outdir: string): Promise<BuiltBundle> {
  mkdirSync(outdir, { recursive: true });
  const outfile = join(outdir, "index.js");
  await build({
    stdin: { contents: BASELINE_HANDLER_SOURCE, resolveDir: REPO_ROOT, sourcefile: "baseline-handler.ts", loader: "ts" },
    bundle: true,
    minify: true,
    platform: "node",
    outfile,
    logLevel: "error",
  });
  return { path: outfile, bytes: statSync(outfile).size };
}

export interface ColdInitSample {
  /** `require()` until `handler` is a function, measured in the child. */
  requireMs: number;
  /** Spawn → exit of the whole child process, measured in the parent. */
  processMs: number;
  /** With BENCH_FIRST_CALL: the first invocation (an unsigned request, 401) after the require. */
  firstCallMs?: number;
}

export interface ColdInitResult {
  bundle: string;
  bytes: number;
  runs: number;
  requireMs: { median: number; min: number; max: number };
  processMs: { median: number; min: number; max: number };
  /** require() + the first invocation, when measured (BENCH_FIRST_CALL). */
  initAndFirstCallMs?: { median: number; min: number; max: number };
  samples: ColdInitSample[];
}

// With BENCH_FIRST_CALL, the child then invokes the handler once with an unsigned request (a 401
// that reads no configuration and calls nothing), timing what a first invocation adds on top of
// the require: for our bundles, the Tracer loaded on the first traced invocation and the first
// metrics flush. The result is the child's last line of stdout (the handler may log before it).
const CHILD = `
const t0 = process.hrtime.bigint();
const m = require(process.env.BENCH_BUNDLE);
const t1 = process.hrtime.bigint();
if (typeof m.handler !== "function") { process.stderr.write("handler is " + typeof m.handler); process.exit(3); }
const report = (extra) => process.stdout.write("\\n" + JSON.stringify({ requireMs: Number(t1 - t0) / 1e6, ...extra }) + "\\n");
if (!process.env.BENCH_FIRST_CALL) report({});
else {
  const request = { version: "2.0", rawPath: "/", headers: {}, body: "{}", isBase64Encoded: false, requestContext: { http: { method: "POST", path: "/" } } };
  Promise.resolve(m.handler(request, { getRemainingTimeInMillis: () => 25000, awsRequestId: "bench" })).then((answer) => {
    const t2 = process.hrtime.bigint();
    if (answer.statusCode !== 401) { process.stderr.write("first call answered " + answer.statusCode); process.exit(4); }
    report({ firstCallMs: Number(t2 - t1) / 1e6 });
  });
}
`;

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const summary = (values: number[]) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/** One child process: loads the bundle, reports the `require()` time. Throws if `handler` is missing. */
export function loadOnce(bundle: string, env: Record<string, string> = {}): ColdInitSample {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, ["-e", CHILD], {
    cwd: join(bundle, ".."),
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", AWS_REGION: "us-east-1", BENCH_BUNDLE: bundle, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const processMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`loading ${bundle} failed (exit ${child.status}): ${child.stderr}`);
  const last = child.stdout.trim().split("\n").at(-1) ?? "";
  const { requireMs, firstCallMs } = JSON.parse(last) as { requireMs: number; firstCallMs?: number };
  return { requireMs, processMs, ...(firstCallMs === undefined ? {} : { firstCallMs }) };
}

/**
 * `runs` fresh processes per bundle. With several bundles, runs are interleaved (A B C A B C …) so
 * that a slow patch on the machine hits every bundle alike. One unmeasured warm-up load each first
 * (it fills the OS page cache, as a provisioned Lambda image would have it).
 */
export function measureColdInit(
  bundles: { key: string; path: string; env?: Record<string, string> }[],
  runs: number,
): Record<string, ColdInitResult> {
  const samples = new Map<string, ColdInitSample[]>(bundles.map((b) => [b.key, []]));
  for (const b of bundles) loadOnce(b.path, b.env);
  for (let i = 0; i < runs; i++) {
    for (const b of bundles) samples.get(b.key)!.push(loadOnce(b.path, b.env));
  }
  const out: Record<string, ColdInitResult> = {};
  for (const b of bundles) {
    const list = samples.get(b.key)!;
    out[b.key] = {
      bundle: b.path,
      bytes: statSync(b.path).size,
      runs,
      requireMs: summary(list.map((s) => s.requireMs)),
      processMs: summary(list.map((s) => s.processMs)),
      ...(list.every((s) => s.firstCallMs !== undefined)
        ? { initAndFirstCallMs: summary(list.map((s) => s.requireMs + s.firstCallMs!)) }
        : {}),
      samples: list,
    };
  }
  return out;
}
