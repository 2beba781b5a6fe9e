/**
 * The Flatfile Space Configurator stack: three Lambda functions behind an API Gateway HTTP API
 * (payload 2.0), their secret, their idempotency table, and alarms.
 *
 * Reads top to bottom: settings -> secret -> table -> functions -> API -> alarms -> outputs ->
 * cdk-nag acknowledgements. No context lookups, no fixed account/region: `cdk synth` runs
 * offline, without credentials and without Docker (bundling is a local esbuild, see bundling.ts).
 *
 * With a Flatfile environment id, the stack also registers the relay agent there (infra/relay),
 * through a custom resource that is the only other reader of the secret.
 */
import { join } from "node:path";
import { AssetHashType, CfnOutput, Duration, RemovalPolicy, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { CfnRoute, HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, PayloadFormatVersion } from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import { Alarm, ComparisonOperator, TreatMissingData, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { AttributeType, BillingMode, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Architecture, Code, Function as LambdaFunction, Tracing } from "aws-cdk-lib/aws-lambda";
import { LAMBDA_RUNTIME } from "./runtime";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";
import { buildFunctionSync, FUNCTION_NAMES, LAMBDA_HANDLER, REPO_ROOT, type FunctionName } from "./bundling";
import { API_KEY_PLACEHOLDER } from "../shared/core/config";
import { RelayRegistration } from "./relay/relay-registration";

export interface FlatfileStackProps extends StackProps {
  /** Only events from this Flatfile environment are accepted (403 otherwise). "" = any. */
  flatfileEnvironmentId?: string;
  /** External reference-data API read by space-configure. "" = the bundled fallback data. */
  referenceDataUrl?: string;
  /**
   * An existing Secrets Manager secret (name, or full ARN) holding `{"apiKey","signingSecret"}`.
   * "" = the stack creates one with a generated signingSecret and a placeholder apiKey.
   */
  secretName?: string;
  /** E-mail address subscribed to the alarm topic. "" = no subscription. */
  alarmEmail?: string;
  /** Stage throttling. Defaults: 25 requests/s steady, bursts of 50. */
  throttle?: { rateLimit: number; burstLimit: number };
  /** POWERTOOLS_SERVICE_NAME. Default "flatfile-space-configurator". */
  serviceName?: string;
  /** LOG_LEVEL for the functions. Default "INFO". */
  logLevel?: string;
}

/** Function timeout: see the comment where the functions are created. */
export const FUNCTION_TIMEOUT = Duration.seconds(25);
/** Function memory: see the comment where the functions are created. */
export const FUNCTION_MEMORY_MB = 1024;
/** API Gateway's integration timeout; the functions end well inside it. */
export const INTEGRATION_TIMEOUT = Duration.seconds(29);
export const DEFAULT_THROTTLE = { rateLimit: 25, burstLimit: 50 } as const;

/** Route path of each function. */
export const ROUTE_PATHS: Readonly<Record<FunctionName, string>> = {
  "space-configure": "/space-configure",
  "action-job": "/action-job",
  "commit-created": "/commit-created",
};

export class FlatfileStack extends Stack {
  /** `{"apiKey","signingSecret"}`; read by the three functions (and, later, the relay). */
  readonly secret: ISecret;
  /** The HTTP API's base URL, no trailing slash; routes are `${apiUrl}/space-configure` etc. */
  readonly apiUrl: string;
  /** The HTTP API itself. */
  readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  readonly stage: HttpStage;
  /** The Flatfile environment the functions accept ("" = any); the relay registers there. */
  readonly flatfileEnvironmentId: string;
  /** One function per route. */
  readonly functions: Readonly<Record<FunctionName, LambdaFunction>>;
  /** The relay's registration in Flatfile; only when an environment is given. */
  readonly relay?: RelayRegistration;
  /** Powertools Idempotency table (partition key `id`, TTL `expiration`). */
  readonly idempotencyTable: Table;
  /** Encrypted topic every alarm notifies. */
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: FlatfileStackProps = {}) {
    super(scope, id, props);
    const environmentId = props.flatfileEnvironmentId?.trim() ?? "";
    const referenceDataUrl = props.referenceDataUrl?.trim() ?? "";
    const secretName = props.secretName?.trim() ?? "";
    const alarmEmail = props.alarmEmail?.trim() ?? "";
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    this.flatfileEnvironmentId = environmentId;

    // --- Secret ---------------------------------------------------------------------------
    // Either the operator's existing secret, or a new one: a generated signingSecret (shared
    // with the relay, which signs with it) and a placeholder apiKey the operator replaces with
    // the Flatfile key. Removal: DESTROY schedules deletion with Secrets Manager's 30-day
    // recovery window, so a deleted stack's secret can still be restored; the API key itself
    // lives on in Flatfile.
    if (secretName) {
      this.secret = secretName.startsWith("arn:")
        ? Secret.fromSecretCompleteArn(this, "FlatfileSecret", secretName)
        : Secret.fromSecretNameV2(this, "FlatfileSecret", secretName);
    } else {
      this.secret = new Secret(this, "FlatfileSecret", {
        description: 'Flatfile credentials: {"apiKey","signingSecret"}. Replace apiKey with the environment\'s secret key.',
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ apiKey: API_KEY_PLACEHOLDER }),
          generateStringKey: "signingSecret",
          excludePunctuation: true,
          passwordLength: 48,
        },
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }

    // --- Idempotency table ----------------------------------------------------------------
    // Powertools Idempotency defaults: partition key `id` (string), TTL attribute `expiration`.
    // Removal: DESTROY. Records live 24 h (IDEMPOTENCY_TTL_SECONDS); losing them on stack
    // deletion at worst lets a redelivery within that day be processed again, and a retained
    // table would block re-creating the stack and keep billing PITR for nothing.
    this.idempotencyTable = new Table(this, "IdempotencyTable", {
      partitionKey: { name: "id", type: AttributeType.STRING },
      timeToLiveAttribute: "expiration",
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The AWS managed key (aws/dynamodb): encrypted at rest with use logged in CloudTrail, no
      // key policy to maintain and no KMS grant needed by the functions.
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // --- Functions ------------------------------------------------------------------------
    // Timeout 25 s: API Gateway cuts the integration at 29 s (INTEGRATION_TIMEOUT), and the
    // route pipeline (shared/core/route.ts) budgets 24 s of work and keeps a reserve to finish
    // the Flatfile job. 25 s lets the function always answer before the gateway gives up, so
    // the sender sees our status code, not a gateway 503/504.
    // Memory 1024 MB: Lambda allocates CPU in proportion to memory; cold start parses a ~3 MB
    // minified bundle (AWS SDK v3 + @flatfile/api), which is CPU-bound, and the Flatfile calls
    // serialize sizeable workbooks. At 1024 MB that runs on ~0.6 vCPU; the extra cost on arm64
    // is small against the latency a person waiting on a Space sees.
    const environment: Record<string, string> = {
      // The full ARN of a secret we create; an imported secret exactly as the operator named it
      // (a name imported with fromSecretNameV2 has only a partial ARN).
      FLATFILE_SECRET_ID: secretName || this.secret.secretArn,
      IDEMPOTENCY_TABLE: this.idempotencyTable.tableName,
      POWERTOOLS_SERVICE_NAME: props.serviceName ?? "flatfile-space-configurator",
      LOG_LEVEL: props.logLevel ?? "INFO",
      NODE_OPTIONS: "--enable-source-maps",
      ...(environmentId ? { FLATFILE_ENVIRONMENT_ID: environmentId } : {}),
      ...(referenceDataUrl ? { REFERENCE_DATA_URL: referenceDataUrl } : {}),
    };

    const functions = {} as Record<FunctionName, LambdaFunction>;
    for (const name of FUNCTION_NAMES) {
      const id = pascal(name);
      // Logs: an explicit group per function; a month is enough to investigate a delivery and
      // keeps cost bounded. RETAIN: a deleted stack's last month stays readable (the
      // retention still empties the group).
      const logGroup = new LogGroup(this, `${id}Logs`, { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });
      // Own role per function instead of AWSLambdaBasicExecutionRole: it may write to its own
      // log group only (no managed policy, no logs:* on every group).
      const role = new Role(this, `${id}Role`, {
        assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
        description: `Execution role of the ${name} function`,
      });
      logGroup.grantWrite(role);

      const fn = new LambdaFunction(this, `${id}Function`, {
        description: `Answers Flatfile events on POST ${ROUTE_PATHS[name]}`,
        runtime: LAMBDA_RUNTIME,
        architecture: Architecture.ARM_64,
        handler: LAMBDA_HANDLER,
        code: bundledCode(name),
        timeout: FUNCTION_TIMEOUT,
        memorySize: FUNCTION_MEMORY_MB,
        role,
        logGroup,
        environment,
        // X-Ray: a segment per invocation shows cold start vs. Flatfile time. Cheap: sampled
        // (1 request/s + 5%), and the first 100k traces a month are free.
        tracing: Tracing.ACTIVE,
      });

      // Only these three functions may read the secret; the statement names its ARN.
      this.secret.grantRead(fn);
      // Exactly the calls Powertools' DynamoDB persistence layer makes, on this table only.
      this.idempotencyTable.grant(fn, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem");
      functions[name] = fn;
    }
    this.functions = functions;

    // --- HTTP API -------------------------------------------------------------------------
    // No default route (anything else gets API Gateway's 404), no CORS (server-to-server).
    this.api = new HttpApi(this, "HttpApi", {
      description: "Flatfile event routes (signed by the relay, verified in each function)",
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, "ApiAccessLogs", { retention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.RETAIN });
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      // Flatfile events for one environment arrive at human pace; this caps a runaway sender or
      // a flood of forged requests (each costs a Lambda invocation before the signature fails).
      throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        // HTTP API $context variables only; no headers (the signature stays out of the logs).
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: "$context.requestId",
            ip: "$context.identity.sourceIp",
            requestTime: "$context.requestTime",
            httpMethod: "$context.httpMethod",
            routeKey: "$context.routeKey",
            path: "$context.path",
            status: "$context.status",
            protocol: "$context.protocol",
            responseLength: "$context.responseLength",
            responseLatency: "$context.responseLatency",
            integrationStatus: "$context.integrationStatus",
            integrationLatency: "$context.integrationLatency",
            integrationError: "$context.integrationErrorMessage",
            error: "$context.error.message",
          }),
        ),
      },
    });
    for (const name of FUNCTION_NAMES) {
      this.api.addRoutes({
        path: ROUTE_PATHS[name],
        methods: [HttpMethod.POST],
        integration: new HttpLambdaIntegration(`${pascal(name)}Integration`, functions[name], {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
          timeout: INTEGRATION_TIMEOUT,
        }),
      });
    }
    this.apiUrl = this.api.apiEndpoint;

    // --- Relay ----------------------------------------------------------------------------
    // Flatfile has no signed webhook: the relay agent (infra/relay) forwards our events, signed.
    // It is registered in one environment, so it needs one; without it the README's
    // `npm run relay:deploy` registers it later.
    if (environmentId) {
      this.relay = new RelayRegistration(this, "Relay", { secret: this.secret, apiUrl: this.apiUrl, environmentId });
    }

    // --- Alarms ---------------------------------------------------------------------------
    // Encrypted topic. CloudWatch cannot publish to a topic under the AWS managed SNS key, so a
    // customer managed key whose policy lets CloudWatch use it. DESTROY: nothing lasting is
    // encrypted with it (SNS messages only), deletion waits the 7-30 day KMS window anyway.
    const topicKey = new Key(this, "AlarmTopicKey", {
      description: "Encrypts the alarm topic; CloudWatch alarms may use it to publish",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.grant(new ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
    this.alarmTopic = new Topic(this, "AlarmTopic", {
      displayName: "Flatfile Space Configurator alarms",
      masterKey: topicKey,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: allow this account's
    // CloudWatch alarms to publish explicitly.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": this.account },
          ArnLike: { "aws:SourceArn": `arn:${this.partition}:cloudwatch:${this.region}:${this.account}:alarm:*` },
        },
      }),
    );
    if (alarmEmail) this.alarmTopic.addSubscription(new EmailSubscription(alarmEmail));

    const alarmAction = new SnsAction(this.alarmTopic);
    const alarm = (id: string, metric: IMetric, description: string) => {
      const created = new Alarm(this, id, {
        metric,
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(alarmAction);
      this.alarms.push(created);
    };
    const fiveMinutes = { period: Duration.minutes(5), statistic: "Sum" };
    for (const name of FUNCTION_NAMES) {
      const fn = functions[name];
      alarm(`${pascal(name)}Errors`, fn.metricErrors(fiveMinutes), `${name}: the function threw or timed out (5 min)`);
      alarm(`${pascal(name)}Throttles`, fn.metricThrottles(fiveMinutes), `${name}: invocations were throttled (5 min)`);
    }
    alarm("Api5xx", this.api.metricServerError(fiveMinutes), "HTTP API answered 5xx: senders are retrying (5 min)");

    // --- Outputs --------------------------------------------------------------------------
    new CfnOutput(this, "ApiUrl", { value: this.apiUrl, description: "HTTP API base URL (RELAY_BASE_URL)" });
    for (const name of FUNCTION_NAMES) {
      new CfnOutput(this, `${pascal(name)}Url`, { value: `${this.apiUrl}${ROUTE_PATHS[name]}`, description: `POST ${ROUTE_PATHS[name]}` });
    }
    new CfnOutput(this, "SecretName", { value: this.secret.secretName, description: 'Secrets Manager secret {"apiKey","signingSecret"}' });
    new CfnOutput(this, "SecretArn", { value: this.secret.secretArn });
    new CfnOutput(this, "IdempotencyTableName", { value: this.idempotencyTable.tableName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.alarmTopic.topicArn });
    if (this.relay) {
      new CfnOutput(this, "RelayStatus", { value: this.relay.status, description: "REGISTERED, or SKIPPED until the secret holds an apiKey" });
      new CfnOutput(this, "RelayInstructions", { value: this.relay.instructions, description: "When skipped: how to finish registering the relay" });
    }

    this.acknowledgeNagFindings(secretName === "");
  }

  /** cdk-nag (AwsSolutions) findings this stack knowingly carries, each with its reason. */
  private acknowledgeNagFindings(ownsSecret: boolean): void {
    for (const name of FUNCTION_NAMES) {
      const fn = this.functions[name];
      // On the role: its DefaultPolicy is a child of the role, not of the function.
      Validations.of(fn.role!).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so AWS requires Resource '*'. Every other statement of this role names its resource.",
      });
    }
    for (const route of this.api.node.findAll().filter((c): c is CfnRoute => c instanceof CfnRoute)) {
      Validations.of(route).acknowledge({
        id: "AwsSolutions-APIG4",
        reason: "No API Gateway authorizer by design: Flatfile's relay cannot carry IAM/JWT credentials; every request is authenticated in the function by its HMAC-SHA256 x-flatfile-signature over timestamp and body (300 s window), unsigned requests get 401.",
      });
    }
    if (ownsSecret) {
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason: "Not rotatable by a Lambda: apiKey is issued by Flatfile and pasted in by the operator, and signingSecret must change together with the relay's copy in Flatfile (rotate by updating the secret and running npm run relay:deploy, see infra/relay/README.md).",
      });
    }
  }
}

/**
 * The function's asset: the shared esbuild build (bundling.ts) run locally at synth. The image
 * is never pulled: local bundling always succeeds or throws. Hash = hash of the bundle.
 */
function bundledCode(name: FunctionName): Code {
  return Code.fromAsset(join(REPO_ROOT, "functions", name), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: LAMBDA_RUNTIME.bundlingImage,
      local: {
        tryBundle(outputDir: string): boolean {
          buildFunctionSync(name, outputDir);
          return true;
        },
      },
    },
  });
}

function pascal(name: string): string {
  return name
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
