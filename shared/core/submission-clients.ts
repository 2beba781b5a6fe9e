/**
 * The S3 and EventBridge clients that deliver a submission. The SDK reads AWS_ENDPOINT_URL_S3 and
 * AWS_ENDPOINT_URL_EVENTBRIDGE itself, which is how `npm start` and the tests point them at
 * s3rver and the local EventBridge. Path-style addressing when an endpoint is set: a local S3
 * has no per-bucket host names.
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { traceAwsClient } from "./observability";

let s3: S3Client | undefined;
let events: EventBridgeClient | undefined;

const handler = { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true };

export function s3Client(): S3Client {
  s3 ??= traceAwsClient(
    new S3Client({ maxAttempts: 2, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3), requestHandler: handler }),
  );
  return s3;
}

export function eventBridgeClient(): EventBridgeClient {
  events ??= traceAwsClient(new EventBridgeClient({ maxAttempts: 2, requestHandler: handler }));
  return events;
}

/** Forgets the clients, so the next call reads the endpoints again (tests start servers per suite). */
export function resetSubmissionClients(): void {
  s3 = undefined;
  events = undefined;
}
