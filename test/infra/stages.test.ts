/**
 * Stages (infra/stages.ts, scripts/cdk.ts): settings per stage committed in cdk.json. A synth that
 * names no stage is refused when stages exist; a stage's synth needs no -c flag to keep the relay
 * and the environment filter, gives the same template twice, and two stages can share an account
 * and region. The app through the real CDK CLI refuses a stage-less synth.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../infra/app";
import { FUNCTION_NAMES, REPO_ROOT } from "../../infra/bundling";
import { InvalidSettingsError } from "../../infra/settings";
import { selectStage, StageSelectionError, stageStackName } from "../../infra/stages";
import { cdkArguments, StageArgumentError } from "../../scripts/cdk";
import { cleanup, featureFlags, synthWithoutBundling, tempDir } from "./support";

afterAll(cleanup);

const STAGES = {
  dev: { flatfileEnvironmentId: "us_env_dev1a2b", alarmEmail: "dev@example.com" },
  prod: { flatfileEnvironmentId: "us_env_prod9z8y", secretName: "prod/flatfile", stackName: "flatfile-prod" },
};

/** The problems selectStage reports for this context. */
function problemsOf(context: Record<string, unknown>): { key: string; message: string }[] {
  try {
    selectStage(context);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError);
    return [...(error as InvalidSettingsError).problems];
  }
  throw new Error(`selectStage accepted ${JSON.stringify(context)}`);
}

describe("selectStage", () => {
  it("without stages, the top-level keys are the settings (the local default), also with an empty table", () => {
    for (const stages of [undefined, null, {}]) {
      const selection = selectStage({ stages, flatfileEnvironmentId: "us_env_1a2b3c4d" });
      expect(selection.stage).toBeUndefined();
      expect(selection.stages).toEqual([]);
      expect(selection.settings.flatfileEnvironmentId).toBe("us_env_1a2b3c4d");
    }
  });

  it("refuses a synth that names no stage when stages are defined, naming them", () => {
    expect(() => selectStage({ stages: STAGES })).toThrow(StageSelectionError);
    expect(() => selectStage({ stages: STAGES, stage: " " })).toThrow(/name the stage to deploy, one of: dev, prod/);
  });

  it("refuses an unknown stage, and a stage named when none are defined", () => {
    expect(() => selectStage({ stages: STAGES, stage: "qa" })).toThrow(/there is no stage "qa"; cdk\.json defines: dev, prod/);
    expect(() => selectStage({ stage: "dev" })).toThrow(/cdk\.json defines no stages/);
  });

  it("builds the named stage from its own settings; its stack name defaults to one of its own", () => {
    const dev = selectStage({ stages: STAGES, stage: "dev" });
    expect(dev).toMatchObject({ stage: "dev", stages: ["dev", "prod"] });
    expect(dev.settings).toMatchObject({
      flatfileEnvironmentId: "us_env_dev1a2b",
      alarmEmail: "dev@example.com",
      stackName: stageStackName("dev"),
    });
    expect(dev.settings.secretName).toBeUndefined();
    expect(selectStage({ stages: STAGES, stage: "prod" }).settings).toMatchObject({
      secretName: "prod/flatfile",
      stackName: "flatfile-prod",
    });
  });

  it("refuses a top-level setting beside stages (a -c flag would change what the stage deploys); defaults are fine", () => {
    expect(problemsOf({ stages: STAGES, stage: "dev", flatfileEnvironmentId: "us_env_other1" })).toEqual([
      { key: "flatfileEnvironmentId", message: expect.stringContaining('set it in cdk.json "stages" -> "dev"') },
    ]);
    // cdk.json's own top-level defaults stay allowed.
    const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")).context as Record<string, unknown>;
    expect(selectStage({ ...cdkJson, stages: STAGES, stage: "dev" }).settings.flatfileEnvironmentId).toBe("us_env_dev1a2b");
  });

  it("checks every stage, naming the stage and key: a bad value, an unknown key, a typo, a non-object, a bad name", () => {
    const problems = problemsOf({
      stage: "dev",
      stages: {
        ...STAGES,
        qa: { flatfileEnvironmentId: "us_sp_1a2b", alarmEmails: "x@example.com", color: "blue" },
        staging: "us_env_1",
        "2nd": {},
      },
    });
    expect(problems.map((p) => p.key).sort()).toEqual(
      ["stages.2nd", "stages.qa.alarmEmails", "stages.qa.color", "stages.qa.flatfileEnvironmentId", "stages.staging"].sort(),
    );
    expect(problems.find((p) => p.key === "stages.qa.alarmEmails")!.message).toMatch(/did you mean alarmEmail\?/);
    expect(problems.find((p) => p.key === "stages.qa.flatfileEnvironmentId")!.message).toMatch(/is a Space id/);
  });

  it("refuses two stages with one stack name, or one Flatfile environment (one relay per environment)", () => {
    const sameStack = problemsOf({ stage: "a", stages: { a: { stackName: "flatfile" }, b: { stackName: "flatfile" } } });
    expect(sameStack).toEqual([{ key: "stages", message: expect.stringMatching(/stages a and b have the same stackName "flatfile"/) }]);
    const sameEnvironment = problemsOf({
      stage: "a",
      stages: { a: { flatfileEnvironmentId: "us_env_1a2b" }, b: { flatfileEnvironmentId: "us_env_1a2b" } },
    });
    expect(sameEnvironment).toEqual([
      { key: "stages", message: expect.stringMatching(/stages a and b both register the relay in us_env_1a2b/) },
    ]);
  });

  it("refuses stages given as a string (as -c would) and a stage that is not a string", () => {
    expect(problemsOf({ stages: '{"dev":{}}', stage: "dev" })).toEqual([
      { key: "stages", message: expect.stringMatching(/must be an object/) },
    ]);
    expect(problemsOf({ stages: STAGES, stage: 3 })).toEqual([{ key: "stage", message: expect.stringMatching(/must be a stage name/) }]);
  });
});

