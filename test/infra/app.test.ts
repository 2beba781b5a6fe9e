/**
 * The CDK app (infra/app.ts) refuses bad deploy settings before it builds anything: each bad
 * context value fails the synth with a message naming the key. Fast: createApp in-process; one
 * real `npm run deploy` with bad values shows the CLI path (npm -> cdk -> the app) stops there,
 * with the message on stderr, before it needs AWS credentials.
 */
import { CURRENTLY_RECOMMENDED_FLAGS } from "aws-cdk-lib/cx-api";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { createApp } from "../../infra/app";
import { FUNCTION_NAMES, REPO_ROOT } from "../../infra/bundling";
import { InvalidSettingsError } from "../../infra/settings";
import { SELF_ACTOR_ENV } from "../../functions/commit-created/commit-created";
import { cleanup, featureFlags, synthWithoutBundling, tempDir } from "./support";

afterAll(cleanup);

/** createApp on this context; the error it throws, and whether any construct was built. */
function refused(context: Record<string, unknown>): { error: unknown; built: number } {
  const app = new App({ outdir: tempDir("infra-app-refused-"), context: { ...context, "aws:cdk:bundling-stacks": [] } });
  try {
    createApp(app);
  } catch (error) {
    return { error, built: app.node.children.length };
  }
  throw new Error(`createApp accepted ${JSON.stringify(context)}`);
}

