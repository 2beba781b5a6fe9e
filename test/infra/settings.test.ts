/**
 * infra/settings.ts, the deploy settings' validation, as a pure function of the context values;
 * and cdk.json, whose defaults must pass it and whose "//" comment must name every key.
 * The app refusing to synthesize on each bad value is in app.test.ts.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";
import {
  DEFAULT_LOG_RETENTION_DAYS,
  DEFAULT_STACK_NAME,
  InvalidSettingsError,
  mistypedKeys,
  readDeploySettings,
  SETTING_KEYS,
  SETTINGS,
  type SettingKey,
} from "../../infra/settings";
import { ROUTE_THROTTLE } from "../../infra/throttle";

/** The problems readDeploySettings reports for this context ([] when it accepts it). */
function problemsOf(context: Record<string, unknown>): { key: string; message: string }[] {
  try {
    readDeploySettings(context);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidSettingsError);
    return [...(error as InvalidSettingsError).problems];
  }
}

function accepts(key: SettingKey, value: string) {
  return readDeploySettings({ [key]: value });
}

function refusal(key: SettingKey, value: unknown): string {
  const problems = problemsOf({ [key]: value });
  expect(
    problems.map((p) => p.key),
    `${key}=${JSON.stringify(value)} should be refused`,
  ).toEqual([key]);
  return problems[0]!.message;
}

describe("deploy settings: listenerRoute", () => {
  it('is off unless set to "true", and refuses anything else', () => {
    expect(readDeploySettings({}).listenerRoute).toBe(false);
    expect(accepts("listenerRoute", "false").listenerRoute).toBe(false);
    expect(accepts("listenerRoute", " true ").listenerRoute).toBe(true);
    for (const value of ["yes", "TRUE", "1", "on"]) expect(refusal("listenerRoute", value)).toMatch(/neither "true" nor "false"/);
    expect(refusal("listenerRoute", true)).toMatch(/must be a string/);
  });
});

describe("deploy settings: listenerRetryTemporary", () => {
  it('is off (a job is run at most once) unless set to "true", and refuses anything else', () => {
    expect(readDeploySettings({}).listenerRetryTemporary).toBe(false);
    expect(accepts("listenerRetryTemporary", "false").listenerRetryTemporary).toBe(false);
    expect(accepts("listenerRetryTemporary", "true").listenerRetryTemporary).toBe(true);
    for (const value of ["yes", "TRUE", "1"]) expect(refusal("listenerRetryTemporary", value)).toMatch(/neither "true" nor "false"/);
  });
});

describe("deploy settings: spaceConfigureBy", () => {
  it('is "ours" unless set; "listener" only beside listenerRoute "true", and nothing else', () => {
    expect(readDeploySettings({}).spaceConfigureBy).toBe("ours");
    expect(accepts("spaceConfigureBy", " ours ").spaceConfigureBy).toBe("ours");
    expect(readDeploySettings({ listenerRoute: "true", spaceConfigureBy: "listener" }).spaceConfigureBy).toBe("listener");
    expect(refusal("spaceConfigureBy", "listener")).toMatch(/only with listenerRoute "true"/);
    expect(problemsOf({ listenerRoute: "false", spaceConfigureBy: "listener" }).map((p) => p.key)).toEqual(["spaceConfigureBy"]);
    for (const value of ["Listener", "theirs", "true"]) expect(refusal("spaceConfigureBy", value)).toMatch(/neither "ours" nor "listener"/);
  });
});

