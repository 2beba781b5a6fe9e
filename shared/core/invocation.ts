/**
 * The invocation a piece of code runs in: when it ends. Set once by the route pipeline, read by
 * what must not outlive it (a lease, which a crashed holder would otherwise keep for its full
 * length). Outside an invocation (tests calling a flow directly, the bench) nothing is set.
 */
import { AsyncLocalStorage } from "node:async_hooks";

interface Invocation {
  /** Epoch ms at which the Lambda stops this invocation (its timeout). */
  endsAt: number;
}

const current = new AsyncLocalStorage<Invocation>();

export function withinInvocation<T>(endsAt: number, run: () => Promise<T>): Promise<T> {
  return current.run({ endsAt }, run);
}

/** When the current invocation ends, or undefined outside one. */
export function invocationEndsAt(): number | undefined {
  return current.getStore()?.endsAt;
}
