/**
 * The custom resource (CDK Provider `onEvent`) that registers the relay agent and its two secrets
 * in the Flatfile environment, and removes them on Delete. Repeats are harmless; without an API key
 * it registers nothing and says how to finish. Properties and lifecycle:
 * docs/design.md#registering-the-relay.
 */
import { MIN_SIGNING_SECRET_CHARS, normalizeSigningSecret } from "../../shared/core/signature";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { CloudFormationCustomResourceEvent } from "aws-lambda";
import { createSdkClient } from "../../shared/core/flatfile-sdk";
import { RELAY_AGENT_FILE } from "./bundle-file";
import {
  baseUrlProblem,
  describeFlatfileFailure,
  isMissingApiKey,
  registerRelay,
  unregisterRelay,
  type RelayApi,
} from "./flatfile-registration";
import { FlatfileError } from "@flatfile/api/errors/FlatfileError";
import { FlatfileTimeoutError } from "@flatfile/api/errors/FlatfileTimeoutError";

export interface RelayResourceProperties {
  EnvironmentId: string;
  RelayBaseUrl: string;
  SecretId: string;
  FlatfileApiUrl?: string;
  AgentSha256?: string;
  /** The agent's topics, comma-separated (the plan it was built with); absent: our routes'. */
  Topics?: string;
}

export interface OnEventResponse {
  PhysicalResourceId: string;
  Data: Record<string, string>;
}

export interface StackSecret {
  apiKey?: string;
  signingSecret?: string;
  /** Set during a rotation: the relay signs with it too until it is removed. */
  previousSigningSecret?: string;
}

export interface RegisterDeps {
  readSecret(secretId: string): Promise<StackSecret>;
  loadAgentSource(): string;
  makeApi(token: string, apiUrl: string | undefined, deadline: number): RelayApi;
  now(): number;
  sleep(ms: number): Promise<void>;
  log(message: string, fields?: Record<string, unknown>): void;
  retry: RegisterRetry;
}

/**
 * How long a Create, Update or Delete keeps trying while Flatfile is unreachable or failing
 * (network errors, timeouts, 408, 429, 5xx): the whole registration is repeated (each step is
 * idempotent), with backoff doubling from `firstDelayMs` up to `maxDelayMs`, until `totalMs`
 * after the invocation started. A refusal (401, 403, 404, another 4xx) is final at once.
 */
export interface RegisterRetry {
  totalMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

/**
 * Four minutes: a Flatfile blip or a short outage passes without rolling the stack back. The
 * register function's timeout (relay-registration.ts) is a minute longer, so the last error is
 * reported, not a Lambda timeout; the Provider framework waits 15 minutes.
 */
export const REGISTER_RETRY: RegisterRetry = { totalMs: 240_000, firstDelayMs: 2_000, maxDelayMs: 30_000 };
/** Each Flatfile call's own timeout: agents carry a ~20 KiB source. */
const REGISTER_ATTEMPT_TIMEOUT_MS = 15_000;

let secretsClient: SecretsManagerClient | undefined;

async function readStackSecret(secretId: string): Promise<StackSecret> {
  secretsClient ??= new SecretsManagerClient({ maxAttempts: 3 });
  let raw: string | undefined;
  try {
    raw = (await secretsClient.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : "unknown error";
    throw new Error(`could not read the secret ${secretId} (${name}); the register function needs secretsmanager:GetSecretValue on it`);
  }
  if (!raw) return {};
  try {
    const value = JSON.parse(raw) as unknown;
    if (!value || typeof value !== "object") throw new Error("not an object");
    const { apiKey, signingSecret, previousSigningSecret } = value as Record<string, unknown>;
    return {
      apiKey: typeof apiKey === "string" ? apiKey : undefined,
      signingSecret: typeof signingSecret === "string" ? signingSecret : undefined,
      previousSigningSecret: typeof previousSigningSecret === "string" ? previousSigningSecret : undefined,
    };
  } catch {
    throw new Error(`the secret ${secretId} is not JSON of the form {"apiKey","signingSecret"}`);
  }
}

export const defaultRegisterDeps = (): RegisterDeps => ({
  readSecret: readStackSecret,
  loadAgentSource: () => readFileSync(process.env.RELAY_AGENT_PATH ?? join(__dirname, RELAY_AGENT_FILE), "utf8"),
  // No per-call retries: the registration as a whole is retried (withRetry), one bound for all.
  makeApi: (token, apiUrl, deadline) =>
    createSdkClient({
      token,
      baseUrl: apiUrl,
      deadline: () => deadline,
      retry: { maxRetries: 0, attemptTimeoutMs: REGISTER_ATTEMPT_TIMEOUT_MS },
    }),
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log: (message, fields) => console.log(JSON.stringify({ message, ...fields })),
  retry: REGISTER_RETRY,
});

/** Flatfile unreachable, timing out, throttling or failing: worth another try. */
export function isTransientFlatfileFailure(error: unknown): boolean {
  if (error instanceof FlatfileTimeoutError) return true;
  if (!(error instanceof FlatfileError)) return false;
  const status = error.statusCode;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** Thrown when the bound ran out: what failed, how often, for how long, and the last reason. */
export class RegistrationGaveUp extends Error {}

/**
 * Runs `operation` until it succeeds, fails for good, or the bound runs out. `describe` turns the
 * last error into the reason CloudFormation shows.
 */
async function withRetry<T>(
  deps: RegisterDeps,
  started: number,
  what: string,
  describe: (error: unknown) => string,
  operation: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransientFlatfileFailure(error)) throw error;
      const delay = Math.min(deps.retry.firstDelayMs * 2 ** (attempt - 1), deps.retry.maxDelayMs);
      const elapsed = deps.now() - started;
      // Stop when the wait and a short attempt would not fit: better a clear error now than a
      // Lambda timeout later.
      if (elapsed + delay + Math.min(deps.retry.firstDelayMs, 1_000) >= deps.retry.totalMs) {
        throw new RegistrationGaveUp(
          `${what} failed after ${attempt} attempt${attempt === 1 ? "" : "s"} over ${Math.round(elapsed / 1000)} s (retried for up to ${Math.round(deps.retry.totalMs / 1000)} s): ${describe(error)}`,
        );
      }
      deps.log("relay registration: Flatfile failed, retrying", { what, attempt, reason: describe(error), delayMs: delay });
      await deps.sleep(delay);
    }
  }
}

