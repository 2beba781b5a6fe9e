/**
 * Nothing is told before the signature holds. A route is driven as API Gateway would
 * (the real handler, a local Secrets Manager), and an unsigned caller gets 401 and nothing else,
 * whatever state the configuration is in; a configuration problem is told only to a signed request.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSecretsManagerStandIn, type SecretsManagerStandIn } from "../../../local/secrets-manager-stand-in";
import { resetSettingsCache } from "../../../shared/core/config";
import { MAX_BODY_BYTES } from "../../../shared/core/envelope";
import { signPayload } from "../../../shared/core/signature";
import { handler } from "../../../functions/space-configure/handler";
import { apiEvent } from "../../support/harness";

const SIGNING_SECRET = "whsec_0123456789abcdef0123";
const PLACEHOLDER_SECRET = "flatfile/placeholder";
const GOOD_SECRET = "flatfile/good";
const BROKEN_SIGNING = "flatfile/short-signing";
let sm: SecretsManagerStandIn;

beforeAll(async () => {
  sm = await startSecretsManagerStandIn({
    [PLACEHOLDER_SECRET]: { apiKey: "REPLACE_ME", signingSecret: SIGNING_SECRET },
    [GOOD_SECRET]: { apiKey: "sk_test_not_used", signingSecret: SIGNING_SECRET },
    [BROKEN_SIGNING]: { apiKey: "sk_test_not_used", signingSecret: "short" },
  });
  Object.assign(process.env, {
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.url,
  });
  delete process.env.FLATFILE_API_KEY;
  delete process.env.FLATFILE_SIGNING_SECRET;
  delete process.env.FLATFILE_ENVIRONMENT_ID;
  delete process.env.IDEMPOTENCY_TABLE;
});
afterAll(() => sm.close());
beforeEach(() => {
  resetSettingsCache();
  sm.faults = { latencyMs: 0, down: false };
  sm.calls = 0;
});

function useSecret(id: string) {
  // The ARN a deployed function is given: what the 500 leaked before.
  process.env.FLATFILE_SECRET_ID = id;
}

async function post(rawBody: string, signature?: string, base64 = false) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (signature !== undefined) headers["x-flatfile-signature"] = signature;
  const result = await handler(apiEvent(rawBody, headers, base64), { getRemainingTimeInMillis: () => 25_000, awsRequestId: "t" });
  return { status: result.statusCode, text: String(result.body ?? "") };
}

const now = () => Math.floor(Date.now() / 1000);
/** Well formed and fresh, but not made with our secret: only the secret can tell. */
const forged = (body: string) => signPayload(body, "whsec_somebody_else_entirely");

describe("before the signature holds", () => {
  it("an unsigned POST {} while the secret holds the placeholder → 401, no ARN, no configuration detail", async () => {
    useSecret(PLACEHOLDER_SECRET);
    for (const signature of [undefined, "", "garbage", forged("{}")]) {
      const a = await post("{}", signature);
      expect(a.status, a.text).toBe(401);
      expect(JSON.parse(a.text)).toEqual({ error: "invalid signature" });
    }
  });

  it("the same problem is told to a signed request, which the relay turns into the job's message", async () => {
    useSecret(PLACEHOLDER_SECRET);
    const a = await post("{}", signPayload("{}", SIGNING_SECRET));
    expect(a.status).toBe(500);
    expect(a.text).toContain("apiKey is still the placeholder");
  });

  it("a missing, malformed or stale header → 401 without reading the secret at all", async () => {
    useSecret(GOOD_SECRET);
    sm.faults.down = true; // would be a 5xx if the secret were read
    const stale = signPayload("{}", SIGNING_SECRET, now() - 301);
    for (const signature of [undefined, "", "t=1", `t=${now()},v1=zz`, stale]) {
      const a = await post("{}", signature);
      expect(a.status, `${signature}: ${a.text}`).toBe(401);
    }
    expect(sm.calls).toBe(0);
  });

  it("a well-formed header when the signing secret cannot be read → a generic 500 that names nothing", async () => {
    useSecret(GOOD_SECRET);
    sm.faults.down = true;
    const down = await post("{}", forged("{}"));
    expect(down.status).toBe(500);
    expect(JSON.parse(down.text)).toEqual({ error: "internal error" });
    sm.faults.down = false;
    useSecret(BROKEN_SIGNING);
    const invalid = await post("{}", forged("{}"));
    expect(invalid.status).toBe(500);
    expect(JSON.parse(invalid.text)).toEqual({ error: "internal error" });
  });

  it("an unsigned oversized or non-base64 body → 401, not a 400 that describes the body", async () => {
    useSecret(GOOD_SECRET);
    const big = "x".repeat(MAX_BODY_BYTES + 1);
    expect((await post(big, forged(big))).status).toBe(401);
    expect((await post("{not base64}", forged("{not base64}"), true)).status).toBe(401);
    // Signed, a body that is not base64 gets its 400. One longer than the bound is refused from its
    // length before it is hashed, so nobody can be told apart there: 401 for everyone.
    expect((await post("{not base64}", signPayload("{not base64}", SIGNING_SECRET), true)).status).toBe(400);
    expect((await post(big, signPayload(big, SIGNING_SECRET))).status).toBe(401);
  });
});
