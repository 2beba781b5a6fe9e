/**
 * `ServiceDashboard`: the service's one CloudWatch dashboard, layout only; what is measured is in
 * product-metrics.ts and shared/core/observability.ts. Its rows: docs/design.md#the-dashboard.
 *
 *   new ServiceDashboard(this, "Dashboard", { metrics, functions, api, table, alarms, logGroups });
 */
import { Duration } from "aws-cdk-lib";
import type { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import {
  AlarmStatusWidget,
  Color,
  Dashboard,
  GraphWidget,
  LogQueryVisualizationType,
  LogQueryWidget,
  Shading,
  TextWidget,
  type IAlarm,
  type IMetric,
  type IWidget,
} from "aws-cdk-lib/aws-cloudwatch";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { type IFunction, Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import type { ILogGroup } from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { METRIC, type MetricName } from "../shared/core/observability";
import { SWEEP_ROUTE, WORKER_ROUTE } from "./alarms";
import type { ProductMetrics } from "./product-metrics";
import { FUNCTION_TIMEOUT } from "./route-function";

const FIVE_MINUTES = Duration.minutes(5);

export interface ServiceDashboardProps {
  metrics: ProductMetrics;
  /** Route name → its function. */
  functions: Readonly<Record<string, IFunction>>;
  api: HttpApi;
  table: ITable;
  /** Shown in the alarm status widget. */
  alarms: readonly IAlarm[];
  /** Searched by the ERROR lines widget. */
  logGroups: readonly ILogGroup[];
  dashboardName?: string;
}

export class ServiceDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    const { metrics, functions, api, table } = props;
    const routes = metrics.props.routes;
    const sum = { statistic: "Sum", period: FIVE_MINUTES };
    const wide = (title: string, left: IMetric[], extra: Partial<ConstructorParameters<typeof GraphWidget>[0]> = {}) =>
      new GraphWidget({ title, left, width: 12, height: 6, ...extra });
    const perRoute = (name: MetricName) => routes.map((route) => metrics.route(name, route));
    const longerThanRoutes = (fn: IFunction) =>
      fn instanceof LambdaFunction && fn.timeout !== undefined && fn.timeout.toMilliseconds() > FUNCTION_TIMEOUT.toMilliseconds();
    const long = Object.entries(functions).filter(([, fn]) => longerThanRoutes(fn));
    const short = Object.entries(functions).filter(([, fn]) => !longerThanRoutes(fn));
    const durations = (of: [string, IFunction][]) =>
      of.flatMap(([route, fn]) => [
        fn.metricDuration({ statistic: "p50", period: FIVE_MINUTES, label: `${route} p50` }),
        fn.metricDuration({ statistic: "p99", period: FIVE_MINUTES, label: `${route} p99` }),
      ]);

    const rows: IWidget[][] = [
      [
        new TextWidget({
          markdown:
            "## Flatfile Space Configurator\nDeliveries are Flatfile events relayed to the API, one function per route. " +
            "What each alarm means and what to do: README, *Operate*.",
          width: 24,
          height: 2,
        }),
      ],
      [
        new AlarmStatusWidget({
          title: "Alarms",
          alarms: [...props.alarms],
          width: 24,
          height: Math.max(2, Math.ceil(props.alarms.length / 4) + 1),
        }),
      ],
      [
        wide("API: requests and errors (5 min)", [api.metricCount(sum)], {
          right: [api.metricClientError(sum), api.metricServerError(sum)],
        }),
        wide("API: latency vs the functions' integration latency (p99, ms)", [
          api.metricLatency({ statistic: "p99", period: FIVE_MINUTES }),
          api.metricIntegrationLatency({ statistic: "p99", period: FIVE_MINUTES }),
        ]),
      ],
      routes.map(
        (route) =>
          new GraphWidget({
            title: `${route}: deliveries by outcome (5 min)`,
            left: [
              metrics.route(METRIC.deliveryHandled, route).with({ label: "handled" }),
              metrics.route(METRIC.idempotentReplay, route).with({ label: "replayed" }),
              metrics.route(METRIC.deliveryIgnored, route).with({ label: "ignored" }),
              metrics.route(METRIC.deliveryInProgress, route).with({ label: "copy in progress" }),
              metrics.route(METRIC.temporaryFailure, route).with({ label: "5xx (retried)", color: Color.RED }),
            ],
            stacked: true,
            width: 24 / routes.length,
            height: 6,
          }),
      ),
      [
        wide("Rejected deliveries by reason, all routes (5 min)", [
          metrics.total(METRIC.rejectedSignature, "401 signature"),
          metrics.total(METRIC.rejectedEnvironment, "403 other environment"),
          metrics.total(METRIC.rejectedMalformed, "400 malformed"),
          metrics.total(METRIC.deliveryNotFound, "404 not found in Flatfile"),
        ]),
        // The worker finishes the jobs action-job handed to it: counted with the routes'.
        wide("Jobs, all routes (5 min)", [
          metrics.total(METRIC.jobCompleted, "completed", [WORKER_ROUTE]),
          metrics.total(METRIC.jobFailed, "failed (operator)", [WORKER_ROUTE]).with({ color: Color.RED }),
          metrics.total(METRIC.jobNeedsAction, "failed (person must act)", [WORKER_ROUTE]).with({ color: Color.ORANGE }),
          metrics.total(METRIC.jobEndedByOthers, "ended by someone else first", [SWEEP_ROUTE, WORKER_ROUTE]).with({ color: Color.PURPLE }),
          // The routes' hand-offs only: the worker's rounds that hand on to its next round are not new ones.
          metrics.total(METRIC.jobHandedOff, "handed to the worker"),
        ]),
      ],
      [
        wide(
          "Flatfile calls, retries and errors, all routes and the worker (5 min)",
          [metrics.total(METRIC.flatfileCalls, "calls", [WORKER_ROUTE])],
          {
            right: [
              metrics.total(METRIC.flatfileRetries, "retries", [WORKER_ROUTE]),
              metrics.total(METRIC.flatfileErrors, "errors", [WORKER_ROUTE]).with({ color: Color.RED }),
            ],
          },
        ),
        wide("Temporary failures (5xx) by route (5 min)", perRoute(METRIC.temporaryFailure)),
      ],
      [
        wide(
          "Function errors and throttles (5 min)",
          Object.entries(functions).map(([route, fn]) => fn.metricErrors({ ...sum, label: `${route} errors` })),
          { right: Object.entries(functions).map(([route, fn]) => fn.metricThrottles({ ...sum, label: `${route} throttles` })) },
        ),
        wide("Function duration p50 / p99 (ms) against the timeout", durations(short), {
          leftAnnotations: [{ value: FUNCTION_TIMEOUT.toMilliseconds(), label: "timeout", color: Color.RED, fill: Shading.ABOVE }],
          // A function with a longer timeout (the worker's minutes) on its own axis, so the routes' seconds stay readable.
          ...(long.length > 0
            ? {
                right: durations(long),
                rightAnnotations: long.map(([route, fn]) => ({
                  value: (fn as LambdaFunction).timeout!.toMilliseconds(),
                  label: `${route} timeout`,
                  color: Color.RED,
                })),
              }
            : {}),
        }),
      ],
      [
        wide(
          "Cold starts (5 min)",
          routes.map((route) => metrics.coldStarts(route)),
        ),
        wide(
          "Table: conditional check failures (duplicate deliveries, lease contention) and lease waits (5 min)",
          [table.metric("ConditionalCheckFailedRequests", { ...sum, label: "conditional check failed" })],
          { right: [metrics.total(METRIC.leaseWaits, "lease waits"), metrics.total(METRIC.idempotentReplay, "replays")] },
        ),
      ],
      [
        wide("Reference API fallbacks (bundled categories used, 5 min)", [metrics.route(METRIC.referenceDataFallbacks, "space-configure")]),
        new LogQueryWidget({
          title: "Last ERROR lines, every function",
          logGroupNames: props.logGroups.map((group) => group.logGroupName),
          queryLines: [
            "fields @timestamp, route, message, failure, status, eventId, jobId, spaceId",
            'filter level = "ERROR"',
            "sort @timestamp desc",
            "limit 50",
          ],
          view: LogQueryVisualizationType.TABLE,
          width: 12,
          height: 6,
        }),
      ],
    ];

    this.dashboard = new Dashboard(this, "Dashboard", {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      widgets: rows,
    });
  }
}