export const physicalIdFor = (environmentId: string) => `flatfile-relay:${environmentId}`;

function propsOf(raw: Record<string, unknown> | undefined): RelayResourceProperties {
  const props = (raw ?? {}) as Partial<Record<keyof RelayResourceProperties, unknown>>;
  const text = (v: unknown) => (typeof v === "string" ? v.trim() : "");
  const out: RelayResourceProperties = {
    EnvironmentId: text(props.EnvironmentId),
    RelayBaseUrl: text(props.RelayBaseUrl),
    SecretId: text(props.SecretId) || (process.env.FLATFILE_SECRET_ID ?? ""),
    FlatfileApiUrl: text(props.FlatfileApiUrl) || process.env.FLATFILE_API_URL || undefined,
    AgentSha256: text(props.AgentSha256) || undefined,
    Topics: text(props.Topics) || undefined,
  };
  const missing = (["EnvironmentId", "SecretId"] as const).filter((k) => !out[k]);
  if (missing.length)
    throw new Error(`the relay registration is missing the propert${missing.length > 1 ? "ies" : "y"} ${missing.join(", ")}`);
  return out;
}

export function finishInstructions(props: RelayResourceProperties): string {
  return (
    `No Flatfile API key in the secret ${props.SecretId}, so the relay was not registered in ${props.EnvironmentId}. ` +
    `Put the environment's secret key in the secret's "apiKey" (keep its "signingSecret"), then run ` +
    `\`FLATFILE_SECRET_ID=${props.SecretId} FLATFILE_ENVIRONMENT_ID=${props.EnvironmentId} RELAY_BASE_URL=${props.RelayBaseUrl} npm run relay:deploy\`, ` +
    "or redeploy the stack with a change to the relay (a new agent build re-registers it)."
  );
}

