/**
 * Wire validation against the SDK's own serialization schemas, strictly: an unknown key or a wrong
 * type is a 400 here, where the SDK itself would silently strip it. Loaded once, lazily: it is slow.
 */

export interface WireSchema {
  parse(
    raw: unknown,
    opts?: Record<string, unknown>,
  ): { ok: true; value: unknown } | { ok: false; errors: { path: string[]; message: string }[] };
}
export type Serialization = Record<string, unknown> & {
  jobs: { ack: { Request: WireSchema }; complete: { Request: WireSchema }; fail: { Request: WireSchema }; cancel: { Request: WireSchema } };
  records: { insert: { Request: WireSchema } };
};

let serializationModule: Promise<Serialization> | undefined;
export function serialization(): Promise<Serialization> {
  serializationModule ??= import("@flatfile/api/serialization/index.js").then((m) => m as unknown as Serialization);
  return serializationModule;
}
/** A top-level schema of the SDK's serialization module, by its type name. */
export const top = (name: string) => (s: Serialization) => s[name] as WireSchema;

export const STRICT = {
  unrecognizedObjectKeys: "fail",
  allowUnrecognizedUnionMembers: false,
  allowUnrecognizedEnumValues: false,
  skipValidation: false,
  breadcrumbsPrefix: [],
};

export function formatPath(path: readonly string[]): string {
  let out = "";
  for (const part of path) out += part.startsWith("[") ? part : out ? `.${part}` : part;
  return out;
}
