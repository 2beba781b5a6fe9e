/**
 * `npm run relay:build [-- --outfile <path>]`: bundles the relay agent (infra/relay/agent.ts) into
 * the single CommonJS file Flatfile's agent runtime runs. Default output: dist/relay/relay-agent.js.
 */
import { resolve } from "node:path";
import { buildRelayAgent, RELAY_AGENT_FILE, writeRelayAgent } from "../infra/relay/bundle";

async function main(): Promise<void> {
  const flag = process.argv.indexOf("--outfile");
  const outfile = resolve(flag > 0 && process.argv[flag + 1] ? process.argv[flag + 1]! : `dist/relay/${RELAY_AGENT_FILE}`);
  const bundle = await buildRelayAgent();
  writeRelayAgent(outfile, bundle);
  console.log(`relay agent: ${outfile} (${(bundle.bytes / 1024).toFixed(1)} KiB, sha256 ${bundle.sha256.slice(0, 12)})`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
