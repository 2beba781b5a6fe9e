/**
 * `ServiceAlarms`: the encrypted topic every alarm notifies, and the alarms themselves.
 *
 *   const alarms = new ServiceAlarms(stack, { alarmEmail });
 *   alarms.watchFunction("SpaceConfigure", "space-configure", fn);   // Errors, Throttles
 *   alarms.add("SomethingWrong", metric, "what it means (period)", { threshold: 5 });
 *
 * Not a construct of its own: topic, key and alarms are created on the stack's scope, so they
 * keep the logical ids deployed stacks have (AlarmTopic, SpaceConfigureErrors, Api5xx...; pinned
 * in test/infra/stack.test.ts). `alarms` is what the dashboard's alarm status widget shows.
 */
import { Duration, RemovalPolicy, type Stack } from "aws-cdk-lib";
import type { HttpApi } from "aws-cdk-lib/aws-apigatewayv2";
import { Alarm, ComparisonOperator, MathExpression, TreatMissingData, type IMetric } from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import { Effect, PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import type { IFunction } from "aws-cdk-lib/aws-lambda";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { METRIC } from "../shared/core/observability";
import type { ProductMetrics } from "./product-metrics";

export interface ServiceAlarmsProps {
  /** E-mail address subscribed to the topic. "" = no subscription. */
  alarmEmail?: string;
  /** The stack's stage, named in the topic's display name (the e-mails' sender). */
  stage?: string;
}

export interface AlarmOptions {
  /** Alarm when the metric reaches this value (>=) in one period. Default 1. */
  threshold?: number;
  /** Periods looked at. Default 1. */
  evaluationPeriods?: number;
  /** Of those, how many must reach the threshold. Default all of them. */
  datapointsToAlarm?: number;
}

/** The period and statistic of every alarm: a sum over five minutes. */
export const ALARM_PERIOD = { period: Duration.minutes(5), statistic: "Sum" } as const;

/**
 * Jobs failed for an operator's reason (a service down, a defect, a resource gone) in five
 * minutes, all routes: the first one, since a person saw it fail. A job failed because a person
 * must fix their records is not counted.
 */
export const JOBS_FAILING_THRESHOLD = 1;
/**
 * Five-minute periods in a row with a 5xx before Api5xx alarms: a Flatfile blip or a cold
 * dependency the relay retries through lasts one; a quarter of an hour is not a blip.
 */
export const API_5XX_PERIODS = 3;
/**
 * Deliveries refused for their signature in five minutes, all routes: strangers probing the API,
 * or the relay signing with a secret the functions no longer hold (after a rotation).
 */
export const SIGNATURE_REJECTIONS_THRESHOLD = 10;

/** The `route` dimension of what the job sweep counts (functions/job-sweep/sweep.ts). */
export const SWEEP_ROUTE = "job-sweep";
/**
 * The `route` dimension of what the action-job worker counts (WORKER_NAME in
 * functions/action-job-worker/handler.ts): the jobs it ends are counted with the routes'.
 */
export const WORKER_ROUTE = "action-job-worker";

export class ServiceAlarms {
  /** Encrypted topic every alarm notifies. */
  readonly topic: Topic;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;

  constructor(
    private readonly scope: Stack,
    props: ServiceAlarmsProps = {},
  ) {
    // Encrypted topic. CloudWatch cannot publish to a topic under the AWS managed SNS key, so a
    // customer managed key whose policy lets CloudWatch use it. DESTROY: nothing lasting is
    // encrypted with it (SNS messages only), deletion waits the 7-30 day KMS window anyway.
    const topicKey = new Key(scope, "AlarmTopicKey", {
      description: "Encrypts the alarm topic; CloudWatch alarms may use it to publish",
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    topicKey.grant(new ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*");
    this.topic = new Topic(scope, "AlarmTopic", {
      displayName: `Flatfile Space Configurator alarms${props.stage ? ` (${props.stage})` : ""}`,
      masterKey: topicKey,
      enforceSSL: true,
    });
    // enforceSSL writes a topic policy, which replaces SNS's default one: allow this account's
    // CloudWatch alarms to publish explicitly.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: "AllowCloudWatchAlarms",
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": scope.account },
          ArnLike: { "aws:SourceArn": `arn:${scope.partition}:cloudwatch:${scope.region}:${scope.account}:alarm:*` },
        },
      }),
    );
    const alarmEmail = props.alarmEmail?.trim() ?? "";
    if (alarmEmail) this.topic.addSubscription(new EmailSubscription(alarmEmail));
    this.action = new SnsAction(this.topic);
  }

  /**
   * An alarm on `metric` (>= threshold), notifying the topic when it fires and when it clears
   * (so a person knows the incident is over); missing data is not breaching.
   */
  add(id: string, metric: IMetric, description: string, options: AlarmOptions = {}): Alarm {
    const alarm = new Alarm(this.scope, id, {
      // Named after the stack: two stages side by side in one region read apart in the console
      // and in the e-mail's subject.
      alarmName: `${this.scope.stackName}-${id}`,
      metric,
      alarmDescription: description,
      threshold: options.threshold ?? 1,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      datapointsToAlarm: options.datapointsToAlarm,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.alarms.push(alarm);
    return alarm;
  }

  /** `<id>Errors` and `<id>Throttles`: any in five minutes. */
  watchFunction(id: string, name: string, fn: IFunction): void {
    this.add(`${id}Errors`, fn.metricErrors(ALARM_PERIOD), `${name}: the function threw or timed out (5 min)`);
    this.add(`${id}Throttles`, fn.metricThrottles(ALARM_PERIOD), `${name}: invocations were throttled (5 min)`);
  }

  /** `JobsFailing`, `JobsEndedByOthers` and `SignatureRejections`, on the product's own metrics. */
  watchProduct(metrics: ProductMetrics): void {
    this.add(
      "JobsFailing",
      metrics.total(METRIC.jobFailed, "jobs failed", [WORKER_ROUTE]),
      "A Flatfile job failed for a service outage, a defect or a missing resource (5 min): a person saw it fail. Its message and the function's ERROR lines say why; records in error are not counted",
      { threshold: JOBS_FAILING_THRESHOLD },
    );
    this.add(
      "JobsEndedByOthers",
      metrics.total(METRIC.jobEndedByOthers, "our jobs ended by someone else", [SWEEP_ROUTE, WORKER_ROUTE]),
      "A job this service acknowledged was failed or canceled by someone else before it ended it (Flatfile's 5-minute timer, a person, another listener): " +
        "the person did not see our message. Follow the jobId of the log line 'a job we acknowledged was ended by someone else first' (5 min)",
    );
    this.add(
      "SignatureRejections",
      metrics.total(METRIC.rejectedSignature, "deliveries rejected: signature"),
      `${SIGNATURE_REJECTIONS_THRESHOLD} or more deliveries refused with 401 for their signature (5 min): probing, or the relay and the functions hold different signing secrets`,
      { threshold: SIGNATURE_REJECTIONS_THRESHOLD },
    );
  }

  /**
   * `Api5xx`: the HTTP API answered 5xx, less two kinds that need nobody: the 503 a copy gets
   * while the first is handled (designed: the relay retries after Retry-After), and the answers
   * given before a signature could be checked (a stranger must not be able to trip the alarm
   * meant for real failures; every other pre-signature answer is a 401), which have their own
   * alarm, `SigningSecretUnavailable`. And only when it lasts API_5XX_PERIODS periods: a Flatfile
   * blip the relay retries through is over within one.
   */
  watchApi(api: HttpApi, metrics: ProductMetrics): void {
    const unverified = metrics.total(METRIC.signingSecretUnavailable, "5xx before the signature could be checked");
    const inFlight = metrics.total(METRIC.deliveryInProgress, "503 to a copy while the first is handled");
    this.add(
      "Api5xx",
      new MathExpression({
        expression: "FILL(api5xx, 0) - unverified - inFlight",
        usingMetrics: { api5xx: api.metricServerError(ALARM_PERIOD), unverified, inFlight },
        label: "5xx answered to verified requests, or by the gateway, not counting copies in flight",
        period: ALARM_PERIOD.period,
      }),
      `HTTP API answered 5xx in each of ${API_5XX_PERIODS} five-minute periods in a row (not counting a copy's designed 503, nor answers before the signature could be checked): deliveries keep failing and the relay will give up on them. See which route, and "failure" in its ERROR lines`,
      { evaluationPeriods: API_5XX_PERIODS, datapointsToAlarm: API_5XX_PERIODS },
    );
    this.add(
      "SigningSecretUnavailable",
      unverified,
      "The functions could not read the signing secret (Secrets Manager down, or the secret's signingSecret missing or too short): every delivery is answered 500 until they can (5 min)",
    );
  }
}
