/** Shared helpers for the infra tests: synth without bundling into a temp outdir, read the nag report. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { createApp } from "../../infra/app";
import type { FlatfileStack } from "../../infra/stack";

const dirs: string[] = [];
export function cleanup(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface Violation {
  ruleName: string;
  severity: string;
  violatingConstructs: { constructPath: string }[];
}

export interface Synthesized {
  app: App;
  stack: FlatfileStack;
  template: Template;
  outdir: string;
  /** Every plugin violation (errors AND warnings) from validation-report.json; [] if none. */
  violations: Violation[];
  synthError?: Error;
}

/**
 * The real app (infra/app.ts: same stack, same nag plugin), with bundling skipped for speed.
 * `app.synth()` throws when the nag plugin reports; the report is read either way.
 */
export function synthWithoutBundling(context: Record<string, unknown> = {}): Synthesized {
  const outdir = tempDir("infra-cdk-");
  const { app, stack } = createApp(new App({ outdir, context: { ...featureFlags(), ...context, "aws:cdk:bundling-stacks": [] } }));
  let synthError: Error | undefined;
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  const report = join(outdir, "validation-report.json");
  const violations = existsSync(report) ? violationsOf(JSON.parse(readFileSync(report, "utf8"))) : [];
  const template = Template.fromJSON(JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.template.json`), "utf8")));
  return { app, stack, template, outdir, violations, synthError };
}

/** The CDK feature flags cdk.json sets, so that the stack is tested as `cdk deploy` builds it. */
export function featureFlags(): Record<string, unknown> {
  const context = (JSON.parse(readFileSync(join(__dirname, "../../cdk.json"), "utf8")) as { context: Record<string, unknown> }).context;
  return Object.fromEntries(Object.entries(context).filter(([key]) => key.startsWith("@aws-cdk")));
}

export function violationsOf(report: { pluginReports?: { violations?: Violation[] }[] }): Violation[] {
  return (report.pluginReports ?? []).flatMap((p) => p.violations ?? []);
}

export interface Statement {
  policyId: string;
  roles: unknown;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

export function iamStatements(template: Template): Statement[] {
  return Object.entries(template.findResources("AWS::IAM::Policy")).flatMap(([policyId, policy]) =>
    (policy.Properties.PolicyDocument.Statement as Omit<Statement, "policyId" | "roles">[]).map((s) => ({
      policyId,
      roles: policy.Properties.Roles,
      ...s,
    })),
  );
}

export function actionsOf(statement: { Action: string | string[] }): string[] {
  return [statement.Action].flat();
}

/** True when a Resource is or contains a bare "*" (or a string with a wildcard). */
export function hasWildcard(resource: unknown): boolean {
  return [resource].flat().some((r) => typeof r === "string" && r.includes("*"));
}
