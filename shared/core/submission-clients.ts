/**
 * The S3 and EventBridge clients that deliver a submission, and the commands they send. The SDK
 * reads AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_EVENTBRIDGE itself, which is how `npm start` and
 * the tests point them at s3rver and the local EventBridge. Path-style addressing when an endpoint
 * is set: a local S3 has no per-bucket host names.
 *
 * Bundled as a file of its own beside action-job's index.js and required on the first Submit, so
 * the two clients are neither parsed nor run at cold start (docs/design.md#bundling). It imports
 * nothing of ours: the tracer is handed in by the caller.
 */
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";

export { PutEventsCommand } from "@aws-sdk/client-eventbridge";
export {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";

let s3: S3Client | undefined;
let events: EventBridgeClient | undefined;

const handler = { connectionTimeout: 2_000, requestTimeout: 10_000, throwOnRequestTimeout: true };
const untraced = <T>(client: T): T => client;

/** `trace` wraps the client when it is first made (the flow passes the function's tracer). */
export function s3Client(trace: <T>(client: T) => T = untraced): S3Client {
  s3 ??= trace(new S3Client({ maxAttempts: 2, forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3), requestHandler: handler }));
  return s3;
}

export function eventBridgeClient(trace: <T>(client: T) => T = untraced): EventBridgeClient {
  events ??= trace(new EventBridgeClient({ maxAttempts: 2, requestHandler: handler }));
  return events;
}

/** Forgets the clients, so the next call reads the endpoints again (tests start servers per suite). */
export function resetSubmissionClients(): void {
  s3 = undefined;
  events = undefined;
}
