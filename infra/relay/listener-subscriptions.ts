/**
 * Build time: what the customer's listener (listener/index.ts) registers, read by running its
 * default export against a real `FlatfileListener` and walking what it holds (its callbacks'
 * topics and filters, and its `filter`/`namespace` nodes). The result is data: the relay's bundle
 * carries it (plan.ts) and forwards to /listener only what it matches (listener-match.ts).
 */
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { Flatfile } from "@flatfile/api";
import { buildSync } from "esbuild";
import { listenerMatcher, type ListenerSubscription } from "./listener-match";

const REPO_ROOT = resolve(__dirname, "..", "..");
export const LISTENER_MODULE = join(REPO_ROOT, "listener", "index.ts");

/** The parts of @flatfile/listener's EventHandler read here (1.1.2: `listeners`, `nodes`, `filterQuery`). */
interface RegisteredHandler {
  listeners: [string | string[], Record<string, unknown> | undefined, unknown][];
  nodes: RegisteredHandler[];
  filterQuery?: Record<string, unknown>;
}

const isEmpty = (filter: Record<string, unknown> | undefined) => !filter || Object.keys(filter).length === 0;

/** Text, numbers, booleans, null, and lists and plain objects of them: what @flatfile/listener's filters compare. */
function isData(value: unknown): boolean {
  if (value === null || ["string", "boolean"].includes(typeof value)) return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isData);
  if (typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return false;
  return Object.entries(value as object).every(([key, item]) => key !== "__proto__" && isData(item));
}

/** A filter as data, or a build error naming it: the relay's bundle can carry only JSON. */
function asData(filter: Record<string, unknown>): Record<string, unknown> {
  if (!isData(filter) || Array.isArray(filter)) {
    const keys = typeof filter === "object" && filter !== null ? Object.keys(filter).join(", ") : typeof filter;
    throw new Error(
      `listener/index.ts registers a filter the relay cannot carry as data (keys: ${keys}): use text, numbers, booleans, lists`,
    );
  }
  return JSON.parse(JSON.stringify(filter)) as Record<string, unknown>;
}

/** Every callback of a listener the module registered on, with the filters that lead to it. */
export function subscriptionsOf(listener: unknown): ListenerSubscription[] {
  const handler = listener as RegisteredHandler;
  if (!Array.isArray(handler?.listeners) || !Array.isArray(handler?.nodes)) {
    throw new Error("not a FlatfileListener from @flatfile/listener 1.x (no listeners/nodes to read)");
  }
  const out: ListenerSubscription[] = [];
  const walk = (node: RegisteredHandler, around: Record<string, unknown>[]) => {
    const here = isEmpty(node.filterQuery) ? around : [...around, asData(node.filterQuery!)];
    for (const [query, filter] of node.listeners) {
      out.push({ topics: Array.isArray(query) ? [...query] : [query], filters: isEmpty(filter) ? here : [...here, asData(filter!)] });
    }
    for (const child of node.nodes) walk(child, here);
  };
  walk(handler, []);
  return out;
}

/** The Flatfile topics (SDK's EventTopic) the subscriptions' patterns take: what the agent subscribes to. */
export function subscribedTopics(subscriptions: readonly ListenerSubscription[]): Flatfile.EventTopic[] {
  const byTopic = listenerMatcher(subscriptions.map((s) => ({ topics: s.topics, filters: [] })));
  return Object.values(Flatfile.EventTopic).filter((topic) => byTopic({ topic }));
}

/**
 * Runs listener/index.ts (or `entry`) against @flatfile/listener's own FlatfileListener and returns
 * what it registered. Bundled with esbuild first (synchronously: synth is), so the module and the
 * plugins it imports load as the listener function's bundle loads them, whatever runs the build.
 */
export function readListenerSubscriptions(entry: string = LISTENER_MODULE): ListenerSubscription[] {
  const contents = `
    const { FlatfileListener } = require("@flatfile/listener");
    const loaded = require(${JSON.stringify(entry)});
    let register = loaded && loaded.default;
    if (typeof register !== "function") register = register && register.default;
    if (typeof register !== "function") throw new Error("listener/index.ts must default-export a function (listener: FlatfileListener) => void");
    const listener = new FlatfileListener();
    register(listener);
    module.exports = listener;
  `;
  const result = buildSync({
    stdin: { contents, resolveDir: REPO_ROOT, sourcefile: "listener-subscriptions-entry.js", loader: "js" },
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    tsconfig: join(REPO_ROOT, "tsconfig.json"),
    // As in the listener function's bundle (infra/bundling.ts).
    alias: { "cross-fetch": join(REPO_ROOT, "infra", "relay", "shims", "cross-fetch.cjs") },
    logLevel: "silent",
    write: false,
  });
  const module = { exports: {} as unknown };
  const requireFromRoot = createRequire(join(REPO_ROOT, "package.json"));
  // The bundle is self-contained but for Node's built-ins.
  new Function("module", "exports", "require", "__filename", "__dirname", result.outputFiles[0]!.text)(
    module,
    module.exports,
    requireFromRoot,
    entry,
    REPO_ROOT,
  );
  return subscriptionsOf(module.exports);
}
