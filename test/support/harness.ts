/**
 * Drives a route handler the way API Gateway would: a signed HTTP API v2 event, against the
 * Flatfile stand-in on 127.0.0.1, with the in-process idempotency store reset per scenario.
 */
import { randomBytes } from "node:crypto";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { resetSettingsCache } from "../../shared/core/config";
import { createSdkClient, type SdkApi } from "../../shared/core/flatfile-sdk";
import { resetInProcessIdempotency } from "../../shared/core/idempotency";
import { resetInProcessOpenJobs } from "../../shared/core/open-jobs";
import type { RouteHandler } from "../../shared/core/route";
import { signPayload } from "../../shared/core/signature";
import { startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";

export const ENVIRONMENT_ID = "us_env_local0001";
export const ACCOUNT_ID = "us_acc_local0001";

export interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** Lower-case names. */
  headers: Record<string, string>;
}

export interface Harness {
  flatfile: FlatfileStandIn;
  /** The SDK client, pointed at the stand-in, for reading back what a handler did. */
  api: SdkApi;
  signingSecret: string;
  /** Signs and delivers an event (an object, or a raw string body) to a handler. */
  deliver(handler: RouteHandler, event: unknown, options?: DeliverOptions): Promise<Answer>;
  /**
   * As the relay does after a 5xx (a copy in flight, a temporary failure): deliver again until
   * the answer is not a 5xx. Pauses `pauseMs` between attempts instead of the Retry-After, so
   * in-process tests stay quick; every 503 for a copy in flight must carry a Retry-After.
   */
  deliverUntilSettled(
    handler: RouteHandler,
    event: unknown,
    options?: DeliverOptions & { attempts?: number; pauseMs?: number },
  ): Promise<Answer[]>;
  /** Forgets deliveries and Flatfile state between tests. */
  reset(): void;
  close(): Promise<void>;
}

export interface DeliverOptions {
  base64?: boolean;
  /** Replace the signature header (undefined removes it). */
  signature?: string | null;
  /** Lambda time left, as the handler is told. */
  remainingMs?: number;
}

export function apiEvent(rawBody: string, headers: Record<string, string>, base64 = false): APIGatewayProxyEventV2 {
  return {
    version: "2.0",
    routeKey: "POST /",
    rawPath: "/",
    rawQueryString: "",
    headers,
    requestContext: {
      accountId: "000000000000",
      apiId: "test",
      domainName: "127.0.0.1",
      domainPrefix: "test",
      http: { method: "POST", path: "/", protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: "test",
      routeKey: "POST /",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: base64 ? Buffer.from(rawBody, "utf8").toString("base64") : rawBody,
    isBase64Encoded: base64,
  };
}

export interface HarnessOptions {
  latencyMs?: number;
  env?: Record<string, string | undefined>;
  idPrefix?: string;
}

/** Sets the process's environment (undefined removes a variable) and forgets the settings read from it. */
export function applyEnv(env: Record<string, string | undefined>): void {
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  resetSettingsCache();
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const flatfile = await startFlatfileStandIn({ latencyMs: options.latencyMs, idPrefix: options.idPrefix });
  const signingSecret = `whsec_${randomBytes(16).toString("hex")}`;
  const env: Record<string, string | undefined> = {
    FLATFILE_API_KEY: flatfile.apiKey,
    FLATFILE_SIGNING_SECRET: signingSecret,
    FLATFILE_API_URL: flatfile.url,
    FLATFILE_SECRET_ID: undefined,
    IDEMPOTENCY_TABLE: undefined,
    FLATFILE_ENVIRONMENT_ID: ENVIRONMENT_ID,
    REFERENCE_DATA_URL: undefined,
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? "SILENT",
    ...options.env,
  };
  applyEnv(env);
  resetInProcessIdempotency();
  resetInProcessOpenJobs();
  const harness: Harness = {
    flatfile,
    api: createSdkClient({ token: flatfile.apiKey, baseUrl: flatfile.url }),
    signingSecret,
    async deliverUntilSettled(handler, event, opts = {}) {
      const answers: Answer[] = [];
      for (let attempt = 0; attempt < (opts.attempts ?? 20); attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, opts.pauseMs ?? 50));
        const answer = await harness.deliver(handler, event, opts);
        answers.push(answer);
        if (answer.status < 500) break;
      }
      return answers;
    },
    async deliver(handler, event, opts = {}) {
      const rawBody = typeof event === "string" ? event : JSON.stringify(event);
      const headers: Record<string, string> = { "content-type": "application/json" };
      const signature = opts.signature === undefined ? signPayload(rawBody, signingSecret) : opts.signature;
      if (signature !== null) headers["x-flatfile-signature"] = signature;
      const result = await handler(apiEvent(rawBody, headers, opts.base64), {
        getRemainingTimeInMillis: () => opts.remainingMs ?? 25_000,
        awsRequestId: "test",
      });
      let body: Record<string, unknown> = {};
      try {
        body = result.body ? JSON.parse(result.body) : {};
      } catch {
        body = { raw: result.body };
      }
      const answerHeaders = Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([key, value]) => [key.toLowerCase(), String(value)]),
      );
      return { status: result.statusCode ?? 200, body, headers: answerHeaders };
    },
    reset() {
      flatfile.reset();
      resetInProcessIdempotency();
      resetInProcessOpenJobs();
    },
    close: () => flatfile.close(),
  };
  return harness;
}