describe("deploy settings: defaults", () => {
  it("an empty context is the default stack: nothing restricted, nothing subscribed, the stack creates its secret", () => {
    expect(readDeploySettings({})).toEqual({
      stackName: DEFAULT_STACK_NAME,
      flatfileEnvironmentId: undefined,
      flatfileApiUrl: undefined,
      referenceDataUrl: undefined,
      secretName: undefined,
      alarmEmail: undefined,
      commitSelfActorIds: [],
      routeRateLimit: ROUTE_THROTTLE.rateLimit,
      routeBurstLimit: ROUTE_THROTTLE.burstLimit,
      tags: {},
      logRetentionDays: DEFAULT_LOG_RETENTION_DAYS,
      listenerRoute: false,
      listenerRetryTemporary: false,
      spaceConfigureBy: "ours",
    });
  });

  it('empty strings, whitespace and null mean "not set"; values are trimmed', () => {
    const settings = readDeploySettings({
      flatfileEnvironmentId: "  ",
      referenceDataUrl: null,
      secretName: "",
      alarmEmail: " ops@example.com ",
      stackName: "",
    });
    expect(settings).toEqual({
      stackName: DEFAULT_STACK_NAME,
      alarmEmail: "ops@example.com",
      commitSelfActorIds: [],
      routeRateLimit: ROUTE_THROTTLE.rateLimit,
      routeBurstLimit: ROUTE_THROTTLE.burstLimit,
      tags: {},
      logRetentionDays: DEFAULT_LOG_RETENTION_DAYS,
      listenerRoute: false,
      listenerRetryTemporary: false,
      spaceConfigureBy: "ours",
    });
  });

  it("refuses a value that is not a string (cdk.json can hold numbers and booleans)", () => {
    expect(refusal("alarmEmail", true)).toMatch(/must be a string, not boolean/);
    expect(refusal("stackName", 42)).toMatch(/must be a string, not number/);
  });

  it("reports every bad key at once, each named, in one message", () => {
    const error = (() => {
      try {
        readDeploySettings({ flatfileEnvironmentId: "env_123", alarmEmail: "ops", referenceDataUrl: "http://x.example" });
      } catch (e) {
        return e as InvalidSettingsError;
      }
      throw new Error("accepted");
    })();
    expect(error.problems.map((p) => p.key)).toEqual(["flatfileEnvironmentId", "referenceDataUrl", "alarmEmail"]);
    expect(error.message.split("\n")).toEqual([
      expect.stringMatching(/^Refusing to synthesize: 3 deploy settings are invalid/),
      expect.stringMatching(/^ {2}- flatfileEnvironmentId: "env_123" is not a Flatfile environment id/),
      expect.stringMatching(/^ {2}- referenceDataUrl: .*https:\/\//),
      expect.stringMatching(/^ {2}- alarmEmail: "ops" is not an e-mail address/),
    ]);
  });
});

describe("deploy settings: flatfileEnvironmentId", () => {
  it.each([
    "us_env_1a2b3c4d",
    "dev_env_1a2b3c4d",
    "us0_env_AbC123",
    "eu0_env_x",
    "ca0_env_7",
    "uk_env_abc",
    "au0_env_Zz9",
    `us_env_${"a".repeat(64)}`,
  ])("accepts %s (every prefix the platform uses, regional ones included)", (id) => {
    expect(accepts("flatfileEnvironmentId", id).flatfileEnvironmentId).toBe(id);
  });

  it.each([
    ["env_1a2b3c4d", /not a Flatfile environment id/],
    ["us_env_", /not a Flatfile environment id/],
    ["us-env-1a2b3c4d", /not a Flatfile environment id/],
    ["US_ENV_1a2b3c4d", /not a Flatfile environment id/],
    ["us_env_1a2b/../x", /not a Flatfile environment id/],
    ["us_env_1a2b 3c4d", /not a Flatfile environment id/],
    [`us_env_${"a".repeat(65)}`, /not a Flatfile environment id/],
    ["us_sp_1a2b3c4d", /is a Space id, not an environment id/],
    ["us_acc_1a2b3c4d", /is an account id, not an environment id/],
    ["sk_1234567890abcdef", /looks like an API key.*belongs in the secret/],
  ])("refuses %s", (id, why) => {
    const message = refusal("flatfileEnvironmentId", id);
    expect(message).toMatch(why);
  });

  it("never repeats an API key it refuses (the message may end up in CI logs)", () => {
    expect(refusal("flatfileEnvironmentId", "sk_secretsecretsecret")).not.toContain("secretsecret");
  });
});

describe("deploy settings: referenceDataUrl", () => {
  it.each(["https://reference.example.com/categories", "https://reference.example.com:8443/v1/rates?region=eu"])(
    "accepts %s, unchanged",
    (url) => {
      expect(accepts("referenceDataUrl", url).referenceDataUrl).toBe(url);
    },
  );

  it.each([
    ["http://reference.example.com/categories", /must be an https:\/\/ URL, not http:/],
    ["http://127.0.0.1:4010/categories", /must be an https:\/\/ URL.*only for local runs/],
    ["ftp://reference.example.com/categories", /must be an https:\/\/ URL, not ftp:/],
    ["reference.example.com/categories", /is not a URL/],
    ["https://user:pass@reference.example.com/", /must not carry credentials/],
  ])("refuses %s", (url, why) => {
    expect(refusal("referenceDataUrl", url)).toMatch(why);
  });
});

describe("deploy settings: flatfileApiUrl", () => {
  it.each([
    ["https://platform.eu.flatfile.com/api", "https://platform.eu.flatfile.com/api"],
    ["https://platform.flatfile.com/api/v1/", "https://platform.flatfile.com/api/v1"],
  ])("accepts %s as %s", (url, kept) => {
    expect(accepts("flatfileApiUrl", url).flatfileApiUrl).toBe(kept);
  });

  it.each([
    ["http://platform.eu.flatfile.com/api", /must be an https:\/\/ URL, not http:/],
    ["https://platform.eu.flatfile.com/api?x=1", /base URL without \?query/],
    ["https://key@platform.eu.flatfile.com/api", /must not carry credentials/],
    ["platform.eu.flatfile.com", /is not a URL/],
  ])("refuses %s", (url, why) => {
    expect(refusal("flatfileApiUrl", url)).toMatch(why);
  });
});

describe("deploy settings: commitSelfActorIds", () => {
  it("accepts comma-separated actor ids of any kind and prefix, spaces and empty entries ignored", () => {
    expect(accepts("commitSelfActorIds", " us_usr_1a2b3c4d, dev_ag_X9 ,,us0_key_abc ").commitSelfActorIds).toEqual([
      "us_usr_1a2b3c4d",
      "dev_ag_X9",
      "us0_key_abc",
    ]);
  });

  it("refuses anything else, naming each bad entry", () => {
    const message = refusal("commitSelfActorIds", "us_usr_1a2b3c4d;us_ag_x, usr_1, us_usr_a/b");
    expect(message).toMatch(/^"us_usr_1a2b3c4d;us_ag_x", "usr_1", "us_usr_a\/b" are not Flatfile actor ids/);
  });
});

describe("deploy settings: alarmEmail", () => {
  it.each(["ops@example.com", "first.last+alarms@sub.example.co.uk"])("accepts %s", (email) => {
    expect(accepts("alarmEmail", email).alarmEmail).toBe(email);
  });

  it.each([
    ["ops", /is not an e-mail address/],
    ["ops@localhost", /is not an e-mail address/],
    ["@example.com", /is not an e-mail address/],
    ["ops@@example.com", /is not an e-mail address/],
    ["ops@example.com,dev@example.com", /give one address/],
    ["ops@example.com dev@example.com", /give one address/],
  ])("refuses %s", (email, why) => {
    expect(refusal("alarmEmail", email)).toMatch(why);
  });
});

describe("deploy settings: secretName", () => {
  it.each([
    "prod/flatfile",
    "flatfile_space-configurator.v2+a=b@c",
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/flatfile-AbC123",
    "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:x-abcdef",
  ])("accepts %s", (name) => {
    expect(accepts("secretName", name).secretName).toBe(name);
  });

  it.each([
    ["prod flatfile", /is not a Secrets Manager secret name/],
    ["prod/flatfile#1", /is not a Secrets Manager secret name/],
    ["a".repeat(513), /is not a Secrets Manager secret name/],
    ["arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/flatfile", /is a partial secret ARN: give the complete ARN/],
    ["arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", /is not a Secrets Manager secret ARN/],
    ["arn:aws:secretsmanager:eu-west-1:12345:secret:prod/flatfile-AbC123", /is not a Secrets Manager secret ARN/],
  ])("refuses %s", (name, why) => {
    expect(refusal("secretName", name)).toMatch(why);
  });
});

describe("deploy settings: reservedConcurrency (opt-in)", () => {
  it("is off unless set", () => {
    expect(readDeploySettings({}).reservedConcurrency).toBeUndefined();
    expect(readDeploySettings({ reservedConcurrency: " " }).reservedConcurrency).toBeUndefined();
  });
  it.each([
    ["1", 1],
    ["20", 20],
    [" 50 ", 50],
  ])("accepts %j as %d", (value, expected) => {
    expect(accepts("reservedConcurrency", value).reservedConcurrency).toBe(expected);
  });
  it.each([
    ["0", /0 would stop each function/],
    ["-5", /not a whole number/],
    ["2.5", /not a whole number/],
    ["twenty", /not a whole number/],
    ["20000", /more than any account's concurrency limit/],
  ])("refuses %j", (value, why) => {
    expect(refusal("reservedConcurrency", value)).toMatch(why);
  });
  it("refuses a number written without quotes in cdk.json, like every setting", () => {
    expect(refusal("reservedConcurrency", 20)).toMatch(/must be a string, not number/);
  });
});

describe("deploy settings: routeRateLimit and routeBurstLimit (the route throttle)", () => {
  it("is API Gateway's stage throttle sized in infra/throttle.ts unless set", () => {
    expect(readDeploySettings({ routeRateLimit: "", routeBurstLimit: " " })).toMatchObject({
      routeRateLimit: ROUTE_THROTTLE.rateLimit,
      routeBurstLimit: ROUTE_THROTTLE.burstLimit,
      listenerRoute: false,
    });
  });
  it.each([
    ["routeRateLimit", "1", 1],
    ["routeRateLimit", " 200 ", 200],
    ["routeRateLimit", "10000", 10_000],
    ["routeBurstLimit", "1", 1],
    ["routeBurstLimit", "3000", 3000],
    ["routeBurstLimit", "5000", 5000],
  ] as const)("accepts %s = %j as %d", (key, value, expected) => {
    expect(accepts(key, value)[key]).toBe(expected);
  });
  it.each([
    ["routeRateLimit", "0", /0 would answer every delivery with 429/],
    ["routeBurstLimit", "0", /0 would answer every delivery with 429/],
    ["routeRateLimit", "12.5", /not a whole number of requests per second/],
    ["routeRateLimit", "-1", /not a whole number/],
    ["routeBurstLimit", "lots", /not a whole number of requests/],
    ["routeRateLimit", "10001", /more than API Gateway's default account quota \(10,000\)/],
    ["routeBurstLimit", "5001", /more than API Gateway's default account quota \(5,000\)/],
  ] as const)("refuses %s = %j", (key, value, why) => {
    expect(refusal(key, value)).toMatch(why);
  });
  it("refuses a number written without quotes in cdk.json, like every setting", () => {
    expect(refusal("routeBurstLimit", 100)).toMatch(/must be a string, not number/);
  });
  it("a mistyped key is refused rather than deploying the default throttle", () => {
    expect(problemsOf({ routeRatelimit: "200" })).toEqual([
      { key: "routeRatelimit", message: expect.stringMatching(/did you mean routeRateLimit/) },
    ]);
  });
});

describe("deploy settings: stackName", () => {
  it.each(["FlatfileSpaceConfigurator", "flatfile-prod-eu", `A${"b".repeat(127)}`])("accepts %s", (name) => {
    expect(accepts("stackName", name).stackName).toBe(name);
  });

  it.each(["1flatfile", "flatfile_prod", "flatfile prod", "-flatfile", `A${"b".repeat(128)}`])("refuses %s", (name) => {
    expect(refusal("stackName", name)).toMatch(/is not a CloudFormation stack name/);
  });
});

describe("deploy settings: a mistyped key is refused, not ignored", () => {
  it.each([
    ["flatfileEnvironmentID", "flatfileEnvironmentId"],
    ["flatfileEnviromentId", "flatfileEnvironmentId"],
    ["alarmEmails", "alarmEmail"],
    ["secretname", "secretName"],
    ["stack-name", "stackName"],
  ])("%s: did you mean %s?", (typo, meant) => {
    const problems = problemsOf({ [typo]: "us_env_1a2b3c4d" });
    expect(problems).toEqual([{ key: typo, message: expect.stringContaining(`did you mean ${meant}?`) }]);
  });

  it("leaves CDK's own keys and unrelated keys alone", () => {
    const keys = [
      "//",
      "@aws-cdk/aws-lambda:recognizeLayerVersion",
      "aws:cdk:bundling-stacks",
      "acknowledged-issue-numbers",
      "cdk-nag",
      ...SETTING_KEYS,
    ];
    expect(mistypedKeys(keys)).toEqual([]);
    expect(problemsOf(Object.fromEntries(keys.map((k) => [k, k.startsWith("aws:") ? [] : ""])))).toEqual([]);
  });
});

describe("cdk.json", () => {
  const cdkJson = JSON.parse(readFileSync(join(REPO_ROOT, "cdk.json"), "utf8")) as { context: Record<string, unknown> };
  // Stages (an empty table: none defined) are checked in stages.test.ts.
  const { "//": comment, "//stages": _stagesComment, stages, ...all } = cdkJson.context;
  // The rest of the context is the CDK's feature flags (checked in app.test.ts).
  const context = Object.fromEntries(Object.entries(all).filter(([key]) => !key.startsWith("@aws-cdk")));

  it("holds exactly the settings' keys, each with its default, and those defaults pass", () => {
    expect(Object.keys(context).sort()).toEqual([...SETTING_KEYS].sort());
    for (const key of SETTING_KEYS) expect(context[key], key).toBe(SETTINGS[key].default);
    expect(readDeploySettings(cdkJson.context).stackName).toBe(DEFAULT_STACK_NAME);
  });

  it("ships without stages, so that npm start, the tests and a first deploy use the keys above", () => {
    expect(stages).toEqual({});
  });

  it('explains every key in its "//" comment', () => {
    expect(typeof comment).toBe("string");
    for (const key of SETTING_KEYS) expect(comment as string, key).toMatch(new RegExp(`\\b${key}: `));
  });
});