describe("the CDK app refuses each bad setting, naming the key", () => {
  it.each([
    ["flatfileEnvironmentId", "env_1a2b3c4d"],
    ["flatfileEnvironmentId", "us_sp_1a2b3c4d"],
    ["referenceDataUrl", "http://reference.example.com/categories"],
    ["referenceDataUrl", "not a url"],
    ["alarmEmail", "ops"],
    ["flatfileApiUrl", "http://platform.eu.flatfile.com/api"],
    ["commitSelfActorIds", "me"],
    ["ownedSpaces", "portal"],
    ["secretName", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/flatfile"],
    ["secretName", "prod flatfile"],
    ["stackName", "flatfile_prod"],
    ["reservedConcurrency", "0"],
    ["routeRateLimit", "0"],
    ["routeBurstLimit", "5001"],
    ["flatfileEnvironmentID", "us_env_1a2b3c4d"],
  ])("%s = %s", (key, value) => {
    const { error, built } = refused({ [key]: value });
    expect(error).toBeInstanceOf(InvalidSettingsError);
    expect((error as InvalidSettingsError).problems.map((p) => p.key)).toEqual([key]);
    expect((error as Error).message).toContain(`- ${key}: `);
    // Nothing was built: no stack half-made from a bad value.
    expect(built).toBe(0);
  });

  it("builds the stack from good values, as given (dev_ environment, regional API, complete ARN, self actors, throttle, stack name)", () => {
    const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/flatfile-AbC123";
    const { stack, template, synthError } = synthWithoutBundling({
      flatfileEnvironmentId: "dev_env_1a2b3c4d",
      flatfileApiUrl: "https://platform.eu.flatfile.com/api/",
      secretName: arn,
      referenceDataUrl: "https://reference.example.com/categories",
      alarmEmail: "ops@example.com",
      commitSelfActorIds: "us_usr_1a2b3c4d, us_ag_9z",
      ownedSpaces: " space:portal, us_app_1a2b3c4d ",
      stackName: "flatfile-dev",
      routeRateLimit: "200",
      routeBurstLimit: "3000",
    });
    expect(synthError).toBeUndefined();
    // The stage's default and each route's own bucket take the throttle settings.
    const [stage] = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"));
    const limits = { ThrottlingRateLimit: 200, ThrottlingBurstLimit: 3000 };
    expect(stage!.Properties.DefaultRouteSettings).toMatchObject(limits);
    expect(Object.keys(stage!.Properties.RouteSettings)).toHaveLength(FUNCTION_NAMES.length);
    for (const route of Object.values(stage!.Properties.RouteSettings)) expect(route).toMatchObject(limits);
    expect(stack.stackName).toBe("flatfile-dev");
    const variables = Object.fromEntries(
      FUNCTION_NAMES.map((name) => [
        name,
        template.findResources("AWS::Lambda::Function")[stack.getLogicalId(stack.functions[name].node.defaultChild as never)]!.Properties
          .Environment.Variables,
      ]),
    );
    for (const name of FUNCTION_NAMES) {
      expect(variables[name], name).toMatchObject({
        FLATFILE_SECRET_ID: arn,
        FLATFILE_ENVIRONMENT_ID: "dev_env_1a2b3c4d",
        FLATFILE_API_URL: "https://platform.eu.flatfile.com/api",
        REFERENCE_DATA_URL: "https://reference.example.com/categories",
        // Every route decides which Spaces are its own in its pipeline.
        OWNED_SPACES: "space:portal, us_app_1a2b3c4d",
      });
    }
    // The job sweep fails jobs in the same region, with the same secret.
    const sweep = template.findResources("AWS::Lambda::Function")[stack.getLogicalId(stack.jobSweep.node.defaultChild as never)]!;
    expect(sweep.Properties.Environment.Variables).toMatchObject({
      FLATFILE_SECRET_ID: arn,
      FLATFILE_API_URL: "https://platform.eu.flatfile.com/api",
    });
    // Only the function that reads it gets it, under the name it reads.
    expect(SELF_ACTOR_ENV).toBe("COMMIT_SELF_ACTOR_IDS");
    expect(variables["commit-created"]).toMatchObject({ [SELF_ACTOR_ENV]: "us_usr_1a2b3c4d,us_ag_9z" });
    expect(variables["space-configure"]).not.toHaveProperty(SELF_ACTOR_ENV);
    expect(variables["action-job"]).not.toHaveProperty(SELF_ACTOR_ENV);
    // The relay registers in the same region's API.
    template.hasResourceProperties("Custom::FlatfileRelay", {
      EnvironmentId: "dev_env_1a2b3c4d",
      FlatfileApiUrl: "https://platform.eu.flatfile.com/api",
    });
  });
});

describe("npm run deploy with bad settings (real npm and cdk CLI)", () => {
  it("stops before deploying: exit code 1 and every bad key named on stderr, no stack trace", () => {
    const home = tempDir("infra-app-deploy-");
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      CDK_DISABLE_CLI_TELEMETRY: "true",
      AWS_EC2_METADATA_DISABLED: "true",
      CI: "true",
      AWS_CONFIG_FILE: join(home, "no-aws-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
    };
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
      delete env[key];
    const result = spawnSync(
      "npm",
      [
        "run",
        "--silent",
        "deploy",
        "--",
        "--no-notices",
        "-o",
        join(home, "cdk.out"),
        "-c",
        "flatfileEnvironmentId=us_env_",
        "-c",
        "alarmEmail=ops@example.com,dev@example.com",
      ],
      { cwd: REPO_ROOT, env, encoding: "utf8", timeout: 60_000 },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(1);
    expect(result.stderr).toContain("Refusing to synthesize: 2 deploy settings are invalid");
    expect(result.stderr).toMatch(/^ {2}- flatfileEnvironmentId: "us_env_" is not a Flatfile environment id/m);
    expect(result.stderr).toMatch(/^ {2}- alarmEmail: .*give one address/m);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // It never got as far as asking for credentials or bundling.
    expect(result.stderr).not.toMatch(/credentials|Bundling asset/i);
  }, 70_000);
});

describe("CDK feature flags", () => {
  it("cdk.json sets every flag aws-cdk-lib recommends, at its recommended value", () => {
    const flags = featureFlags();
    for (const [flag, recommended] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS)) expect([flag, flags[flag]]).toEqual([flag, recommended]);
  });
});
