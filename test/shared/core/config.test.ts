import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ConfigurationError, loadConfiguration, loadSettings, resetSettingsCache, SECRET_CACHE_TTL_MS } from "../../../shared/core/config";
import { RetryableError } from "../../../shared/core/errors";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../../local/secrets-manager-stand-in";

let sm: SecretsManagerStandIn;
const awsEnv = () => ({
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "local",
  AWS_SECRET_ACCESS_KEY: "local",
  AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
});

beforeAll(async () => {
  sm = await startSecretsManagerStandIn({
    "flatfile/config": { apiKey: "sk_test_secret_value", signingSecret: "whsec_0123456789abcdef" },
    "flatfile/not-json": "apiKey=oops",
    "flatfile/no-signing": { apiKey: "sk_x" },
    "flatfile/placeholder": { apiKey: "REPLACE_ME", signingSecret: "whsec_0123456789abcdef" },
  });
  // The AWS SDK reads its endpoint override from the process environment.
  Object.assign(process.env, awsEnv());
});
afterAll(() => sm.close());
beforeEach(() => {
  resetSettingsCache();
  sm.faults = { latencyMs: 0, down: false };
  sm.calls = 0;
});

describe("loadSettings", () => {
  it("reads the env vars when no secret is named", async () => {
    const settings = await loadSettings({
      FLATFILE_API_KEY: "sk_a",
      FLATFILE_SIGNING_SECRET: "whsec_b",
      FLATFILE_API_URL: "http://x/v1",
      REFERENCE_DATA_URL: " ",
    });
    expect(settings).toMatchObject({ apiKey: "sk_a", signingSecrets: ["whsec_b"], apiUrl: "http://x/v1" });
    expect(settings.referenceDataUrl).toBeUndefined();
  });

  it("names the missing variable", async () => {
    await expect(loadSettings({ FLATFILE_SIGNING_SECRET: "s" })).rejects.toThrow(/FLATFILE_API_KEY is not set/);
    await expect(loadSettings({ FLATFILE_API_KEY: "k" })).rejects.toThrow(/FLATFILE_SIGNING_SECRET is not set/);
  });

  it("reads the secret through Secrets Manager and caches it across invocations", async () => {
    const env = { ...process.env, FLATFILE_SECRET_ID: "flatfile/config", FLATFILE_API_KEY: "ignored" };
    const first = await loadSettings(env);
    expect(first.apiKey).toBe("sk_test_secret_value");
    expect(first.signingSecrets).toEqual(["whsec_0123456789abcdef"]);
    await loadSettings(env);
    expect(sm.calls).toBe(1);
    await loadSettings(env, Date.now() + SECRET_CACHE_TTL_MS + 1);
    expect(sm.calls).toBe(2);
  });

  it("explains a secret with the wrong shape", async () => {
    await expect(loadSettings({ ...process.env, FLATFILE_SECRET_ID: "flatfile/not-json" })).rejects.toThrow(ConfigurationError);
    await expect(loadSettings({ ...process.env, FLATFILE_SECRET_ID: "flatfile/no-signing" })).rejects.toThrow(/signingSecret/);
    // A freshly deployed stack's secret: the operator has not pasted the key in yet.
    await expect(loadSettings({ ...process.env, FLATFILE_SECRET_ID: "flatfile/placeholder" })).rejects.toThrow(
      /apiKey is still the placeholder REPLACE_ME/,
    );
  });

  it("gives the signing secrets of a placeholder secret, and its problem only through settings()", async () => {
    const configuration = await loadConfiguration({ ...process.env, FLATFILE_SECRET_ID: "flatfile/placeholder" });
    expect(configuration.signingSecrets).toEqual(["whsec_0123456789abcdef"]);
    expect(() => configuration.settings()).toThrow(/apiKey is still the placeholder/);
    await expect(loadConfiguration({ ...process.env, FLATFILE_SECRET_ID: "flatfile/no-signing" })).rejects.toThrow(/signingSecret/);
  });

  it("turns an unreachable Secrets Manager into a retryable error, quickly", async () => {
    sm.faults.down = true;
    const started = Date.now();
    await expect(loadSettings({ ...process.env, FLATFILE_SECRET_ID: "flatfile/config" })).rejects.toThrow(RetryableError);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
