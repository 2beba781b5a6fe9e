/**
 * Seeding for tests and `npm start`: puts spaces, users, guests, jobs, workbooks and records in
 * the store directly, without a request (and without a request log entry).
 */
import { clone, now, type Store } from "./store";
import {
  DEFAULT_ACCOUNT_ID,
  DEFAULT_ENVIRONMENT_ID,
  type Json,
  type Seed,
  type StoredGuest,
  type StoredJob,
  type StoredRecord,
  type StoredSpace,
  type StoredApp,
  type StoredUser,
  type StoredWorkbook,
} from "./types";

export function createSeed(store: Store): Seed {
  return {
    space(input = {}) {
      const at = now();
      const space: StoredSpace = {
        id: store.newId("sp"),
        name: input.name ?? "Space",
        environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        accountId: input.accountId ?? DEFAULT_ACCOUNT_ID,
        metadata: clone(input.metadata ?? {}),
        guestAuthentication: ["magic_link", "shared_link"],
        ...(input.namespace !== undefined ? { namespace: input.namespace } : {}),
        ...(input.appId !== undefined ? { appId: input.appId } : {}),
        createdAt: at,
        updatedAt: at,
      };
      store.spaces.set(space.id, space);
      return clone(space);
    },
    app(input) {
      const at = now();
      const app: StoredApp = {
        id: store.newId("app"),
        name: input.name ?? "App",
        namespace: input.namespace,
        type: "CUSTOM",
        entity: "Space",
        entityPlural: "Spaces",
        environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        accountId: DEFAULT_ACCOUNT_ID,
        createdAt: at,
        updatedAt: at,
      };
      store.apps.set(app.id, app);
      return clone(app);
    },
    user(input) {
      const at = now();
      const user: StoredUser = {
        id: store.newId("usr"),
        email: input.email,
        name: input.name,
        accountId: input.accountId ?? DEFAULT_ACCOUNT_ID,
        idp: "local",
        metadata: clone(input.metadata ?? {}),
        createdAt: at,
        updatedAt: at,
      };
      store.users.set(user.id, user);
      return clone(user);
    },
    guest(input) {
      const at = now();
      const guest: StoredGuest = {
        id: store.newId("g"),
        email: input.email,
        name: input.name,
        environmentId: input.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        spaces: (input.spaceIds ?? []).map((id) => ({ id })),
        createdAt: at,
        updatedAt: at,
      };
      store.guests.set(guest.id, guest);
      return clone(guest);
    },
    job(input) {
      const [domain = "space", operation = ""] = input.job.split(":");
      const source =
        domain === "sheet" ? input.sheetId : domain === "workbook" ? input.workbookId : domain === "space" ? input.spaceId : undefined;
      const space = input.spaceId ? store.spaces.get(input.spaceId) : undefined;
      const at = now();
      const job: StoredJob = {
        id: store.newId("jb"),
        type: domain,
        operation,
        source: source ?? input.spaceId ?? input.workbookId ?? input.sheetId ?? "",
        status: input.status ?? "ready",
        progress: 0,
        mode: "foreground",
        managed: true,
        input: {},
        environmentId: input.environmentId ?? space?.environmentId ?? DEFAULT_ENVIRONMENT_ID,
        createdBy: "us_usr_local0001",
        createdAt: at,
        updatedAt: at,
      };
      if (input.spaceId) job.spaceId = input.spaceId;
      store.jobs.set(job.id, job);
      // Seeded as executing: as if acknowledged now, for the platform's timer (resources/jobs.ts).
      if (job.status === "executing") store.lastAcks.set(job.id, store.clockNow());
      return clone(job);
    },
    workbook(input) {
      const space = store.getSpace(input.spaceId);
      const at = now();
      const workbook: StoredWorkbook = {
        id: store.newId("wb"),
        name: input.name ?? "Workbook",
        spaceId: space.id,
        environmentId: space.environmentId,
        sheetIds: [],
        createdAt: at,
        updatedAt: at,
      };
      if (input.actions) workbook.actions = clone(input.actions);
      if (input.metadata !== undefined) workbook.metadata = clone(input.metadata);
      if (input.labels) workbook.labels = clone(input.labels);
      store.workbooks.set(workbook.id, workbook);
      for (const s of input.sheets) {
        const config: Json = {
          name: s.name,
          slug: s.slug,
          fields: clone(
            s.fields ?? [
              { key: "firstName", type: "string", label: "First name" },
              { key: "lastName", type: "string", label: "Last name" },
              { key: "email", type: "string", label: "Email" },
            ],
          ),
        };
        if (s.access) config.access = clone(s.access);
        if (s.readonly !== undefined) config.readonly = s.readonly;
        if (s.actions) config.actions = clone(s.actions);
        const sheet = store.createSheet(workbook.id, config);
        workbook.sheetIds.push(sheet.id);
        const count = s.records ?? 0;
        if (count > 0) {
          const commit = store.newCommit(sheet.id);
          const records = new Array<StoredRecord>(count);
          for (let n = 0; n < count; n++) records[n] = { id: store.newId("rc"), commitId: commit.id, valid: true, n };
          sheet.records = records;
        }
      }
      return store.workbookView(workbook);
    },
    commit(sheetId, change) {
      return store.applyCommit(store.getSheet(sheetId), change);
    },
    records(sheetId, values, opts = {}) {
      return store.applyCommit(store.getSheet(sheetId), { insert: values, invalid: opts.invalid });
    },
    markInvalid(sheetId, recordIds, invalid = true) {
      const wanted = new Set(recordIds);
      for (const r of store.getSheet(sheetId).records) if (wanted.has(r.id)) r.valid = !invalid;
    },
  };
}
