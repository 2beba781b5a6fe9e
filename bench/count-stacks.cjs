// Loaded with --require into a bench worker (bench/worker.cjs): records every error stack formatted
// in the process. V8 formats a stack through Error.prepareStackTrace, lazily, when something reads
// `.stack`; with --enable-source-maps the first one decodes the whole source map. Replacing the hook
// bypasses Node's source-mapped formatting, so a process with this loaded counts, it is not timed.
"use strict";
const formatted = [];
Error.prepareStackTrace = (error, frames) => {
  formatted.push(`${error?.name}: ${error?.message} (${frames.slice(0, 4).map(String).join(" < ")})`);
  return [`${error?.name}: ${error?.message}`, ...frames.map((frame) => `    at ${frame}`)].join("\n");
};
globalThis.__benchStacksFormatted = formatted;
