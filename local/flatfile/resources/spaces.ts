/**
 * Spaces and the documents that live in them.
 *
 * Modelled beyond request validation:
 * - `spaces.update` replaces `metadata` whole (SDK `SpaceConfig.metadata` is one value, and the
 *   update is a PATCH of top-level keys); other keys not sent are kept.
 * - Document bodies are stored as sent (docs: Markdown, HTML tags allowed), except that HTML
 *   comments are dropped while `platform.dropHtmlComments` is on, the default (undocumented;
 *   least convenient plausible; see ../platform.ts).
 */
import { notFound } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { withoutHtmlComments } from "../platform";
import { clone, isObject, now, type Store } from "../store";
import type { Json, StoredDocument } from "../types";

/** A document body as the platform would store it. */
const storedBody = (store: Store, body: string) => (store.platform.dropHtmlComments ? withoutHtmlComments(body) : body);

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
