/** Users, guests and Apps: read-only here (tests seed them). */
import { notFound, throwIt } from "../errors";
import { ID, ok, type Route } from "../router";
import { clone } from "../store";

export const userRoutes: Route[] = [
  {
    method: "GET",
    pattern: new RegExp(`^/users/${ID}$`),
    name: "users.get",
    handle: (store, [id]) => ok(clone(store.users.get(id!) ?? throwIt(notFound("User", id!)))),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/guests/${ID}$`),
    name: "guests.get",
    handle: (store, [id]) => ok(clone(store.guests.get(id!) ?? throwIt(notFound("Guest", id!)))),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/apps/${ID}$`),
    name: "apps.get",
    handle: (store, [id]) => ok(clone(store.apps.get(id!) ?? throwIt(notFound("App", id!)))),
  },
];
