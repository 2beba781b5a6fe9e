/**
 * Spaces and the documents that live in them. What is modelled beyond request validation, with
 * its sources: docs/design.md#the-stand-ins-spaces.
 */
import { badRequest, notFound } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { withoutHtmlComments } from "../platform";
import { API_KEY_ACTOR, clone, isObject, now, type Store } from "../store";
import { DEFAULT_ACCOUNT_ID, DEFAULT_ENVIRONMENT_ID, type CreatedSpace, type Json, type StoredDocument, type StoredSpace } from "../types";
import { createJob } from "./jobs";

export interface SpaceInput {
  name?: string;
  metadata?: unknown;
  environmentId?: string;
  accountId?: string;
  actorId?: string;
  autoConfigure?: boolean;
  /** Any other SpaceConfig keys sent, stored as sent. */
  extra?: Json;
}

/** Creates a space as the platform does (see the header): events, and the configure job. */
export function createSpace(store: Store, input: SpaceInput): CreatedSpace {
  const at = now();
  const space: StoredSpace = {
    ...clone(input.extra ?? {}),
    id: store.newId("sp"),
    name: input.name ?? "Space",
    environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
    accountId: input.accountId ?? DEFAULT_ACCOUNT_ID,
    metadata: clone(input.metadata ?? {}),
    guestAuthentication: ["magic_link", "shared_link"],
    createdBy: input.actorId ?? API_KEY_ACTOR,
    createdAt: at,
    updatedAt: at,
  };
  store.spaces.set(space.id, space);
  const actorId = input.actorId ?? API_KEY_ACTOR;
  store.raise("space:created", "space", { ...store.contextFor({ spaceId: space.id }), actorId });
  if (!input.autoConfigure) return { space: clone(space) };
  const { job, events } = createJob(store, { type: "space", operation: "configure", source: space.id, trigger: "immediate", actorId });
  return { space: clone(space), job: clone(job), event: clone(events.at(-1)) };
}

/** A document body as the platform would store it. */
const storedBody = (store: Store, body: string) => (store.platform.dropHtmlComments ? withoutHtmlComments(body) : body);

export const spaceRoutes: Route[] = [
  {
    method: "POST",
    pattern: /^\/spaces$/,
    name: "spaces.create",
    schema: top("SpaceConfig"),
    handle: (store, _p, body) => {
      const { name, metadata, environmentId, autoConfigure, ...extra } = body as Json;
      if (environmentId !== undefined && typeof environmentId !== "string")
        throw badRequest("environmentId must be a string", "environmentId");
      const { space } = createSpace(store, {
        name: typeof name === "string" ? name : undefined,
        metadata,
        environmentId,
        autoConfigure: autoConfigure === true,
        extra,
      });
      return ok(space);
    },
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/spaces/${ID}$`),
    name: "spaces.delete",
    handle: (store, [id]) => {
      const space = store.getSpace(id!);
      for (const workbook of [...store.workbooks.values()].filter((w) => w.spaceId === space.id)) {
        for (const sheetId of workbook.sheetIds) store.sheets.delete(sheetId);
        store.workbooks.delete(workbook.id);
      }
      for (const doc of [...store.documents.values()].filter((d) => d.spaceId === space.id)) store.documents.delete(doc.id);
      store.spaces.delete(space.id);
      return ok({ success: true });
    },
  },
  { method: "GET", pattern: new RegExp(`^/spaces/${ID}$`), name: "spaces.get", handle: (store, [id]) => ok(clone(store.getSpace(id!))) },
  {
    method: "PATCH",
    pattern: new RegExp(`^/spaces/${ID}$`),
    name: "spaces.update",
    schema: top("SpaceConfig"),
    handle: (store, [id], body) => {
      const space = store.getSpace(id!);
      for (const [key, value] of Object.entries(isObject(body) ? body : {})) {
        if (value === undefined) continue;
        space[key] = clone(value); // metadata is replaced wholesale, not merged
      }
      space.updatedAt = now();
      return ok(clone(space));
    },
  },
];

export const documentRoutes: Route[] = [
  {
    method: "GET",
    pattern: new RegExp(`^/spaces/${ID}/documents$`),
    name: "documents.list",
    handle: (store, [spaceId]) => {
      store.getSpace(spaceId!);
      return ok([...store.documents.values()].filter((d) => d.spaceId === spaceId).map((d) => clone(d)));
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/spaces/${ID}/documents$`),
    name: "documents.create",
    schema: top("DocumentConfig"),
    handle: (store, [spaceId], body) => {
      const space = store.getSpace(spaceId!);
      const at = now();
      const doc: StoredDocument = {
        ...(clone(body) as Json),
        id: store.newId("dc"),
        spaceId: space.id,
        environmentId: space.environmentId,
        title: String((body as Json).title),
        body: storedBody(store, String((body as Json).body)),
        createdAt: at,
        updatedAt: at,
      };
      store.documents.set(doc.id, doc);
      return ok(clone(doc));
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/spaces/${ID}/documents/${ID}$`),
    name: "documents.get",
    handle: (store, [spaceId, documentId]) => {
      const doc = store.documents.get(documentId!);
      if (!doc || doc.spaceId !== spaceId) throw notFound("Document", documentId!);
      return ok(clone(doc));
    },
  },
  {
    method: "PATCH",
    pattern: new RegExp(`^/spaces/${ID}/documents/${ID}$`),
    name: "documents.update",
    schema: top("DocumentConfig"),
    handle: (store, [spaceId, documentId], body) => {
      const doc = store.documents.get(documentId!);
      if (!doc || doc.spaceId !== spaceId) throw notFound("Document", documentId!);
      for (const [key, value] of Object.entries(isObject(body) ? body : {})) if (value !== undefined) doc[key] = clone(value);
      if (isObject(body) && typeof body.body === "string") doc.body = storedBody(store, body.body);
      doc.updatedAt = now();
      return ok(clone(doc));
    },
  },
];
