/**
 * The deploy settings: the CDK context (cdk.json "context", `-c key=value`) checked before the
 * stack is built, so that a mistyped value fails `cdk synth` / `cdk deploy` with a message naming
 * the key, instead of deploying a stack that answers 403 to every event.
 *
 * Pure: no CDK, no I/O. `readDeploySettings(context)` takes the raw context values and returns
 * the typed settings, or throws InvalidSettingsError listing every problem at once.
 *
 * Adding a key: one entry in SETTINGS (its default, a one-line meaning and a parse that throws
 * SettingProblem), a field in DeploySettings, the key with its default in cdk.json (the "//"
 * comment there names every key; test/infra/settings.test.ts checks both), and a use in app.ts.
 */
import { describeOwnedSpaces, parseOwnedSpaces } from "../shared/core/owned-spaces";
import { SPACE_CONFIGURE_BY, type SpaceConfigureBy } from "../shared/routes";
import { ROUTE_THROTTLE } from "./throttle";

/** Why one value was refused; `readDeploySettings` prefixes it with the key. */
export class SettingProblem extends Error {}

export class InvalidSettingsError extends Error {
  constructor(readonly problems: readonly { key: string; message: string }[]) {
    super(
      [
        `Refusing to synthesize: ${problems.length === 1 ? "a deploy setting is" : `${problems.length} deploy settings are`} invalid (cdk.json "context", or -c key=value):`,
        ...problems.map((p) => `  - ${p.key}: ${p.message}`),
      ].join("\n"),
    );
    this.name = "InvalidSettingsError";
  }
}

export interface DeploySettings {
  /** CloudFormation stack name. */
  stackName: string;
  /** Only events from this environment are accepted, and the relay registers there. undefined = any. */
  flatfileEnvironmentId?: string;
  /** Flatfile API base for the functions and the relay. undefined = the production (US) API. */
  flatfileApiUrl?: string;
  /** Reference-data API read by space-configure. undefined = the bundled list. */
  referenceDataUrl?: string;
  /** An existing Secrets Manager secret (name or complete ARN). undefined = the stack creates one. */
  secretName?: string;
  /** One address subscribed to the alarm topic. undefined = no subscription. */
  alarmEmail?: string;
  /** Reserved concurrency of each route function. undefined = none (opt-in, see infra/stack.ts). */
  reservedConcurrency?: number;
  /** Actors whose commits commit-created skips (COMMIT_SELF_ACTOR_IDS). */
  commitSelfActorIds: string[];
  /** An existing S3 bucket for submissions. undefined = the stack creates one. */
  submissionsBucket?: string;
  /** An existing EventBridge bus that announces submissions. undefined = the account's default bus. */
  submissionsEventBus?: string;
  /** Which Spaces are ours (OWNED_SPACES: space:<namespace>, App ids). undefined = every Space. */
  ownedSpaces?: string;
  /** Each route's throttle: steady requests per second, and the bucket a quiet route starts with. */
  routeRateLimit: number;
  routeBurstLimit: number;
  /** Tags on the stack and every resource that takes tags. {} = none. */
  tags: Record<string, string>;
  /** Days every log group keeps its events (a value CloudWatch Logs accepts). */
  logRetentionDays: number;
  /**
   * The customer managed KMS key for the secret, the table, the bucket and the log groups the stack
   * makes: "create" (the stack makes one), or an existing key's ARN. undefined = AWS managed keys.
   */
  kmsKey?: string;
  /** Whether the deploy serves the customer's listener (listener/index.ts) on POST /listener. */
  listenerRoute: boolean;
  /**
   * Whether a job the listener's callback failed on a temporary failure is left open for the
   * relay's redelivery (LISTENER_RETRY_TEMPORARY) instead of failed: at most once by default.
   */
  listenerRetryTemporary: boolean;
  /**
   * Who runs `space:configure`: our space-configure route ("ours"), or the customer's listener
   * ("listener", only with listenerRoute on), whose code then configures every Space.
   */
  spaceConfigureBy: SpaceConfigureBy;
}

export const DEFAULT_STACK_NAME = "FlatfileSpaceConfigurator";

