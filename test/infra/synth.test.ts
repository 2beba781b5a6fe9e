/**
 * The ONE full synth, with bundling, through `npm run --silent synth` (the real CDK CLI,
 * node_modules/.bin/cdk, the pinned aws-cdk 2.1148.1, and cdk.json's app command): a CLI/library
 * mismatch, a bundle that does not build, or an unacknowledged nag finding fails here. Offline:
 * no AWS credentials, no IMDS, no Docker, no notices. Its stdout is the template and nothing
 * else (npm's "> script" banner goes only with --silent; cdk's progress goes to stderr).
 *
 * It also proves "one bundling config": each function's asset is byte-identical to what
 * `buildFunction` (npm run build) produces, and it loads and exports `handler`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunction, BUNDLE_FILE, BUNDLED_FUNCTION_NAMES, REPO_ROOT } from "../../infra/bundling";
import { cleanup, tempDir, violationsOf } from "./support";

afterAll(cleanup);

const STACK = "FlatfileSpaceConfigurator";

describe("cdk synth (real CLI, with bundling)", () => {
  let outdir = "";
  let result: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    outdir = tempDir("infra-cli-synth-");
    const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", AWS_EC2_METADATA_DISABLED: "true", CI: "true" };
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
      delete env[key];
    env.AWS_CONFIG_FILE = join(outdir, "no-aws-config");
    env.AWS_SHARED_CREDENTIALS_FILE = join(outdir, "no-aws-credentials");
    result = spawnSync("npm", ["run", "--silent", "synth", "--", "--no-notices", "-o", outdir], {
      cwd: REPO_ROOT,
      env,
      encoding: "utf8",
      timeout: 120_000,
    });
  }, 130_000);

  it("succeeds (CLI and library agree, nag is clean)", () => {
    const report = join(outdir, "validation-report.json");
    const violations = existsSync(report) ? violationsOf(JSON.parse(readFileSync(report, "utf8"))) : [];
    expect(violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
    expect(result.status, `${result.stderr}\n${result.stdout}`).toBe(0);
  });

  it("prints the template on stdout, and only it: stdout parses as YAML into the synthesized template", () => {
    // aws-cdk-lib's own YAML parser (a dependency it bundles), rather than one more package.
    const yaml = createRequire(require.resolve("aws-cdk-lib"))("yaml") as { parse(text: string): unknown };
    const template = JSON.parse(readFileSync(join(outdir, `${STACK}.template.json`), "utf8"));
    // The CLI leaves out the bootstrap-version check rule when it prints a template.
    delete template.Rules;
    expect(String(result.stdout)).toMatch(/^Description: /);
    expect(yaml.parse(String(result.stdout))).toEqual(template);
  });

  it("ships each function as index.js + index.js.map, byte-identical to npm run build's output, exporting handler", async () => {
    const template = JSON.parse(readFileSync(join(outdir, `${STACK}.template.json`), "utf8"));
    const functions = Object.entries(template.Resources as Record<string, { Type: string; Properties: Record<string, any> }>).filter(
      ([, r]) => r.Type === "AWS::Lambda::Function",
    );
    expect(functions).toHaveLength(BUNDLED_FUNCTION_NAMES.length);
    // Routes say their path; the sweep says what it fails; the worker who invokes it.
    const isFunction = (name: string, description: string) =>
      name === "job-sweep"
        ? description.startsWith("Fails the Flatfile jobs")
        : name === "action-job-worker"
          ? description.endsWith("(invoked by action-job)")
          : description.endsWith(`/${name}`);
    for (const name of BUNDLED_FUNCTION_NAMES) {
      const [, fn] = functions.find(([, r]) => isFunction(name, r.Properties.Description))!;
      const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, "");
      const assetDir = join(outdir, `asset.${hash}`);
      const bundle = readFileSync(join(assetDir, BUNDLE_FILE));
      const map = JSON.parse(readFileSync(join(assetDir, `${BUNDLE_FILE}.map`), "utf8"));
      expect(map.sources).toContain(`../../functions/${name}/handler.ts`);
      expect(bundle.toString("utf8")).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);

      const rebuilt = await buildFunction(name, tempDir(`infra-build-${name}-`));
      expect(readFileSync(join(rebuilt.outdir, BUNDLE_FILE)).equals(bundle), `${name}: asset differs from npm run build`).toBe(true);

      // Loads in plain Node without node_modules next to it (everything is bundled).
      const load = spawnSync(
        process.execPath,
        ["-e", `process.stdout.write(typeof require(${JSON.stringify(join(assetDir, BUNDLE_FILE))}).handler)`],
        {
          cwd: assetDir,
          encoding: "utf8",
          env: { PATH: process.env.PATH, AWS_REGION: "us-east-1", NODE_OPTIONS: "--enable-source-maps" },
        },
      );
      expect(load.stdout, load.stderr).toBe("function");
    }
  });
});
