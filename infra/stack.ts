/**
 * The Flatfile Space Configurator stack: three Lambda functions behind an API Gateway HTTP API
 * (payload 2.0), their secret, their idempotency table, the action-job worker action-job invokes,
 * the scheduled job sweep, alarms and a dashboard.
 *
 * Reads top to bottom: settings -> secret -> table -> functions -> API -> sweep -> alarms ->
 * dashboard -> outputs -> cdk-nag acknowledgements. No context lookups, no fixed account/region: `cdk synth` runs
 * offline, without credentials and without Docker (bundling is a local esbuild, see bundling.ts).
 *
 * With a Flatfile environment id, the stack also registers the relay agent there (infra/relay),
 * through a custom resource that is the only other reader of the secret.
 */
import { type CfnElement, CfnOutput, Duration, RemovalPolicy, Stack, Tokenization, Validations, type StackProps } from "aws-cdk-lib";
import {
  CfnRoute,
  type CfnStage,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import type { Alarm, Dashboard } from "aws-cdk-lib/aws-cloudwatch";
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { EventBus, Rule, Schedule } from "aws-cdk-lib/aws-events";
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from "aws-cdk-lib/aws-s3";
import { LambdaFunction as LambdaTarget } from "aws-cdk-lib/aws-events-targets";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { type IKey, Key } from "aws-cdk-lib/aws-kms";
import { FilterPattern, LogGroup, MetricFilter, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret, type ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { Topic } from "aws-cdk-lib/aws-sns";
import type { Construct } from "constructs";
import { API_KEY_PLACEHOLDER } from "../shared/core/config";
import { ACTION_JOB_WORKER_ENV, WORKER_TIMING } from "../shared/core/hand-off";
import { jobsHandedToListener, servedRoutes, type ServedRouteName, type SpaceConfigureBy } from "../shared/routes";
import {
  OPEN_JOB_BOUND_MS,
  OPEN_JOB_KEY_PREFIX,
  OPEN_JOB_SWEEP_INTERVAL_MS,
  OPEN_JOBS_INDEX,
  OPEN_JOBS_PARTITION_ATTRIBUTE,
  OPEN_JOBS_SORT_ATTRIBUTE,
  SWEPT_LOG_MESSAGE,
} from "../shared/core/open-jobs";
import { ALARM_PERIOD, ServiceAlarms } from "./alarms";
import { DEFAULT_METRICS_NAMESPACE } from "../shared/core/observability";
import { ServiceDashboard } from "./dashboard";
import { ProductMetrics } from "./product-metrics";
import type { FunctionName } from "./bundling";
import { RelayRegistration } from "./relay/relay-registration";
import { RELAY_AGENT_CHECK_FAILED, RELAY_AGENT_SLUG, RELAY_GAVE_UP_SEEN } from "../shared/core/relay-agent";
import { DEFAULT_SERVICE_NAME, grantTableKey, RouteFunction } from "./route-function";
import { CREATE_KMS_KEY, DEFAULT_LOG_RETENTION_DAYS } from "./settings";
import { ROUTE_THROTTLE, type ThrottleLimits } from "./throttle";

export interface FlatfileStackProps extends StackProps {
  /** Only events from this Flatfile environment are accepted (403 otherwise). "" = any. */
  flatfileEnvironmentId?: string;
  /** Flatfile API base of the environment's region, for the functions and the relay. "" = production (US). */
  flatfileApiUrl?: string;
  /** External reference-data API read by space-configure. "" = the bundled fallback data. */
  referenceDataUrl?: string;
  /** An existing bucket for submissions (its name). undefined = the stack creates one. */
  submissionsBucket?: string;
  /** An existing EventBridge bus (its name) for the submission events. undefined = the default bus. */
  submissionsEventBus?: string;
  /**
   * An existing Secrets Manager secret (name, or full ARN) holding `{"apiKey","signingSecret"}`.
   * "" = the stack creates one with a generated signingSecret and a placeholder apiKey.
   */
  secretName?: string;
  /** E-mail address subscribed to the alarm topic. "" = no subscription. */
  alarmEmail?: string;
  /** Actor ids whose commits commit-created skips (COMMIT_SELF_ACTOR_IDS). [] = none. */
  commitSelfActorIds?: readonly string[];
  /** Which Spaces are ours (OWNED_SPACES, shared/core/owned-spaces.ts), as validated. undefined = every Space. */
  ownedSpaces?: string;
  /** Throttling of each route. Default ROUTE_THROTTLE (infra/throttle.ts, also the local gateway's). */
  throttle?: ThrottleLimits;
  /**
   * Reserved concurrency of each route's function. undefined = none (the default): a reservation
   * fails the deploy on an account whose concurrency limit cannot spare it (see ReservedConcurrency
   * below), so it is the operator's choice.
   */
  reservedConcurrency?: number;
  /** POWERTOOLS_SERVICE_NAME. Default "flatfile-space-configurator". */
  serviceName?: string;
  /** LOG_LEVEL for the functions. Default "INFO". */
  logLevel?: string;
  /** POWERTOOLS_METRICS_NAMESPACE: the CloudWatch namespace of the product's metrics. Default "FlatfileSpaceConfigurator". */
  metricsNamespace?: string;
  /**
   * The stage this stack is (infra/stages.ts). Its metrics get their own namespaces, so that two
   * stages in one account and region never count into each other's alarms. undefined = no stage.
   */
  stage?: string;
  /** Days every log group keeps events (a value CloudWatch Logs accepts). Default 30. */
  logRetentionDays?: number;
  /**
   * The customer managed key for the secret, table, bucket and log groups the stack makes:
   * "create" (the stack makes one), or an existing key's ARN. undefined = AWS managed keys.
   */
  kmsKey?: string;
  /** Serve the customer's listener (listener/index.ts) on POST /listener. Default false. */
  listenerRoute?: boolean;
  /** The listener leaves a job open after a temporary failure, for a redelivery (LISTENER_RETRY_TEMPORARY). */
  listenerRetryTemporary?: boolean;
  /** "listener": space:configure is the listener's, not space-configure's (with listenerRoute only). Default "ours". */
  spaceConfigureBy?: SpaceConfigureBy;
}

/** Function timeout and memory: see infra/route-function.ts. */
export { FUNCTION_MEMORY_MB, FUNCTION_TIMEOUT } from "./route-function";
/** API Gateway's integration timeout; the functions end well inside it. */
export const INTEGRATION_TIMEOUT = Duration.seconds(29);
/** The route throttle the stage applies unless told otherwise; sized in infra/throttle.ts. */
export const DEFAULT_THROTTLE = ROUTE_THROTTLE;

/** Namespace of the metrics the stack derives from the functions' logs (jobs swept). */
export const LOG_METRICS_NAMESPACE = DEFAULT_SERVICE_NAME;

/** The namespaces of a stage's metrics: the defaults, suffixed with the stage's name. */
export function metricNamespaces(stage?: string): { product: string; logs: string } {
  const suffix = stage ? `-${stage}` : "";
  return { product: `${DEFAULT_METRICS_NAMESPACE}${suffix}`, logs: `${LOG_METRICS_NAMESPACE}${suffix}` };
}
export const JOBS_SWEPT_METRIC = "JobsSwept";
export const RELAY_AGENT_MISMATCH_METRIC = "RelayAgentMismatches";
/** Deliveries the relay gave up on, and those of them our API refused for their signature, as the sweep reads them in the relay's logs. */
export const RELAY_GAVE_UP_METRIC = "RelayGaveUp";
export const RELAY_SIGNATURE_REFUSED_METRIC = "RelaySignatureRefused";

/** Route path of each function a deploy may serve (shared/routes.ts). */
export const ROUTE_PATHS: Readonly<Record<ServedRouteName, string>> = Object.fromEntries(
  servedRoutes({ listener: true }).map((route) => [route.name, route.path]),
) as Record<ServedRouteName, string>;

export class FlatfileStack extends Stack {
  /** `{"apiKey","signingSecret"}`; read by the three functions (and, later, the relay). */
  readonly secret: ISecret;
  /** The HTTP API's base URL, no trailing slash; each route is `${apiUrl}${path}`. */
  readonly apiUrl: string;
  /** The HTTP API itself. */
  readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  readonly stage: HttpStage;
  /** The Flatfile environment the functions accept ("" = any); the relay registers there. */
  readonly flatfileEnvironmentId: string;
  /** One function per route; the listener's only with the listenerRoute setting on. */
  readonly functions: Readonly<Record<FunctionName, RouteFunction> & Partial<Record<ServedRouteName, RouteFunction>>>;
  /** The relay's registration in Flatfile; only when an environment is given. */
  readonly relay?: RelayRegistration;
  readonly submissionsBucket: IBucket;
  /** Powertools Idempotency table (partition key `id`, TTL `expiration`), with the open-jobs index. */
  readonly idempotencyTable: Table;
  /** Carries on a duplicate or a submission that outlasts its delivery; invoked by action-job only (shared/core/hand-off.ts). */
  readonly actionJobWorker: RouteFunction;
  /** Fails the jobs left open past the bound, on a schedule (functions/job-sweep/sweep.ts). */
  readonly jobSweep: RouteFunction;
  readonly jobSweepSchedule: Rule;
  /** Encrypted topic every alarm notifies. */
  readonly alarmTopic: Topic;
  /** Every alarm, in the order created (the dashboard shows their state). */
  readonly alarms: Alarm[];
  /** The service's CloudWatch dashboard (infra/dashboard.ts). */
  readonly dashboard: Dashboard;
  /** The customer managed key of the secret, table, bucket and logs; only with the kmsKey setting. */
  readonly dataKey?: IKey;

  constructor(scope: Construct, id: string, props: FlatfileStackProps = {}) {
    super(scope, id, props);
    const environmentId = props.flatfileEnvironmentId?.trim() ?? "";
    const flatfileApiUrl = props.flatfileApiUrl?.trim() ?? "";
    const referenceDataUrl = props.referenceDataUrl?.trim() ?? "";
    const selfActorIds = (props.commitSelfActorIds ?? []).map((id) => id.trim()).filter(Boolean);
    const secretName = props.secretName?.trim() ?? "";
    const alarmEmail = props.alarmEmail?.trim() ?? "";
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    const namespaces = metricNamespaces(props.stage);
    const metricsNamespace = props.metricsNamespace ?? namespaces.product;
    this.flatfileEnvironmentId = environmentId;
    const logRetention = (props.logRetentionDays ?? DEFAULT_LOG_RETENTION_DAYS) as RetentionDays;

    // --- Encryption key -------------------------------------------------------------------
    // Only when the platform team asks for one: a key of their own (its ARN) or one the stack
    // makes, for what holds data (secret, table, submissions, logs). RETAIN: the retained
    // bucket and log groups stay readable after the stack is deleted. CloudWatch Logs encrypts
    // with it itself, so the key policy lets this region's Logs use it for this account's groups;
    // an existing key needs that statement from its owner (docs/stages.md).
    if (props.kmsKey === CREATE_KMS_KEY) {
      const key = new Key(this, "DataKey", {
        description: `Encrypts the Flatfile Space Configurator's secret, table, submissions and logs (${this.stackName})`,
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      key.addToResourcePolicy(
        new PolicyStatement({
          sid: "AllowCloudWatchLogsOfThisAccount",
          principals: [new ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
          actions: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
          resources: ["*"],
          conditions: {
            ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*` },
          },
        }),
      );
      this.dataKey = key;
    } else if (props.kmsKey) {
      this.dataKey = Key.fromKeyArn(this, "DataKey", props.kmsKey);
    }
    const dataKey = this.dataKey;

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
        encryptionKey: dataKey,
        removalPolicy: RemovalPolicy.DESTROY,
      });
    }

    // --- Idempotency table ----------------------------------------------------------------
    // Powertools Idempotency defaults: partition key `id` (string), TTL attribute `expiration`.
    // Removal: DESTROY. Records live 24 h (IDEMPOTENCY_TTL_SECONDS); losing them on stack
    // deletion at worst lets a redelivery within that day be processed again, and a retained
    // table would keep billing storage and PITR for nothing. DynamoDB still keeps a system
    // backup of a deleted PITR table (`<table>$DeletedTableBackup`, 35 days, free).
    this.idempotencyTable = new Table(this, "IdempotencyTable", {
      partitionKey: { name: "id", type: AttributeType.STRING },
      timeToLiveAttribute: "expiration",
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // By default the AWS managed key (aws/dynamodb): encrypted at rest with use logged in
      // CloudTrail, no key policy to maintain and no KMS grant needed by the functions. With the
      // kmsKey setting, that key (and grants on it, in RouteFunction.bindTable).
      ...(dataKey ? { encryption: TableEncryption.CUSTOMER_MANAGED, encryptionKey: dataKey } : { encryption: TableEncryption.AWS_MANAGED }),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The sweep's to-do list (shared/core/open-jobs.ts): only the open-job items carry the
    // partition attribute, so the index holds them alone, oldest first, and the sweep queries it
    // up to its cut-off instead of scanning a table that grows with traffic.
    this.idempotencyTable.addGlobalSecondaryIndex({
      indexName: OPEN_JOBS_INDEX,
      partitionKey: { name: OPEN_JOBS_PARTITION_ATTRIBUTE, type: AttributeType.STRING },
      sortKey: { name: OPEN_JOBS_SORT_ATTRIBUTE, type: AttributeType.NUMBER },
      projectionType: ProjectionType.ALL,
    });

    // --- Submissions ----------------------------------------------------------------------
    // Where Submit writes the records (one object per submission) and the bus that announces
    // it. A bucket the stack makes is private, encrypted, TLS-only and versioned, and keeps
    // replaced versions 30 days; it is retained when the stack is deleted (it holds customer data).
    this.submissionsBucket = props.submissionsBucket
      ? Bucket.fromBucketName(this, "SubmissionsBucket", props.submissionsBucket)
      : new Bucket(this, "SubmissionsBucket", {
          // Under the kmsKey setting's key with an S3 Bucket Key (one KMS call per object, not per part).
          ...(dataKey
            ? { encryption: BucketEncryption.KMS, encryptionKey: dataKey, bucketKeyEnabled: true }
            : { encryption: BucketEncryption.S3_MANAGED }),
          blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
          enforceSSL: true,
          versioned: true,
          lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30), abortIncompleteMultipartUploadAfter: Duration.days(7) }],
          removalPolicy: RemovalPolicy.RETAIN,
        });
    if (this.submissionsBucket instanceof Bucket) {
      Validations.of(this.submissionsBucket).acknowledge({
        id: "AwsSolutions-S1",
        reason:
          "Submissions are written only by the action-job function, whose calls CloudTrail records; server access logs would need a second bucket",
      });
    }
    const submissionsBus = props.submissionsEventBus
      ? EventBus.fromEventBusName(this, "SubmissionsBus", props.submissionsEventBus)
      : EventBus.fromEventBusName(this, "SubmissionsBus", "default");

    // --- Functions ------------------------------------------------------------------------
    // Shared settings (runtime, arm64, timeout, memory, tracing, log group, role) are in
    // RouteFunction; here only what differs per function.
    const functions = {} as Record<FunctionName, RouteFunction> & Partial<Record<ServedRouteName, RouteFunction>>;
    const served: ServedRouteName[] = servedRoutes({ listener: props.listenerRoute }).map((route) => route.name);
    // Every route claims by the same table (claimAsDeclared), so each is told which jobs are handed over.
    const handsOver = jobsHandedToListener({ listener: props.listenerRoute, spaceConfigureBy: props.spaceConfigureBy }).length > 0;
    // What every function that handles Flatfile events reads: the environment, the API, the
    // Spaces that are ours, and who runs space:configure (SPACE_CONFIGURE_BY_ENV in shared/core/route.ts).
    const eventEnvironment: Record<string, string> = {
      ...(environmentId ? { FLATFILE_ENVIRONMENT_ID: environmentId } : {}),
      ...(flatfileApiUrl ? { FLATFILE_API_URL: flatfileApiUrl } : {}),
      ...(props.ownedSpaces ? { OWNED_SPACES: props.ownedSpaces } : {}),
      ...(handsOver ? { SPACE_CONFIGURE_BY: "listener" } : {}),
    };
    const submissionEnvironment: Record<string, string> = {
      SUBMISSIONS_BUCKET: this.submissionsBucket.bucketName,
      ...(props.submissionsEventBus ? { SUBMISSIONS_EVENT_BUS: props.submissionsEventBus } : {}),
    };
    // Reserved concurrency, when the operator opts in: the function always has that many
    // environments, whatever else runs in the account, and never more, which also caps what a
    // flood can run. Lambda refuses a reservation that leaves the account under 100 unreserved,
    // so on a new account (limit 10) or a busy one the deploy would fail: hence opt-in.
    for (const name of served) {
      functions[name] = new RouteFunction(this, pascal(name), {
        name,
        reservedConcurrency: props.reservedConcurrency,
        description: `Answers Flatfile events on POST ${ROUTE_PATHS[name]}`,
        serviceName: props.serviceName,
        logLevel: props.logLevel,
        metricsNamespace,
        logRetention,
        logKey: dataKey,
        environment: {
          ...eventEnvironment,
          ...(referenceDataUrl ? { REFERENCE_DATA_URL: referenceDataUrl } : {}),
          // Read by commit-created (SELF_ACTOR_ENV in functions/commit-created/commit-created.ts) and
          // by the listener, which is not given our own commits (a record hook's write-back).
          ...((name === "commit-created" || name === "listener") && selfActorIds.length > 0
            ? { COMMIT_SELF_ACTOR_IDS: selfActorIds.join(",") }
            : {}),
          // Read by the listener only (functions/listener/listener.ts, RETRY_TEMPORARY_ENV).
          ...(name === "listener" && props.listenerRetryTemporary ? { LISTENER_RETRY_TEMPORARY: "true" } : {}),
          // Read by action-job only (and its worker): where Submit delivers (functions/action-job/submission.ts).
          ...(name === "action-job" ? submissionEnvironment : {}),
        },
      })
        // Only these functions may read the secret; the statement names its ARN. An imported
        // secret is passed exactly as the operator named it.
        .bindSecret(this.secret, secretName || this.secret.secretArn)
        .bindTable(this.idempotencyTable);
    }
    this.functions = functions;
    // What delivering a submission needs, for action-job and for the worker that carries a large one on.
    const grantSubmissions = (fn: RouteFunction) => {
      // Submit writes its objects (multipart included), reads its progress back to resume, and
      // looks objects up (ListBucket, so that a missing one answers 404, not 403); nothing else.
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
          resources: [this.submissionsBucket.arnForObjects("submissions/*")],
        }),
      );
      fn.addToRolePolicy(
        new PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [this.submissionsBucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": ["submissions/*"] } },
        }),
      );
      const objectsResource =
        this.submissionsBucket instanceof Bucket
          ? `<${this.getLogicalId(this.submissionsBucket.node.defaultChild as CfnElement)}.Arn>/submissions/*`
          : `arn:<AWS::Partition>:s3:::${props.submissionsBucket}/submissions/*`;
      Validations.of(fn.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${objectsResource}]`,
        reason: "One object per submission under submissions/, named by the job: the keys are not known when the stack is deployed.",
      });
      // A bucket under our key: a part's upload needs a data key, the multipart's completion and
      // the read-back decrypt. Through S3 only.
      if (dataKey && this.submissionsBucket instanceof Bucket) {
        fn.addToRolePolicy(
          new PolicyStatement({
            actions: ["kms:GenerateDataKey", "kms:Decrypt"],
            resources: [dataKey.keyArn],
            conditions: { StringEquals: { "kms:ViaService": `s3.${this.region}.amazonaws.com` } },
          }),
        );
      }
      submissionsBus.grantPutEventsTo(fn);
    };
    grantSubmissions(functions["action-job"]);

    // --- Action-job worker ----------------------------------------------------------------
    // A duplicate whose copy Flatfile has not made within its delivery, or a submission too large
    // to write in one, is handed to this function by an asynchronous invoke (shared/core/hand-off.ts).
    // No route serves it, so its timeout is minutes, not the API's 29 s. It runs them as action-job
    // would: the same settings, secret, table items and submission grants.
    this.actionJobWorker = new RouteFunction(this, "ActionJobWorker", {
      name: "action-job-worker",
      description: "Carries on a Flatfile duplicate or submit job that outlasted its delivery (invoked by action-job)",
      timeout: Duration.millis(WORKER_TIMING.timeoutMs),
      serviceName: props.serviceName,
      logLevel: props.logLevel,
      metricsNamespace,
      logRetention,
      logKey: dataKey,
      environment: { ...eventEnvironment, ...submissionEnvironment },
    })
      .bindSecret(this.secret, secretName || this.secret.secretArn)
      .bindTable(this.idempotencyTable);
    grantSubmissions(this.actionJobWorker);
    // Lambda retries a failed asynchronous invocation; the worker is idempotent (a retry finds the
    // copy or the ended job and resumes from there), so two retries may finish a job a crash left.
    // After an hour the job is long failed by our sweep or Flatfile's timer: no use running it then.
    this.actionJobWorker.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(1) });
    // Only action-job starts it, and only the function itself (not grantInvoke's "<arn>:*", every
    // version and alias: none is published). No resource policy: nothing else may invoke it.
    functions["action-job"].addEnvironment(ACTION_JOB_WORKER_ENV, this.actionJobWorker.functionName);
    functions["action-job"].addToRolePolicy(
      new PolicyStatement({ actions: ["lambda:InvokeFunction"], resources: [this.actionJobWorker.functionArn] }),
    );

    // --- HTTP API -------------------------------------------------------------------------
    // No default route (anything else gets API Gateway's 404), no CORS (server-to-server).
    this.api = new HttpApi(this, "HttpApi", {
      description: "Flatfile event routes (signed by the relay, verified in each function)",
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, "ApiAccessLogs", {
      retention: logRetention,
      encryptionKey: dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.stage = new HttpStage(this, "DefaultStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      // Applies to each route. Caps a runaway sender and what a flood of forged requests costs
      // (each is a Lambda invocation before the signature fails); sized in infra/throttle.ts.
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
    const routeSettings: Record<string, Record<string, unknown>> = {};
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    for (const name of served) {
      const [route] = this.api.addRoutes({
        path: ROUTE_PATHS[name],
        methods: [HttpMethod.POST],
        integration: new HttpLambdaIntegration(`${pascal(name)}Integration`, functions[name]!, {
          payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
          timeout: INTEGRATION_TIMEOUT,
        }),
      });
      // Each route's own bucket, stated: a flood on one route leaves the others' tokens alone
      // (as the local gateway models it), whatever the stage default's scope. The stage must
      // be updated after its routes exist, or CloudFormation cannot find the route keys.
      routeSettings[`POST ${ROUTE_PATHS[name]}`] = {
        ...stageDefaults(cfnStage),
        ThrottlingRateLimit: throttle.rateLimit,
        ThrottlingBurstLimit: throttle.burstLimit,
      };
      this.stage.node.addDependency(route!);
    }
    cfnStage.routeSettings = routeSettings;
    this.apiUrl = this.api.apiEndpoint;

    // --- Job sweep ------------------------------------------------------------------------
    // The last line behind "an acknowledged job ends complete or failed": every minute it fails
    // the jobs our routes acknowledged and left executing past OPEN_JOB_BOUND_MS (3 min after the
    // last ack), before Flatfile's own 5-minute timer; the numbers are explained beside the bound.
    // Least privilege: the secret, a Query on the open-jobs index, and DeleteItem on the open-job
    // items only (their key prefix).
    this.jobSweep = new RouteFunction(this, "JobSweep", {
      name: "job-sweep",
      description: `Fails the Flatfile jobs left open more than ${OPEN_JOB_BOUND_MS / 60_000} minutes after their last ack (every ${OPEN_JOB_SWEEP_INTERVAL_MS === 60_000 ? "minute" : `${OPEN_JOB_SWEEP_INTERVAL_MS / 60_000} minutes`})`,
      serviceName: props.serviceName,
      logLevel: props.logLevel,
      // It counts jobs ended by others into the routes' namespace (the JobsEndedByOthers alarm).
      metricsNamespace,
      logRetention,
      logKey: dataKey,
      // The same Flatfile region as the routes: the jobs it fails live there.
      environment: { IDEMPOTENCY_TABLE: this.idempotencyTable.tableName, ...(flatfileApiUrl ? { FLATFILE_API_URL: flatfileApiUrl } : {}) },
    }).bindSecret(this.secret, secretName || this.secret.secretArn);
    this.jobSweep.addToRolePolicy(
      new PolicyStatement({ actions: ["dynamodb:Query"], resources: [`${this.idempotencyTable.tableArn}/index/${OPEN_JOBS_INDEX}`] }),
    );
    this.jobSweep.addToRolePolicy(
      new PolicyStatement({
        actions: ["dynamodb:DeleteItem"],
        resources: [this.idempotencyTable.tableArn],
        conditions: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${OPEN_JOB_KEY_PREFIX}*`] } },
      }),
    );
    grantTableKey(this.jobSweep, this.idempotencyTable);
    this.jobSweepSchedule = new Rule(this, "JobSweepSchedule", {
      description: "Runs the job sweep",
      schedule: Schedule.rate(Duration.minutes(OPEN_JOB_SWEEP_INTERVAL_MS / 60_000)),
      targets: [new LambdaTarget(this.jobSweep)],
    });
    // Each job the sweep fails is one log line; the metric counts them for the alarm below.
    const jobsSwept = new MetricFilter(this, "JobsSweptFilter", {
      logGroup: this.jobSweep.logGroup,
      metricNamespace: namespaces.logs,
      metricName: JOBS_SWEPT_METRIC,
      filterPattern: FilterPattern.stringValue("$.message", "=", SWEPT_LOG_MESSAGE),
      metricValue: "1",
    });

    // --- Relay ----------------------------------------------------------------------------
    // Flatfile has no signed webhook: the relay agent (infra/relay) forwards our events, signed.
    // It is registered in one environment, so it needs one; without it the README's
    // `npm run relay:deploy` registers it later.
    if (environmentId) {
      this.relay = new RelayRegistration(this, "Relay", {
        secret: this.secret,
        apiUrl: this.apiUrl,
        environmentId,
        ...(flatfileApiUrl ? { flatfileApiUrl } : {}),
        logRetention,
        logKey: dataKey,
        listenerRoute: props.listenerRoute,
        ...(handsOver ? { spaceConfigureBy: "listener" as const } : {}),
        ownedSpaces: props.ownedSpaces,
      });
    }

    // --- Alarms ---------------------------------------------------------------------------
    // Into one encrypted topic (infra/alarms.ts).
    const alarms = new ServiceAlarms(this, { alarmEmail, stage: props.stage });
    for (const name of served) alarms.watchFunction(pascal(name), name, functions[name]!);
    alarms.watchFunction("JobSweep", "job-sweep", this.jobSweep);
    alarms.watchFunction("ActionJobWorker", "action-job-worker", this.actionJobWorker);
    alarms.add(
      "JobsSwept",
      jobsSwept.metric(ALARM_PERIOD),
      `The sweep failed jobs left open for ${OPEN_JOB_BOUND_MS / 60_000} minutes: a delivery died or the relay could not fail them; read the job-sweep logs for their ids (5 min)`,
    );
    // The sweep's schedule also checks that the relay agent is still ours (a `flatfile deploy`
    // without --slug replaces it): functions/job-sweep/relay-agent-check.ts logs each mismatch.
    if (this.relay && environmentId) {
      this.jobSweep.addEnvironment("RELAY_ENVIRONMENT_ID", environmentId);
      this.jobSweep.addEnvironment("RELAY_AGENT_SHA256", this.relay.agentSha256);
      const mismatches = new MetricFilter(this, "RelayAgentCheckFilter", {
        logGroup: this.jobSweep.logGroup,
        metricNamespace: namespaces.logs,
        metricName: RELAY_AGENT_MISMATCH_METRIC,
        filterPattern: FilterPattern.stringValue("$.message", "=", RELAY_AGENT_CHECK_FAILED),
        metricValue: "1",
      });
      alarms.add(
        "RelayAgentMissing",
        mismatches.metric(ALARM_PERIOD),
        `The Flatfile environment ${environmentId} no longer has the relay agent this stack deployed (slug ${RELAY_AGENT_SLUG}): events are not reaching AWS. See the README's runbook "The relay agent is missing or replaced" (5 min)`,
      );
      // A give-up is seen only by the relay, inside Flatfile: the sweep reads the agent's logs
      // (functions/job-sweep/relay-agent-check.ts) and logs one line per window with the counts.
      const giveUpMetric = (id: string, metricName: string, field: string) =>
        new MetricFilter(this, id, {
          logGroup: this.jobSweep.logGroup,
          metricNamespace: namespaces.logs,
          metricName,
          filterPattern: FilterPattern.stringValue("$.message", "=", RELAY_GAVE_UP_SEEN),
          metricValue: `$.${field}`,
        }).metric(ALARM_PERIOD);
      alarms.add(
        "RelayGaveUp",
        giveUpMetric("RelayGaveUpFilter", RELAY_GAVE_UP_METRIC, "gaveUp"),
        "The relay gave up on a delivery: an event did not reach AWS within the relay's retries (its job, if any, was failed with the relay's message). See the README's runbook (5 min)",
      );
      alarms.add(
        "RelaySignatureMismatch",
        giveUpMetric("RelaySignatureRefusedFilter", RELAY_SIGNATURE_REFUSED_METRIC, "signatureRefused"),
        "The API refused the relay's own signature: the relay and the functions hold different signing secrets, and every delivery fails until they match. See the README's runbook (5 min)",
      );
    }
    // The product's own metrics (shared/core/observability.ts), route by route.
    const productMetrics = new ProductMetrics({
      namespace: metricsNamespace,
      serviceName: props.serviceName ?? DEFAULT_SERVICE_NAME,
      routes: served,
    });
    alarms.watchApi(this.api, productMetrics);
    alarms.watchProduct(productMetrics);
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.alarms;

    // --- Dashboard ------------------------------------------------------------------------
    this.dashboard = new ServiceDashboard(this, "Dashboard", {
      metrics: productMetrics,
      // The sweep and the worker beside the routes: their errors, duration and ERROR lines.
      functions: { ...functions, "job-sweep": this.jobSweep, "action-job-worker": this.actionJobWorker },
      api: this.api,
      table: this.idempotencyTable,
      alarms: this.alarms,
      logGroups: [...served.map((name) => functions[name]!.logGroup), this.jobSweep.logGroup, this.actionJobWorker.logGroup],
    }).dashboard;

    // --- Outputs --------------------------------------------------------------------------
    new CfnOutput(this, "ApiUrl", { value: this.apiUrl, description: "HTTP API base URL (RELAY_BASE_URL)" });
    for (const name of served) {
      new CfnOutput(this, `${pascal(name)}Url`, { value: `${this.apiUrl}${ROUTE_PATHS[name]}`, description: `POST ${ROUTE_PATHS[name]}` });
    }
    new CfnOutput(this, "SecretName", { value: this.secret.secretName, description: 'Secrets Manager secret {"apiKey","signingSecret"}' });
    new CfnOutput(this, "SecretArn", { value: this.secret.secretArn });
    new CfnOutput(this, "IdempotencyTableName", { value: this.idempotencyTable.tableName });
    new CfnOutput(this, "AlarmTopicArn", { value: this.alarmTopic.topicArn });
    if (dataKey) new CfnOutput(this, "DataKeyArn", { value: dataKey.keyArn, description: "KMS key of the secret, table, bucket and logs" });
    new CfnOutput(this, "DashboardUrl", {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.dashboard.dashboardName}`,
      description: "The service's CloudWatch dashboard",
    });
    if (this.relay) {
      new CfnOutput(this, "RelayStatus", {
        value: this.relay.status,
        description: "REGISTERED, or SKIPPED until the secret holds an apiKey",
      });
      new CfnOutput(this, "RelayInstructions", {
        value: this.relay.instructions,
        description: "When skipped: how to finish registering the relay",
      });
    }

    this.acknowledgeNagFindings(secretName === "");
  }

  /** cdk-nag (AwsSolutions) findings this stack knowingly carries, each with its reason. */
  private acknowledgeNagFindings(ownsSecret: boolean): void {
    // Each RouteFunction acknowledges its own role's finding (X-Ray needs Resource "*").
    for (const route of this.api.node.findAll().filter((c): c is CfnRoute => c instanceof CfnRoute)) {
      Validations.of(route).acknowledge({
        id: "AwsSolutions-APIG4",
        reason:
          "No API Gateway authorizer by design: Flatfile's relay cannot carry IAM/JWT credentials; every request is authenticated in the function by its HMAC-SHA256 x-flatfile-signature over timestamp and body (300 s window), unsigned requests get 401.",
      });
    }
    if (ownsSecret) {
      Validations.of(this.secret).acknowledge({
        id: "AwsSolutions-SMG4",
        reason:
          "Not rotatable by a Lambda: apiKey is issued by Flatfile and pasted in by the operator, and signingSecret must change together with the relay's copy in Flatfile (rotate by updating the secret and running npm run relay:deploy, see infra/relay/README.md).",
      });
    }
  }
}

/**
 * The stage's default route settings (detailed metrics, logging...), which a route's own settings
 * would otherwise replace, in CloudFormation's spelling: RouteSettings is untyped JSON, which the
 * L1 passes through as given (DefaultRouteSettings is typed and converted).
 */
function stageDefaults(stage: CfnStage): Record<string, unknown> {
  const defaults = stage.defaultRouteSettings;
  if (!defaults || Tokenization.isResolvable(defaults)) return {};
  return Object.fromEntries(Object.entries(defaults).map(([key, value]) => [key.charAt(0).toUpperCase() + key.slice(1), value]));
}

function pascal(name: string): string {
  return name
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
