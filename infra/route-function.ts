/**
 * `RouteFunction`: one of the product's Lambda functions, with what they share set once. Its log
 * group and role stay on the stack scope so deployed stacks keep their logical ids
 * (docs/design.md#route-functions).
 *
 *   const fn = new RouteFunction(this, "SpaceConfigure", { name: "space-configure", description, environment });
 *   fn.bindSecret(secret);        // FLATFILE_SECRET_ID + read grant
 *   fn.bindTable(table);          // IDEMPOTENCY_TABLE + the four item calls
 */
import { join } from "node:path";
import { AssetHashType, Duration, RemovalPolicy, Stack, Validations } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { PolicyStatement, Role, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Architecture, Code, Function as LambdaFunction, Tracing } from "aws-cdk-lib/aws-lambda";
import { LogGroup, RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { DEFAULT_METRICS_NAMESPACE } from "../shared/core/observability";
import { buildFunctionSync, LAMBDA_HANDLER, REPO_ROOT, type BundledFunctionName } from "./bundling";
import { LAMBDA_RUNTIME } from "./runtime";

// Timeout 25 s: API Gateway cuts the integration at 29 s (INTEGRATION_TIMEOUT in stack.ts), and
// the route pipeline (shared/core/route.ts) budgets 24 s of work and keeps a reserve to finish
// the Flatfile job. 25 s lets the function always answer before the gateway gives up, so the
// sender sees our status code, not a gateway 503/504.
export const FUNCTION_TIMEOUT = Duration.seconds(25);
// Memory 1024 MB: Lambda allocates CPU in proportion to memory; cold start parses the minified
// bundle (AWS SDK v3 + @flatfile/api), which is CPU-bound, and the Flatfile calls serialize
// sizeable workbooks. At 1024 MB that runs on ~0.6 vCPU; the extra cost on arm64 is small
// against the latency a person waiting on a Space sees.
export const FUNCTION_MEMORY_MB = 1024;

export const DEFAULT_SERVICE_NAME = "flatfile-space-configurator";

export interface RouteFunctionProps {
  /** `functions/<name>/handler.ts` is bundled as the code. */
  name: BundledFunctionName;
  description: string;
  /** Settings beyond the shared ones (FLATFILE_ENVIRONMENT_ID, REFERENCE_DATA_URL...). */
  environment?: Record<string, string>;
  /** POWERTOOLS_SERVICE_NAME. Default DEFAULT_SERVICE_NAME. */
  serviceName?: string;
  /** LOG_LEVEL. Default "INFO". */
  logLevel?: string;
  /** Reserved concurrent executions; undefined = none (the stack makes it opt-in). */
  reservedConcurrency?: number;
  /** POWERTOOLS_METRICS_NAMESPACE. Default DEFAULT_METRICS_NAMESPACE. */
  metricsNamespace?: string;
  /** How long the log group keeps events. Default a month. */
  logRetention?: RetentionDays;
  /** The customer managed key that encrypts the log group. Default none (CloudWatch Logs' own). */
  logKey?: IKey;
  /** Default FUNCTION_TIMEOUT, which a function behind the API needs; one no route serves may take longer. */
  timeout?: Duration;
}

export class RouteFunction extends LambdaFunction {
  constructor(scope: Construct, id: string, props: RouteFunctionProps) {
    // Logs: an explicit group per function; by default a month is enough to investigate a
    // delivery and keeps cost bounded. RETAIN: a deleted stack's last month stays readable (the
    // retention still empties the group).
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Own role per function instead of AWSLambdaBasicExecutionRole: it may write to its own log
    // group only (no managed policy, no logs:* on every group).
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal("lambda.amazonaws.com"),
      description: `Execution role of the ${props.name} function`,
    });
    logGroup.grantWrite(role);

    super(scope, `${id}Function`, {
      description: props.description,
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      handler: LAMBDA_HANDLER,
      code: bundledCode(props.name),
      timeout: props.timeout ?? FUNCTION_TIMEOUT,
      memorySize: FUNCTION_MEMORY_MB,
      reservedConcurrentExecutions: props.reservedConcurrency,
      role,
      logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName ?? DEFAULT_SERVICE_NAME,
        LOG_LEVEL: props.logLevel ?? "INFO",
        NODE_OPTIONS: "--enable-source-maps",
        // Metrics as EMF lines in the function's own log group (shared/core/observability.ts).
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? DEFAULT_METRICS_NAMESPACE,
        // No responses or errors as X-Ray metadata: metadata is not redacted like the logs are.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        POWERTOOLS_TRACER_CAPTURE_ERROR: "false",
        ...props.environment,
      },
      // X-Ray: a segment per invocation shows cold start vs. Flatfile time. Cheap: sampled
      // (1 request/s + 5%), and the first 100k traces a month are free.
      tracing: Tracing.ACTIVE,
    });

    // On the role: its DefaultPolicy is a child of the role, not of the function.
    Validations.of(role).acknowledge({
      id: "AwsSolutions-IAM5[Resource::*]",
      reason:
        "X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so AWS requires Resource '*'. Every other statement of this role names its resource.",
    });
  }

  /**
   * The Flatfile secret `{"apiKey","signingSecret"}`: FLATFILE_SECRET_ID and read on that secret
   * only. `secretId` as the operator named an imported secret (a name imported with
   * fromSecretNameV2 has only a partial ARN); default the secret's full ARN.
   */
  bindSecret(secret: ISecret, secretId: string = secret.secretArn): this {
    this.addEnvironment("FLATFILE_SECRET_ID", secretId);
    secret.grantRead(this);
    grantSecretKey(this, secret);
    return this;
  }

  /**
   * The idempotency/lease table: IDEMPOTENCY_TABLE and exactly the item calls Powertools' DynamoDB
   * persistence layer, the lease and the open-job record make, on the table itself only (not
   * on its indexes, as `table.grant` would add).
   */
  bindTable(table: ITable): this {
    this.addEnvironment("IDEMPOTENCY_TABLE", table.tableName);
    this.addToRolePolicy(
      new PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        resources: [table.tableArn],
      }),
    );
    grantTableKey(this, table);
    return this;
  }
}

/**
 * A secret under a customer managed key: decrypt, through Secrets Manager only. `grantRead` puts
 * that in the policy of a key the stack makes, but adds nothing for an existing key (its policy
 * is not ours, and an environment-agnostic stack cannot tell it is the same account), so the
 * role's own policy says it, for both.
 */
export function grantSecretKey(fn: LambdaFunction, secret: ISecret): void {
  if (!secret.encryptionKey) return;
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ["kms:Decrypt"],
      resources: [secret.encryptionKey.keyArn],
      conditions: { StringEquals: { "kms:ViaService": `secretsmanager.${Stack.of(fn).region}.amazonaws.com` } },
    }),
  );
}

/**
 * A table under a customer managed key: DynamoDB uses the key on the caller's behalf, so the
 * caller needs these on the key, and only through DynamoDB (kms:ViaService). Named actions, no
 * wildcard: reads decrypt, writes encrypt under a data key.
 */
export function grantTableKey(fn: LambdaFunction, table: ITable): void {
  if (!table.encryptionKey) return;
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
      resources: [table.encryptionKey.keyArn],
      conditions: { StringEquals: { "kms:ViaService": `dynamodb.${Stack.of(fn).region}.amazonaws.com` } },
    }),
  );
}

/**
 * The function's asset: the shared esbuild build (bundling.ts) run locally at synth. The image
 * is never pulled: local bundling always succeeds or throws. Hash = hash of the bundle.
 */
function bundledCode(name: BundledFunctionName): Code {
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