let counter = 0;
const nextId = (kind: string) => `us_${kind}_${(Date.now() % 1e8).toString(36)}${(counter++).toString(36).padStart(4, "0")}`;

/** A `job:ready` event as Flatfile raises it. */
export function jobReadyEvent(input: {
  job: string;
  jobId: string;
  spaceId: string;
  workbookId?: string;
  sheetId?: string;
  sheetSlug?: string;
  actorId?: string;
  environmentId?: string;
}): Record<string, unknown> {
  const [domain, operation] = input.job.split(":");
  return {
    id: nextId("evt"),
    topic: "job:ready",
    domain: "job",
    createdAt: new Date().toISOString(),
    context: {
      accountId: ACCOUNT_ID,
      environmentId: input.environmentId ?? ENVIRONMENT_ID,
      spaceId: input.spaceId,
      ...(input.workbookId ? { workbookId: input.workbookId } : {}),
      ...(input.sheetId ? { sheetId: input.sheetId } : {}),
      ...(input.sheetSlug ? { sheetSlug: input.sheetSlug, slugs: { sheet: input.sheetSlug } } : {}),
      jobId: input.jobId,
      ...(input.actorId ? { actorId: input.actorId } : {}),
      actionName: operation,
    },
    payload: { job: input.job, info: null, domain, status: "ready", operation, isPart: false, input: {} },
  };
}

/** A `commit:created` event as Flatfile raises it. */
export function commitCreatedEvent(input: {
  spaceId: string;
  workbookId: string;
  sheetId: string;
  sheetSlug?: string;
  commitId: string;
  actorId?: string;
  environmentId?: string;
}): Record<string, unknown> {
  return {
    id: nextId("evt"),
    topic: "commit:created",
    domain: "workbook",
    createdAt: new Date().toISOString(),
    context: {
      accountId: ACCOUNT_ID,
      environmentId: input.environmentId ?? ENVIRONMENT_ID,
      spaceId: input.spaceId,
      workbookId: input.workbookId,
      sheetId: input.sheetId,
      ...(input.sheetSlug ? { sheetSlug: input.sheetSlug, slugs: { sheet: input.sheetSlug } } : {}),
      commitId: input.commitId,
      versionId: input.commitId,
      ...(input.actorId ? { actorId: input.actorId } : {}),
    },
    payload: {},
  };
}
