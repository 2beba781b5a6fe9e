/**
 * `RelayRegistration`: registers the relay agent in the Flatfile environment on `cdk deploy`. The
 * agent's bundle ships inside the register function's asset and its hash is a property, so a new
 * build replaces the agent. How: docs/design.md#registering-the-relay.
 *
 *   new RelayRegistration(this, "Relay", { secret, apiUrl: api.apiEndpoint, environmentId });
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Annotations, CustomResource, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import { Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, type CfnFunction } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Provider } from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";
import { NODE_TARGET } from "../bundling";
import { grantSecretKey } from "../route-function";
import { LAMBDA_RUNTIME } from "../runtime";
import { buildRelayAgentSync, RELAY_AGENT_FILE } from "./bundle";
import { relayTopics, type RelayPlan } from "./forward";
import { ourJobsNote, relayPlanWithNotes, unroutedTopicsNote, untakenJobsNote } from "./plan";
import type { SpaceConfigureBy } from "../../shared/routes";

export interface RelayRegistrationProps {
  /** The stack's secret `{"apiKey","signingSecret"}`; only the register function may read it. */
  secret: ISecret;
  /** The HTTP API's base URL; the agent appends each route's path (shared/routes.ts). */
  apiUrl: string;
  /** The Flatfile environment the relay is registered in. */
  environmentId: string;
  /** Another Flatfile region's API, e.g. https://platform.eu.flatfile.com/api. Default: US. */
  flatfileApiUrl?: string;
  /** How long its two log groups keep events. Default a month. */
  logRetention?: RetentionDays;
  /** The customer managed key that encrypts its two log groups. Default none. */
  logKey?: IKey;
  /** The deploy serves the customer's listener on POST /listener: the relay forwards what it registered. */
  listenerRoute?: boolean;
  /** The spaceConfigureBy setting: "listener" forwards space:configure to /listener instead of ours. */
  spaceConfigureBy?: SpaceConfigureBy;
  /** The ownedSpaces setting: the relay drops other Spaces' events where their namespaces tell. */
  ownedSpaces?: string;
}

const REPO_ROOT = resolve(__dirname, "..", "..");

/** Builds the agent once per content and leaves it where the bundling hook copies it from. */
function stageAgent(plan: RelayPlan): { relativePath: string; sha256: string } {
  const bundle = buildRelayAgentSync(plan);
  const relativePath = join("dist", "relay", `relay-agent-${bundle.sha256.slice(0, 16)}.js`);
  const target = join(REPO_ROOT, relativePath);
  if (!existsSync(target)) {
    mkdirSync(join(REPO_ROOT, "dist", "relay"), { recursive: true });
    // Write then rename: parallel synths never see half a file.
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, bundle.code);
    renameSync(temporary, target);
  }
  return { relativePath, sha256: bundle.sha256 };
}

export class RelayRegistration extends Construct {
  readonly function: NodejsFunction;
  readonly provider: Provider;
  /** The Provider framework function's role: its own logs, and invoking the register function. */
  readonly providerRole: Role;
  readonly resource: CustomResource;
  /** REGISTERED or SKIPPED (no API key in the secret yet). */
  readonly status: string;
  /** When skipped: how to finish the registration. Empty otherwise. */
  readonly instructions: string;
  readonly agentId: string;
  /** sha256 (hex) of the agent source this stack registers: what the sweep's relay check expects. */
  readonly agentSha256: string;

  constructor(scope: Construct, id: string, props: RelayRegistrationProps) {
    super(scope, id);
    const { plan, unroutedTopics, untakenJobs, ourJobs } = relayPlanWithNotes({
      listenerRoute: props.listenerRoute,
      spaceConfigureBy: props.spaceConfigureBy,
      ownedSpaces: props.ownedSpaces,
    });
    if (unroutedTopics.length > 0) Annotations.of(this).addWarningV2("flatfile:listenerUnroutedTopics", unroutedTopicsNote(unroutedTopics));
    if (untakenJobs.length > 0) Annotations.of(this).addWarningV2("flatfile:listenerUntakenJobs", untakenJobsNote(untakenJobs));
    if (ourJobs.length > 0) Annotations.of(this).addWarningV2("flatfile:listenerJobsOurs", ourJobsNote(ourJobs));
    const agent = stageAgent(plan);
    this.agentSha256 = agent.sha256;

    // Own roles instead of AWSLambdaBasicExecutionRole, which may write to every log
    // group of the account: each function here may write to its own log group only.
    const registerLogs = new LogGroup(this, "RegisterLogs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const registerRole = new Role(this, "RegisterRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "Execution role of the relay's register function",
    });
    registerLogs.grantWrite(registerRole);

    this.function = new NodejsFunction(this, "RegisterFunction", {
      description: "Registers the signed relay agent in the Flatfile environment (custom resource).",
      entry: join(__dirname, "register.ts"),
      handler: "onEvent",
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      // Secrets Manager read + a handful of Flatfile calls, retried for up to REGISTER_RETRY
      // (4 min, register.ts) while Flatfile is unreachable; a minute more to report why.
      timeout: Duration.minutes(5),
      memorySize: 256,
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      environment: { NODE_OPTIONS: "--enable-source-maps" },
      role: registerRole,
      logGroup: registerLogs,
      bundling: {
        minify: true,
        sourceMap: true,
        format: OutputFormat.CJS,
        target: NODE_TARGET,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The agent's bundle ships inside this function's asset (see the file comment).
          afterBundling: (inputDir: string, outputDir: string) => [
            `cp "${join(inputDir, agent.relativePath)}" "${join(outputDir, RELAY_AGENT_FILE)}"`,
          ],
        },
      },
    });
    props.secret.grantRead(this.function);
    grantSecretKey(this.function, props.secret);

    const providerLogs = new LogGroup(this, "ProviderLogs", {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.providerRole = new Role(this, "ProviderRole", {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: "Execution role of the CDK Provider framework function that calls the register function",
    });
    providerLogs.grantWrite(this.providerRole);
    this.provider = new Provider(this, "Provider", {
      onEventHandler: this.function,
      logGroup: providerLogs,
      // The framework adds lambda:InvokeFunction on the register function to this role.
      frameworkOnEventRole: this.providerRole,
    });

    this.resource = new CustomResource(this, "Resource", {
      serviceToken: this.provider.serviceToken,
      resourceType: "Custom::FlatfileRelay",
      properties: {
        EnvironmentId: props.environmentId,
        RelayBaseUrl: props.apiUrl,
        SecretId: props.secret.secretArn,
        AgentSha256: agent.sha256,
        ...(plan.listener ? { Topics: relayTopics(plan).join(",") } : {}),
        ...(props.flatfileApiUrl ? { FlatfileApiUrl: props.flatfileApiUrl } : {}),
      },
    });
    this.status = this.resource.getAttString("Status");
    this.instructions = this.resource.getAttString("Instructions");
    this.agentId = this.resource.getAttString("AgentId");

    acknowledgeFindings(this);
  }
}

/** cdk-nag findings this construct knowingly carries, each with its reason. */
function acknowledgeFindings(registration: RelayRegistration): void {
  const registerLogicalId = Stack.of(registration).getLogicalId(registration.function.node.defaultChild as CfnFunction);
  // On the role: its DefaultPolicy, where the Provider puts the invoke grant, is a child of the role.
  Validations.of(registration.providerRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${registerLogicalId}.Arn>:*]`,
    reason:
      "The CDK Provider framework's function may invoke the register function's versions and aliases (lambda:InvokeFunction on <its ARN>:*), and nothing else.",
  });
}
