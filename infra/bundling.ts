/**
 * The ONE bundling configuration for the Lambda functions, used by `npm run build` and by the
 * stack's local bundler, so what is tested is what is deployed. Through esbuild's JS API, not
 * `NodejsFunction`, because the bundles need esbuild plugins; the pinned AWS SDK is bundled, not
 * taken from the runtime. Why, in full: docs/design.md#bundling.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { build, type BuildOptions, type Metafile, type Plugin } from "esbuild";
import { unreachableCredentialProvidersPlugin } from "./trim-aws-sdk";
import { LISTENER_ROUTE, ROUTE_NAMES, type RouteName } from "../shared/routes";
import { trimXraySdkPlugin } from "./trim-xray";

/** The repository root (this file lives in `<root>/infra`). */
export const REPO_ROOT = resolve(__dirname, "..");

/** The route functions (shared/routes.ts); each is `functions/<name>/handler.ts` exporting `handler`. */
export const FUNCTION_NAMES = ROUTE_NAMES;
export type FunctionName = RouteName;

/** Functions run on a schedule, not behind a route (the job sweep). Bundled the same way. */
export const SCHEDULED_FUNCTION_NAMES = ["job-sweep"] as const;
export type ScheduledFunctionName = (typeof SCHEDULED_FUNCTION_NAMES)[number];

/**
 * Functions invoked by another of ours, not behind a route: the action-job worker, which action-job
 * starts with an asynchronous invoke (shared/core/hand-off.ts). Bundled the same way.
 */
export const INVOKED_FUNCTION_NAMES = ["action-job-worker"] as const;
export type InvokedFunctionName = (typeof INVOKED_FUNCTION_NAMES)[number];

/** Every function every deploy bundles. */
export const BUNDLED_FUNCTION_NAMES = [...FUNCTION_NAMES, ...SCHEDULED_FUNCTION_NAMES, ...INVOKED_FUNCTION_NAMES] as const;
/**
 * The customer's listener (shared/routes.ts LISTENER_ROUTE): `npm run build` builds it always, a
 * deploy only with the listenerRoute setting on. Unlike the others it carries the SDK and the
 * plugins the customer's code imports.
 */
export const LISTENER_FUNCTION_NAME = LISTENER_ROUTE.name;
/** Every function `npm run build` builds. */
export const BUILT_FUNCTION_NAMES = [...BUNDLED_FUNCTION_NAMES, LISTENER_FUNCTION_NAME] as const;
export type BundledFunctionName = (typeof BUILT_FUNCTION_NAMES)[number];

/** Absolute entry path of a function. */
export function entryOf(name: BundledFunctionName): string {
  return join(REPO_ROOT, "functions", name, "handler.ts");
}

/** name -> absolute entry path. */
export const FUNCTION_ENTRIES: Readonly<Record<BundledFunctionName, string>> = Object.fromEntries(
  BUILT_FUNCTION_NAMES.map((name) => [name, entryOf(name)]),
) as Record<BundledFunctionName, string>;

/** The bundle's file name inside the asset; the Lambda handler is therefore `index.handler`. */
export const BUNDLE_FILE = "index.js";
export const LAMBDA_HANDLER = "index.handler";

/** Where `npm run build` writes: `dist/<name>/index.js`. */
export function distDirOf(name: BundledFunctionName): string {
  return join(REPO_ROOT, "dist", name);
}

// ---------------------------------------------------------------------------------------------
// Hooks for the performance pass. Both the stack and `npm run build` pick these up; nothing else
// needs to change. Plugins run in the build process (the synth spawns `scripts/build.ts`, so they
// work even though CDK's bundling callback is synchronous).
// ---------------------------------------------------------------------------------------------

/**
 * esbuild plugins, each kept because `npm run bench` shows it pays (docs/performance.md): the AWS
 * SDK's credential providers Lambda never reaches (infra/trim-aws-sdk.ts) and the parts of the
 * X-Ray SDK no Lambda path reaches (infra/trim-xray.ts), each replaced by a module that says so.
 */
export const esbuildPlugins: Plugin[] = [unreachableCredentialProvidersPlugin(), trimXraySdkPlugin()];

/**
 * The one Node version of the product: the Lambda runtime every function deploys on and the
 * esbuild target of every bundle. `npm ci` brings the same major (the `node` package) for tests.
 */
export const LAMBDA_RUNTIME_NAME = "nodejs24.x";
export const NODE_TARGET = "node24";

/**
 * Modules bundled as files of their own beside a function's index.js, and required from it only
 * when first imported (`import()`): code off the cold path that would otherwise be parsed at every
 * cold start. Each imports nothing of ours that holds state (a second copy of it would be made).
 * action-job: the S3 and EventBridge clients, which only Submit's delivery uses, and the Lambda
 * client, which only a duplicate handed to the worker uses.
 */
const ACTION_JOB_SEPARATE = [
  { entry: "shared/core/submission-clients.ts", file: "submission-clients.js" },
  { entry: "shared/core/worker-client.ts", file: "worker-client.js" },
] as const;
export const SEPARATE_MODULES: Partial<Record<BundledFunctionName, readonly { entry: string; file: string }[]>> = {
  "action-job": ACTION_JOB_SEPARATE,
  // The worker runs action-job's flows, which import both lazily: Submit's clients only when it
  // carries a submission, the Lambda client never; so neither is parsed at its cold start either.
  "action-job-worker": ACTION_JOB_SEPARATE,
};

