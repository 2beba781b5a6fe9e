/**
 * The action-job worker in the stack: a function like the routes' but with a timeout of minutes,
 * behind no route; started only by action-job (its env names it, its role may invoke it and
 * nothing else may), with the settings, secret and table items a duplicate needs, Lambda's
 * retries of an asynchronous invoke, and watched like the sweep.
 */
import { afterAll, describe, expect, it } from "vitest";
import { WORKER_NAME } from "../../functions/action-job-worker/handler";
import { WORKER_ROUTE } from "../../infra/alarms";
import { METRIC } from "../../shared/core/observability";
import { WORKER_TIMING } from "../../shared/core/hand-off";
import { actionsOf, cleanup, iamStatements, synthWithoutBundling } from "./support";

afterAll(cleanup);

describe("the action-job worker (default context)", () => {
  const { stack, template, violations, synthError } = synthWithoutBundling();
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const workerId = logicalId(stack.actionJobWorker);
  const workerRoleId = logicalId(stack.actionJobWorker.role as never);
  const actionJobId = logicalId(stack.functions["action-job"]);
  const actionJobRoleId = logicalId(stack.functions["action-job"].role as never);
  const functions = template.findResources("AWS::Lambda::Function");
  const worker = functions[workerId]!;
  const invokeStatements = iamStatements(template).filter((s) => actionsOf(s).some((a) => a.startsWith("lambda:")));

  it("is nag clean", () => {
    expect(violations.map((v) => `${v.severity} ${v.ruleName} @ ${v.violatingConstructs.map((c) => c.constructPath).join(", ")}`)).toEqual(
      [],
    );
    expect(synthError).toBeUndefined();
  });

  it("keeps its logical ids (a renamed one would replace the resource; the retained log group would be orphaned)", () => {
    const types = Object.fromEntries(
      Object.entries(template.toJSON().Resources as Record<string, { Type: string }>).map(([id, r]) => [id, r.Type]),
    );
    expect(types).toMatchObject({
      ActionJobWorkerLogsF2A08A3F: "AWS::Logs::LogGroup",
      ActionJobWorkerRoleFD42050B: "AWS::IAM::Role",
      ActionJobWorkerRoleDefaultPolicyBC112398: "AWS::IAM::Policy",
      ActionJobWorkerFunction4E7679AC: "AWS::Lambda::Function",
      ActionJobWorkerFunctionEventInvokeConfig1016C23A: "AWS::Lambda::EventInvokeConfig",
      ActionJobWorkerErrors9CABBE82: "AWS::CloudWatch::Alarm",
      ActionJobWorkerThrottlesA4DE263D: "AWS::CloudWatch::Alarm",
    });
  });

  it("runs on nodejs24.x, arm64, traced, with a 14-minute timeout and its own log group", () => {
    expect(WORKER_TIMING.timeoutMs).toBe(840_000);
    expect(worker.Properties).toMatchObject({
      Runtime: "nodejs24.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      Timeout: 840,
      TracingConfig: { Mode: "Active" },
      LoggingConfig: { LogGroup: { Ref: logicalId(stack.actionJobWorker.logGroup as never) } },
    });
    expect(worker.Properties.Description).toMatch(/invoked by action-job/);
    // The routes keep theirs: the worker's timeout is its own.
    expect(functions[actionJobId]!.Properties.Timeout).toBe(25);
  });

  it("is behind no route: no integration, no API permission, no resource policy at all", () => {
    const integrations = Object.values(template.findResources("AWS::ApiGatewayV2::Integration"));
    expect(integrations.length).toBeGreaterThan(0);
    for (const integration of integrations) expect(JSON.stringify(integration.Properties.IntegrationUri)).not.toContain(workerId);
    const permissions = Object.values(template.findResources("AWS::Lambda::Permission"));
    expect(permissions.filter((p) => JSON.stringify(p.Properties.FunctionName).includes(workerId))).toEqual([]);
  });

  it("is started by action-job only: its env names the worker, its role may invoke that function's ARN and nothing else", () => {
    expect(functions[actionJobId]!.Properties.Environment.Variables.ACTION_JOB_WORKER_FUNCTION).toEqual({ Ref: workerId });
    expect(invokeStatements).toHaveLength(1);
    const [statement] = invokeStatements;
    expect(statement!.roles).toEqual([{ Ref: actionJobRoleId }]);
    expect(actionsOf(statement!)).toEqual(["lambda:InvokeFunction"]);
    // The function itself, not "<arn>:*" (its versions and aliases) as grantInvoke would add.
    expect(statement!.Resource).toEqual({ "Fn::GetAtt": [workerId, "Arn"] });
    expect(statement!.Condition).toBeUndefined();
    // No other function is told of it.
    for (const [id, fn] of Object.entries(functions)) {
      if (id !== actionJobId) expect(fn.Properties.Environment?.Variables?.ACTION_JOB_WORKER_FUNCTION, id).toBeUndefined();
    }
  });

  it("reads the secret, the lease and open-job items, and delivers submissions, as action-job does", () => {
    const env = worker.Properties.Environment.Variables;
    expect(env).toMatchObject({
      FLATFILE_SECRET_ID: { Ref: logicalId(stack.secret as never) },
      IDEMPOTENCY_TABLE: { Ref: logicalId(stack.idempotencyTable) },
      POWERTOOLS_METRICS_NAMESPACE: "FlatfileSpaceConfigurator",
    });
    // It carries a large submission on: where Submit delivers, as action-job is told.
    const actionJobEnv = Object.values(template.findResources("AWS::Lambda::Function")).find(
      (f) => JSON.stringify(f.Properties.Role) === JSON.stringify({ "Fn::GetAtt": [actionJobRoleId, "Arn"] }),
    )!.Properties.Environment.Variables;
    expect(env.SUBMISSIONS_BUCKET).toEqual(actionJobEnv.SUBMISSIONS_BUCKET);
    expect(env.SUBMISSIONS_BUCKET).toBeDefined();
    for (const name of ["SUBMISSIONS_EVENT_BUS", "ACTION_JOB_WORKER_FUNCTION", "FLATFILE_ENVIRONMENT_ID", "OWNED_SPACES"])
      expect(env, name).not.toHaveProperty(name);

    const own = iamStatements(template).filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: workerRoleId }]));
    const byService = (service: string) => own.filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`)));
    const table = byService("dynamodb");
    expect(table).toHaveLength(1);
    expect(actionsOf(table[0]!).sort()).toEqual(["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]);
    expect(table[0]!.Resource).toEqual({ "Fn::GetAtt": [logicalId(stack.idempotencyTable), "Arn"] });
    // The same table statement as action-job's.
    const actionJobTable = iamStatements(template).filter(
      (s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: actionJobRoleId }]) && actionsOf(s).some((a) => a.startsWith("dynamodb:")),
    );
    expect(actionJobTable.map(({ Action, Resource }) => ({ Action, Resource }))).toEqual(
      table.map(({ Action, Resource }) => ({ Action, Resource })),
    );
    const secret = byService("secretsmanager");
    expect(secret).toHaveLength(1);
    expect(secret[0]!.Resource).toEqual({ Ref: logicalId(stack.secret as never) });
    // Submit's S3 and EventBridge statements, the same as action-job's; it invokes nothing.
    const actionJobOwn = iamStatements(template).filter((s) => JSON.stringify(s.roles) === JSON.stringify([{ Ref: actionJobRoleId }]));
    for (const service of ["s3", "events"]) {
      const strip = (list: typeof own) =>
        list.filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`))).map(({ Action, Resource }) => ({ Action, Resource }));
      expect(strip(own), service).toEqual(strip(actionJobOwn));
      expect(strip(own).length, service).toBeGreaterThan(0);
    }
    expect(byService("lambda")).toEqual([]);
  });

  it("has Lambda retry a failed invocation twice, within an hour of the hand-off", () => {
    const configs = Object.values(template.findResources("AWS::Lambda::EventInvokeConfig"));
    expect(configs).toHaveLength(1);
    expect(configs[0]!.Properties).toMatchObject({
      FunctionName: { Ref: workerId },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
    });
  });

  it("is watched like the sweep: Errors and Throttles alarms into the topic, on the dashboard with its log group", () => {
    const alarms = Object.entries(template.findResources("AWS::CloudWatch::Alarm")).filter(
      ([, a]) => a.Properties.Namespace === "AWS/Lambda" && a.Properties.Dimensions?.[0]?.Value?.Ref === workerId,
    );
    expect(alarms.map(([id, a]) => `${id.replace(/[0-9A-F]{8}$/, "")} ${a.Properties.MetricName}`).sort()).toEqual([
      "ActionJobWorkerErrors Errors",
      "ActionJobWorkerThrottles Throttles",
    ]);
    for (const [, a] of alarms) {
      expect(a.Properties.AlarmActions).toEqual([{ Ref: logicalId(stack.alarmTopic) }]);
      expect(a.Properties.AlarmDescription).toMatch(/^action-job-worker: /);
    }
    const [dashboard] = Object.values(template.findResources("AWS::CloudWatch::Dashboard"));
    const parts = dashboard!.Properties.DashboardBody["Fn::Join"][1] as unknown[];
    const references = JSON.stringify(parts.filter((p) => typeof p !== "string"));
    const text = parts.filter((p): p is string => typeof p === "string").join("");
    expect(references).toContain(workerId);
    expect(references).toContain(logicalId(stack.actionJobWorker.logGroup as never));
    // The jobs it ends count with the routes': failed ones alarm (JobsFailing), and so do ours ended by others.
    expect(WORKER_ROUTE).toBe(WORKER_NAME);
    const productAlarm = (metricName: string) =>
      Object.values(template.findResources("AWS::CloudWatch::Alarm")).find((a) =>
        (a.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string } } }[] | undefined)?.some(
          (m) => m.MetricStat?.Metric.MetricName === metricName,
        ),
      );
    for (const metric of [METRIC.jobFailed, METRIC.jobEndedByOthers]) {
      const routes = (
        productAlarm(metric)!.Properties.Metrics as { MetricStat?: { Metric: { Dimensions: { Name: string; Value: string }[] } } }[]
      )
        .flatMap((m) => m.MetricStat?.Metric.Dimensions ?? [])
        .filter((d) => d.Name === "route")
        .map((d) => d.Value);
      expect(routes, metric).toContain(WORKER_NAME);
    }
    expect(text).toContain(`"${METRIC.jobCompleted}","route","${WORKER_NAME}"`);
    // Its duration on an axis of its own, against its own timeout.
    expect(text).toContain('{"value":840000,"label":"action-job-worker timeout","color":"#d62728","yAxis":"right"}');
  });
});

