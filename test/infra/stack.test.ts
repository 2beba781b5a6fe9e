/**
 * FlatfileStack assertions, synthesized through the real app (infra/app.ts) without bundling:
 * functions, routes, grants, table, throttling, alarms, outputs, and cdk-nag (AwsSolutions) clean.
 * The full synth with bundling, through the real CLI, is in synth.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack, Validations } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { Topic } from "aws-cdk-lib/aws-sns";
import { AwsSolutionsChecks } from "cdk-nag";
import { afterAll, describe, expect, it } from "vitest";
import { FUNCTION_NAMES } from "../../infra/bundling";
import {
  FUNCTION_MEMORY_MB,
  JOBS_SWEPT_METRIC,
  LOG_METRICS_NAMESPACE,
  RELAY_AGENT_MISMATCH_METRIC,
  RELAY_GAVE_UP_METRIC,
  RELAY_SIGNATURE_REFUSED_METRIC,
  ROUTE_PATHS,
} from "../../infra/stack";
import { RELAY_AGENT_CHECK_FAILED, RELAY_GAVE_UP_SEEN } from "../../shared/core/relay-agent";
import { API_5XX_PERIODS, JOBS_FAILING_THRESHOLD, SIGNATURE_REJECTIONS_THRESHOLD } from "../../infra/alarms";
import { DEFAULT_METRICS_NAMESPACE, METRIC } from "../../shared/core/observability";
import { ROUTE_THROTTLE } from "../../infra/throttle";
import { OPEN_JOB_BOUND_MS, OPEN_JOBS_INDEX, SWEPT_LOG_MESSAGE } from "../../shared/core/open-jobs";
import { actionsOf, cleanup, hasWildcard, iamStatements, synthWithoutBundling, tempDir, violationsOf } from "./support";

afterAll(cleanup);

describe("FlatfileStack (default context)", () => {
  const { stack, template, violations, synthError } = synthWithoutBundling();
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const secretId = logicalId(stack.secret as never);
  const tableId = logicalId(stack.idempotencyTable);
  const functionIds = Object.fromEntries(FUNCTION_NAMES.map((name) => [name, logicalId(stack.functions[name])]));
  const roleIds = FUNCTION_NAMES.map((name) => logicalId(stack.functions[name].role as never));
  const sweepId = logicalId(stack.jobSweep);
  const sweepRoleId = logicalId(stack.jobSweep.role as never);
  const workerId = logicalId(stack.actionJobWorker);
  const workerRoleId = logicalId(stack.actionJobWorker.role as never);

  it("passes cdk-nag AwsSolutions with no unacknowledged error or warning", () => {
    expect(violations.map((v) => `${v.severity} ${v.ruleName} @ ${v.violatingConstructs.map((c) => c.constructPath).join(", ")}`)).toEqual(
      [],
    );
    expect(synthError).toBeUndefined();
  });

  it("keeps the logical id of every resource it had (a renamed id would replace the resource on deploy)", () => {
    const types = Object.fromEntries(
      Object.entries(template.toJSON().Resources as Record<string, { Type: string }>).map(([id, r]) => [id, r.Type]),
    );
    expect(types).toMatchObject(PINNED_LOGICAL_IDS);
  });

  it("has three route functions and the job sweep on nodejs24.x, arm64, 25 s, source maps on, within the integration timeout", () => {
    // And the action-job worker, alike but for its timeout (test/infra/action-job-worker.test.ts).
    template.resourceCountIs("AWS::Lambda::Function", 5);
    const { [workerId]: _worker, ...others } = template.findResources("AWS::Lambda::Function");
    expect(Object.keys(others)).toHaveLength(4);
    for (const fn of Object.values(others)) {
      // Reserved concurrency is opt-in (context reservedConcurrency): it fails deploys on small accounts.
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        Timeout: 25,
        MemorySize: FUNCTION_MEMORY_MB,
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      const env = fn.Properties.Environment.Variables;
      expect(env).toMatchObject({
        FLATFILE_SECRET_ID: { Ref: secretId },
        IDEMPOTENCY_TABLE: { Ref: tableId },
        POWERTOOLS_SERVICE_NAME: "flatfile-space-configurator",
        LOG_LEVEL: "INFO",
        NODE_OPTIONS: "--enable-source-maps",
        POWERTOOLS_METRICS_NAMESPACE: "FlatfileSpaceConfigurator",
        // X-Ray metadata would skip the log redaction.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE: "false",
        POWERTOOLS_TRACER_CAPTURE_ERROR: "false",
      });
      // Empty context values are not passed as empty variables.
      expect(env).not.toHaveProperty("FLATFILE_ENVIRONMENT_ID");
      expect(env).not.toHaveProperty("FLATFILE_API_URL");
      expect(env).not.toHaveProperty("REFERENCE_DATA_URL");
      expect(env).not.toHaveProperty("COMMIT_SELF_ACTOR_IDS");
      expect(fn.Properties.Timeout).toBeLessThan(29);
    }
    template.allResourcesProperties("AWS::ApiGatewayV2::Integration", { TimeoutInMillis: 29_000 });
  });

  it("gives every function its own log group with retention", () => {
    for (const id of [...Object.values(functionIds), sweepId]) {
      const fn = template.findResources("AWS::Lambda::Function")[id!]!;
      const groupId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(template.findResources("AWS::Logs::LogGroup")[groupId]!.Properties.RetentionInDays).toBe(30);
    }
  });

  it("integrates each POST route with its own function, payload 2.0, and has no default route", () => {
    const routes = template.findResources("AWS::ApiGatewayV2::Route");
    const integrations = template.findResources("AWS::ApiGatewayV2::Integration");
    expect(Object.keys(routes)).toHaveLength(3);
    const routeToFunction = Object.fromEntries(
      Object.values(routes).map((route) => {
        const target = route.Properties.Target["Fn::Join"][1] as unknown[];
        const integrationId = (target[1] as { Ref: string }).Ref;
        const integration = integrations[integrationId]!.Properties;
        expect(integration).toMatchObject({ IntegrationType: "AWS_PROXY", PayloadFormatVersion: "2.0" });
        return [route.Properties.RouteKey as string, integration.IntegrationUri["Fn::GetAtt"][0] as string];
      }),
    );
    expect(routeToFunction).toEqual(Object.fromEntries(FUNCTION_NAMES.map((name) => [`POST ${ROUTE_PATHS[name]}`, functionIds[name]])));
    expect(Object.keys(routeToFunction)).not.toContain("$default");
    // API Gateway may invoke each function for its own route only.
    for (const name of FUNCTION_NAMES) {
      template.hasResourceProperties("AWS::Lambda::Permission", {
        Action: "lambda:InvokeFunction",
        Principal: "apigateway.amazonaws.com",
        FunctionName: { "Fn::GetAtt": [functionIds[name], "Arn"] },
        SourceArn: { "Fn::Join": ["", Match.arrayWith([`/*/*${ROUTE_PATHS[name]}`])] },
      });
    }
  });

  it("throttles the $default stage and writes JSON access logs to a log group", () => {
    template.resourceCountIs("AWS::ApiGatewayV2::Stage", 1);
    const stage = Object.values(template.findResources("AWS::ApiGatewayV2::Stage"))[0]!.Properties;
    expect(stage.StageName).toBe("$default");
    expect(stage.AutoDeploy).toBe(true);
    // The limits the local gateway applies too (one constant, infra/throttle.ts).
    expect(stage.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: ROUTE_THROTTLE.rateLimit,
      ThrottlingBurstLimit: ROUTE_THROTTLE.burstLimit,
    });
    // Each route's own bucket, stated per route key, with the stage's other defaults kept; the
    // stage waits for the routes (CloudFormation cannot apply settings to a route key not there yet).
    const routeIds = Object.keys(template.findResources("AWS::ApiGatewayV2::Route"));
    const [stageId, stageResource] = Object.entries(template.findResources("AWS::ApiGatewayV2::Stage"))[0]!;
    expect(stageId).toBeDefined();
    expect(stageResource.DependsOn).toEqual(expect.arrayContaining(routeIds));
    expect(Object.keys(stage.RouteSettings).sort()).toEqual(FUNCTION_NAMES.map((name) => `POST ${ROUTE_PATHS[name]}`).sort());
    for (const settings of Object.values(stage.RouteSettings)) {
      expect(settings).toEqual({
        ...stage.DefaultRouteSettings,
        ThrottlingRateLimit: ROUTE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: ROUTE_THROTTLE.burstLimit,
      });
    }
    const destination = stage.AccessLogSettings.DestinationArn["Fn::GetAtt"] as [string, string];
    expect(template.findResources("AWS::Logs::LogGroup")[destination[0]]).toBeDefined();
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toMatchObject({ requestId: "$context.requestId", status: "$context.status", routeKey: "$context.routeKey" });
    expect(stage.AccessLogSettings.Format).not.toMatch(/header|signature/i);
  });

  it("creates the secret with a generated signingSecret and a placeholder apiKey", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 1);
    template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { SecretStringTemplate: '{"apiKey":"REPLACE_ME"}', GenerateStringKey: "signingSecret" },
    });
  });

  it("grants secret read to the three function roles, the sweep's and the worker's only, scoped to the secret's ARN", () => {
    const statements = iamStatements(template);
    const secretStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith("secretsmanager:")));
    expect(secretStatements).toHaveLength(5);
    for (const s of secretStatements) {
      expect(s.Resource).toEqual({ Ref: secretId });
      expect(actionsOf(s)).toContain("secretsmanager:GetSecretValue");
    }
    expect(secretStatements.map((s) => s.roles)).toEqual(
      expect.arrayContaining([...roleIds, sweepRoleId, workerRoleId].map((id) => [{ Ref: id }])),
    );
  });

  it("has no '*' resource on any secretsmanager or dynamodb statement, and no wildcard action anywhere", () => {
    for (const s of iamStatements(template)) {
      const services = new Set(actionsOf(s).map((a) => a.split(":")[0]));
      if (services.has("secretsmanager") || services.has("dynamodb")) expect(hasWildcard(s.Resource), JSON.stringify(s)).toBe(false);
      expect(actionsOf(s).filter((a) => a.includes("*"))).toEqual([]);
    }
    // The only "*" resource is X-Ray's (no resource-level permissions), as acknowledged.
    const starActions = iamStatements(template)
      .filter((s) => hasWildcard(s.Resource))
      .flatMap(actionsOf);
    expect(new Set(starActions)).toEqual(new Set(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]));
  });

  it("has the idempotency table: key id (S), TTL expiration, on-demand, PITR, encrypted, and the sparse open-jobs index", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 1);
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [
        { AttributeName: "id", AttributeType: "S" },
        { AttributeName: "openJobs", AttributeType: "S" },
        { AttributeName: "ackedAt", AttributeType: "N" },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: OPEN_JOBS_INDEX,
          KeySchema: [
            { AttributeName: "openJobs", KeyType: "HASH" },
            { AttributeName: "ackedAt", KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        },
      ],
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
      BillingMode: "PAY_PER_REQUEST",
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it("keeps only log groups and the submissions bucket when destroyed: the functions' and the API's logs and the submitted data are retained, the table (PITR on) and the secret are deleted", () => {
    // The README's "npm run destroy" paragraph states exactly this.
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; DeletionPolicy?: string; UpdateReplacePolicy?: string }
    >;
    const retained = Object.entries(resources).filter(([, r]) => r.DeletionPolicy === "Retain");
    expect(retained.length).toBeGreaterThan(0);
    for (const [id, r] of retained) {
      if (id.startsWith("SubmissionsBucket")) expect(r.Type, id).toBe("AWS::S3::Bucket");
      else expect(r.Type, id).toBe("AWS::Logs::LogGroup");
    }
    const retainedIds = retained.map(([id]) => id);
    for (const name of FUNCTION_NAMES) {
      const fn = resources[functionIds[name]!] as unknown as { Properties: { LoggingConfig: { LogGroup: { Ref: string } } } };
      expect(retainedIds).toContain(fn.Properties.LoggingConfig.LogGroup.Ref);
    }
    expect(retainedIds).toContainEqual(expect.stringMatching(/^ApiAccessLogs/));
    expect(resources[tableId]).toMatchObject({ DeletionPolicy: "Delete" });
    expect(resources[secretId]).toMatchObject({ DeletionPolicy: "Delete" });
  });

  it("grants each route function and the worker read/write on that table only", () => {
    const tableStatements = iamStatements(template).filter(
      (s) => actionsOf(s).some((a) => a.startsWith("dynamodb:")) && !JSON.stringify(s.roles).includes(sweepRoleId),
    );
    expect(tableStatements).toHaveLength(4);
    for (const s of tableStatements) {
      expect(actionsOf(s)).toEqual(
        expect.arrayContaining(["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]),
      );
      expect([s.Resource].flat()).toEqual([{ "Fn::GetAtt": [tableId, "Arn"] }]);
    }
  });

  it("alarms on Errors and Throttles of each function and on the API's 5xx, into an encrypted SSL-only topic", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const topicId = logicalId(stack.alarmTopic);
    for (const name of FUNCTION_NAMES) {
      for (const metric of ["Errors", "Throttles"]) {
        const match = alarms.filter(
          (a) => a.Namespace === "AWS/Lambda" && a.MetricName === metric && a.Dimensions?.[0]?.Value?.Ref === functionIds[name],
        );
        expect(match, `${name} ${metric}`).toHaveLength(1);
        expect(match[0]!.AlarmActions).toEqual([{ Ref: topicId }]);
      }
    }
    // Api5xx: the gateway's 5xx less the answers given before a signature could be checked
    // (a stranger cannot trip it), which have their own alarm.
    type Query = { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string } } };
    const api5xx = alarms.filter((a) =>
      (a.Metrics as Query[] | undefined)?.some(
        (m) => m.MetricStat?.Metric.Namespace === "AWS/ApiGateway" && m.MetricStat.Metric.MetricName === "5xx",
      ),
    );
    expect(api5xx).toHaveLength(1);
    expect(api5xx[0]!.AlarmActions).toEqual([{ Ref: topicId }]);
    // Not on a blip: every one of API_5XX_PERIODS periods in a row.
    expect(api5xx[0]).toMatchObject({ EvaluationPeriods: API_5XX_PERIODS, DatapointsToAlarm: API_5XX_PERIODS, Threshold: 1 });
    const queries = api5xx[0]!.Metrics as Query[];
    const top = queries.find((q) => (q as { ReturnData?: boolean }).ReturnData !== false)!;
    // Less the designed 503 a copy gets while the first is handled, summed over the routes.
    expect(top.Expression).toBe("FILL(api5xx, 0) - unverified - inFlight");
    const inFlight = queries.find((q) => q.Id === "inFlight")!;
    const copies = queries.filter((q) => q.MetricStat?.Metric.MetricName === METRIC.deliveryInProgress);
    expect(copies).toHaveLength(FUNCTION_NAMES.length);
    for (const q of copies) expect(inFlight.Expression).toContain(`FILL(${q.Id}, 0)`);
    const unverified = queries.find((q) => q.Id === "unverified")!;
    const summed = queries.filter((q) => q.MetricStat?.Metric.MetricName === METRIC.signingSecretUnavailable);
    expect(summed).toHaveLength(FUNCTION_NAMES.length);
    for (const q of summed) expect(unverified.Expression).toContain(`FILL(${q.Id}, 0)`);
    const secretAlarm = alarms.filter(
      (a) =>
        a.Metrics &&
        (a.Metrics as Query[]).every((m) => !m.MetricStat || m.MetricStat.Metric.MetricName === METRIC.signingSecretUnavailable),
    );
    expect(secretAlarm).toHaveLength(1);
    expect(secretAlarm[0]).toMatchObject({ Threshold: 1, AlarmActions: [{ Ref: topicId }] });
    // The sweep's own Errors and Throttles, and each job it fails.
    expect(
      alarms
        .filter((a) => a.Namespace === "AWS/Lambda" && a.Dimensions?.[0]?.Value?.Ref === sweepId)
        .map((a) => a.MetricName)
        .sort(),
    ).toEqual(["Errors", "Throttles"]);
    expect(alarms.filter((a) => a.MetricName === JOBS_SWEPT_METRIC)).toHaveLength(1);
    // The worker's Errors and Throttles (test/infra/action-job-worker.test.ts), SigningSecretUnavailable,
    // and the three on the product's own metrics (below).
    expect(alarms).toHaveLength(16);
    // Each also says when it clears, to the same topic.
    for (const a of alarms) expect(a.OKActions, a.AlarmName).toEqual([{ Ref: topicId }]);
    // A job we failed is seen by a person: the first one alarms.
    expect(JOBS_FAILING_THRESHOLD).toBe(1);

    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({ Effect: "Allow", Principal: { Service: "cloudwatch.amazonaws.com" }, Action: "sns:Publish" }),
        ]),
      },
    });
    template.resourceCountIs("AWS::SNS::Subscription", 0);
  });

  it("runs the job sweep every minute, with the secret, a Query on the open-jobs index and DeleteItem on open-job items only", () => {
    const rules = Object.values(template.findResources("AWS::Events::Rule")).map((r) => r.Properties);
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [{ Arn: { "Fn::GetAtt": [sweepId, "Arn"] } }],
    });
    template.hasResourceProperties("AWS::Lambda::Permission", {
      Action: "lambda:InvokeFunction",
      Principal: "events.amazonaws.com",
      FunctionName: { "Fn::GetAtt": [sweepId, "Arn"] },
    });
    const sweep = template.findResources("AWS::Lambda::Function")[sweepId]!.Properties;
    expect(sweep.Description).toMatch(/left open more than 3 minutes after their last ack \(every minute\)/);
    expect(sweep.Environment.Variables).toMatchObject({ FLATFILE_SECRET_ID: { Ref: secretId }, IDEMPOTENCY_TABLE: { Ref: tableId } });

    const statements = iamStatements(template).filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: sweepRoleId }]));
    const byService = (service: string) => statements.filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`)));
    expect(byService("secretsmanager").map((s) => s.Resource)).toEqual([{ Ref: secretId }]);
    const dynamo = byService("dynamodb");
    expect(dynamo.flatMap(actionsOf).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:Query"]);
    const query = dynamo.find((s) => actionsOf(s).includes("dynamodb:Query"))!;
    expect(query.Resource).toEqual({ "Fn::Join": ["", [{ "Fn::GetAtt": [tableId, "Arn"] }, `/index/${OPEN_JOBS_INDEX}`]] });
    const remove = dynamo.find((s) => actionsOf(s).includes("dynamodb:DeleteItem"))!;
    expect(remove.Resource).toEqual({ "Fn::GetAtt": [tableId, "Arn"] });
    expect(remove.Condition).toEqual({ "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["open-job#*"] } });
    // Nothing else: no Scan, no writes of other items.
    expect(
      statements
        .flatMap(actionsOf)
        .filter((a) => !a.startsWith("logs:") && !a.startsWith("xray:"))
        .sort(),
    ).toEqual(["dynamodb:DeleteItem", "dynamodb:Query", "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]);
  });

  it("alarms when the sweep fails a job: a metric filter on its log line feeds an alarm into the topic", () => {
    const filters = Object.values(template.findResources("AWS::Logs::MetricFilter")).map((f) => f.Properties);
    expect(filters).toHaveLength(1);
    const sweepLogs = template.findResources("AWS::Lambda::Function")[sweepId]!.Properties.LoggingConfig.LogGroup.Ref;
    expect(filters[0]).toMatchObject({
      LogGroupName: { Ref: sweepLogs },
      FilterPattern: `{ $.message = "${SWEPT_LOG_MESSAGE}" }`,
      MetricTransformations: [{ MetricNamespace: LOG_METRICS_NAMESPACE, MetricName: JOBS_SWEPT_METRIC, MetricValue: "1" }],
    });
    const alarm = Object.values(template.findResources("AWS::CloudWatch::Alarm"))
      .map((a) => a.Properties)
      .find((a) => a.MetricName === JOBS_SWEPT_METRIC)!;
    expect(alarm).toMatchObject({
      Namespace: LOG_METRICS_NAMESPACE,
      Statistic: "Sum",
      Period: 300,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
    });
    expect(alarm.AlarmDescription).toContain(`${OPEN_JOB_BOUND_MS / 60_000} minutes`);
  });

  it("alarms on the product's own metrics: failed jobs and signature rejections, summed over the routes, into the topic", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((a) => a.Properties);
    const onProductMetric = (name: string) =>
      alarms.filter((a) =>
        (a.Metrics as { MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[] | undefined)?.some(
          (m) => m.MetricStat?.Metric.Namespace === DEFAULT_METRICS_NAMESPACE && m.MetricStat.Metric.MetricName === name,
        ),
      );
    // The jobs the action-job worker fails count too (test/infra/action-job-worker.test.ts).
    for (const [name, threshold, also] of [
      [METRIC.jobFailed, JOBS_FAILING_THRESHOLD, ["action-job-worker"]],
      [METRIC.rejectedSignature, SIGNATURE_REJECTIONS_THRESHOLD, []],
    ] as const) {
      const [alarm, ...others] = onProductMetric(name);
      expect(others, name).toEqual([]);
      expect(alarm, name).toMatchObject({
        Threshold: threshold,
        AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }],
        TreatMissingData: "notBreaching",
      });
      // One series per route, each with the service and route dimensions, added up.
      const routes = (alarm!.Metrics as { MetricStat?: { Metric: { Dimensions: { Name: string; Value: string }[] } } }[])
        .filter((m) => m.MetricStat)
        .map((m) => Object.fromEntries(m.MetricStat!.Metric.Dimensions.map((d) => [d.Name, d.Value])));
      expect(routes).toEqual([...FUNCTION_NAMES, ...also].map((route) => ({ service: "flatfile-space-configurator", route })));
      expect(alarm!.Metrics.find((m: { Expression?: string }) => m.Expression).Expression).toMatch(
        new RegExp(`^FILL\\(\\w+, 0\\)( \\+ FILL\\(\\w+, 0\\)){${FUNCTION_NAMES.length + also.length - 1}}$`),
      );
    }
    // A job of ours someone else ended first, as any route or the sweep finds it: at the first one.
    const [endedByOthers, ...more] = onProductMetric(METRIC.jobEndedByOthers);
    expect(more).toEqual([]);
    expect(endedByOthers).toMatchObject({ Threshold: 1, AlarmActions: [{ Ref: logicalId(stack.alarmTopic) }] });
    const counted = (endedByOthers!.Metrics as { MetricStat?: { Metric: { Dimensions: { Name: string; Value: string }[] } } }[])
      .filter((m) => m.MetricStat)
      .map((m) => m.MetricStat!.Metric.Dimensions.find((d) => d.Name === "route")?.Value);
    expect(counted).toEqual([...FUNCTION_NAMES, "job-sweep", "action-job-worker"]);
    expect(endedByOthers!.AlarmDescription).toMatch(/5-minute timer.*jobId/);
  });

  it("has one dashboard: alarm status, API, deliveries per route, jobs, Flatfile, duration percentiles, throttles, the table and ERROR lines", () => {
    template.resourceCountIs("AWS::CloudWatch::Dashboard", 1);
    const [dashboard] = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    // The body is a Fn::Join of JSON text and references; the references are the resources shown.
    const parts = dashboard!.Properties.DashboardBody["Fn::Join"][1] as unknown[];
    const text = parts.filter((p): p is string => typeof p === "string").join("");
    const references = JSON.stringify(parts.filter((p) => typeof p !== "string"));
    for (const metric of [
      METRIC.deliveryHandled,
      METRIC.deliveryIgnored,
      METRIC.rejectedSignature,
      METRIC.rejectedEnvironment,
      METRIC.rejectedMalformed,
      METRIC.jobCompleted,
      METRIC.jobFailed,
      METRIC.jobEndedByOthers,
      METRIC.flatfileCalls,
      METRIC.flatfileRetries,
      METRIC.flatfileErrors,
      METRIC.temporaryFailure,
      METRIC.leaseWaits,
      METRIC.referenceDataFallbacks,
    ]) {
      expect(text, metric).toContain(`"${DEFAULT_METRICS_NAMESPACE}","${metric}"`);
    }
    for (const route of FUNCTION_NAMES) expect(text).toContain(`"route","${route}"`);
    for (const awsMetric of [
      '"AWS/Lambda","Duration"',
      '"AWS/Lambda","Throttles"',
      '"AWS/Lambda","Errors"',
      '"AWS/DynamoDB","ConditionalCheckFailedRequests"',
      '"AWS/ApiGateway","5xx"',
      '"AWS/ApiGateway","IntegrationLatency"',
    ]) {
      expect(text, awsMetric).toContain(awsMetric);
    }
    expect(text).toMatch(/"stat":"p99"/);
    expect(text).toContain('"type":"alarm"');
    for (const alarm of stack.alarms) expect(references).toContain(logicalId(alarm));
    expect(text).toContain('"type":"log"');
    expect(text).toContain('filter level = \\"ERROR\\"');
    for (const name of FUNCTION_NAMES) expect(references).toContain(logicalId(stack.functions[name].logGroup as never));
    template.hasOutput("DashboardUrl", {});
  });

  it("outputs the API URL, each route's URL and the secret name", () => {
    const outputs = template.findOutputs("*");
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(["ApiUrl", "SpaceConfigureUrl", "ActionJobUrl", "CommitCreatedUrl", "SecretName"]),
    );
    expect(outputs.SpaceConfigureUrl!.Value).toEqual({
      "Fn::Join": ["", [{ "Fn::GetAtt": [logicalId(stack.api), "ApiEndpoint"] }, "/space-configure"]],
    });
  });

  it("exposes what the relay needs: secret, apiUrl, environment id", () => {
    expect(stack.secret.secretArn).toBeDefined();
    expect(stack.resolve(stack.apiUrl)).toEqual({ "Fn::GetAtt": [logicalId(stack.api), "ApiEndpoint"] });
    expect(stack.flatfileEnvironmentId).toBe("");
  });
});

