/**
 * A tiny local Lambda: the Invoke operation over its REST protocol, reached by pointing
 * AWS_ENDPOINT_URL_LAMBDA at it, running the registered handlers in this process. There is no
 * emulator on npm, and Invoke is all our functions call (action-job hands a job to its worker).
 *
 * The protocol is the AWS Lambda API reference's "Invoke" as @aws-sdk/client-lambda sends and reads
 * it (its InvocationRequest/InvocationResponse shapes): `POST /2015-03-31/functions/{FunctionName}/invocations`,
 * the type in `X-Amz-Invocation-Type` (RequestResponse by default, Event, DryRun), the payload as
 * the body; the status is the answer's StatusCode (200, 202, 204), a handler's error is
 * `X-Amz-Function-Error: Unhandled` with its payload, and a service error names its type in
 * `x-amzn-ErrorType` with a `{Type, message}` body. The payload limits (6 MB synchronous, 1 MB
 * Event) are the reference's. Not modelled: Lambda's own retries of a failed Event invocation,
 * qualifiers, concurrency; a handler past its timeout is recorded as timed out but not stopped.
 */
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { listenOnLoopback } from "./loopback";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const SYNC_PAYLOAD_LIMIT = 6 * 1024 * 1024;
const EVENT_PAYLOAD_LIMIT = 1024 * 1024;

