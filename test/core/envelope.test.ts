import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../shared/core/errors";
import { parseEvent, rawBodyOf } from "../../shared/core/envelope";

const sample = readFileSync(join(__dirname, "../support/events/space-configure.json"), "utf8");

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BadRequestError);
    return (error as Error).message;
  }
  throw new Error("expected a BadRequestError");
}

describe("envelope", () => {
  it("parses a sample Flatfile event", () => {
    const event = parseEvent(sample);
    expect(event.topic).toBe("job:ready");
    expect(event.context.jobId).toBe("us_jb_q8w7e6r5");
  });

  it("decodes a base64 body byte for byte", () => {
    const encoded = Buffer.from(sample, "utf8").toString("base64");
    expect(rawBodyOf({ body: encoded, isBase64Encoded: true })).toBe(sample);
    expect(rawBodyOf({ body: sample, isBase64Encoded: false })).toBe(sample);
  });

  it("rejects a body marked base64 that is not", () => {
    expect(rejection(() => rawBodyOf({ body: "{not base64}", isBase64Encoded: true }))).toMatch(/base64/);
  });

  it("rejects an empty body", () => {
    expect(rejection(() => parseEvent(rawBodyOf({ body: undefined, isBase64Encoded: false })))).toMatch(/empty/);
  });

  it("rejects malformed JSON and says so", () => {
    expect(rejection(() => parseEvent(sample.slice(0, 40)))).toMatch(/not valid JSON/);
  });

  it("rejects JSON that is not an event, naming the field", () => {
    expect(rejection(() => parseEvent("[1,2,3]"))).toMatch(/JSON object/);
    expect(rejection(() => parseEvent(JSON.stringify({ hello: "world" })))).toMatch(/id|topic|context/);
    const noEnv = JSON.parse(sample);
    delete noEnv.context.environmentId;
    expect(rejection(() => parseEvent(JSON.stringify(noEnv)))).toMatch(/context\.environmentId/);
  });

  it("rejects a malformed id", () => {
    const bad = JSON.parse(sample);
    bad.context.spaceId = "../../etc/passwd";
    expect(rejection(() => parseEvent(JSON.stringify(bad)))).toMatch(/context\.spaceId/);
  });

  it("rejects a body over 1 MB", () => {
    const big = "x".repeat(1024 * 1024 + 1);
    expect(rejection(() => rawBodyOf({ body: big, isBase64Encoded: false }))).toMatch(/1 MB/);
  });
});
