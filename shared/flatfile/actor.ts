/**
 * Who fired the event, as the blueprint's audience rule and the guide's lines need them. A failed
 * lookup is not a failure of the job: it falls back to an unknown actor (the default audience).
 */
import { jsonExceeds, MAX_ACTOR_METADATA_CHARS } from "../core/bounds";
import type { FlatfileApi } from "../core/flatfile-client";
import { logger } from "../core/logger";
import type { Actor } from "../domain/audience";

export async function lookUpActor(api: FlatfileApi, actorId: string | undefined): Promise<Actor> {
  if (!actorId) return { kind: "unknown" };
  try {
    if (/^[A-Za-z0-9-]+_g_/.test(actorId)) {
      const { data } = await api.guests.get(actorId);
      return { id: data.id, kind: "guest", name: data.name, email: data.email };
    }
    if (/^[A-Za-z0-9-]+_usr_/.test(actorId)) {
      const { data } = await api.users.get(actorId);
      // Bounded before the audience rule reads it (the user can write it): an oversized one is not used.
      const oversized = jsonExceeds(data.metadata, MAX_ACTOR_METADATA_CHARS);
      if (oversized) logger.warn("actor metadata over the bound ignored", { actorId, maxChars: MAX_ACTOR_METADATA_CHARS });
      return { id: data.id, kind: "user", name: data.name, email: data.email, metadata: oversized ? undefined : data.metadata };
    }
  } catch (error) {
    logger.warn("actor lookup failed; using the default audience", { actorId, failure: (error as Error).name });
  }
  return { id: actorId, kind: "unknown" };
}
