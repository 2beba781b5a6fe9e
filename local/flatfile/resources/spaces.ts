/** Spaces and the documents that live in them. */
import { notFound } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { clone, isObject, now } from "../store";
import type { Json, StoredDocument } from "../types";

export const spaceRoutes: Route[] = [
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

/**
 * A document body as stored. Flatfile documents bodies as Markdown with HTML allowed; whether HTML
 * comments survive storage or rendering is undocumented: least convenient plausible, they are
 * dropped (on by default; `startFlatfileStandIn({ keepHtmlComments: true })` keeps them).
 */
function storedBody(store: { keepHtmlComments: boolean }, body: unknown): string {
  const text = String(body);
  return store.keepHtmlComments ? text : text.replace(/<!--[\s\S]*?(?:-->|$)/g, "");
}

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
        body: storedBody(store, (body as Json).body),
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
      if (isObject(body) && body.body !== undefined) doc.body = storedBody(store, body.body);
      doc.updatedAt = now();
      return ok(clone(doc));
    },
  },
];
