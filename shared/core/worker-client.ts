/**
 * The Lambda client that starts the action-job worker, and its one command. The SDK reads
 * AWS_ENDPOINT_URL_LAMBDA itself, which is how `npm start` and the tests point it at the local
 * Lambda stand-in. Bundled as a file of its own beside action-job's index.js and required on the
 * first hand-off, so it is neither parsed nor run at cold start (docs/design.md#bundling). It
 * imports nothing of ours: the tracer is handed in by the caller.
 */
import { LambdaClient } from "@aws-sdk/client-lambda";

export { InvokeCommand } from "@aws-sdk/client-lambda";

let lambda: LambdaClient | undefined;

const untraced = <T>(client: T): T => client;

/** `trace` wraps the client when it is first made (the caller passes the function's tracer). */
export function lambdaClient(trace: <T>(client: T) => T = untraced): LambdaClient {
  lambda ??= trace(
    new LambdaClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 3_000, throwOnRequestTimeout: true } }),
  );
  return lambda;
}

/** Forgets the client, so the next call reads the endpoint again (tests start servers per suite). */
export function resetWorkerClient(): void {
  lambda = undefined;
}