export function createOnEvent(overrides: Partial<RegisterDeps> = {}) {
  const deps: RegisterDeps = { ...defaultRegisterDeps(), ...overrides };
  return async function onEvent(event: CloudFormationCustomResourceEvent): Promise<OnEventResponse> {
    const props = propsOf(event.ResourceProperties);
    const physicalId = physicalIdFor(props.EnvironmentId);
    const started = deps.now();
    const deadline = started + deps.retry.totalMs;
    deps.log("relay registration", { requestType: event.RequestType, environmentId: props.EnvironmentId });

    // Before anything is read or registered: the relay only ever signs events to an https URL.
    const urlProblem = event.RequestType === "Delete" ? undefined : baseUrlProblem(props.RelayBaseUrl);
    if (urlProblem) throw new Error(`RelayBaseUrl: ${urlProblem}`);
    const secret = await deps.readSecret(props.SecretId);
    if (isMissingApiKey(secret.apiKey)) {
      const instructions = finishInstructions(props);
      deps.log("relay registration skipped: no API key", { requestType: event.RequestType });
      if (event.RequestType === "Delete") {
        // Nothing we could have registered with this secret; never block a stack deletion on it.
        return { PhysicalResourceId: event.PhysicalResourceId, Data: { Status: "SKIPPED" } };
      }
      return { PhysicalResourceId: physicalId, Data: { Status: "SKIPPED", AgentId: "", Instructions: instructions } };
    }
    const api = deps.makeApi(secret.apiKey!.trim(), props.FlatfileApiUrl, deadline);

    const describe = (error: unknown) => describeFlatfileFailure(error, props.EnvironmentId);
    if (event.RequestType === "Delete") {
      try {
        const removed = await withRetry(deps, started, "Removing the Flatfile relay", describe, () =>
          unregisterRelay(api, props.EnvironmentId),
        );
        deps.log("relay removed", { environmentId: props.EnvironmentId, agents: removed.removedAgents.length });
        return { PhysicalResourceId: event.PhysicalResourceId, Data: { Status: "REMOVED" } };
      } catch (error) {
        // A refused key or a gone environment cannot hold our agent any longer (or we cannot
        // reach it ever): do not leave the stack stuck in DELETE_FAILED over it.
        if (error instanceof FlatfileError && [401, 403, 404].includes(error.statusCode ?? 0)) {
          deps.log("relay removal skipped", { reason: describeFlatfileFailure(error, props.EnvironmentId) });
          return { PhysicalResourceId: event.PhysicalResourceId, Data: { Status: "SKIPPED" } };
        }
        // Our agent may still be in the environment, forwarding to an API about to go: say how to
        // take it out by hand before the deletion is retried.
        const removeByHand =
          ` The relay agent may still be registered in ${props.EnvironmentId}: remove it with ` +
          `\`FLATFILE_SECRET_ID=${props.SecretId} FLATFILE_ENVIRONMENT_ID=${props.EnvironmentId} npm run relay:deploy -- --remove\`, then delete the stack again.`;
        if (error instanceof RegistrationGaveUp) throw new Error(`${error.message}.${removeByHand}`);
        throw new Error(`Removing the Flatfile relay failed: ${describe(error)}.${removeByHand}`);
      }
    }

    const signingSecret = normalizeSigningSecret(secret.signingSecret);
    if (signingSecret.length < MIN_SIGNING_SECRET_CHARS) {
      throw new Error(
        `the secret ${props.SecretId} has no "signingSecret" of at least ${MIN_SIGNING_SECRET_CHARS} characters; the relay cannot sign without it`,
      );
    }
    const previous = normalizeSigningSecret(secret.previousSigningSecret);
    const previousSigningSecret = previous.length >= MIN_SIGNING_SECRET_CHARS ? previous : undefined;
    let source: string;
    try {
      source = deps.loadAgentSource();
    } catch (error) {
      throw new Error(
        `the relay agent's bundle (${RELAY_AGENT_FILE}) is missing from the register function: ${error instanceof Error ? error.message : error}`,
      );
    }
    const sha256 = createHash("sha256").update(source).digest("hex");
    try {
      const result = await withRetry(deps, started, "Registering the Flatfile relay", describe, () =>
        registerRelay(api, {
          environmentId: props.EnvironmentId,
          baseUrl: props.RelayBaseUrl,
          signingSecret,
          previousSigningSecret,
          source,
          ...(props.Topics ? { topics: props.Topics.split(",").map((topic) => topic.trim()) } : {}),
        }),
      );
      deps.log("relay registered", { agentId: result.agentId, removed: result.removed, sha256 });
      return {
        PhysicalResourceId: physicalId,
        Data: { Status: "REGISTERED", AgentId: result.agentId, AgentSha256: sha256, Instructions: "" },
      };
    } catch (error) {
      if (error instanceof RegistrationGaveUp) throw new Error(`${error.message}. Deploy again once Flatfile answers.`);
      throw new Error(`Registering the Flatfile relay failed: ${describe(error)}`);
    }
  };
}

export const onEvent = createOnEvent();