/**
 * Flatfile ids are `<prefix>_<kind>_<letters and digits>`. The prefix is not always `us`: docs
 * and Flatfile's own sources show `dev_env_…`, `us0_…` and other regional prefixes
 * (../shared/flatfile-notes.md, "ids"), so any short lowercase prefix with optional digits.
 */
const ID_PREFIX = "[a-z]{2,8}[0-9]{0,2}";
const ID_BODY = "[A-Za-z0-9]{1,64}";
export const ENVIRONMENT_ID = new RegExp(`^${ID_PREFIX}_env_${ID_BODY}$`);
/** Users `us_usr_`, guests `us_g_`, agents and API keys: any kind of 1-4 letters. */
export const ACTOR_ID = new RegExp(`^${ID_PREFIX}_[a-z]{1,4}_${ID_BODY}$`);
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EVENT_BUS_NAME = /^[A-Za-z0-9._\-/]{1,256}$/;
const ANY_ID = new RegExp(`^${ID_PREFIX}_([a-z]{1,4})_${ID_BODY}$`);
const ID_KINDS: Readonly<Record<string, string>> = {
  acc: "an account",
  sp: "a Space",
  wb: "a workbook",
  sh: "a sheet",
  jb: "a job",
  evt: "an event",
  usr: "a user",
  g: "a guest",
  ag: "an agent",
  app: "an app",
};

/** CloudFormation: a letter, then letters, digits and hyphens; 128 characters at most. */
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;
/** Secrets Manager names: 1-512 of letters, digits and /_+=.@- . */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
/** A complete secret ARN: Secrets Manager appends "-" and six characters to the name. */
const SECRET_ARN = /^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const PARTIAL_SECRET_ARN = /^arn:aws(-[a-z]+)*:secretsmanager:[a-z]{2}(-[a-z]+)+-\d:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
/**
 * API Gateway's default account quotas per region (10,000 requests/s, bursts of 5,000): a route's
 * limit cannot exceed its account's, so a larger value would deploy and never apply.
 */
const ACCOUNT_RATE_LIMIT = 10_000;
const ACCOUNT_BURST_LIMIT = 5_000;

/** One address: no spaces, no commas, one @, a dot in the domain. SNS subscribes one per subscription. */
const EMAIL = /^[^\s@,;<>"]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** The retention periods CloudWatch Logs accepts (PutRetentionPolicy), in days. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
export const DEFAULT_LOG_RETENTION_DAYS = 30;

/** The value of kmsKey that makes the stack create its own key. */
export const CREATE_KMS_KEY = "create";
const KMS_KEY_ARN =
  /^arn:aws(-[a-z]+)*:kms:[a-z]{2}(-[a-z]+)+-\d:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** AWS tags: 50 a resource; keys 1-128, values 0-256 characters of letters, digits, spaces and _.:/=+-@. */
const TAG_TEXT = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAGS = 50;

const show = (value: string) => JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);

function environmentId(value: string): string | undefined {
  if (value === "") return undefined;
  if (ENVIRONMENT_ID.test(value)) return value;
  const kind = ANY_ID.exec(value)?.[1];
  if (/^(sk|pk)_/.test(value)) {
    throw new SettingProblem(
      "this looks like an API key, not an environment id. The key belongs in the secret (context values are written into the template); the environment id looks like us_env_1a2b3c4d",
    );
  }
  if (kind && kind !== "env") {
    throw new SettingProblem(
      `${show(value)} is ${ID_KINDS[kind] ?? `a "${kind}"`} id, not an environment id (<prefix>_env_..., e.g. us_env_1a2b3c4d)`,
    );
  }
  throw new SettingProblem(
    `${show(value)} is not a Flatfile environment id: expected <prefix>_env_<letters and digits>, e.g. us_env_1a2b3c4d, dev_env_1a2b3c4d, us0_env_1a2b3c4d (empty: accept every environment)`,
  );
}

