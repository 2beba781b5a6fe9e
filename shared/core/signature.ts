import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "x-flatfile-signature";
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/** Shorter than this is not a signing secret (the stack generates 32 characters and more). */
export const MIN_SIGNING_SECRET_CHARS = 16;

/**
 * A signing secret as pasted (a trailing newline, surrounding spaces) made into the key both sides
 * use. The one normalisation: the functions' configuration, the relay's registration and the
 * relay itself all go through it, so what one side signs with the other verifies with.
 */
export function normalizeSigningSecret(value: unknown): string {
  return typeof value === "string" ? value.trim() : "";
}

function hmacHex(secret: string, timestamp: string, rawBody: string): string {
  return createHmac("sha256", secret).update(`${timestamp}.${rawBody}`).digest("hex");
}

/** The header value a sender puts on `rawBody`: `t=<unix seconds>,v1=<hex>`, one v1 per secret. */
export function signPayload(rawBody: string, secrets: string | string[], nowSeconds = Math.floor(Date.now() / 1000)): string {
  const t = String(nowSeconds);
  const list = Array.isArray(secrets) ? secrets : [secrets];
  return [`t=${t}`, ...list.map((s) => `v1=${hmacHex(s, t, rawBody)}`)].join(",");
}

export type SignatureHeader = { ok: true; timestamp: string; candidates: Buffer[] } | { ok: false; reason: string };

/**
 * The header's shape and freshness, which need no secret: a request that fails here is answered
 * 401 before any configuration is read, so it costs nothing and learns nothing.
 */
export function readSignatureHeader(header: string | undefined, nowSeconds = Math.floor(Date.now() / 1000)): SignatureHeader {
  if (!header) return { ok: false, reason: "missing signature header" };
  let timestamp: string | undefined;
  const candidates: Buffer[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq <= 0) return { ok: false, reason: "malformed signature header" };
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === "t") {
      if (timestamp !== undefined || !/^\d{1,12}$/.test(value)) {
        return { ok: false, reason: "malformed signature timestamp" };
      }
      timestamp = value;
    } else if (key === "v1") {
      if (!/^[0-9a-f]{64}$/i.test(value)) return { ok: false, reason: "malformed v1 signature" };
      candidates.push(Buffer.from(value.toLowerCase(), "hex"));
    }
    // Unknown schemes (v0, v2, ...) are skipped so a sender can add one without breaking us.
  }
  if (timestamp === undefined) return { ok: false, reason: "signature header has no timestamp" };
  if (candidates.length === 0) return { ok: false, reason: "signature header has no v1 value" };
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: "signature timestamp outside the 300 s tolerance" };
  }
  return { ok: true, timestamp, candidates };
}

/**
 * Checks the contract's signature: a timestamp within 300 s of now, and at least one `v1` that
 * matches one of our secrets (several on either side allow a rotation). Every candidate is
 * compared in constant time.
 */
export function verifySignature(
  header: string | undefined,
  rawBody: string,
  secrets: string[],
  nowSeconds = Math.floor(Date.now() / 1000),
): SignatureCheck {
  const parsed = readSignatureHeader(header, nowSeconds);
  if (!parsed.ok) return parsed;
  const { timestamp, candidates } = parsed;
  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(hmacHex(secret, timestamp, rawBody), "hex");
    for (const candidate of candidates) {
      // No early exit: every pair is compared, so timing says nothing about which one matched.
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { ok: true } : { ok: false, reason: "no v1 signature matches" };
}
