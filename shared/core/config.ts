import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import "./zod-locale";
import { RetryableError } from "./errors";
import { registerSecretForRedaction } from "./logger";

/** Everything a handler needs from its environment, resolved and checked once per cache period. */
export interface Settings {
  apiKey: string;
  /** The current signing secret first; a previous one during a rotation. */
  signingSecrets: string[];
  apiUrl?: string;
  environmentId?: string;
  idempotencyTable?: string;
  referenceDataUrl?: string;
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** What a freshly deployed stack's secret holds until the operator pastes in the Flatfile key. */
export const API_KEY_PLACEHOLDER = "REPLACE_ME";

const SecretValue = z.object({
  apiKey: z
    .string()
    .check(
      z.minLength(1, "apiKey is empty"),
      z.refine((key) => key !== API_KEY_PLACEHOLDER, `apiKey is still the placeholder ${API_KEY_PLACEHOLDER}: put the Flatfile environment's secret key there`),
    ),
  signingSecret: z.string().check(z.minLength(16, "signingSecret must be at least 16 characters")),
  previousSigningSecret: z.optional(z.string().check(z.minLength(16))),
});

/** Long enough to spare Secrets Manager on warm invocations, short enough to pick up a rotation. */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;

let cached: { key: string; at: number; value: z.infer<typeof SecretValue> } | undefined;
let secretsClient: SecretsManagerClient | undefined;

export function resetSettingsCache(): void {
  cached = undefined;
  secretsClient = undefined;
}

async function readSecret(secretId: string, now: number): Promise<z.infer<typeof SecretValue>> {
  if (cached && cached.key === secretId && now - cached.at < SECRET_CACHE_TTL_MS) return cached.value;
  // Tight timeouts: a Secrets Manager outage must become a 5xx well inside the gateway's 29 s.
  // Without throwOnRequestTimeout, smithy only logs a warning when requestTimeout passes.
  secretsClient ??= new SecretsManagerClient({
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500, throwOnRequestTimeout: true },
  });
  let raw: string | undefined;
  try {
    const answer = await secretsClient.send(new GetSecretValueCommand({ SecretId: secretId }));
    raw = answer.SecretString;
  } catch (error) {
    const name = error instanceof Error ? error.name : "unknown error";
    throw new RetryableError(`could not read the configuration secret (${name})`);
  }
  if (!raw) throw new ConfigurationError(`secret ${secretId} has no SecretString`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`secret ${secretId} is not JSON: expected {"apiKey","signingSecret"}`);
  }
  const parsed = SecretValue.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "value"}: ${i.message}`);
    throw new ConfigurationError(`secret ${secretId} is invalid: ${problems.join("; ")}`);
  }
  cached = { key: secretId, at: now, value: parsed.data };
  return parsed.data;
}

function optional(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * Reads the contract's configuration. `FLATFILE_SECRET_ID` wins; without it the plain env vars
 * serve (local runs). A missing value is a ConfigurationError that names it.
 */
export async function loadSettings(env: NodeJS.ProcessEnv = process.env, now = Date.now()): Promise<Settings> {
  const secretId = optional(env.FLATFILE_SECRET_ID);
  let apiKey: string | undefined;
  let signingSecrets: string[];
  if (secretId) {
    const secret = await readSecret(secretId, now);
    apiKey = secret.apiKey;
    signingSecrets = [secret.signingSecret, ...(secret.previousSigningSecret ? [secret.previousSigningSecret] : [])];
  } else {
    apiKey = optional(env.FLATFILE_API_KEY);
    const signing = optional(env.FLATFILE_SIGNING_SECRET);
    if (!apiKey) throw new ConfigurationError("FLATFILE_API_KEY is not set (and no FLATFILE_SECRET_ID names a secret)");
    if (!signing) throw new ConfigurationError("FLATFILE_SIGNING_SECRET is not set (and no FLATFILE_SECRET_ID names a secret)");
    signingSecrets = [signing];
  }
  registerSecretForRedaction(apiKey);
  signingSecrets.forEach(registerSecretForRedaction);
  return {
    apiKey,
    signingSecrets,
    apiUrl: optional(env.FLATFILE_API_URL),
    environmentId: optional(env.FLATFILE_ENVIRONMENT_ID),
    idempotencyTable: optional(env.IDEMPOTENCY_TABLE),
    referenceDataUrl: optional(env.REFERENCE_DATA_URL),
  };
}
