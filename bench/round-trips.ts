/**
 * Round trips on a critical path, from a request log's arrival times.
 *
 * Method ("waves"): sort the requests by arrival. The first request opens a wave at its arrival
 * time `t`. Every answer takes at least `minLatencyMs` (the latency the stand-ins add to every
 * call), so no answer of this wave exists before `t + minLatencyMs`: a request that arrives
 * before then cannot depend on anything this wave returns, and belongs to the same wave. The
 * first request at or after `t + minLatencyMs` opens the next wave. The number of waves is the
 * number of sequential round trips the caller waited for. It is a lower bound on the dependency
 * chain's length and exact when parallel calls leave together, which is what the flows do.
 */
/** The latency the bench adds to every Flatfile call: what a round trip costs in its figures. */
export const BENCH_LATENCY_MS = 50;

export interface TimedRequest {
  /** Epoch ms when the request arrived. */
  at: number;
  route?: string;
}

export interface Wave<T extends TimedRequest = TimedRequest> {
  start: number;
  requests: T[];
}

export function waves<T extends TimedRequest>(requests: readonly T[], minLatencyMs: number): Wave<T>[] {
  if (!(minLatencyMs > 0)) throw new Error("waves need the minimum latency of an answer (> 0 ms)");
  const sorted = [...requests].sort((a, b) => a.at - b.at);
  const out: Wave<T>[] = [];
  for (const request of sorted) {
    const current = out.at(-1);
    if (current && request.at < current.start + minLatencyMs) current.requests.push(request);
    else out.push({ start: request.at, requests: [request] });
  }
  return out;
}

export function countRoundTrips(requests: readonly TimedRequest[], minLatencyMs: number): number {
  return waves(requests, minLatencyMs).length;
}

/** `ack | workbooks.create ∥ documents.create | …`: one line per wave, for the report. */
export function describeWaves(requests: readonly TimedRequest[], minLatencyMs: number): string {
  return waves(requests, minLatencyMs)
    .map((w) => w.requests.map((r) => r.route ?? "?").join(" ∥ "))
    .join("  →  ");
}
