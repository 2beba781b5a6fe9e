import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Handlers log at import time; suites that read the logs raise the level themselves.
    env: { POWERTOOLS_LOG_LEVEL: "SILENT" },
  },
});
