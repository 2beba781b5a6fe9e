/**
 * The DynamoDB client for our own items in the idempotency table (leases, open jobs). Tight
 * timeouts: an outage must become a 5xx in seconds, not hang the invocation. Without
 * throwOnRequestTimeout, smithy only logs a warning when requestTimeout passes.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { traceAwsClient } from "./observability";

let client: DynamoDBClient | undefined;

export function dynamoClient(): DynamoDBClient {
  // Captured by X-Ray when tracing (each call a DynamoDB subsegment).
  client ??= traceAwsClient(
    new DynamoDBClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
    }),
  );
  return client;
}
