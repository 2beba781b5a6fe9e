/**
 * `npm run relay:build [-- --outfile <path>] [--listener] [--space-configure-by ours|listener]
 * [--owned-spaces <value>]`: bundles the relay agent (infra/relay/agent.ts) into the single
 * CommonJS file Flatfile's agent runtime runs, with the plan of a deploy with those settings
 * (listenerRoute on; spaceConfigureBy; ownedSpaces), as the stack does.
 * Default output: dist/relay/relay-agent.js.
 */
import { resolve } from "node:path";
import { buildRelayAgent, RELAY_AGENT_FILE, writeRelayAgent } from "../infra/relay/bundle";
import { relayTopics } from "../infra/relay/forward";
import { ourJobsNote, relayPlanWithNotes, unroutedTopicsNote, untakenJobsNote, type RelayPlanSettings } from "../infra/relay/plan";
import { SPACE_CONFIGURE_BY, type SpaceConfigureBy } from "../shared/routes";

/**
 * The plan's settings from `--listener`, `--space-configure-by ours|listener` and
 * `--owned-spaces <value>` (shared with relay:deploy).
 */
export function planArguments(argv: readonly string[]): RelayPlanSettings {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const ownedSpaces = value("--owned-spaces");
  const by = value("--space-configure-by");
  if (by !== undefined && !(SPACE_CONFIGURE_BY as readonly string[]).includes(by)) {
    throw new Error(`--space-configure-by takes ${SPACE_CONFIGURE_BY.join(" or ")}, not "${by}"`);
  }
  return {
    listenerRoute: argv.includes("--listener"),
    ...(by ? { spaceConfigureBy: by as SpaceConfigureBy } : {}),
    ...(ownedSpaces ? { ownedSpaces } : {}),
  };
}

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--outfile");
  const outfile = resolve(flag > 0 && process.argv[flag + 1] ? process.argv[flag + 1]! : `dist/relay/${RELAY_AGENT_FILE}`);
  const { plan, unroutedTopics, untakenJobs, ourJobs } = relayPlanWithNotes(planArguments(process.argv));
  if (unroutedTopics.length > 0) console.warn(`warning: ${unroutedTopicsNote(unroutedTopics)}`);
  if (untakenJobs.length > 0) console.warn(`warning: ${untakenJobsNote(untakenJobs)}`);
  if (ourJobs.length > 0) console.warn(`warning: ${ourJobsNote(ourJobs)}`);
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
