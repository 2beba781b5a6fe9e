import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vitest/config";

const CUSTOMER_BLUEPRINT = fileURLToPath(new URL("./blueprint/index.ts", import.meta.url));
const SECOND_BLUEPRINT = fileURLToPath(new URL("./test/support/second-blueprint.ts", import.meta.url));

/** Every import of the customer's blueprint (blueprint/index.ts) gets the test's second one instead. */
function secondBlueprint(): Plugin {
  return {
    name: "second-blueprint",
    enforce: "pre",
    async resolveId(source, importer, options) {
      if (!/blueprint(\/index(\.ts)?)?$/.test(source)) return null;
      const resolved = await this.resolve(source, importer, { ...options, skipSelf: true });
      return resolved?.id === CUSTOMER_BLUEPRINT ? SECOND_BLUEPRINT : null;
    },
  };
}

/**
 * Three projects: the whole suite; the flow and reliability suites again against a stand-in
 * that answers the other way where the platform's docs are silent (local/flatfile/platform.ts): it
 * drops the sheets a `workbooks.update` leaves out, and raises commit:created for records written
 * with X-Disable-Hooks, so the product is shown not to depend on either answer; and the flow suites
 * again with a second blueprint (test/support/second-blueprint.ts: other sheets, three of them) in
 * place of the customer's, so they are shown to follow the blueprint, not repeat the example. Each
 * runs after the one before (groupOrder), so the timing-sensitive suites never run beside a twin.
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Refuses to run on a Node that is not the deployed major, saying how to get it.
    globalSetup: ["test/support/node-version.ts"],
    // Vitest's default is one worker fewer than the CPUs: one on CI's 2 cores, so every file ran
    // in turn. The suite mostly waits (the crash points' lock lapses, child processes, servers),
    // so two files at a time on 2 cores roughly halves the wall time; more cores keep the default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Handlers log at import time; suites that read the logs raise the level themselves.
    // Metrics print one EMF line per invocation off Lambda too; the suite that reads them
    // (test/shared/core/metrics.test.ts) turns them on for itself.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT", POWERTOOLS_METRICS_DISABLED: "true" },
    // As in the listener's and the relay's bundles: @flatfile/listener's event.fetch goes through
    // the global fetch (a shim for cross-fetch), so the listener route's fetch shim sees its calls.
    server: { deps: { inline: ["@flatfile/listener"] } },
    alias: { "cross-fetch": fileURLToPath(new URL("./infra/relay/shims/cross-fetch.cjs", import.meta.url)) },
    projects: [
      { extends: true, test: { name: "default", include: ["test/**/*.test.ts"], sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: {
          name: "platform-other-way",
          sequence: { groupOrder: 1 },
          include: ["test/functions/**/*.test.ts", "test/scenarios/reliability/**/*.test.ts"],
          // The worker's waiting and rounds do not depend on these switches; the flows it reruns
          // are run both ways by the action-job files (and the suite stays well under 10 minutes).
          exclude: ["test/functions/action-job-worker/**"],
          env: {
            POWERTOOLS_LOG_LEVEL: "SILENT",
            POWERTOOLS_METRICS_DISABLED: "true",
            STAND_IN_OMITTED_SHEETS: "dropped",
            STAND_IN_DISABLED_HOOKS: "raised",
          },
        },
      },
      {
        extends: true,
        plugins: [secondBlueprint()],
        test: {
          name: "second-blueprint",
          sequence: { groupOrder: 2 },
          include: [
            "test/functions/space-configure/space-configure.test.ts",
            "test/functions/action-job/action-job.test.ts",
            "test/functions/commit-created/commit-created.test.ts",
            "test/functions/working-sheets.test.ts",
            "test/functions/action-job/submission.test.ts",
          ],
        },
      },
    ],
  },
});
