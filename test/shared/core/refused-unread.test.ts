/**
 * A request that will be refused costs the same whatever its size: a body longer than the bound
 * is refused from its length, before any pass over it (no HMAC, no base64 check or decode, no
 * UTF-8 measure), and still gets the 401 every request whose signature does not hold gets.
 * Counted, not timed: every byte handed to an HMAC and every pass over the body is recorded.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";

const hashed = vi.hoisted(() => ({ bytes: 0 }));
vi.mock("node:crypto", async (importOriginal) => {
  const crypto = await importOriginal<typeof import("node:crypto")>();
  const createHmac = (...args: Parameters<typeof crypto.createHmac>) => {
    const hmac = crypto.createHmac(...args);
    const update = hmac.update.bind(hmac);
    hmac.update = ((data: string | Buffer, ...rest: unknown[]) => {
      hashed.bytes += typeof data === "string" ? data.length : data.byteLength;
      return (update as (...a: unknown[]) => typeof hmac)(data, ...rest);
    }) as typeof hmac.update;
    return hmac;
  };
  return { ...crypto, default: { ...crypto, createHmac }, createHmac };
});

import { handler } from "../../../functions/commit-created/handler";
import { MAX_BODY_BYTES } from "../../../shared/core/envelope";
import { signPayload } from "../../../shared/core/signature";
import { apiEvent } from "../../support/harness";

const SECRET = "whsec_refused_unread_0123456789";
const forged = (body: string) => signPayload(body, "whsec_somebody_else_entirely_000");

beforeAll(() => {
  process.env.FLATFILE_SIGNING_SECRET = SECRET;
  process.env.FLATFILE_API_KEY = "sk_not_used";
  delete process.env.FLATFILE_SECRET_ID;
});

/** Passes over long strings: base64 checks, decodes and UTF-8 measures of the body. */
function watchPasses(threshold: number) {
  const passes: string[] = [];
  const from = Buffer.from.bind(Buffer);
  const byteLength = Buffer.byteLength.bind(Buffer);
  const test = RegExp.prototype.test;
  vi.spyOn(Buffer, "from").mockImplementation(((value: unknown, ...rest: unknown[]) => {
    if (typeof value === "string" && value.length > threshold) passes.push("Buffer.from");
    return (from as (...a: unknown[]) => Buffer)(value, ...rest);
  }) as typeof Buffer.from);
  vi.spyOn(Buffer, "byteLength").mockImplementation(((value: unknown, ...rest: unknown[]) => {
    if (typeof value === "string" && value.length > threshold) passes.push("Buffer.byteLength");
    return (byteLength as (...a: unknown[]) => number)(value, ...rest);
  }) as typeof Buffer.byteLength);
  vi.spyOn(RegExp.prototype, "test").mockImplementation(function (this: RegExp, value: string) {
    if (typeof value === "string" && value.length > threshold) passes.push(`RegExp ${this.source}`);
    return test.call(this, value);
  });
  return passes;
}

afterEach(() => {
  vi.restoreAllMocks();
  hashed.bytes = 0;
});

/** The request as API Gateway hands it over (base64 encoded when asked), then what the handler does with it. */
async function post(body: string, signature: string, options: { base64?: boolean; watch?: boolean } = {}) {
  const request = apiEvent(body, { "content-type": "application/json", "x-flatfile-signature": signature }, options.base64);
  // Only what the handler does is counted, not the test's own signing and encoding.
  hashed.bytes = 0;
  const passes = options.watch ? watchPasses(MAX_BODY_BYTES) : [];
  const answer = await handler(request, { getRemainingTimeInMillis: () => 25_000, awsRequestId: "t" });
  return { answer, passes };
}

describe("a request over the body bound", () => {
  const body = `{"blob":"${"x".repeat(9.5 * 1024 * 1024)}"}`;

  it("with a well-formed but fake signature: 401, and not one byte of it hashed or read", async () => {
    const { answer, passes } = await post(body, forged(body), { watch: true });
    expect(answer.statusCode).toBe(401);
    expect(JSON.parse(String(answer.body))).toEqual({ error: "invalid signature" });
    expect(hashed.bytes).toBe(0);
    expect(passes).toEqual([]);
  });

  it("base64-encoded: the same, without checking or decoding it", async () => {
    const { answer, passes } = await post(body, forged(body), { base64: true, watch: true });
    expect(answer.statusCode).toBe(401);
    expect(hashed.bytes).toBe(0);
    expect(passes).toEqual([]);
  });

  it("is the only thing refused unread: a small body with a fake signature is hashed and refused as before", async () => {
    const small = JSON.stringify({ blob: "x".repeat(1024) });
    const { answer } = await post(small, forged(small));
    expect(answer.statusCode).toBe(401);
    expect(hashed.bytes).toBeGreaterThan(1024);
  });
});
