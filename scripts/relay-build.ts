/**
 * `npm run relay:build [-- --outfile <path>] [--listener] [--owned-spaces <value>]`: bundles the
 * relay agent (infra/relay/agent.ts) into the single CommonJS file Flatfile's agent runtime runs,
 * with the plan of a deploy with those settings (listenerRoute on; ownedSpaces), as the stack does.
 * Default output: dist/relay/relay-agent.js.
 */
import { resolve } from "node:path";
import { buildRelayAgent, RELAY_AGENT_FILE, writeRelayAgent } from "../infra/relay/bundle";
import { relayTopics } from "../infra/relay/forward";
import { relayPlanWithNotes, unroutedTopicsNote } from "../infra/relay/plan";

/** The plan's settings from `--listener` and `--owned-spaces <value>` (shared with relay:deploy). */
export function planArguments(argv: readonly string[]): { listenerRoute: boolean; ownedSpaces?: string } {
  const at = argv.indexOf("--owned-spaces");
  return { listenerRoute: argv.includes("--listener"), ...(at >= 0 && argv[at + 1] ? { ownedSpaces: argv[at + 1] } : {}) };
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--outfile");
  const outfile = resolve(flag > 0 && process.argv[flag + 1] ? process.argv[flag + 1]! : `dist/relay/${RELAY_AGENT_FILE}`);
  const { plan, unroutedTopics } = relayPlanWithNotes(planArguments(process.argv));
  if (unroutedTopics.length > 0) console.warn(`warning: ${unroutedTopicsNote(unroutedTopics)}`);
  const bundle = await buildRelayAgent(plan);
  writeRelayAgent(outfile, bundle);
  console.log(`relay agent: ${outfile} (${(bundle.bytes / 1024).toFixed(1)} KiB, sha256 ${bundle.sha256.slice(0, 12)})`);
  console.log(`topics: ${relayTopics(plan).join(", ")}${plan.listener ? " (with the listener's)" : ""}`);
}

if (require.main === module)
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
