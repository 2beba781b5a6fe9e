/** The one bundling config (infra/bundling.ts): the options both the stack and npm run build use. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  BUNDLED_FUNCTION_NAMES,
  entryOf,
  esbuildDefine,
  esbuildPlugins,
  FUNCTION_ENTRIES,
  FUNCTION_NAMES,
  functionBuildOptions,
  REPO_ROOT,
} from "../../infra/bundling";

describe("bundling config", () => {
  it("names the three route functions, the scheduled job sweep, the invoked action-job worker, and their handler.ts entries", () => {
    expect(FUNCTION_NAMES).toEqual(["space-configure", "action-job", "commit-created"]);
    expect(BUNDLED_FUNCTION_NAMES).toEqual(["space-configure", "action-job", "commit-created", "job-sweep", "action-job-worker"]);
    for (const name of BUNDLED_FUNCTION_NAMES) {
      expect(FUNCTION_ENTRIES[name]).toBe(join(REPO_ROOT, "functions", name, "handler.ts"));
      expect(existsSync(entryOf(name))).toBe(true);
    }
  });

  it("is NodejsFunction-equivalent: node24 CJS, minified, linked source maps, everything bundled (AWS SDK v3 included)", () => {
    for (const name of BUNDLED_FUNCTION_NAMES) {
      const options = functionBuildOptions(name);
      expect(options).toMatchObject({
        entryPoints: [entryOf(name)],
        outfile: join(REPO_ROOT, "dist", name, "index.js"),
        bundle: true,
        platform: "node",
        target: "node24",
        format: "cjs",
        minify: true,
        sourcemap: true,
        write: false,
      });
      expect(options.external).toEqual([]);
    }
  });

  it("passes the performance hooks (plugins, define) into every build", () => {
    const options = functionBuildOptions("space-configure");
    expect(options.plugins).toEqual(esbuildPlugins);
    expect(options.define).toEqual(esbuildDefine);
  });
});