describe("the app with stages", () => {
  const synthStage = (stage: string, extra: Record<string, unknown> = {}) => synthWithoutBundling({ stages: STAGES, stage, ...extra });

  it("builds nothing when no stage is named", () => {
    const app = new App({ outdir: tempDir("infra-stages-none-"), context: { stages: STAGES, "aws:cdk:bundling-stacks": [] } });
    expect(() => createApp(app)).toThrow(/name the stage to deploy, one of: dev, prod/);
    expect(app.node.children).toHaveLength(0);
  });

  it("keeps the relay's registration and the environment filter from the stage alone, without any -c flag", () => {
    const { template, stack, synthError } = synthStage("dev");
    expect(synthError).toBeUndefined();
    template.resourceCountIs("Custom::FlatfileRelay", 1);
    template.hasResourceProperties("Custom::FlatfileRelay", { EnvironmentId: "us_env_dev1a2b" });
    for (const name of FUNCTION_NAMES) {
      const fn = template.findResources("AWS::Lambda::Function")[stack.getLogicalId(stack.functions[name].node.defaultChild as never)]!;
      expect(fn.Properties.Environment.Variables.FLATFILE_ENVIRONMENT_ID, name).toBe("us_env_dev1a2b");
    }
    // The e-mail subscription comes from the stage too.
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "dev@example.com" });
  });

  it("gives the same template on a redeploy, also with a -c flag that repeats a default", () => {
    const first = synthStage("prod").template.toJSON();
    expect(synthStage("prod").template.toJSON()).toEqual(first);
    expect(synthStage("prod", { flatfileEnvironmentId: "", routeRateLimit: "50" }).template.toJSON()).toEqual(first);
  });

  it("puts two stages side by side: distinct stack names, metric namespaces and alarm names", () => {
    const dev = synthStage("dev");
    const prod = synthStage("prod");
    expect([dev.stack.stackName, prod.stack.stackName]).toEqual([stageStackName("dev"), "flatfile-prod"]);
    const namespaces = (s: typeof dev) => {
      const found = new Set<string>();
      for (const fn of Object.values(s.template.findResources("AWS::Lambda::Function"))) {
        const ns = fn.Properties.Environment?.Variables?.POWERTOOLS_METRICS_NAMESPACE;
        if (ns) found.add(ns);
      }
      for (const filter of Object.values(s.template.findResources("AWS::Logs::MetricFilter")))
        for (const t of filter.Properties.MetricTransformations) found.add(t.MetricNamespace);
      // Every namespace an alarm reads (metric math included).
      const text = JSON.stringify(s.template.findResources("AWS::CloudWatch::Alarm"));
      for (const [, ns] of text.matchAll(/"Namespace":"([^"]+)"/g)) if (!ns!.startsWith("AWS/")) found.add(ns!);
      return found;
    };
    const devNamespaces = namespaces(dev);
    const prodNamespaces = namespaces(prod);
    expect(devNamespaces.size).toBeGreaterThanOrEqual(2);
    expect([...devNamespaces].filter((ns) => prodNamespaces.has(ns))).toEqual([]);
    expect([...devNamespaces].every((ns) => ns.endsWith("-dev"))).toBe(true);
    const alarmNames = (s: typeof dev) =>
      Object.values(s.template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties.AlarmName);
    const devAlarms = alarmNames(dev);
    expect(devAlarms.length).toBeGreaterThan(5);
    expect(devAlarms.every((name) => typeof name === "string" && name.startsWith(`${stageStackName("dev")}-`))).toBe(true);
    expect(devAlarms.filter((name) => alarmNames(prod).includes(name))).toEqual([]);
  });
});