describe("FlatfileStack with reserved concurrency (context reservedConcurrency, opt-in)", () => {
  const { template, violations, synthError } = synthWithoutBundling({ reservedConcurrency: "20" });

  it("reserves that many executions for each route function, and nothing else changes the nag verdict", () => {
    expect(synthError).toBeUndefined();
    expect(violations).toEqual([]);
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    const routeFunctions = functions.filter((fn) => /^Answers Flatfile events on POST /.test(fn.Properties.Description));
    expect(routeFunctions).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of routeFunctions) expect(fn.Properties.ReservedConcurrentExecutions).toBe(20);
  });
});

describe("the nag check itself", () => {
  it("does report an unacknowledged finding (negative control for the report reading)", () => {
    const outdir = tempDir("infra-nag-control-");
    const app = new App({ outdir });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    new Topic(new Stack(app, "Control"), "PlainTopic");
    expect(() => app.synth()).toThrow();
    const report = JSON.parse(readFileSync(join(outdir, "validation-report.json"), "utf8"));
    expect(violationsOf(report).map((v) => v.ruleName)).toContain("AwsSolutions-SNS3");
  });
});

describe("FlatfileStack with context: existing secret, environment, reference data, alarm e-mail", () => {
  const { template, violations, synthError } = synthWithoutBundling({
    secretName: "prod/flatfile",
    flatfileEnvironmentId: "us_env_abc12345",
    referenceDataUrl: "https://reference.example.com/v1/rates",
    alarmEmail: "ops@example.com",
  });

  it("creates no secret and scopes the grant to the named secret's ARN (three functions, the sweep, the worker and the relay's register function)", () => {
    template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    const secretStatements = iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith("secretsmanager:")));
    expect(secretStatements).toHaveLength(6);
    for (const s of secretStatements) {
      expect(JSON.stringify(s.Resource)).toContain(":secret:prod/flatfile-??????");
      expect(hasWildcard(s.Resource)).toBe(false);
    }
  });

  it("registers the relay in that environment with the API's URL and the secret, and outputs its status", () => {
    template.hasResourceProperties("Custom::FlatfileRelay", {
      EnvironmentId: "us_env_abc12345",
      RelayBaseUrl: Match.anyValue(),
      AgentSha256: Match.stringLikeRegexp("^[0-9a-f]{64}$"),
    });
    const [relay] = Object.values(template.findResources("Custom::FlatfileRelay"));
    expect(JSON.stringify(relay!.Properties.SecretId)).toContain(":secret:prod/flatfile");
    expect(relay!.Properties.RelayBaseUrl).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^HttpApi/), "ApiEndpoint"] });
    template.hasOutput("RelayStatus", {});
    template.hasOutput("RelayInstructions", {});
  });

  it("checks on the sweep's schedule that the environment still has the relay agent it registered, with its own metric and alarm", () => {
    const [relay] = Object.values(template.findResources("Custom::FlatfileRelay"));
    const sweep = Object.values(template.findResources("AWS::Lambda::Function")).find((fn) =>
      String(fn.Properties.Description).startsWith("Fails the Flatfile jobs"),
    );
    expect(sweep!.Properties.Environment.Variables).toMatchObject({
      RELAY_ENVIRONMENT_ID: "us_env_abc12345",
      RELAY_AGENT_SHA256: relay!.Properties.AgentSha256,
    });
    template.hasResourceProperties("AWS::Logs::MetricFilter", {
      FilterPattern: `{ $.message = "${RELAY_AGENT_CHECK_FAILED}" }`,
      MetricTransformations: [
        Match.objectLike({ MetricName: RELAY_AGENT_MISMATCH_METRIC, MetricNamespace: LOG_METRICS_NAMESPACE, MetricValue: "1" }),
      ],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: RELAY_AGENT_MISMATCH_METRIC,
      Namespace: LOG_METRICS_NAMESPACE,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      AlarmDescription: Match.stringLikeRegexp("relay agent is missing or replaced"),
    });
  });

  it("counts the relay's give-ups and its refused signatures from the sweep's line, each with its own alarm", () => {
    for (const [metric, field, alarm] of [
      [RELAY_GAVE_UP_METRIC, "gaveUp", "RelayGaveUp"],
      [RELAY_SIGNATURE_REFUSED_METRIC, "signatureRefused", "RelaySignatureMismatch"],
    ] as const) {
      template.hasResourceProperties("AWS::Logs::MetricFilter", {
        FilterPattern: `{ $.message = "${RELAY_GAVE_UP_SEEN}" }`,
        MetricTransformations: [
          Match.objectLike({ MetricName: metric, MetricNamespace: LOG_METRICS_NAMESPACE, MetricValue: `$.${field}` }),
        ],
      });
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        AlarmName: Match.stringLikeRegexp(`-${alarm}$`),
        MetricName: metric,
        Namespace: LOG_METRICS_NAMESPACE,
        Statistic: "Sum",
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        OKActions: Match.anyValue(),
      });
    }
  });

  it("passes the environment and reference URL to the functions, and subscribes the e-mail", () => {
    const routeFunctions = Object.values(template.findResources("AWS::Lambda::Function")).filter((fn) =>
      String(fn.Properties.Description).startsWith("Answers Flatfile events"),
    );
    expect(routeFunctions).toHaveLength(3);
    for (const fn of routeFunctions) {
      expect(fn.Properties.Environment.Variables).toMatchObject({
        FLATFILE_SECRET_ID: "prod/flatfile",
        FLATFILE_ENVIRONMENT_ID: "us_env_abc12345",
        REFERENCE_DATA_URL: "https://reference.example.com/v1/rates",
      });
    }
    template.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", Endpoint: "ops@example.com" });
  });

  it("keeps the logical ids of the relay's resources and the e-mail subscription", () => {
    const types = Object.fromEntries(
      Object.entries(template.toJSON().Resources as Record<string, { Type: string }>).map(([id, r]) => [id, r.Type]),
    );
    const { FlatfileSecretD72B70CC: _createdSecretOnly, ...withoutSecret } = PINNED_LOGICAL_IDS;
    expect(types).toMatchObject({ ...withoutSecret, ...PINNED_RELAY_LOGICAL_IDS });
  });

  it("runs every function, the relay's included, on nodejs24.x; the route functions, the sweep and the worker with active tracing and a metrics namespace", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    expect(functions.length).toBeGreaterThanOrEqual(6);
    for (const fn of functions) expect(fn.Properties.Runtime).toBe("nodejs24.x");
    // The three route functions, the job sweep and the worker (all RouteFunctions).
    const routeFunctions = functions.filter((fn) => fn.Properties.Environment?.Variables?.FLATFILE_SECRET_ID);
    expect(routeFunctions).toHaveLength(FUNCTION_NAMES.length + 2);
    for (const fn of routeFunctions) {
      expect(fn.Properties.TracingConfig).toEqual({ Mode: "Active" });
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe(DEFAULT_METRICS_NAMESPACE);
    }
  });

  it("is nag clean too", () => {
    expect(violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
    expect(synthError).toBeUndefined();
  });
});

