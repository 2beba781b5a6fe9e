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

export interface RelayResourceProperties {
  EnvironmentId: string;
  RelayBaseUrl: string;
  SecretId: string;
  FlatfileApiUrl?: string;
  AgentSha256?: string;
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
  log(message: string, fields?: Record<string, unknown>): void;
}

/** Flatfile calls of one invocation stop before this; the function's timeout is longer. */
export const REGISTER_BUDGET_MS = 100_000;

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
  makeApi: (token, apiUrl, deadline) => createSdkClient({ token, baseUrl: apiUrl, deadline: () => deadline }),
  now: () => Date.now(),
  log: (message, fields) => console.log(JSON.stringify({ message, ...fields })),
});

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
    const deadline = deps.now() + REGISTER_BUDGET_MS;
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

    if (event.RequestType === "Delete") {
      try {
        const removed = await unregisterRelay(api, props.EnvironmentId);
        deps.log("relay removed", { environmentId: props.EnvironmentId, agents: removed.removedAgents.length });
        return { PhysicalResourceId: event.PhysicalResourceId, Data: { Status: "REMOVED" } };
      } catch (error) {
        // A refused key or a gone environment cannot hold our agent any longer (or we cannot
        // reach it ever): do not leave the stack stuck in DELETE_FAILED over it.
        if (error instanceof FlatfileError && [401, 403, 404].includes(error.statusCode ?? 0)) {
          deps.log("relay removal skipped", { reason: describeFlatfileFailure(error, props.EnvironmentId) });
          return { PhysicalResourceId: event.PhysicalResourceId, Data: { Status: "SKIPPED" } };
        }
        throw new Error(`Removing the Flatfile relay failed: ${describeFlatfileFailure(error, props.EnvironmentId)}`);
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
      const result = await registerRelay(api, {
        environmentId: props.EnvironmentId,
        baseUrl: props.RelayBaseUrl,
        signingSecret,
        previousSigningSecret,
        source,
      });
      deps.log("relay registered", { agentId: result.agentId, removed: result.removed, sha256 });
      return {
        PhysicalResourceId: physicalId,
        Data: { Status: "REGISTERED", AgentId: result.agentId, AgentSha256: sha256, Instructions: "" },
      };
    } catch (error) {
      throw new Error(`Registering the Flatfile relay failed: ${describeFlatfileFailure(error, props.EnvironmentId)}`);
    }
  };
}

export const onEvent = createOnEvent();
