/**
 * Bundles the relay agent into the one CommonJS file Flatfile's agent runtime runs.
 *
 * The entry is the shape Flatfile's own CLI deploys: the listener is created from the agent's
 * default export, mounted on a `FlatfileVirtualMachine`, and exported; the runtime routes each
 * event into it. Everything is bundled (the runtime installs no packages): @flatfile/listener and
 * our code. Two of the listener's dependencies are replaced by tiny shims over Node built-ins
 * (cross-fetch → global fetch, pako → zlib), and @flatfile/api is not used at all, so the file
 * stays in the tens of kilobytes.
 *
 * Used by `npm run relay:build`, by `RelayRegistration` (at synth, for the register Lambda) and
 * by the tests.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { build, buildSync, type BuildOptions } from "esbuild";
import { RELAY_AGENT_FILE } from "./bundle-file";
import type { RelayPlan } from "./forward";

export { RELAY_AGENT_FILE };
const HERE = __dirname;
const LISTENER_CJS = createRequire(join(HERE, "agent.ts")).resolve("@flatfile/listener");

/** The deploy's plan (plan.ts) goes in as a literal: the agent reads no setting at run time. */
const entry = (plan: RelayPlan) => `
const { Client, FlatfileVirtualMachine } = require("@flatfile/listener");
const relay = require("./agent").createRelayAgent({ plan: ${JSON.stringify(plan)} });
const client = Client.create(relay);
client.mount(new FlatfileVirtualMachine());
module.exports = client;
`;

export function relayAgentBuildOptions(plan: RelayPlan = {}): BuildOptions & { write: false } {
  return {
    stdin: { contents: entry(plan), resolveDir: HERE, sourcefile: "relay-entry.js", loader: "js" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    minify: true,
    legalComments: "none",
    alias: {
      "cross-fetch": join(HERE, "shims", "cross-fetch.cjs"),
      pako: join(HERE, "shims", "pako.cjs"),
      // One copy: the entry requires it (its CommonJS build), listener-match.ts imports it (its ESM build).
      "@flatfile/listener": LISTENER_CJS,
    },
    logLevel: "silent",
    write: false,
  };
}

export interface RelayAgentBundle {
  code: string;
  sha256: string;
  bytes: number;
}

function toBundle(code: string): RelayAgentBundle {
  return { code, sha256: createHash("sha256").update(code).digest("hex"), bytes: Buffer.byteLength(code) };
}

export async function buildRelayAgent(plan: RelayPlan = {}): Promise<RelayAgentBundle> {
  const result = await build(relayAgentBuildOptions(plan));
  return toBundle(result.outputFiles[0]!.text);
}

/** Synchronous, for CDK constructs (synth is synchronous). */
export function buildRelayAgentSync(plan: RelayPlan = {}): RelayAgentBundle {
  const result = buildSync(relayAgentBuildOptions(plan));
  return toBundle(result.outputFiles[0]!.text);
}

export function writeRelayAgent(outfile: string, bundle: RelayAgentBundle): void {
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, bundle.code);
}
