/**
 * The Powertools Tracer, in a module of its own so that observability.ts can load it on first
 * use: esbuild keeps a `require()`d module's evaluation (the X-Ray SDK's included) until the
 * require runs, and its static import resolves to the same ESM build of Powertools the Logger
 * and Metrics use, so their shared code is bundled once.
 */
import { Tracer } from "@aws-lambda-powertools/tracer";

export function createTracer(serviceName: string): Tracer {
  // No automatic HTTP capture: it names subsegments by host and records URLs with ids;
  // observability.ts's traceCall names each Flatfile call by method and resource instead.
  return new Tracer({ serviceName, captureHTTPsRequests: false });
}