/** An https URL without credentials (context ends up in the template and the functions' environment). */
function httpsUrl(value: string, what: string, allowQuery: boolean): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SettingProblem(`${show(value)} is not a URL: expected https://host/path`);
  }
  if (url.protocol !== "https:") {
    throw new SettingProblem(`${what} must be an https:// URL, not ${url.protocol}// (plain http is only for local runs with npm start)`);
  }
  if (url.username || url.password) {
    throw new SettingProblem(
      `${what} must not carry credentials (user:password@): context values are visible in the template and in the functions' configuration`,
    );
  }
  if (!allowQuery && (url.search || url.hash)) throw new SettingProblem(`${what} must be a base URL without ?query or #fragment`);
  return url;
}

function secretName(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.startsWith("arn:")) {
    if (SECRET_ARN.test(value)) return value;
    if (PARTIAL_SECRET_ARN.test(value)) {
      throw new SettingProblem(
        `${show(value)} is a partial secret ARN: give the complete ARN (ending in the six characters Secrets Manager appends, e.g. ...:secret:prod/flatfile-AbC123) or just the secret's name`,
      );
    }
    throw new SettingProblem(
      `${show(value)} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`,
    );
  }
  if (SECRET_NAME.test(value)) return value;
  throw new SettingProblem(`${show(value)} is not a Secrets Manager secret name: 1-512 letters, digits and / _ + = . @ -`);
}

function alarmEmail(value: string): string | undefined {
  if (value === "") return undefined;
  if (value.length <= 254 && EMAIL.test(value)) return value;
  const several = /[,;\s]/.test(value) && value.includes("@");
  throw new SettingProblem(
    several
      ? `${show(value)}: give one address (subscribe more to the AlarmTopicArn output's topic in SNS)`
      : `${show(value)} is not an e-mail address (name@example.com)`,
  );
}

/**
 * A whole number of environments, at least 1: 0 would reserve none and stop the function (every
 * delivery throttled). Lambda itself refuses a total that leaves the account under 100
 * unreserved, which only the deploy can find out (the account's limit is not known at synth).
 */
function reservedConcurrency(value: string): number | undefined {
  if (value === "") return undefined;
  if (!/^\d+$/.test(value))
    throw new SettingProblem(`${show(value)} is not a whole number of concurrent executions (e.g. 20; empty: no reservation)`);
  const count = Number(value);
  if (count === 0)
    throw new SettingProblem(
      "0 would stop each function (every delivery throttled); give at least 1, or leave it empty for no reservation",
    );
  if (count > 10_000)
    throw new SettingProblem(`${count} is more than any account's concurrency limit allows; reserve what the routes need (e.g. 20)`);
  return count;
}

/**
 * A whole number of requests, 1 to the account's quota: 0 would answer every delivery 429 (the
 * relay would give up on each), and a fraction of a request per second is no use to a relay.
 */
function throttleLimit(what: string, quota: number, fallback: number) {
  return (value: string): number => {
    if (value === "") return fallback;
    if (!/^\d+$/.test(value)) throw new SettingProblem(`${show(value)} is not a whole number of ${what} (e.g. ${fallback})`);
    const count = Number(value);
    if (count === 0)
      throw new SettingProblem(`0 would answer every delivery with 429 Too Many Requests; give at least 1 (default ${fallback})`);
    if (count > quota) {
      throw new SettingProblem(
        `${count} is more than API Gateway's default account quota (${quota.toLocaleString("en-US")}); a route's limit cannot exceed the account's, so raise the quota first and keep this at most ${quota}`,
      );
    }
    return count;
  };
}

/** `key=value,key=value`: a comma separates tags, the first "=" a key from its value. */
function tags(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs = value
    .split(",")
    .map((pair) => pair.trim())
    .filter(Boolean);
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 0) throw new SettingProblem(`${show(pair)} has no "=": give tags as key=value,key=value (e.g. team=data,cost-center=1234)`);
    const key = pair.slice(0, at).trim();
    const tagValue = pair.slice(at + 1).trim();
    if (key === "" || key.length > 128) throw new SettingProblem(`${show(pair)}: a tag key is 1 to 128 characters`);
    if (tagValue.length > 256) throw new SettingProblem(`${show(key)}: a tag value is at most 256 characters`);
    if (!TAG_TEXT.test(key) || !TAG_TEXT.test(tagValue))
      throw new SettingProblem(`${show(pair)}: tags take letters, digits, spaces and _ . : / = + - @ only`);
    if (/^aws:/i.test(key)) throw new SettingProblem(`${show(key)}: keys starting with "aws:" are reserved for AWS`);
    if (key in out) throw new SettingProblem(`${show(key)} is given twice`);
    out[key] = tagValue;
  }
  if (Object.keys(out).length > MAX_TAGS) throw new SettingProblem(`${Object.keys(out).length} tags: AWS allows ${MAX_TAGS} on a resource`);
  return out;
}

