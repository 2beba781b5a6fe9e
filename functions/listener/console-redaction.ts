/**
 * Customer code prints with console.*, whose lines go to the function's log as they are. Each
 * line is formatted first and every known secret (the key, the signing secrets, AWS credentials,
 * secrets the listener read through `event.secrets`) replaced before it is written.
 */
import { format } from "node:util";
import { redact, registerSecretForRedaction } from "../../shared/core/logger";

const METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;
let installed = false;

/** The AWS credentials Lambda puts in the environment: as secret as the Flatfile key. */
const AWS_SECRETS = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"];

export function redactConsole(): void {
  for (const name of AWS_SECRETS) registerSecretForRedaction(process.env[name]);
  if (installed) return;
  installed = true;
  for (const method of METHODS) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => original(redact(format(...args)));
  }
}
