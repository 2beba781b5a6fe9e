/**
 * `npm run build`: bundles each Lambda function into `dist/<name>/index.js` (+ `index.js.map`)
 * with the one configuration in infra/bundling.ts, the same one the CDK stack uses at synth.
 *
 * Flags (the stack's synth-time bundler uses them):
 *   --only <name>     build one function (repeatable); default: all (the three routes, the job sweep, the action-job worker, the listener)
 *   --outdir <dir>    write into <dir> instead of dist/<name> (only with a single --only)
 *   --quiet           no size report
 */
import { resolve } from "node:path";
import { buildFunction, BUILT_FUNCTION_NAMES, type BundledFunctionName } from "../infra/bundling";

function parseArgs(argv: string[]): { only: BundledFunctionName[]; outdir?: string; quiet: boolean } {
  const only: BundledFunctionName[] = [];
  let outdir: string | undefined;
  let quiet = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--only") {
      const name = argv[++i];
      if (!BUILT_FUNCTION_NAMES.includes(name as BundledFunctionName))
        throw new Error(`--only: unknown function "${name}" (one of ${BUILT_FUNCTION_NAMES.join(", ")})`);
      only.push(name as BundledFunctionName);
    } else if (arg === "--outdir") {
      const dir = argv[++i];
      if (!dir) throw new Error("--outdir needs a directory");
      outdir = resolve(dir);
    } else if (arg === "--quiet") {
      quiet = true;
    } else {
      throw new Error(`unknown argument ${arg}`);
    }
  }
  if (outdir && only.length !== 1) throw new Error("--outdir needs exactly one --only <name>");
  return { only, outdir, quiet };
}

async function main(): Promise<void> {
  const { only, outdir, quiet } = parseArgs(process.argv.slice(2));
  const names = only.length > 0 ? only : [...BUILT_FUNCTION_NAMES];
  const built = await Promise.all(names.map((name) => buildFunction(name, outdir)));
  if (quiet) return;
  for (const fn of built) {
    for (const file of fn.files) console.log(`${fn.name}: ${file.path} (${(file.bytes / 1024).toFixed(1)} KiB)`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