function logRetentionDays(value: string): number {
  if (value === "") return DEFAULT_LOG_RETENTION_DAYS;
  const days = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if ((LOG_RETENTION_DAYS as readonly number[]).includes(days)) return days;
  throw new SettingProblem(`${show(value)} is not a retention CloudWatch Logs accepts: one of ${LOG_RETENTION_DAYS.join(", ")} (days)`);
}

/**
 * "create", or a key's complete ARN: a key id alone names no account or region, and an alias ARN
 * cannot be granted on (IAM matches the key's ARN).
 */
function kmsKey(value: string): string | undefined {
  if (value === "") return undefined;
  if (value === CREATE_KMS_KEY || KMS_KEY_ARN.test(value)) return value;
  if (/^arn:aws(-[a-z]+)*:kms:.*:alias\//.test(value))
    throw new SettingProblem(`${show(value)} is an alias ARN: give the key's own ARN (arn:aws:kms:<region>:<account>:key/<key id>)`);
  throw new SettingProblem(
    `${show(value)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>) nor "${CREATE_KMS_KEY}" (the stack makes one); empty: AWS managed keys`,
  );
}

function commitSelfActorIds(value: string): string[] {
  const ids = value
    .split(",")
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !ACTOR_ID.test(id));
  if (bad.length > 0) {
    throw new SettingProblem(
      `${bad.map(show).join(", ")} ${bad.length === 1 ? "is not a Flatfile actor id" : "are not Flatfile actor ids"}: expected comma-separated ids like us_usr_1a2b3c4d, us_ag_1a2b3c4d`,
    );
  }
  return ids;
}

interface SettingRule<K extends keyof DeploySettings> {
  field: K;
  /** The value cdk.json holds. */
  default: string;
  meaning: string;
  parse(value: string): DeploySettings[K];
}

