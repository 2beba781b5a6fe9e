/**
 * Events: the stand-in's log of what the platform raised, per environment, read the way a poller
 * reads it (`events.list`, `events.get`, `events.ack`).
 *
 * Sources: the SDK's `ListEventsRequest` doc comments (filters environmentId, spaceId, domain,
 * topic, since; "pageSize: Number of results to return in a page (default 10)"; pageNumber;
 * "includeAcknowledged: Include acknowledged events", so acknowledged ones are left out unless
 * asked for), `ListAllEventsResponse { data: Event[] }`, `GenericEvent` (`acknowledgedAt`,
 * `acknowledgedBy`) and `events.ack(eventId)` answering `Success`. Undocumented, and modelled as
 * the least convenient plausible: `since` is inclusive (a poller sees the event it last saw again,
 * so it must remember ids); newest first (a poller pages until it passes `since`); a list with
 * neither environmentId nor spaceId is refused with 400; acknowledging twice is harmless (the
 * first time is kept).
 */
import { badRequest, notFound, throwIt } from "../errors";
import { ID, ok, type Route } from "../router";
import { API_KEY_ACTOR, clone, now } from "../store";

const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 1_000;

export const eventRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/events$/,
    name: "events.list",
    handle: (store, _p, _b, query) => {
      const environmentId = query.get("environmentId");
      const spaceId = query.get("spaceId");
      if (!environmentId && !spaceId) throw badRequest("environmentId or spaceId is required", "environmentId");
      const domain = query.get("domain");
      const topic = query.get("topic");
      const sinceText = query.get("since");
      const since = sinceText === null ? undefined : Date.parse(sinceText);
      if (since !== undefined && Number.isNaN(since)) throw badRequest(`since is not a date: "${sinceText}"`, "since");
      const pageSize = query.has("pageSize") ? Number(query.get("pageSize")) : DEFAULT_PAGE_SIZE;
      const pageNumber = query.has("pageNumber") ? Number(query.get("pageNumber")) : 1;
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
        throw badRequest(`pageSize must be an integer from 1 to ${MAX_PAGE_SIZE}`, "pageSize");
      }
      if (!Number.isInteger(pageNumber) || pageNumber < 1) throw badRequest("pageNumber must be an integer from 1", "pageNumber");
      const includeAcknowledged = query.get("includeAcknowledged") === "true";
      const matching = store.events.filter(
        (e) =>
          (!environmentId || e.context.environmentId === environmentId) &&
          (!spaceId || e.context.spaceId === spaceId) &&
          (!domain || e.domain === domain) &&
          (!topic || e.topic === topic) &&
          (since === undefined || Date.parse(e.createdAt) >= since) &&
          (includeAcknowledged || !e.acknowledgedAt),
      );
      const newestFirst = [...matching].reverse();
      const start = (pageNumber - 1) * pageSize;
      return ok(newestFirst.slice(start, start + pageSize).map((e) => clone(e)));
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/events/${ID}$`),
    name: "events.get",
    handle: (store, [id]) => ok(clone(store.events.find((e) => e.id === id) ?? throwIt(notFound("Event", id!)))),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/events/${ID}/ack$`),
    name: "events.ack",
    handle: (store, [id]) => {
      const event = store.events.find((e) => e.id === id) ?? throwIt(notFound("Event", id!));
      if (!event.acknowledgedAt) {
        event.acknowledgedAt = now();
        event.acknowledgedBy = API_KEY_ACTOR;
      }
      return ok({ success: true });
    },
  },
];
