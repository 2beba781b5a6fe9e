/**
 * The invocation a piece of code runs in, in one AsyncLocalStorage: when it ends, read by what must
 * not outlive it (a lease, which a crashed holder would otherwise keep for its full length), and
 * its metric counts and trace subsegment (observability.ts), so that `npm start`, which serves
 * every route in one process, attributes each to its own invocation. Set once per invocation by the
 * route pipeline; outside one (tests calling a flow directly, the bench) nothing is set.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Tracer } from "@aws-lambda-powertools/tracer";
import type { MetricName } from "./observability";

export type XraySegment = NonNullable<ReturnType<Tracer["getSegment"]>>;

export interface Invocation {
  /** Epoch ms at which the Lambda stops this invocation (its timeout); undefined when not known. */
  readonly endsAt: number | undefined;
  /** What this invocation counted, published once when it ends (observability.ts). */
  readonly counts: Map<MetricName, number>;
  /** The handler's X-Ray subsegment (undefined when not tracing). */
  segment?: XraySegment;
}

const current = new AsyncLocalStorage<Invocation>();

/** Runs `run` as one invocation, ending at `endsAt`, with nothing counted yet. */
export function withinInvocation<T>(endsAt: number | undefined, run: () => Promise<T>): Promise<T> {
  return current.run({ endsAt, counts: new Map() }, run);
}

/** The current invocation, or undefined outside one. */
export function currentInvocation(): Invocation | undefined {
  return current.getStore();
}

/** When the current invocation ends, or undefined outside one. */
export function invocationEndsAt(): number | undefined {
  return current.getStore()?.endsAt;
}
