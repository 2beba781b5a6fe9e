/**
 * RelayRegistration in a throwaway stack: the custom resource and its properties, the register
 * function's runtime and its one grant, the nag findings it acknowledges, and (with bundling on)
 * the agent's bundle shipped inside the function's asset.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, describe, expect, it } from "vitest";
import { REGISTER_RETRY } from "../../../infra/relay/register";
import { RelayRegistration } from "../../../infra/relay/relay-registration";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function synth(bundling: boolean) {
  const outdir = mkdtempSync(join(tmpdir(), "relay-cdk-"));
  dirs.push(outdir);
  const app = new App({ outdir, context: bundling ? {} : { "aws:cdk:bundling-stacks": [] } });
  const stack = new Stack(app, "RelayTest", { env: { account: "111111111111", region: "eu-west-1" } });
  const secret = new Secret(stack, "StackSecret");
  const other = new Secret(stack, "OtherSecret");
  const relay = new RelayRegistration(stack, "Relay", {
    secret,
    apiUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
    environmentId: "us_env_test0001",
  });
  return { app, stack, secret, other, relay, template: Template.fromStack(stack), outdir };
}

describe("RelayRegistration", () => {
  const { app, stack, secret, relay, template } = synth(false);
  const secretLogicalId = stack.getLogicalId(secret.node.defaultChild as never);
  const functionLogicalId = stack.getLogicalId(relay.function.node.defaultChild as never);

  it("adds the custom resource with the environment, the API URL, the secret and the agent's hash", () => {
    template.resourceCountIs("Custom::FlatfileRelay", 1);
    template.hasResourceProperties("Custom::FlatfileRelay", {
      ServiceToken: Match.anyValue(),
      EnvironmentId: "us_env_test0001",
      RelayBaseUrl: "https://abc123.execute-api.eu-west-1.amazonaws.com",
      SecretId: { Ref: secretLogicalId },
      AgentSha256: Match.stringLikeRegexp("^[0-9a-f]{64}$"),
    });
  });

  it("runs the register function on nodejs24.x, arm64, with the handler onEvent, its timeout a minute past the retry bound", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.onEvent",
      Timeout: REGISTER_RETRY.totalMs / 1000 + 60,
    });
  });

  it("grants secretsmanager:GetSecretValue on the stack's secret ARN only, to the register function only", () => {
    const policies = template.findResources("AWS::IAM::Policy");
    const statements = Object.entries(policies).flatMap(([id, policy]) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map((s) => ({ id, policy, ...s })),
    );
    const secretStatements = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith("secretsmanager:")));
    expect(secretStatements).toHaveLength(1);
    const [grant] = secretStatements;
    expect([grant!.Action].flat()).toContain("secretsmanager:GetSecretValue");
    expect(grant!.Resource).toEqual({ Ref: secretLogicalId });
    // Attached to the register function's role, and to no other role.
    const role = relay.function.role!.node.defaultChild as never as Parameters<typeof stack.getLogicalId>[0];
    expect(grant!.policy.Properties.Roles).toEqual([{ Ref: stack.getLogicalId(role) }]);
    // No statement anywhere uses "*" as a resource for a secret.
    for (const s of statements) if (s.Resource === "*") expect([s.Action].flat().some((a) => a.startsWith("secretsmanager:"))).toBe(false);
  });

  it("keeps logs for a month", () => {
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 2);
  });

  it("passes cdk-nag's AwsSolutions pack, its findings acknowledged with reasons", () => {
    const report = new AwsSolutionsChecks(app).validateScope(relay);
    expect(report.violations).toEqual([]);
    const acknowledged = [relay.function, relay.provider, relay.providerRole].flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === "aws:cdk:acknowledged-rules")
        .flatMap((m) => Object.entries(m.data as Record<string, string>)),
    );
    // No AWSLambdaBasicExecutionRole left to acknowledge: only the Provider's invoke grant.
    expect(acknowledged.map(([id]) => id.replace(/^Annotation::/, "")).sort()).toEqual([
      `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
    ]);
    for (const [, reason] of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });

  it("gives each relay function a role that writes its own log group only, no managed policy", () => {
    const roles = template.findResources("AWS::IAM::Role");
    expect(Object.keys(roles)).toHaveLength(2);
    for (const role of Object.values(roles)) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const logGroups = Object.keys(template.findResources("AWS::Logs::LogGroup"));
    const policies = Object.values(template.findResources("AWS::IAM::Policy"));
    const logStatements = policies.flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((s) => [s.Action].flat().some((a) => a.startsWith("logs:")))
        .map((s) => ({ roles: p.Properties.Roles as unknown[], resource: s.Resource })),
    );
    expect(logStatements).toHaveLength(2);
    const written = logStatements.map((s) => (s.resource as { "Fn::GetAtt": [string, string] })["Fn::GetAtt"][0]).sort();
    expect(written).toEqual([...logGroups].sort());
    // Each role writes one group, and the two roles write different ones.
    expect(new Set(logStatements.map((s) => JSON.stringify(s.roles))).size).toBe(2);
  });
});

describe("RelayRegistration with bundling", () => {
  it("ships the agent's bundle next to the handler, matching the hash the resource carries", () => {
    const { template, outdir } = synth(true);
    const fn = Object.values(template.findResources("AWS::Lambda::Function", { Properties: { Handler: "index.onEvent" } }))[0]!;
    const s3Key = fn.Properties.Code.S3Key as string;
    const assetDir = join(outdir, `asset.${s3Key.replace(/\.zip$/, "")}`);
    expect(existsSync(join(assetDir, "index.js"))).toBe(true);
    const agent = readFileSync(join(assetDir, "relay-agent.js"), "utf8");
    const sha = createHash("sha256").update(agent).digest("hex");
    const resource = Object.values(template.findResources("Custom::FlatfileRelay"))[0]!;
    expect(resource.Properties.AgentSha256).toBe(sha);
    expect(agent.length).toBeLessThan(100_000);
  }, 60_000);
});