/** Keeps each separate module's `import()` out of the bundle: required at run time from beside index.js. */
function separateModulesPlugin(name: BundledFunctionName): Plugin {
  const modules = SEPARATE_MODULES[name] ?? [];
  return {
    name: "separate-modules",
    setup(b) {
      for (const { entry, file } of modules) {
        const base = entry.replace(/^.*\//, "").replace(/\.ts$/, "");
        b.onResolve({ filter: new RegExp(`/${base}(\\.js)?$`) }, (args) =>
          args.kind === "dynamic-import" ? { path: `./${file}`, external: true } : undefined,
        );
      }
    },
  };
}

/** esbuild `define` entries (compile-time constants), e.g. `{ "process.env.X": '"y"' }`. */
export const esbuildDefine: Record<string, string> = {};

/**
 * The esbuild options for one function. Equivalent to NodejsFunction's
 * `{ minify: true, sourceMap: true, format: CJS, target: "node24", bundleAwsSDK: true }` on
 * platform node, plus the hooks above.
 *
 * `outfile` is always `dist/<name>/index.js` and nothing is written by esbuild (`write: false`):
 * the source map's `sources` are relative to the outfile, so pinning it makes the bundle
 * byte-identical wherever it is finally written (dist/ or a cdk.out bundling folder), and the
 * asset hash stable across outdirs.
 */
export function functionBuildOptions(name: BundledFunctionName): BuildOptions & { write: false; metafile: true } {
  return {
    entryPoints: [entryOf(name)],
    outfile: join(distDirOf(name), BUNDLE_FILE),
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    target: NODE_TARGET,
    format: "cjs",
    minify: true,
    // Linked map (index.js.map) + NODE_OPTIONS=--enable-source-maps on the function: stack traces
    // in CloudWatch point at our .ts lines. No sourcesContent: the map only needs the mappings.
    sourcemap: true,
    sourcesContent: false,
    // Everything is bundled, AWS SDK v3 included (see the file comment): no `external`.
    external: [],
    // ESM first for packages without an `exports` map (the AWS SDK clients, @smithy/*): their
    // dist-es builds are marked side-effect free, so esbuild drops what we never import instead
    // of carrying each package's whole CommonJS barrel. Same pinned versions, same code.
    mainFields: ["module", "main"],
    legalComments: "none",
    charset: "utf8",
    tsconfig: join(REPO_ROOT, "tsconfig.json"),
    define: { ...esbuildDefine },
    // @flatfile/listener's event.fetch calls cross-fetch (node-fetch on Node): replaced by the
    // relay's shim over the global fetch, where the listener route's fetch shim sees each call.
    alias: { "cross-fetch": join(REPO_ROOT, "infra", "relay", "shims", "cross-fetch.cjs") },
    plugins: SEPARATE_MODULES[name] ? [...esbuildPlugins, separateModulesPlugin(name)] : [...esbuildPlugins],
    logLevel: "warning",
    metafile: true,
    write: false,
  };
}

export interface BuiltFunction {
  name: BundledFunctionName;
  outdir: string;
  files: { path: string; bytes: number }[];
  metafile: Metafile;
}

/**
 * Builds one function with `functionBuildOptions` and writes `index.js` + `index.js.map` into
 * `outdir` (default `dist/<name>`), replacing what was there.
 */
export async function buildFunction(name: BundledFunctionName, outdir: string = distDirOf(name)): Promise<BuiltFunction> {
  const options = functionBuildOptions(name);
  const pinnedDir = dirname(options.outfile!);
  const separate = SEPARATE_MODULES[name] ?? [];
  const [result, ...others] = await Promise.all([
    build(options),
    ...separate.map(({ entry, file }) =>
      build({ ...options, entryPoints: [join(REPO_ROOT, entry)], outfile: join(pinnedDir, file), plugins: [...esbuildPlugins] }),
    ),
  ]);
  mkdirSync(outdir, { recursive: true });
  const ours = ["index.js", ...separate.map((m) => m.file)];
  for (const stale of readdirSync(outdir)) if (ours.some((f) => stale.startsWith(f))) rmSync(join(outdir, stale), { force: true });
  const files = [result!, ...others]
    .flatMap((r) => r.outputFiles)
    .map((file) => {
      const target = join(outdir, relative(pinnedDir, file.path));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.contents);
      return { path: target, bytes: file.contents.byteLength };
    });
  return { name, outdir, files, metafile: result.metafile };
}

/**
 * The same build, synchronously, for CDK's local bundling (`ILocalBundling.tryBundle` is
 * synchronous and esbuild's `buildSync` refuses plugins). Runs `scripts/build.ts --only <name>
 * --outdir <outdir>` in a child Node process with tsx, which calls `buildFunction` above.
 */
export function buildFunctionSync(name: BundledFunctionName, outdir: string): void {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "scripts", "build.ts"), "--only", name, "--outdir", outdir, "--quiet"],
    { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
  );
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`bundling ${name} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
  }
}
