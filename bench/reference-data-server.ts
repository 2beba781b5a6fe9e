/**
 * The bench's external "reference data" API: the tests' stand-in (test/support/reference-api.ts)
 * with a fixed latency, its request log read like the Flatfile stand-in's.
 */
import { REFERENCE_CATEGORIES, startReferenceApi, type ReferenceApi } from "../test/support/reference-api";

export { REFERENCE_CATEGORIES };
export type ReferenceDataServer = ReferenceApi;

export function startReferenceDataServer(options: { latencyMs?: number } = {}): Promise<ReferenceDataServer> {
  return startReferenceApi({ latencyMs: options.latencyMs });
}
