/**
 * One Lambda invocation in a process of its own, for the crash-point suite: it loads the same
 * handlers the functions export, says it is ready, runs the one delivery it is sent and reports
 * the answer. The suite kills it with SIGKILL right after a Flatfile call, so nothing after that
 * point runs: no catch, no finally, no lock released, no job failed.
 *
 * Message in: { path, rawBody, headers, remainingMs }. Messages out: { ready: true }, then
 * { status, body } if it is not killed first.
 */
import { randomUUID } from "node:crypto";
import { routes } from "../../../local/routes";
import type { ServedPath } from "../../../local/gateway";
import { apiEvent } from "../../support/harness";

interface Invoke {
  path: ServedPath;
  rawBody: string;
  headers: Record<string, string>;
  remainingMs: number;
}

process.on("message", (message: Invoke) => {
  const started = Date.now();
  routes[message.path](apiEvent(message.rawBody, message.headers), {
    getRemainingTimeInMillis: () => Math.max(message.remainingMs - (Date.now() - started), 0),
    awsRequestId: randomUUID(),
  }).then(
    (result) => process.send?.({ status: result.statusCode, body: result.body }),
    (error: unknown) => process.send?.({ status: 0, body: String(error) }),
  );
});
process.send?.({ ready: true });