describe("scripts/cdk.ts: npm run deploy -- <stage>", () => {
  it("turns a first argument into -c stage=<name> and passes the rest on", () => {
    expect(cdkArguments(["deploy", "prod", "--require-approval", "never"], ["dev", "prod"])).toEqual([
      "deploy",
      "-c",
      "stage=prod",
      "--require-approval",
      "never",
    ]);
    expect(cdkArguments(["synth", "--no-notices", "-o", "out"], [])).toEqual(["synth", "--no-notices", "-o", "out"]);
    expect(cdkArguments(["diff"], ["dev"])).toEqual(["diff"]);
  });

  it("refuses a name that is not a stage before the CLI takes it for a stack name", () => {
    expect(() => cdkArguments(["deploy", "qa"], ["dev", "prod"])).toThrow(/there is no stage "qa"; cdk\.json defines: dev, prod/);
    expect(() => cdkArguments(["deploy", "dev"], [])).toThrow(StageArgumentError);
    expect(() => cdkArguments(["bootstrap"], [])).toThrow(/usage/);
  });

  it("through the real CDK CLI, a project with stages refuses a stage-less synth (exit 1, the stages named), and a stage is accepted by name", () => {
    const project = tempDir("infra-stages-cli-");
    const bin = join(REPO_ROOT, "node_modules", ".bin");
    writeFileSync(
      join(project, "cdk.json"),
      JSON.stringify({ app: `${join(bin, "tsx")} ${join(REPO_ROOT, "infra", "app.ts")}`, context: { ...featureFlags(), stages: STAGES } }),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      CDK_DISABLE_CLI_TELEMETRY: "true",
      AWS_EC2_METADATA_DISABLED: "true",
      CI: "true",
      AWS_CONFIG_FILE: join(project, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(project, "no-aws-credentials"),
    };
    const run = (...args: string[]) =>
      spawnSync(join(bin, "tsx"), [join(REPO_ROOT, "scripts", "cdk.ts"), ...args], {
        cwd: project,
        env,
        encoding: "utf8",
        timeout: 60_000,
      });
    const none = run("synth", "--no-notices", "-o", join(project, "out"));
    expect(none.status, none.stderr).toBe(1);
    expect(none.stderr).toContain("Refusing to synthesize: name the stage to deploy, one of: dev, prod");
    expect(none.stderr).not.toMatch(/\n\s+at /);
    const unknown = run("deploy", "qa");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('there is no stage "qa"; cdk.json defines: dev, prod');
    // A stage with a bad -c flag is refused by the app, which shows the stage reached it.
    const override = run("synth", "dev", "--no-notices", "-o", join(project, "out"), "-c", "flatfileEnvironmentId=us_env_other1");
    expect(override.status, override.stderr).toBe(1);
    expect(override.stderr).toMatch(/- flatfileEnvironmentId: with stages, set it in cdk\.json "stages" -> "dev"/);
  }, 90_000);
});
