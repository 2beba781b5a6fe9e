/**
 * For the bench's "what metrics and tracing add" figures: an esbuild plugin that builds a function
 * with shared/core/observability.ts replaced by a module of the same exports that does nothing
 * (no Metrics, no Tracer, no X-Ray SDK), so the two builds differ by exactly that.
 */
import { join } from "node:path";
import type { Plugin } from "esbuild";
import { REPO_ROOT } from "../infra/bundling";

const NO_OP_OBSERVABILITY = `
export { logger } from "./logger";
export const METRIC = {};
export const SERVICE_NAME = "flatfile-space-configurator";
export const DEFAULT_METRICS_NAMESPACE = "";
export const SERVICE_DIMENSION = "service";
export const ROUTE_DIMENSION = "route";
export function count() {}
export function annotate() {}
export function observeInvocation(_route, work) { return work(); }
export function activeTracer() { return undefined; }
export function traceAwsClient(client) { return client; }
export function traceCall(_name, call) { return call(); }
export function resourceOf(method) { return method; }
`;

export function observabilityOffPlugin(): Plugin {
  return {
    name: "observability-off",
    setup(build) {
      build.onResolve({ filter: /[\\/]observability$/ }, (args) => {
        if (!/[\\/](shared|functions)[\\/]/.test(args.importer)) return undefined;
        return { path: "observability", namespace: "observability-off" };
      });
      build.onLoad({ filter: /.*/, namespace: "observability-off" }, () => ({
        contents: NO_OP_OBSERVABILITY,
        loader: "js",
        resolveDir: join(REPO_ROOT, "shared", "core"),
      }));
    },
  };
}