describe("the action-job worker with an environment, a regional API, owned Spaces and the listener's space:configure", () => {
  const { stack, template, synthError } = synthWithoutBundling({
    flatfileEnvironmentId: "us_env_abc12345",
    flatfileApiUrl: "https://platform.eu.flatfile.com/api",
    ownedSpaces: "space:portal",
    referenceDataUrl: "https://reference.example.com/v1/rates",
    listenerRoute: "true",
    spaceConfigureBy: "listener",
  });
  const functions = template.findResources("AWS::Lambda::Function");
  const variables = (fn: { node: { defaultChild?: unknown } }) =>
    functions[stack.getLogicalId(fn.node.defaultChild as never)]!.Properties.Environment.Variables as Record<string, unknown>;

  it("reads the same event settings as action-job", () => {
    expect(synthError).toBeUndefined();
    const shared = {
      FLATFILE_ENVIRONMENT_ID: "us_env_abc12345",
      FLATFILE_API_URL: "https://platform.eu.flatfile.com/api",
      OWNED_SPACES: "space:portal",
      SPACE_CONFIGURE_BY: "listener",
    };
    expect(variables(stack.actionJobWorker)).toMatchObject(shared);
    expect(variables(stack.functions["action-job"])).toMatchObject(shared);
    // Only space-configure reads the reference data.
    expect(variables(stack.actionJobWorker)).not.toHaveProperty("REFERENCE_DATA_URL");
  });
});
