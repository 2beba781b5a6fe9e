import type { APIGatewayProxyEventV2 } from "aws-lambda";
import * as z from "zod/mini";
import "./zod-locale";
import { BadRequestError } from "./errors";

/** API Gateway caps payloads at 10 MB; a Flatfile event is a few kB, so 1 MB is generous. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Flatfile ids look like `us_sp_a1b2c3d4`: a region, a kind, then letters and digits. */
const flatfileId = (kind: string) =>
  z.string().check(z.regex(new RegExp(`^[a-z]{2}_${kind}_[A-Za-z0-9]{1,64}$`), `must be a Flatfile ${kind} id like us_${kind}_1a2b3c4d`));

export const ids = {
  account: flatfileId("acc"),
  environment: flatfileId("env"),
  space: flatfileId("sp"),
  workbook: flatfileId("wb"),
  sheet: flatfileId("sh"),
  job: flatfileId("jb"),
  commit: flatfileId("vr"),
  document: flatfileId("dc"),
  /** Users (`us_usr_`), guests (`us_g_`), agents and API keys all act. */
  actor: z.string().check(z.regex(/^[a-z]{2}_[a-z]{1,4}_[A-Za-z0-9]{1,64}$/, "must be a Flatfile actor id")),
};

const slug = z.string().check(z.minLength(1), z.maxLength(200));

export const EventContext = z.looseObject({
  accountId: ids.account,
  environmentId: ids.environment,
  spaceId: z.optional(ids.space),
  workbookId: z.optional(ids.workbook),
  sheetId: z.optional(ids.sheet),
  sheetSlug: z.optional(slug),
  slugs: z.optional(z.looseObject({ space: z.optional(slug), workbook: z.optional(slug), sheet: z.optional(slug) })),
  jobId: z.optional(ids.job),
  actorId: z.optional(ids.actor),
  commitId: z.optional(ids.commit),
  versionId: z.optional(ids.commit),
  actionName: z.optional(z.string()),
  documentId: z.optional(ids.document),
});

export const JobPayload = z.looseObject({
  job: z.string().check(z.regex(/^[A-Za-z]+:[A-Za-z0-9_-]+$/, "must be <domain>:<operation>")),
  domain: z.string(),
  operation: z.string(),
  status: z.optional(z.string()),
  info: z.optional(z.nullable(z.string())),
  isPart: z.optional(z.boolean()),
  input: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});

export const FlatfileEvent = z.looseObject({
  id: z.string().check(z.regex(/^[a-z]{2}_evt_[A-Za-z0-9]{1,64}$/, "must be a Flatfile event id like us_evt_1a2b3c4d")),
  topic: z.string().check(z.regex(/^[a-z-]+:[a-z-]+$/i, "must be <domain>:<action>, e.g. job:ready")),
  domain: z.optional(z.string()),
  createdAt: z.optional(z.string()),
  context: EventContext,
  payload: z.optional(z.nullable(z.record(z.string(), z.unknown()))),
});
export type FlatfileEvent = z.infer<typeof FlatfileEvent>;
export type JobPayload = z.infer<typeof JobPayload>;

/** The body exactly as signed: base64 decoded when API Gateway encoded it. */
export function rawBodyOf(request: Pick<APIGatewayProxyEventV2, "body" | "isBase64Encoded">): string {
  const read = readBody(request);
  if (read.problem) throw read.problem;
  return read.text;
}

/**
 * The body as signed, and what is wrong with it, without throwing: the route verifies the
 * signature over `text` first and tells the problem (400) only to a signed request. A body that
 * is not base64 is checked as it came, so no genuine signature can match it.
 */
export function readBody(request: Pick<APIGatewayProxyEventV2, "body" | "isBase64Encoded">): { text: string; problem?: BadRequestError } {
  const body = request.body ?? "";
  if (!request.isBase64Encoded) {
    if (Buffer.byteLength(body, "utf8") > MAX_BODY_BYTES) return { text: body, problem: new BadRequestError("body is larger than 1 MB") };
    return { text: body };
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body)) return { text: body, problem: new BadRequestError("body is marked base64 but is not valid base64") };
  const text = Buffer.from(body, "base64").toString("utf8");
  if (body.length > Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4) return { text, problem: new BadRequestError("body is larger than 1 MB") };
  return { text };
}

function describe(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "body"}: ${issue.message}`)
    .join("; ");
}

/** Parses and checks the body; every rejection names what is wrong. */
export function parseEvent(rawBody: string): FlatfileEvent {
  if (rawBody.trim() === "") throw new BadRequestError("body is empty: expected a Flatfile event as JSON");
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw new BadRequestError(`body is not valid JSON (${(error as Error).message})`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new BadRequestError("body is not a Flatfile event: expected a JSON object");
  }
  const parsed = FlatfileEvent.safeParse(json);
  if (!parsed.success) throw new BadRequestError(`body is not a Flatfile event: ${describe(parsed.error.issues)}`);
  return parsed.data;
}

/** The job payload of a `job:*` event, checked. */
export function jobPayloadOf(event: FlatfileEvent): JobPayload {
  const parsed = JobPayload.safeParse(event.payload);
  if (!parsed.success) throw new BadRequestError(`job event payload is invalid: ${describe(parsed.error.issues)}`);
  return parsed.data;
}

/** A context field the route needs; its absence is the sender's mistake (400), not ours. */
export function requireContext<K extends keyof FlatfileEvent["context"]>(
  event: FlatfileEvent,
  key: K,
): NonNullable<FlatfileEvent["context"][K]> {
  const value = event.context[key];
  if (value === undefined || value === null || value === "") {
    throw new BadRequestError(`event context.${String(key)} is missing`);
  }
  return value as NonNullable<FlatfileEvent["context"][K]>;
}
