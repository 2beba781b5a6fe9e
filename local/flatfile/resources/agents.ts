/** Agents (what the relay registers) and secrets, per environment or space. */
import { badRequest, notFound, throwIt } from "../errors";
import { ID, ok, type Route } from "../router";
import { top } from "../schemas";
import { clone, now } from "../store";
import { DEFAULT_ACCOUNT_ID, type Json, type StoredAgent, type StoredSecret } from "../types";

/** How many of an agent's runs its logs endpoint answers (see the route). */
export const AGENT_LOGS_PAGE = 100;

export const agentRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/agents$/,
    name: "agents.list",
    handle: (store, _p, _b, query) => {
      const environmentId = query.get("environmentId");
      if (!environmentId) throw badRequest("environmentId is required", "environmentId");
      return ok([...store.agents.values()].filter((a) => a.environmentId === environmentId).map((a) => clone(a)));
    },
  },
  {
    method: "POST",
    pattern: /^\/agents$/,
    name: "agents.create",
    schema: top("AgentConfig"),
    handle: (store, _p, body, query) => {
      const environmentId = query.get("environmentId");
      if (!environmentId) throw badRequest("environmentId is required", "environmentId");
      const at = now();
      const agent: StoredAgent = {
        ...(clone(body) as Json),
        id: store.newId("ag"),
        environmentId,
        accountId: DEFAULT_ACCOUNT_ID,
        createdAt: at,
        updatedAt: at,
      };
      store.agents.set(agent.id, agent);
      return ok(clone(agent));
    },
  },
  {
    method: "GET",
    pattern: new RegExp(`^/agents/${ID}$`),
    name: "agents.get",
    handle: (store, [id]) => ok(clone(store.agents.get(id!) ?? throwIt(notFound("Agent", id!)))),
  },
  {
    // The API reference documents no paging or order for an agent's logs: the stand-in answers
    // the newest AGENT_LOGS_PAGE runs, newest first, so a reader cannot count on seeing them all.
    method: "GET",
    pattern: new RegExp(`^/agents/${ID}/logs$`),
    name: "agents.getAgentLogs",
    handle: (store, [id], _b, query) => {
      if (!query.get("environmentId")) throw badRequest("environmentId is required", "environmentId");
      if (!store.agents.has(id!)) throw notFound("Agent", id!);
      const runs = store.agentLogs
        .filter((run) => run.agentId === id)
        .slice(-AGENT_LOGS_PAGE)
        .reverse();
      return ok(runs.map((run) => clone(run)));
    },
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/agents/${ID}$`),
    name: "agents.delete",
    handle: (store, [id]) => {
      if (!store.agents.delete(id!)) throw notFound("Agent", id!);
      return ok({ success: true });
    },
  },
];

export const secretRoutes: Route[] = [
  {
    method: "GET",
    pattern: /^\/secrets$/,
    name: "secrets.list",
    // "Spaces will inherit Secrets from their respective Environment but you may choose to
    // override any Environment Secret for a given Space" (Guides, "Share secrets"); the list
    // "fetch[es] all secrets for a given environmentId and optionally appl[ies] space overrides"
    // (API reference, secrets.list). So: the environment's own secrets, and with a spaceId that
    // Space's secrets over them, one per name. actorId (sent by event.secrets) has no documented
    // effect: ignored.
    handle: (store, _p, _b, query) => {
      const spaceId = query.get("spaceId") ?? undefined;
      const environmentId = query.get("environmentId") ?? (spaceId ? store.spaces.get(spaceId)?.environmentId : undefined);
      if (!environmentId && !spaceId) throw badRequest("environmentId or spaceId is required", "environmentId");
      const byName = new Map<string, StoredSecret>();
      for (const s of store.secrets.values()) if (!s.spaceId && s.environmentId === environmentId) byName.set(s.name, s);
      if (spaceId) for (const s of store.secrets.values()) if (s.spaceId === spaceId) byName.set(s.name, s);
      return ok([...byName.values()].map((s) => clone(s)));
    },
  },
  {
    method: "POST",
    pattern: /^\/secrets$/,
    name: "secrets.upsert",
    schema: top("WriteSecret"),
    handle: (store, _p, body) => {
      const write = body as Json;
      const environmentId = typeof write.environmentId === "string" ? write.environmentId : undefined;
      const spaceId = typeof write.spaceId === "string" ? write.spaceId : undefined;
      if (!environmentId && !spaceId) throw badRequest("environmentId or spaceId is required", "environmentId");
      const existing = [...store.secrets.values()].find(
        (s) => s.name === write.name && s.environmentId === environmentId && s.spaceId === spaceId,
      );
      const secret: StoredSecret = {
        ...(clone(write) as Json),
        id: existing?.id ?? store.newId("sec"),
        name: String(write.name),
        value: String(write.value),
      };
      store.secrets.set(secret.id, secret);
      return ok([clone(secret)]);
    },
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/secrets/${ID}$`),
    name: "secrets.delete",
    handle: (store, [id]) => {
      if (!store.secrets.delete(id!)) throw notFound("Secret", id!);
      return ok([]);
    },
  },
];
