/**
 * Everything `npm start` runs, as one function the tests can start in-process too:
 *
 *   no FLATFILE_API_KEY          embedded: a Flatfile stand-in and a reference-data API in this
 *                                process; the page's buttons (and `npm run send -- <flow>`) create
 *                                Spaces, records and jobs there and deliver their events through
 *                                the relay's own code. No AWS, no Flatfile account.
 *   FLATFILE_API_KEY and         pull: the routes call that environment, and its events are pulled
 *   FLATFILE_ENVIRONMENT_ID      (events.list) and delivered to them as the relay would.
 *   FLATFILE_API_KEY only        the routes call the real API; send signed events yourself.
 *
 * The routes and the page share one port. The port is bound before anything else starts, so a
 * taken port fails with PortInUseError having touched nothing.
 */
import { randomBytes } from "node:crypto";
import { createFlatfileClient, normalizeApiUrl } from "../shared/core/flatfile-client";
import { startFlatfileStandIn, type FlatfileStandIn } from "./flatfile-stand-in";
import { startGateway } from "./gateway";
import { startLambdaStandIn, type LambdaStandIn } from "./lambda-stand-in";
import { handler as actionJobWorker } from "../functions/action-job-worker/handler";
import { ACTION_JOB_WORKER_ENV, WORKER_TIMING } from "../shared/core/hand-off";
import { resetWorkerClient } from "../shared/core/worker-client";
import { startSweepTimer } from "./sweep-timer";
import { Activity } from "./playground/activity";
import { createPlayground, type Playground } from "./playground/flows";
import { startEventPull, type EventPull } from "./playground/pull";
import { startReferenceApiStandIn } from "./playground/reference-api";
import { startLocalSubmissions, type LocalSubmissions } from "./playground/submissions";
import { createLocalRelay } from "./playground/relay";
import { relayPlanFor } from "../infra/relay/plan";
import { parseOwnedSpaces } from "../shared/core/owned-spaces";
import { jobsHandedHere } from "../shared/core/route";
import type { SpaceConfigureBy } from "../shared/routes";
import { routes } from "./routes";
import { pullCursorFile, type LocalMode } from "./session";
import { createWebHandler, LOCAL_SECURITY_HEADERS } from "./web/server";
import type { RetryBound } from "../infra/relay/forward";

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is in use: is another npm start running? Set PORT to choose another`);
  }
}

export class ConfigError extends Error {}

export interface LocalRunOptions {
  port: number;
  /** Read and written like process.env (the handlers read process.env). */
  env?: NodeJS.ProcessEnv;
  /** The relay's retry bound (tests shorten it). */
  relayBound?: RetryBound;
  pullIntervalMs?: number;
}

export interface LocalRun {
  url: string;
  port: number;
  mode: LocalMode;
  signingSecret: string;
  activity: Activity;
  /** Embedded mode only. */
  flatfile?: FlatfileStandIn;
  playground?: Playground;
  pull?: EventPull;
  /** The local Lambda that runs the action-job worker when action-job hands a job to it. */
  lambda: LambdaStandIn;
  close(): Promise<void>;
}

export function modeOf(env: NodeJS.ProcessEnv): LocalMode {
  return !env.FLATFILE_API_KEY ? "embedded" : env.FLATFILE_ENVIRONMENT_ID ? "pull" : "routes-only";
}

export async function startLocalRun(options: LocalRunOptions): Promise<LocalRun> {
  const env = options.env ?? process.env;
  const mode = modeOf(env);
  if (mode === "routes-only" && !env.FLATFILE_SIGNING_SECRET) {
    throw new ConfigError(
      "FLATFILE_API_KEY is set, so the real Flatfile API is used: set FLATFILE_SIGNING_SECRET too (or FLATFILE_ENVIRONMENT_ID to pull its events).",
    );
  }
  try {
    parseOwnedSpaces(env.OWNED_SPACES);
  } catch (error) {
    throw new ConfigError(`OWNED_SPACES: ${(error as Error).message}`);
  }
  // As a deploy with listenerRoute on, SPACE_CONFIGURE_BY=listener hands space:configure to the
  // listener: the relay's plan here, the handlers' claims (which read the same variable).
  let spaceConfigureBy: SpaceConfigureBy | undefined;
  try {
    spaceConfigureBy = jobsHandedHere(env).length > 0 ? "listener" : undefined;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const cleanups: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  };
  const activity = new Activity();
  let web: ReturnType<typeof createWebHandler> | undefined;

  const gateway = await startGateway({
    port: options.port,
    routes: activity.recordRoutes(routes),
    fallback: (request, response) => web?.(request, response) ?? false,
    headers: LOCAL_SECURITY_HEADERS,
  }).catch((error: NodeJS.ErrnoException) => {
    throw error.code === "EADDRINUSE" ? new PortInUseError(options.port) : error;
  });
  cleanups.push(() => gateway.close());

  try {
    // Embedded and pull mode sign and verify here, with a secret of their own unless one is given.
    env.FLATFILE_SIGNING_SECRET ??= `whsec_${randomBytes(24).toString("hex")}`;
    const signingSecret = env.FLATFILE_SIGNING_SECRET;
    let embedded: { flatfile: FlatfileStandIn; reference: Awaited<ReturnType<typeof startReferenceApiStandIn>> } | undefined;
    if (mode === "embedded") {
      const flatfile = await startFlatfileStandIn({ port: Number(env.FLATFILE_STANDIN_PORT ?? 0) });
      cleanups.push(() => flatfile.close());
      const reference = await startReferenceApiStandIn();
      cleanups.push(() => reference.close());
      env.FLATFILE_API_KEY = flatfile.apiKey;
      env.FLATFILE_API_URL = flatfile.url;
      for (const key of ["FLATFILE_SECRET_ID", "IDEMPOTENCY_TABLE", "FLATFILE_ENVIRONMENT_ID"]) delete env[key];
      activity.nameTarget(reference.urlFor("ok")!.replace(/\/ok\/categories$/, ""), "reference");
      embedded = { flatfile, reference };
    }
    // Submit delivers to a local S3 and EventBridge unless the operator points it elsewhere.
    let submissions: LocalSubmissions | undefined;
    if (!env.SUBMISSIONS_BUCKET) {
      const started = await startLocalSubmissions();
      cleanups.push(() => started.close());
      Object.assign(env, started.env);
      submissions = started;
    }
    // action-job hands a long duplicate to its worker as the stack wires it: an asynchronous
    // invoke, here of the local Lambda, which runs the worker in this process with its timeout.
    const lambda = await startLambdaStandIn({ "action-job-worker": { handler: actionJobWorker, timeoutMs: WORKER_TIMING.timeoutMs } }, () =>
      activity.touch(),
    );
    cleanups.push(() => lambda.close());
    env[ACTION_JOB_WORKER_ENV] = "action-job-worker";
    env.AWS_ENDPOINT_URL_LAMBDA = lambda.url;
    // The SDK signs every request: any credentials do for the stand-in, but none is refused.
    env.AWS_REGION ??= "us-east-1";
    if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) Object.assign(env, { AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local" });
    // The client is made once per process: a run started after another must reach its own stand-in.
    resetWorkerClient();
    const apiUrl = normalizeApiUrl(env.FLATFILE_API_URL);
    const apiKey = env.FLATFILE_API_KEY!;
    activity.nameTarget(apiUrl, "flatfile");
    const uninstallRecorder = activity.installFetchRecorder();
    cleanups.push(async () => uninstallRecorder());
    const uninstallConsole = activity.installConsoleRecorder();
    cleanups.push(async () => uninstallConsole());
    const forward = createLocalRelay({
      gatewayUrl: gateway.url,
      signingSecret,
      flatfile: { url: apiUrl, token: apiKey },
      activity,
      bound: options.relayBound,
      // As a deploy with listenerRoute on: the gateway serves /listener (local/routes.ts).
      plan: relayPlanFor({ listenerRoute: true, spaceConfigureBy, ownedSpaces: env.OWNED_SPACES }),
    });

    const playground = embedded ? createPlayground({ ...embedded, forward, activity }) : undefined;
    let pull: EventPull | undefined;
    if (mode === "pull") {
      const environmentId = env.FLATFILE_ENVIRONMENT_ID!;
      pull = startEventPull({
        apiUrl,
        apiKey,
        environmentId,
        cursorFile: pullCursorFile(environmentId),
        forward,
        intervalMs: options.pullIntervalMs,
        log: (line) => console.error(line),
      });
      const started = pull;
      cleanups.push(() => started.stop());
    }
    // The stack's job sweep, on a timer: fails the jobs these routes left open past the bound.
    const sweepTimer = startSweepTimer();
    cleanups.push(() => sweepTimer.stop());
    web = createWebHandler({
      activity,
      api: createFlatfileClient({ token: apiKey, baseUrl: apiUrl }),
      mode,
      playground,
      pull: pull && (() => pull.status()),
      submissions: submissions && (() => submissions.list()),
      invocations: () => lambda.invocations,
    });
    return {
      url: gateway.url,
      port: gateway.port,
      mode,
      signingSecret,
      activity,
      flatfile: embedded?.flatfile,
      playground,
      pull,
      lambda,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
