/**
 * `npm run synth|deploy|diff|destroy -- [<stage>] [cdk options]`: the CDK CLI, with a stage named
 * as the first argument turned into `-c stage=<stage>` (infra/stages.ts reads it). Everything
 * else goes to `cdk` unchanged, so `npm run deploy -- --require-approval never` still works.
 *
 * The app refuses a stage-less synth when cdk.json defines stages, so a bare `npx cdk deploy` is
 * refused too; this script only spells the stage the short way, and refuses a name that is not
 * a stage before the CLI would take it for a stack name ("No stacks match").
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { STAGE_KEY, STAGES_KEY } from "../infra/stages";

export const COMMANDS = ["synth", "deploy", "diff", "destroy"] as const;

export class StageArgumentError extends Error {}

/** The stage names cdk.json defines ([] when none). */
export function definedStages(cdkJsonPath: string): string[] {
  if (!existsSync(cdkJsonPath)) return [];
  const context = (JSON.parse(readFileSync(cdkJsonPath, "utf8")) as { context?: Record<string, unknown> }).context ?? {};
  const table = context[STAGES_KEY];
  return table && typeof table === "object" && !Array.isArray(table) ? Object.keys(table) : [];
}

/** `[command, stage?, ...rest]` -> the CLI's arguments. A first argument without "-" is the stage. */
export function cdkArguments(argv: readonly string[], stages: readonly string[]): string[] {
  const [command, first, ...rest] = argv;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) {
    throw new StageArgumentError(`usage: tsx scripts/cdk.ts <${COMMANDS.join("|")}> [<stage>] [cdk options]`);
  }
  if (first === undefined || first.startsWith("-")) return [command, ...(first === undefined ? [] : [first]), ...rest];
  if (stages.length === 0) {
    throw new StageArgumentError(
      `"${first}": cdk.json defines no stages (see docs/stages.md); run npm run ${command} without a stage, or add "${first}" under "context" -> "stages"`,
    );
  }
  if (!stages.includes(first)) throw new StageArgumentError(`there is no stage "${first}"; cdk.json defines: ${stages.join(", ")}`);
  return [command, "-c", `${STAGE_KEY}=${first}`, ...rest];
}

export function main(argv = process.argv.slice(2), cwd = process.cwd()): number {
  let args: string[];
  try {
    args = cdkArguments(argv, definedStages(join(cwd, "cdk.json")));
  } catch (error) {
    if (!(error instanceof StageArgumentError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  // The CLI npm put on the PATH (node_modules/.bin), the pinned one.
  const result = spawnSync("cdk", args, { cwd, stdio: "inherit", shell: process.platform === "win32" });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (require.main === module) process.exitCode = main();