/** What a Node handler is given beside the event (the subset our handlers read). */
export interface LocalLambdaContext {
  functionName: string;
  invokedFunctionArn: string;
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export type LocalLambdaHandler = (payload: unknown, context: LocalLambdaContext) => unknown;

export interface LocalLambdaFunction {
  handler: LocalLambdaHandler;
  /** The function's configured timeout, as the stack sets it. */
  timeoutMs: number;
}

export type InvocationType = "RequestResponse" | "Event";

export interface Invocation {
  requestId: string;
  functionName: string;
  type: InvocationType;
  payload: unknown;
  startedAt: string;
  endedAt?: string;
  /** `running` until the handler returns, throws, or outlasts its timeout. */
  outcome: "running" | "succeeded" | "failed" | "timed-out";
  result?: unknown;
  /** The thrown error's name (not its message: it may carry what a handler read). */
  error?: string;
}

export interface LambdaStandIn {
  url: string;
  functions: Map<string, LocalLambdaFunction>;
  register(name: string, fn: LocalLambdaFunction): void;
  invocations: Invocation[];
  /** Refuse every Invoke with this status (429 TooManyRequests, 500 Service, or any other). */
  faults: { status?: number };
  /** Resolves when every invocation started so far (and any they start) has ended. */
  settled(): Promise<void>;
  /** Stops answering; handlers still running are left to finish on their own. */
  close(): Promise<void>;
}

const ERROR_TYPES: Record<number, string> = {
  400: "InvalidRequestContentException",
  404: "ResourceNotFoundException",
  413: "RequestTooLargeException",
  429: "TooManyRequestsException",
  500: "ServiceException",
  502: "EC2UnexpectedException",
  503: "ServiceException",
};

/** `my-function`, `123456789012:function:my-function` or its full ARN, as the reference allows. */
function functionNameOf(pathName: string): string | undefined {
  const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(pathName);
  if (!match) return undefined;
  const named = decodeURIComponent(match[1]!);
  return /(?:^|:)function:([^:]+)/.exec(named)?.[1] ?? named;
}

export async function startLambdaStandIn(
  initial: Record<string, LocalLambdaFunction> = {},
  /** Told when an invocation starts or ends (npm start's page refreshes on it). */
  onChange: () => void = () => undefined,
): Promise<LambdaStandIn> {
  const running = new Set<Promise<void>>();
  const state: LambdaStandIn = {
    url: "",
    functions: new Map(Object.entries(initial)),
    register: (name, fn) => void state.functions.set(name, fn),
    invocations: [],
    faults: {},
    settled: async () => {
      while (running.size > 0) await Promise.all([...running]);
    },
    close: async () => undefined,
  };

  /** Runs the handler, ending the record when it returns, throws or outlasts its timeout. */
  const run = (name: string, fn: LocalLambdaFunction, invocation: Invocation, queued: boolean): Promise<{ message?: string }> => {
    const deadline = Date.now() + fn.timeoutMs;
    const context: LocalLambdaContext = {
      functionName: name,
      invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
      awsRequestId: invocation.requestId,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
    const end = (outcome: Invocation["outcome"], detail: { result?: unknown; error?: string }) => {
      if (invocation.outcome !== "running") return;
      Object.assign(invocation, { outcome, endedAt: new Date().toISOString(), ...detail });
      onChange();
    };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(end("timed-out", { error: "Sandbox.Timedout" })), fn.timeoutMs);
      timer.unref();
    });
    let message: string | undefined;
    const handled = (async () => {
      // An Event invocation is queued: its caller has the 202 before the handler starts.
      if (queued) await new Promise((resolve) => setImmediate(resolve));
      return fn.handler(invocation.payload, context);
    })().then(
      (result) => end("succeeded", { result }),
      (error: unknown) => {
        message = error instanceof Error ? error.message : String(error);
        end("failed", { error: error instanceof Error ? error.name : typeof error });
      },
    );
    const done = Promise.race([handled, timedOut]).finally(() => {
      clearTimeout(timer);
      running.delete(done);
    });
    running.add(done);
    return done.then(() => ({ message }));
  };

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", async () => {
      const requestId = randomUUID();
      const refuse = (status: number, message: string, type = ERROR_TYPES[status] ?? "ServiceException") => {
        response.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type, "x-amzn-requestid": requestId });
        response.end(JSON.stringify({ Type: status < 500 ? "User" : "Service", message }));
      };
      const name = request.method === "POST" ? functionNameOf(new URL(request.url ?? "/", "http://x").pathname) : undefined;
      if (name === undefined) return refuse(404, `Unknown operation ${request.method} ${request.url}`);
      if (state.faults.status) return refuse(state.faults.status, "injected fault");
      const fn = state.functions.get(name);
      if (!fn) return refuse(404, `Function not found: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`);
      const typeHeader = String(request.headers["x-amz-invocation-type"] ?? "RequestResponse");
      if (typeHeader === "DryRun") {
        response.writeHead(204, { "x-amzn-requestid": requestId });
        return response.end();
      }
      if (typeHeader !== "Event" && typeHeader !== "RequestResponse") {
        return refuse(
          400,
          `1 validation error detected: Value '${typeHeader}' at 'invocationType' failed to satisfy constraint`,
          "ValidationException",
        );
      }
      const type: InvocationType = typeHeader;
      const body = Buffer.concat(chunks);
      const limit = type === "Event" ? EVENT_PAYLOAD_LIMIT : SYNC_PAYLOAD_LIMIT;
      if (body.length > limit) return refuse(413, `Request must be smaller than ${limit} bytes for the Invoke operation`);
      let payload: unknown = {};
      try {
        if (body.length > 0) payload = JSON.parse(body.toString("utf8"));
      } catch {
        return refuse(400, "Could not parse request body into json: Could not parse payload into json");
      }
      const invocation: Invocation = {
        requestId,
        functionName: name,
        type,
        payload,
        startedAt: new Date().toISOString(),
        outcome: "running",
      };
      state.invocations.push(invocation);
      onChange();

      if (type === "Event") {
        response.writeHead(202, { "x-amzn-requestid": requestId, "content-length": "0" });
        response.end();
        void run(name, fn, invocation, true);
        return;
      }
      const { message } = await run(name, fn, invocation, false);
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "x-amzn-requestid": requestId,
        "x-amz-executed-version": "$LATEST",
      };
      let answer: unknown = invocation.result ?? null;
      if (invocation.outcome !== "succeeded") {
        headers["x-amz-function-error"] = "Unhandled";
        answer =
          invocation.outcome === "timed-out"
            ? { errorType: "Sandbox.Timedout", errorMessage: `Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds` }
            : { errorType: invocation.error, errorMessage: message };
      }
      response.writeHead(200, headers);
      response.end(JSON.stringify(answer));
    });
  });
  const listening = await listenOnLoopback(server);
  state.url = listening.url;
  state.close = listening.close;
  return state;
}
