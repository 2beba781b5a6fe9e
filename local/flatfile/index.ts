/**
 * A local stand-in for the Flatfile REST API (`/v1`): a real HTTP server on 127.0.0.1 that the
 * real `@flatfile/api` SDK talks to. It keeps state in memory, validates every request body
 * strictly against the SDK's own wire schemas (an unknown key or a wrong type is a 400, where the
 * SDK itself would silently strip it), logs every request as it went over the wire, and lets tests
 * inject faults per route: status sequences, latency and requests that never answer.
 *
 * Route names are `<resource>.<method>` after the SDK method (`sheets.counts` for
 * getRecordCounts, `sheets.duplicate` for duplicateSheet, `sheets.lock`/`sheets.unlock`).
 * Each resource's routes and what they model live in `resources/<resource>.ts`.
 */
import { randomBytes } from "node:crypto";
import { createActions } from "./act";
import { agentRoutes, secretRoutes } from "./resources/agents";
import { eventRoutes } from "./resources/events";
import { failUnacknowledgedJobs, jobRoutes } from "./resources/jobs";
import { recordRoutes } from "./resources/records";
import { documentRoutes, spaceRoutes } from "./resources/spaces";
import { userRoutes } from "./resources/users";
import { sheetRoutes, workbookRoutes } from "./resources/workbooks";
import { serveRoutes, type Route } from "./router";
import { platformFromEnv, type PlatformBehaviour } from "./platform";
import { createSeed } from "./seed";
import { Store } from "./store";
import type { FlatfileStandIn } from "./types";

export * from "./types";
export { DISABLED_HOOKS_ENV, DROP_HTML_COMMENTS_ENV, OMITTED_SHEETS_ENV, platformFromEnv, type PlatformBehaviour } from "./platform";

const ROUTES: readonly Route[] = [
  ...jobRoutes,
  ...spaceRoutes,
  ...workbookRoutes,
  ...sheetRoutes,
  ...recordRoutes,
  ...documentRoutes,
  ...userRoutes,
  ...agentRoutes,
  ...secretRoutes,
  ...eventRoutes,
];

export interface StandInOptions {
  port?: number;
  /** Added before every answer. */
  latencyMs?: number;
  apiKey?: string;
  /** Where the docs are silent; unset keys come from the environment (see platform.ts). */
  platform?: Partial<PlatformBehaviour>;
  /** Shorthand for `platform: { dropHtmlComments: false }`. */
  keepHtmlComments?: boolean;
  /** The region part of every id: `us` by default; `dev` models the `dev_sp_…` ids the platform also sends. */
  idPrefix?: string;
}

export async function startFlatfileStandIn(options: StandInOptions = {}): Promise<FlatfileStandIn> {
  const apiKey = options.apiKey ?? `sk_local_${randomBytes(12).toString("hex")}`;
  const initialPlatform: PlatformBehaviour = {
    ...platformFromEnv(),
    ...(options.keepHtmlComments ? { dropHtmlComments: false } : {}),
    ...options.platform,
  };
  const store = new Store({ ...initialPlatform }, options.idPrefix);
  store.tick = () => void failUnacknowledgedJobs(store);
  const seed = createSeed(store);
  const server = await serveRoutes(ROUTES, store, { port: options.port, latencyMs: options.latencyMs, apiKey });

  return {
    url: server.url,
    apiKey,
    requests: server.requests,
    seed,
    act: createActions(store),
    events: store.events,
    platform: store.platform,
    faults: server.faults,
    spaces: store.spaces,
    apps: store.apps,
    jobs: store.jobs,
    workbooks: store.workbooks,
    sheets: store.sheets,
    documents: store.documents,
    users: store.users,
    guests: store.guests,
    agents: store.agents,
    agentLogs: store.agentLogs,
    secrets: store.secrets,
    commits: store.commits,
    clock: {
      now: () => store.clockNow(),
      advance(ms) {
        store.clockOffsetMs += ms;
        store.tick();
      },
    },
    timedOutJobs: store.timedOut,
    reset() {
      server.requests.length = 0;
      store.clear();
      Object.assign(store.platform, initialPlatform);
      server.faults.clear();
    },
    close: server.close,
  };
}
