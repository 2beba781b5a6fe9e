import type { APIGatewayProxyEventV2 } from "aws-lambda";
import * as z from "zod/mini";
import "./zod-locale";
import { BadRequestError } from "./errors";

/** API Gateway caps payloads at 10 MB; a Flatfile event is a few kB, so 1 MB is generous. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** The longest base64 text that can decode to MAX_BODY_BYTES. */
const MAX_BASE64_CHARS = Math.ceil((MAX_BODY_BYTES * 4) / 3) + 4;

/**
 * Whether the body is too long to be a delivery we would take, from its length alone (no pass
 * over it): a UTF-16 string of more than MAX_BODY_BYTES code units is more than that many UTF-8
 * bytes. The route refuses such a body before hashing it, so a refusal costs the same at 10 MB
 * as at 1 KB; a body under this bound is still measured exactly by `readBody`.
 */
export function bodyExceedsBound(request: Pick<APIGatewayProxyEventV2, "body" | "isBase64Encoded">): boolean {
  const length = request.body?.length ?? 0;
  return length > (request.isBase64Encoded ? MAX_BASE64_CHARS : MAX_BODY_BYTES);
}

/**
 * An id we may put into a URL path or a key. Flatfile ids are usually `<region>_<kind>_<chars>`
 * (`us_sp_a1b2c3d4`), but the docs and sources also show `dev_sp_…`, `dev_env_…`, `us0_…` and
 * others, so the prefix is not checked: only that the id is ASCII letters, digits,
 * `_` and `-`, at most 64 long. That keeps out everything that could change a URL path (`/`, `.`,
 * `%`, whitespace, control and look-alike characters).
 */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const flatfileId = (kind: string) =>
  z.string().check(z.regex(SAFE_ID, `must be a Flatfile ${kind} id: letters, digits, _ and - only, like us_${kind}_1a2b3c4d`));

export const ids = {
  environment: flatfileId("env"),
  space: flatfileId("sp"),
  workbook: flatfileId("wb"),
  sheet: flatfileId("sh"),
  job: flatfileId("jb"),
  commit: flatfileId("vr"),
  /** Users (`us_usr_`), guests (`us_g_`), agents and API keys all act. */
  actor: flatfileId("usr"),
  event: flatfileId("evt"),
  document: flatfileId("dc"),
};

/**
 * Only what some route reads is checked; everything else (accountId, slugs, actionName,
 * documentId, attributes…) passes through untouched, whatever its shape. The ids below are
 * checked when present because a route puts them into a URL or a key.
 */
export const EventContext = z.looseObject({
  environmentId: ids.environment,
  spaceId: z.optional(ids.space),
  workbookId: z.optional(ids.workbook),
  sheetId: z.optional(ids.sheet),
  jobId: z.optional(ids.job),
  actorId: z.optional(ids.actor),
  commitId: z.optional(ids.commit),
  versionId: z.optional(ids.commit),
});

/** A job event's payload: only the job's name is read (its input, status, info… are not). */
export const JobPayload = z.looseObject({
  job: z.string().check(z.regex(/^[A-Za-z]+:[A-Za-z0-9_-]+$/, "must be <domain>:<operation>")),
});

/** Text a route may show; any other shape is as good as absent. */
const optionalText = z.catch(z.optional(z.string()), undefined);

export const FlatfileEvent = z.looseObject({
  id: ids.event,
  topic: z.string().check(z.regex(/^[a-z-]+:[a-z-]+$/i, "must be <domain>:<action>, e.g. job:ready")),
  domain: optionalText,
  createdAt: optionalText,
  context: EventContext,
  /** Any shape: each route reads what it needs through jobPayloadOf / jobNameOf. */
  payload: z.optional(z.unknown()),
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
  if (body.length > MAX_BASE64_CHARS) return { text: body, problem: new BadRequestError("body is larger than 1 MB") };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body))
    return { text: body, problem: new BadRequestError("body is marked base64 but is not valid base64") };
  return { text: Buffer.from(body, "base64").toString("utf8") };
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

/** The job's name of a `job:*` event, or undefined when the payload carries none. */
export function jobNameOf(event: FlatfileEvent): string | undefined {
  const payload = event.payload;
  if (typeof payload !== "object" || payload === null) return undefined;
  const job = (payload as Record<string, unknown>).job;
  return typeof job === "string" ? job : undefined;
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
