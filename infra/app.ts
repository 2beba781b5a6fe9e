/**
 * The CDK app: `npx cdk synth` / `npm run synth` (cdk.json: `"app": "npx tsx infra/app.ts"`).
 *
 * Context (defaults in cdk.json; override with `-c key=value`):
 *   flatfileEnvironmentId  only accept events from this Flatfile environment ("" = any)
 *   referenceDataUrl       reference-data API for space-configure ("" = bundled fallback data)
 *   secretName             existing secret name or ARN ("" = the stack creates one)
 *   alarmEmail             e-mail subscribed to the alarm topic ("" = none)
 *   stackName              CloudFormation stack name (default FlatfileSpaceConfigurator)
 *
 * The stack is environment-agnostic (no account/region, no lookups): synth needs no AWS
 * credentials; `cdk deploy` takes the account and region from the CLI's credentials.
 *
 * cdk-nag's AwsSolutions pack runs as a CDK validation plugin: an unacknowledged finding fails
 * the synth and is listed in <outdir>/validation-report.json.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { FlatfileStack } from "./stack";

export function contextString(app: App, key: string): string {
  const value: unknown = app.node.tryGetContext(key);
  return value === undefined || value === null ? "" : String(value).trim();
}

export function createApp(app: App = new App()): { app: App; stack: FlatfileStack } {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
  const stack = new FlatfileStack(app, contextString(app, "stackName") || "FlatfileSpaceConfigurator", {
    description: "Flatfile Space Configurator: signed Flatfile events -> HTTP API -> three Lambda functions",
    flatfileEnvironmentId: contextString(app, "flatfileEnvironmentId"),
    referenceDataUrl: contextString(app, "referenceDataUrl"),
    secretName: contextString(app, "secretName"),
    alarmEmail: contextString(app, "alarmEmail"),
  });
  return { app, stack };
}

if (require.main === module) {
  createApp().app.synth();
}
