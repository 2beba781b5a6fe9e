/**
 * The product's own metrics (shared/core/observability.ts emits them as EMF) as CloudWatch metric
 * objects, for the dashboard and the alarms: per route, or summed over the routes.
 */
import { Duration } from "aws-cdk-lib";
import { MathExpression, Metric, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { ROUTE_DIMENSION, SERVICE_DIMENSION, type MetricName } from "../shared/core/observability";

const FIVE_MINUTES = Duration.minutes(5);

export interface ProductMetricsProps {
  /** POWERTOOLS_METRICS_NAMESPACE of the functions. */
  namespace: string;
  /** POWERTOOLS_SERVICE_NAME of the functions (the `service` dimension). */
  serviceName: string;
  /** The `route` dimension values (the RouteSpec names: space-configure, action-job, commit-created). */
  routes: readonly string[];
}

/** The product's metrics (shared/core/observability.ts) as CloudWatch metrics, per route or summed. */
export class ProductMetrics {
  constructor(readonly props: ProductMetricsProps) {}

  /** One metric of one route: the five-minute sum. */
  route(name: MetricName, route: string): Metric {
    return new Metric({
      namespace: this.props.namespace,
      metricName: name,
      dimensionsMap: { [SERVICE_DIMENSION]: this.props.serviceName, [ROUTE_DIMENSION]: route },
      statistic: "Sum",
      period: FIVE_MINUTES,
      label: route,
    });
  }

  /**
   * One metric summed over the routes (a route with no datapoint counts 0): the metric math the
   * alarms and the totals use, since every product metric carries a route dimension.
   * `alsoRoutes`: other `route` values counted too (the sweep counts as "job-sweep").
   */
  total(name: MetricName, label: string = name, alsoRoutes: readonly string[] = []): MathExpression {
    const usingMetrics: Record<string, IMetric> = {};
    // Ids unique per metric name: a graph may hold several of these sums.
    const prefix = name.charAt(0).toLowerCase() + name.slice(1);
    [...this.props.routes, ...alsoRoutes].forEach((route, i) => (usingMetrics[`${prefix}${i}`] = this.route(name, route)));
    return new MathExpression({
      expression: Object.keys(usingMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(" + "),
      usingMetrics,
      label,
      period: FIVE_MINUTES,
    });
  }

  /** Powertools' ColdStart metric: dimension `function_name` is the route (shared/core/observability.ts). */
  coldStarts(route: string): Metric {
    return new Metric({
      namespace: this.props.namespace,
      metricName: "ColdStart",
      dimensionsMap: { [SERVICE_DIMENSION]: this.props.serviceName, function_name: route },
      statistic: "Sum",
      period: FIVE_MINUTES,
      label: `${route} cold starts`,
    });
  }
}
