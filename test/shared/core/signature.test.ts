import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signPayload, verifySignature } from "../../../shared/core/signature";

const secret = "whsec_current_0123456789abcdef";
const previous = "whsec_previous_0123456789abcdef";
const body = JSON.stringify({ id: "us_evt_1", topic: "job:ready" });
const now = 1_790_000_000;

const hmac = (s: string, t: number, b: string) => createHmac("sha256", s).update(`${t}.${b}`).digest("hex");

describe("verifySignature", () => {
  it("accepts a valid signature", () => {
    expect(verifySignature(signPayload(body, secret, now), body, [secret], now)).toEqual({ ok: true });
  });

  it("computes the contract's HMAC over '<t>.<raw body>'", () => {
    expect(signPayload(body, secret, now)).toBe(`t=${now},v1=${hmac(secret, now, body)}`);
  });

  it("rejects a signature made with another secret", () => {
    const result = verifySignature(signPayload(body, "whsec_wrong_0123456789abcdef", now), body, [secret], now);
    expect(result).toEqual({ ok: false, reason: "no v1 signature matches" });
  });

  it("rejects a body changed after signing", () => {
    const header = signPayload(body, secret, now);
    expect(verifySignature(header, body.replace("job", "jab"), [secret], now).ok).toBe(false);
  });

  it("rejects a stale timestamp and one from the future, accepts the edge of the tolerance", () => {
    expect(verifySignature(signPayload(body, secret, now - 301), body, [secret], now).ok).toBe(false);
    expect(verifySignature(signPayload(body, secret, now + 301), body, [secret], now).ok).toBe(false);
    expect(verifySignature(signPayload(body, secret, now - 300), body, [secret], now).ok).toBe(true);
  });

  it.each([
    ["no timestamp", `v1=${"a".repeat(64)}`],
    ["no v1", `t=${now}`],
    ["garbage", "not-a-signature"],
    ["non-numeric timestamp", `t=abc,v1=${"a".repeat(64)}`],
    ["short v1", `t=${now},v1=abcd`],
    ["two timestamps", `t=${now},t=${now},v1=${"a".repeat(64)}`],
    ["empty", ""],
  ])("rejects a malformed header (%s)", (_name, header) => {
    expect(verifySignature(header, body, [secret], now).ok).toBe(false);
  });

  it("rejects a missing header", () => {
    expect(verifySignature(undefined, body, [secret], now)).toEqual({ ok: false, reason: "missing signature header" });
  });

  it("accepts either v1 during a rotation, on the sender's side and on ours", () => {
    // Sender signs with both the new and old secret; we only know the old one yet.
    const header = signPayload(body, [secret, previous], now);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(header, body, [previous], now).ok).toBe(true);
    expect(verifySignature(header, body, [secret], now).ok).toBe(true);
    // Sender still on the old secret; we hold the new one first and the old one second.
    expect(verifySignature(signPayload(body, previous, now), body, [secret, previous], now).ok).toBe(true);
    expect(verifySignature(signPayload(body, "whsec_other_0123456789abcdef", now), body, [secret, previous], now).ok).toBe(false);
  });
});
