import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import * as z from "zod/mini";
import "./zod-locale";
import { RetryableError } from "./errors";
import { OWNED_SPACES_ENV, parseOwnedSpaces, type OwnedSpaces } from "./owned-spaces";
import { logger, registerSecretForRedaction } from "./logger";
import { traceAwsClient } from "./observability";
import { MIN_SIGNING_SECRET_CHARS, normalizeSigningSecret, verifySignature, type SignatureCheck } from "./signature";

/** The action-job worker's function name, set by the stack on action-job (shared/core/hand-off.ts). */
export const ACTION_JOB_WORKER_ENV = "ACTION_JOB_WORKER_FUNCTION";

/** Everything a handler needs from its environment, resolved and checked once per cache period. */
export interface Settings {
  apiKey: string;
  /** The current signing secret first; a previous one during a rotation. */
  signingSecrets: string[];
  apiUrl?: string;
  environmentId?: string;
  idempotencyTable?: string;
  referenceDataUrl?: string;
  /** Where a successful Submit writes its records; unset: nowhere. */
  submissionsBucket?: string;
  /** The EventBridge bus that announces each submission; unset: the account's default bus. */
  submissionsEventBus?: string;
  /** Which Spaces are ours (OWNED_SPACES); unset: every Space of the environment. */
  ownedSpaces?: OwnedSpaces;
  /** The function that carries on work past a delivery (ACTION_JOB_WORKER_FUNCTION); unset: none. */
  actionJobWorker?: string;
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** What a freshly deployed stack's secret holds until the operator pastes in the Flatfile key. */
export const API_KEY_PLACEHOLDER = "REPLACE_ME";

/** What verifying a request needs; checked before anything else is read from the secret. */
const SigningPart = z.looseObject({
  signingSecret: z
    .string()
    .check(z.minLength(MIN_SIGNING_SECRET_CHARS, `signingSecret must be at least ${MIN_SIGNING_SECRET_CHARS} characters`)),
  previousSigningSecret: z.optional(z.string().check(z.minLength(MIN_SIGNING_SECRET_CHARS))),
});
/** The secret's JSON with its signing secrets normalised as the relay's registration does. */
function withNormalizedSigning(json: unknown): unknown {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return json;
  const out: Record<string, unknown> = { ...(json as Record<string, unknown>) };
  for (const key of ["signingSecret", "previousSigningSecret"]) {
    if (typeof out[key] === "string") out[key] = normalizeSigningSecret(out[key]);
  }
  return out;
}
/** The rest, checked only once a request's signature holds (see `Configuration.settings`). */
const ApiKeyPart = z.looseObject({
  apiKey: z.string().check(
    z.minLength(1, "apiKey is empty"),
    z.refine(
      (key) => key !== API_KEY_PLACEHOLDER,
      `apiKey is still the placeholder ${API_KEY_PLACEHOLDER}: put the Flatfile environment's secret key there`,
    ),
  ),
});

/** Long enough to spare Secrets Manager on warm invocations, short enough to pick up a rotation. */
export const SECRET_CACHE_TTL_MS = 5 * 60_000;
/**
 * A signature that matches none of the cached signing secrets re-reads the secret (a rotation
 * since the cache was filled), at most once per this interval per instance: a stranger's bad
 * signatures cost at most one Secrets Manager read a second, not one per request.
 */
export const SIGNING_SECRET_REREAD_MS = 1_000;

interface SecretContent {
  signingSecrets: string[];
  /** The apiKey, or what is wrong with it (told only after the signature holds). */
  apiKey: { ok: true; value: string } | { ok: false; problem: string };
}

let cached: { key: string; at: number; value: SecretContent } | undefined;
let rereading: Promise<SecretContent> | undefined;
let lastRereadAt = Number.NEGATIVE_INFINITY;
let secretsClient: SecretsManagerClient | undefined;

export function resetSettingsCache(): void {
  cached = undefined;
  rereading = undefined;
  lastRereadAt = Number.NEGATIVE_INFINITY;
  secretsClient = undefined;
}

function problemsOf(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join(".") || "value"}: ${i.message}`).join("; ");
}

async function readSecret(secretId: string, now: number): Promise<SecretContent> {
  if (cached && cached.key === secretId && now - cached.at < SECRET_CACHE_TTL_MS) return cached.value;
  return fetchSecret(secretId, now);
}

/**
 * The secret read again past the cache, for a signature that matched none of the cached signing
 * secrets: undefined when the last such read is less than SIGNING_SECRET_REREAD_MS ago.
 * Concurrent callers share one read.
 */
async function rereadSecret(secretId: string, now: number): Promise<SecretContent | undefined> {
  if (rereading) return rereading;
  if (now - lastRereadAt < SIGNING_SECRET_REREAD_MS) return undefined;
  lastRereadAt = now;
  rereading = fetchSecret(secretId, now).finally(() => {
    rereading = undefined;
  });
  return rereading;
}

async function fetchSecret(secretId: string, now: number): Promise<SecretContent> {
  // Tight timeouts: a Secrets Manager outage must become a 5xx well inside the gateway's 29 s.
  // Without throwOnRequestTimeout, smithy only logs a warning when requestTimeout passes.
  secretsClient ??= traceAwsClient(
    new SecretsManagerClient({
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500, throwOnRequestTimeout: true },
    }),
  );
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
  const signing = SigningPart.safeParse(withNormalizedSigning(json));
  if (!signing.success) throw new ConfigurationError(`secret ${secretId} is invalid: ${problemsOf(signing.error.issues)}`);
  const key = ApiKeyPart.safeParse(json);
  const value: SecretContent = {
    signingSecrets: [
      ...new Set([signing.data.signingSecret, ...(signing.data.previousSigningSecret ? [signing.data.previousSigningSecret] : [])]),
    ],
    apiKey: key.success
      ? { ok: true, value: key.data.apiKey }
      : { ok: false, problem: `secret ${secretId} is invalid: ${problemsOf(key.error.issues)}` },
  };
  cached = { key: secretId, at: now, value };
  return value;
}

function optional(value: string | undefined): string | undefined {
  return value && value.trim() !== "" ? value.trim() : undefined;
}

/**
 * The configuration in the order a request may learn of it: the signing secrets first (a failure
 * to get them throws: the route answers a generic 500), everything else through `settings()`,
 * which the route calls only once the signature holds, so that an unsigned caller learns nothing
 * about the deployment.
 */
export interface Configuration {
  /** The current signing secret first; a previous one during a rotation. */
  readonly signingSecrets: string[];
  /**
   * Checks a delivery's signature. One that matches none of the cached secrets re-reads the secret
   * once (rate-limited, SIGNING_SECRET_REREAD_MS) and is checked again: a function that cached the
   * secret before a rotation accepts a delivery signed with the new one as soon as it is stored.
   */
  verify(header: string | undefined, rawBody: string): Promise<SignatureCheck>;
  /** The whole settings, or the ConfigurationError that names what is missing. */
  settings(): Settings;
}

/**
 * Reads the contract's configuration. `FLATFILE_SECRET_ID` wins; without it the plain env vars
 * serve (local runs). A missing value is a ConfigurationError that names it.
 */
export async function loadConfiguration(env: NodeJS.ProcessEnv = process.env, now = Date.now()): Promise<Configuration> {
  const secretId = optional(env.FLATFILE_SECRET_ID);
  let content: SecretContent;
  if (secretId) {
    content = await readSecret(secretId, now);
  } else {
    const key = optional(env.FLATFILE_API_KEY);
    const signing = normalizeSigningSecret(env.FLATFILE_SIGNING_SECRET);
    if (!signing) throw new ConfigurationError("FLATFILE_SIGNING_SECRET is not set (and no FLATFILE_SECRET_ID names a secret)");
    content = {
      apiKey: key
        ? { ok: true, value: key }
        : { ok: false, problem: "FLATFILE_API_KEY is not set (and no FLATFILE_SECRET_ID names a secret)" },
      signingSecrets: [signing],
    };
  }
  const redact = (c: SecretContent) => {
    if (c.apiKey.ok) registerSecretForRedaction(c.apiKey.value);
    c.signingSecrets.forEach(registerSecretForRedaction);
  };
  redact(content);
  return {
    get signingSecrets() {
      return content.signingSecrets;
    },
    async verify(header, rawBody) {
      const check = verifySignature(header, rawBody, content.signingSecrets);
      if (check.ok || !secretId) return check;
      let fresh: SecretContent | undefined;
      try {
        fresh = await rereadSecret(secretId, Date.now());
      } catch (error) {
        // Nobody can be told apart from a stranger here either: the answer stays the 401.
        logger.warn("signing secret could not be re-read after a signature matched none", { failure: (error as Error).name });
        return check;
      }
      if (!fresh) return check;
      content = fresh;
      redact(content);
      return verifySignature(header, rawBody, content.signingSecrets);
    },
    settings() {
      const { apiKey, signingSecrets } = content;
      if (!apiKey.ok) throw new ConfigurationError(apiKey.problem);
      return {
        apiKey: apiKey.value,
        signingSecrets,
        apiUrl: optional(env.FLATFILE_API_URL),
        environmentId: optional(env.FLATFILE_ENVIRONMENT_ID),
        idempotencyTable: optional(env.IDEMPOTENCY_TABLE),
        referenceDataUrl: optional(env.REFERENCE_DATA_URL),
        submissionsBucket: optional(env.SUBMISSIONS_BUCKET),
        submissionsEventBus: optional(env.SUBMISSIONS_EVENT_BUS),
        actionJobWorker: optional(env[ACTION_JOB_WORKER_ENV]),
        ...ownedSpacesOf(env),
      };
    },
  };
}

function ownedSpacesOf(env: NodeJS.ProcessEnv): { ownedSpaces?: OwnedSpaces } {
  try {
    const ownedSpaces = parseOwnedSpaces(env[OWNED_SPACES_ENV]);
    return ownedSpaces ? { ownedSpaces } : {};
  } catch (error) {
    throw new ConfigurationError(`${OWNED_SPACES_ENV}: ${(error as Error).message}`);
  }
}

/** Every setting at once, for callers that are not answering a request (scripts, the relay deploy). */
export async function loadSettings(env: NodeJS.ProcessEnv = process.env, now = Date.now()): Promise<Settings> {
  return (await loadConfiguration(env, now)).settings();
}