/** Every context key the app reads, in the order cdk.json lists them. */
export const SETTINGS = {
  flatfileEnvironmentId: {
    field: "flatfileEnvironmentId",
    default: "",
    meaning:
      "accept only events from this Flatfile environment (403 otherwise) and register the relay there; empty: any environment, no relay",
    parse: environmentId,
  },
  flatfileApiUrl: {
    field: "flatfileApiUrl",
    default: "",
    meaning: "Flatfile API of the environment's region, e.g. https://platform.eu.flatfile.com/api; empty: the production (US) API",
    parse: (value: string) => (value === "" ? undefined : (httpsUrl(value, "the Flatfile API URL", false), value.replace(/\/+$/, ""))),
  },
  referenceDataUrl: {
    field: "referenceDataUrl",
    default: "",
    meaning: "https:// reference-data API read by space-configure; empty: the bundled category list",
    parse: (value: string) => (value === "" ? undefined : (httpsUrl(value, "the reference-data URL", true), value)),
  },
  secretName: {
    field: "secretName",
    default: "",
    meaning: 'an existing Secrets Manager secret (name, or complete ARN) holding {"apiKey","signingSecret"}; empty: the stack creates one',
    parse: secretName,
  },
  alarmEmail: {
    field: "alarmEmail",
    default: "",
    meaning: "one e-mail address subscribed to the alarm topic; empty: no subscription",
    parse: alarmEmail,
  },
  reservedConcurrency: {
    field: "reservedConcurrency",
    default: "",
    meaning:
      "reserve this many concurrent executions for each of the three route functions (opt-in: the account's limit must leave 100 unreserved after 3 x this, or the deploy fails); empty: no reservation",
    parse: reservedConcurrency,
  },
  commitSelfActorIds: {
    field: "commitSelfActorIds",
    default: "",
    meaning: "comma-separated Flatfile actor ids whose commits commit-created skips (our own writes); empty: none",
    parse: commitSelfActorIds,
  },
  submissionsBucket: {
    field: "submissionsBucket",
    default: "",
    meaning: "an existing S3 bucket (its name) that receives each submission's records; empty: the stack creates one",
    parse: (value: string) => {
      if (value === "") return undefined;
      if (BUCKET_NAME.test(value) && !value.includes("..")) return value;
      throw new SettingProblem(`${show(value)} is not an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens`);
    },
  },
  submissionsEventBus: {
    field: "submissionsEventBus",
    default: "",
    meaning: "an existing EventBridge event bus (its name) that announces each submission; empty: the account's default bus",
    parse: (value: string) => {
      if (value === "") return undefined;
      if (EVENT_BUS_NAME.test(value)) return value;
      throw new SettingProblem(`${show(value)} is not an EventBridge bus name: up to 256 letters, digits and . _ - /`);
    },
  },
  ownedSpaces: {
    field: "ownedSpaces",
    default: "",
    meaning:
      "comma-separated space:<namespace> (a Space with that namespace, or of an App with it, as Flatfile's namespace filter matches) and App ids (us_app_...) whose Spaces are ours; events of other Spaces are ignored with nothing written; empty: every Space of the environment",
    parse: (value: string) => {
      let rule: ReturnType<typeof parseOwnedSpaces>;
      try {
        rule = parseOwnedSpaces(value);
      } catch (error) {
        throw new SettingProblem((error as Error).message);
      }
      return rule ? describeOwnedSpaces(rule) : undefined;
    },
  },
  routeRateLimit: {
    field: "routeRateLimit",
    default: String(ROUTE_THROTTLE.rateLimit),
    meaning:
      "requests per second each route accepts, steadily (API Gateway's throttle; above it, 429 and the relay retries within its 55 s window); npm start's gateway applies it too",
    parse: throttleLimit("requests per second", ACCOUNT_RATE_LIMIT, ROUTE_THROTTLE.rateLimit),
  },
  routeBurstLimit: {
    field: "routeBurstLimit",
    default: String(ROUTE_THROTTLE.burstLimit),
    meaning:
      "requests each route accepts at once after a quiet spell (the throttle's bucket); npm run bench reports the largest burst these two let through without loss",
    parse: throttleLimit("requests", ACCOUNT_BURST_LIMIT, ROUTE_THROTTLE.burstLimit),
  },
  tags: {
    field: "tags",
    default: "",
    meaning: "key=value,key=value: tags on the stack and on every resource that takes tags; empty: none",
    parse: tags,
  },
  logRetentionDays: {
    field: "logRetentionDays",
    default: "",
    meaning: `days every log group keeps its events, one of ${LOG_RETENTION_DAYS.join(", ")}; empty: ${DEFAULT_LOG_RETENTION_DAYS}`,
    parse: logRetentionDays,
  },
  kmsKey: {
    field: "kmsKey",
    default: "",
    meaning:
      'the customer managed KMS key for the secret, table, bucket and log groups the stack makes: "create" (the stack makes one, retained on delete), or an existing key\'s ARN (its policy must let CloudWatch Logs use it, see docs/stages.md); empty: AWS managed keys',
    parse: kmsKey,
  },
  listenerRoute: {
    field: "listenerRoute",
    default: "false",
    meaning:
      "true: deploy the customer's listener (listener/index.ts) as a fourth function on POST /listener (docs/listener.md); false: not deployed",
    parse: (value: string) => {
      if (value === "" || value === "false") return false;
      if (value === "true") return true;
      throw new SettingProblem(`${show(value)} is neither "true" nor "false" (default "false": the listener is not deployed)`);
    },
  },
  listenerRetryTemporary: {
    field: "listenerRetryTemporary",
    default: "false",
    meaning:
      "true: a job the listener's callback failed on a temporary failure (a 503 from Flatfile) is left open and answered 5xx, so the relay delivers it again and the listener runs again (docs/listener.md); false: the job is failed, run at most once",
    parse: (value: string) => {
      if (value === "" || value === "false") return false;
      if (value === "true") return true;
      throw new SettingProblem(`${show(value)} is neither "true" nor "false" (default "false": a job is run at most once)`);
    },
  },
  spaceConfigureBy: {
    field: "spaceConfigureBy",
    default: "ours",
    meaning:
      'who runs space:configure: "ours" (the space-configure function builds the blueprint\'s workbook), or "listener" (listener/index.ts gets the job, e.g. with @flatfile/plugin-space-configure, and our blueprint configures no Space; needs listenerRoute "true"; docs/listener.md)',
    parse: (value: string): SpaceConfigureBy => {
      if (value === "") return "ours";
      if ((SPACE_CONFIGURE_BY as readonly string[]).includes(value)) return value as SpaceConfigureBy;
      throw new SettingProblem(
        `${show(value)} is neither "ours" nor "listener" (default "ours": our space-configure function configures Spaces)`,
      );
    },
  },
  stackName: {
    field: "stackName",
    default: DEFAULT_STACK_NAME,
    meaning: "the CloudFormation stack name (deploy and destroy must use the same one)",
    parse: (value: string) => {
      if (value === "") return DEFAULT_STACK_NAME;
      if (STACK_NAME.test(value)) return value;
      throw new SettingProblem(
        `${show(value)} is not a CloudFormation stack name: a letter, then letters, digits and hyphens, at most 128 characters`,
      );
    },
  },
} as const satisfies { [key: string]: SettingRule<keyof DeploySettings> };

