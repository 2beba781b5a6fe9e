/**
 * The CDK app: `npm run synth` / `npm run deploy` / `npm run destroy` (cdk.json:
 * `"app": "npx tsx infra/app.ts"`).
 *
 * Settings come from the context and are checked first (infra/settings.ts, which lists every key
 * and what it means): a bad value fails the synth with a message naming the key, before any
 * construct exists. With stages in cdk.json, the named stage's settings (infra/stages.ts);
 * without, the top-level keys (defaults in cdk.json; override with `-c key=value`).
 *
 * The stack is environment-agnostic (no account/region, no lookups): synth needs no AWS
 * credentials; `cdk deploy` takes the account and region from the CLI's credentials.
 *
 * cdk-nag's AwsSolutions pack runs as a CDK validation plugin: an unacknowledged finding fails
 * the synth and is listed in <outdir>/validation-report.json.
 */
import { App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { InvalidSettingsError, type DeploySettings } from "./settings";
import { FlatfileStack } from "./stack";
import { selectStage } from "./stages";

/**
 * Checks the app's context, then builds the stack. Throws InvalidSettingsError (every bad key,
 * each named) before building anything.
 */
export function createApp(app: App = new App()): { app: App; stack: FlatfileStack; settings: DeploySettings; stage?: string } {
  const { settings, stage } = selectStage(app.node.getAllContext());
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }));
  const stack = new FlatfileStack(app, settings.stackName, {
    description: `Flatfile Space Configurator${stage ? ` (stage ${stage})` : ""}: signed Flatfile events -> HTTP API -> three Lambda functions`,
    stage,
    flatfileEnvironmentId: settings.flatfileEnvironmentId,
    flatfileApiUrl: settings.flatfileApiUrl,
    referenceDataUrl: settings.referenceDataUrl,
    submissionsBucket: settings.submissionsBucket,
    submissionsEventBus: settings.submissionsEventBus,
    ownedSpaces: settings.ownedSpaces,
    secretName: settings.secretName,
    alarmEmail: settings.alarmEmail,
    reservedConcurrency: settings.reservedConcurrency,
    commitSelfActorIds: settings.commitSelfActorIds,
    throttle: { rateLimit: settings.routeRateLimit, burstLimit: settings.routeBurstLimit },
    logRetentionDays: settings.logRetentionDays,
    kmsKey: settings.kmsKey,
    // On the stack itself (CloudFormation also puts them on what it creates for it)...
    tags: settings.tags,
    listenerRoute: settings.listenerRoute,
    listenerRetryTemporary: settings.listenerRetryTemporary,
    spaceConfigureBy: settings.spaceConfigureBy,
  });
  // ...and on every resource that takes tags, so that they show in the template.
  for (const [key, value] of Object.entries(settings.tags)) Tags.of(stack).add(key, value);
  return { app, stack, settings, stage };
}

/** The app as the CLI runs it: a bad setting is one readable message on stderr and exit code 1. */
export function main(): void {
  try {
    createApp().app.synth();
  } catch (error) {
    if (!(error instanceof InvalidSettingsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
