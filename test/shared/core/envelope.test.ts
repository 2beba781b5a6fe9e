import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BadRequestError } from "../../../shared/core/errors";
import { jobPayloadOf, parseEvent, rawBodyOf, requireContext } from "../../../shared/core/envelope";

const sample = readFileSync(join(__dirname, "../../support/events/space-configure.json"), "utf8");

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

describe("envelope: the events the platform actually sends", () => {
  const withContext = (context: Record<string, unknown>) => {
    const event = JSON.parse(sample);
    Object.assign(event.context, context);
    return JSON.stringify(event);
  };

  it.each([
    [
      "dev_ prefixes",
      { environmentId: "dev_env_a1b2", spaceId: "dev_sp_c3d4", jobId: "dev_jb_e5f6", actorId: "dev_usr_g7h8", accountId: "dev_acc_1" },
    ],
    ["a digit in the region", { environmentId: "us0_env_a1b2", spaceId: "us0_sp_c3d4", jobId: "us0_jb_e5f6" }],
    ["other shapes", { environmentId: "eu-west_env_X", spaceId: "sp-42", jobId: "JOB_1", actorId: "us_key_abc" }],
  ])("accepts ids with %s", (_name, context) => {
    const event = parseEvent(withContext(context));
    expect(requireContext(event, "spaceId")).toBe(context.spaceId);
    expect(requireContext(event, "jobId")).toBe(context.jobId);
  });

  it("accepts an event id that is not us_evt_", () => {
    expect(parseEvent(JSON.stringify({ ...JSON.parse(sample), id: "dev_ev_82hgidh9skd" })).id).toBe("dev_ev_82hgidh9skd");
  });

  it.each([
    "us_sp_a/b",
    "us_sp_..",
    "us_sp_a.b",
    "us_sp_%2e%2e",
    "us_sp_a b",
    "us_sp_a\tb",
    "us_sp_a\nb",
    "us_sp_a\u0000",
    "",
    "x".repeat(65),
  ])("still rejects an id that could change a URL path: %j", (id) => {
    expect(rejection(() => parseEvent(withContext({ spaceId: id })))).toMatch(/context\.spaceId/);
  });

  it("rejects an unsafe environment or event id too", () => {
    expect(rejection(() => parseEvent(withContext({ environmentId: "../env" })))).toMatch(/context\.environmentId/);
    expect(rejection(() => parseEvent(JSON.stringify({ ...JSON.parse(sample), id: "us_evt_a/b" })))).toMatch(/id/);
  });

  it("passes through fields no route reads, whatever their shape", () => {
    const event = JSON.parse(sample);
    event.createdAt = 1_732_100_000_000;
    event.domain = { odd: true };
    event.context.accountId = 42;
    event.context.slugs = "not an object";
    event.context.sheetSlug = ["x"];
    event.context.actionName = null;
    event.context.documentId = { id: "dc" };
    event.payload.input = ["not", "a", "record"];
    event.payload.operation = 7;
    delete event.payload.domain;
    event.payload.isPart = "no";
    event.payload.info = { text: "x" };
    const parsed = parseEvent(JSON.stringify(event));
    expect(jobPayloadOf(parsed).job).toBe("space:configure");
    expect(parsed.context.spaceId).toBe("us_sp_a1b2c3d4");
    expect((parsed.payload as Record<string, unknown>).input).toEqual(["not", "a", "record"]);
  });

  it("a payload that is not an object is not a job, but does not break an event that needs none", () => {
    const event = JSON.parse(sample);
    event.payload = "text";
    const parsed = parseEvent(JSON.stringify(event));
    expect(rejection(() => jobPayloadOf(parsed))).toMatch(/payload/);
  });
});