export type SettingKey = keyof typeof SETTINGS;
export const SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];

/** The context keys of stages (infra/stages.ts): ours, but not settings ("stages" is close to "tags"). */
export const STAGE_CONTEXT_KEYS = ["stage", "stages"] as const;

/** Levenshtein distance, for "did you mean" on a mistyped key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * A context key that is not ours but close to one (another case, a letter or two off) is a
 * typo that would otherwise be ignored silently: `-c flatfileEnvironmentID=...` must not deploy
 * a stack that accepts every environment. Keys with ":" "@" "/" are CDK's own (feature flags,
 * aws:cdk:..., "//") and are left alone, as is anything not close to one of ours.
 */
export function mistypedKeys(keys: Iterable<string>): { key: string; meant: SettingKey }[] {
  const found: { key: string; meant: SettingKey }[] = [];
  for (const key of keys) {
    if (/[:@/]/.test(key) || (SETTING_KEYS as string[]).includes(key) || (STAGE_CONTEXT_KEYS as readonly string[]).includes(key)) continue;
    const meant = SETTING_KEYS.find((known) => known.toLowerCase() === key.toLowerCase() || distance(known, key) <= 2);
    if (meant) found.push({ key, meant });
  }
  return found;
}

/**
 * The settings from the raw context. Absent or null is the key's default; a value is trimmed;
 * anything but a string (cdk.json can hold numbers and booleans) is refused.
 */
export function readDeploySettings(context: Readonly<Record<string, unknown>>): DeploySettings {
  const problems: { key: string; message: string }[] = [];
  const settings: Partial<Record<keyof DeploySettings, unknown>> = {};
  for (const key of SETTING_KEYS) {
    const rule: SettingRule<keyof DeploySettings> = SETTINGS[key];
    const raw = context[key];
    if (raw !== undefined && raw !== null && typeof raw !== "string") {
      problems.push({ key, message: `must be a string, not ${typeof raw} ${show(JSON.stringify(raw))}` });
      continue;
    }
    try {
      settings[rule.field] = rule.parse((raw ?? rule.default).trim());
    } catch (error) {
      if (!(error instanceof SettingProblem)) throw error;
      problems.push({ key, message: error.message });
    }
  }
  // Settings that hold only together: checked once each parsed on its own.
  if (settings.spaceConfigureBy === "listener" && settings.listenerRoute === false) {
    problems.push({
      key: "spaceConfigureBy",
      message:
        '"listener" hands space:configure to the listener, which a deploy has only with listenerRoute "true" (else no one would configure a Space)',
    });
  }
  for (const { key, meant } of mistypedKeys(Object.keys(context))) {
    problems.push({ key, message: `is not a setting; did you mean ${meant}? (a mistyped key would be ignored and its default deployed)` });
  }
  if (problems.length > 0) throw new InvalidSettingsError(problems);
  return settings as unknown as DeploySettings;
}