/**
 * Every resource's logical id as deployed stacks have it. Refactors of infra/ must keep these:
 * CloudFormation replaces a resource whose id changes (a new log group, table, alarm...).
 * New resources may be added beside them.
 */
const PINNED_LOGICAL_IDS: Record<string, string> = {
  FlatfileSecretD72B70CC: "AWS::SecretsManager::Secret",
  IdempotencyTable22A5A209: "AWS::DynamoDB::Table",
  SpaceConfigureLogs55A05AAF: "AWS::Logs::LogGroup",
  SpaceConfigureRole68C3D2F8: "AWS::IAM::Role",
  SpaceConfigureRoleDefaultPolicy34CFE6C5: "AWS::IAM::Policy",
  SpaceConfigureFunctionD0950035: "AWS::Lambda::Function",
  ActionJobLogs7F079840: "AWS::Logs::LogGroup",
  ActionJobRoleB4A2271B: "AWS::IAM::Role",
  ActionJobRoleDefaultPolicy5B02C8A5: "AWS::IAM::Policy",
  ActionJobFunction2F05FBEF: "AWS::Lambda::Function",
  CommitCreatedLogs1E1ECF15: "AWS::Logs::LogGroup",
  CommitCreatedRoleC0CC9213: "AWS::IAM::Role",
  CommitCreatedRoleDefaultPolicyAD742C06: "AWS::IAM::Policy",
  CommitCreatedFunctionA999E9E3: "AWS::Lambda::Function",
  HttpApiF5A9A8A7: "AWS::ApiGatewayV2::Api",
  HttpApiPOSTspaceconfigureSpaceConfigureIntegrationDF13801B: "AWS::ApiGatewayV2::Integration",
  HttpApiPOSTspaceconfigureSpaceConfigureIntegrationPermission7CB7CC23: "AWS::Lambda::Permission",
  HttpApiPOSTspaceconfigureB921106A: "AWS::ApiGatewayV2::Route",
  HttpApiPOSTactionjobActionJobIntegration518324C6: "AWS::ApiGatewayV2::Integration",
  HttpApiPOSTactionjobActionJobIntegrationPermissionD7DCB90B: "AWS::Lambda::Permission",
  HttpApiPOSTactionjob227F18C4: "AWS::ApiGatewayV2::Route",
  HttpApiPOSTcommitcreatedCommitCreatedIntegrationA3079489: "AWS::ApiGatewayV2::Integration",
  HttpApiPOSTcommitcreatedCommitCreatedIntegrationPermission69507A62: "AWS::Lambda::Permission",
  HttpApiPOSTcommitcreated149A039E: "AWS::ApiGatewayV2::Route",
  ApiAccessLogsE9DF007D: "AWS::Logs::LogGroup",
  DefaultStageEE28A986: "AWS::ApiGatewayV2::Stage",
  AlarmTopicKey57B0D3A7: "AWS::KMS::Key",
  AlarmTopicD01E77F9: "AWS::SNS::Topic",
  AlarmTopicPolicy309DB5F8: "AWS::SNS::TopicPolicy",
  SpaceConfigureErrors768A9B95: "AWS::CloudWatch::Alarm",
  SpaceConfigureThrottles894CF116: "AWS::CloudWatch::Alarm",
  ActionJobErrorsEE10707F: "AWS::CloudWatch::Alarm",
  ActionJobThrottlesD5922283: "AWS::CloudWatch::Alarm",
  CommitCreatedErrors1A5B7734: "AWS::CloudWatch::Alarm",
  CommitCreatedThrottles4156AA17: "AWS::CloudWatch::Alarm",
  Api5xx3D9EE91A: "AWS::CloudWatch::Alarm",
};

/** With an environment id and an alarm e-mail: the relay's registration and the subscription. */
const PINNED_RELAY_LOGICAL_IDS: Record<string, string> = {
  RelayRegisterLogs1946E1EF: "AWS::Logs::LogGroup",
  // Own roles, each writing its own log group only (were the functions' ServiceRoles with AWSLambdaBasicExecutionRole):
  // a deploy replaces the roles, which hold nothing.
  RelayRegisterRoleBF2BE16B: "AWS::IAM::Role",
  RelayRegisterRoleDefaultPolicy531E40D0: "AWS::IAM::Policy",
  RelayRegisterFunctionF48F5FED: "AWS::Lambda::Function",
  RelayProviderLogsA2108BDB: "AWS::Logs::LogGroup",
  RelayProviderRoleB4529989: "AWS::IAM::Role",
  RelayProviderRoleDefaultPolicy94140D18: "AWS::IAM::Policy",
  RelayProviderframeworkonEventE92A70AE: "AWS::Lambda::Function",
  Relay3F9A082A: "Custom::FlatfileRelay",
  AlarmTopicopsexamplecom7B0F70A1: "AWS::SNS::Subscription",
};
