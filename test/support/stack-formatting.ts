/**
 * Which error stacks the product's code causes to be formatted while some work runs. V8 formats
 * a stack through `Error.prepareStackTrace` (lazily, when something reads `.stack`), and with
 * --enable-source-maps the first one in a process decodes the whole source map: on the critical
 * path that is tens of milliseconds. Stacks without a frame in shared/ or functions/ (a socket an
 * earlier test left closing, say) are not counted.
 */
import { resolve } from "node:path";

const PRODUCT_DIRS = ["shared", "functions"].map((dir) => `${resolve(__dirname, "../..", dir)}/`);

export async function stacksFormattedDuring<T>(work: () => Promise<T>): Promise<{ value: T; formatted: string[] }> {
  const formatted: string[] = [];
  const prior = Error.prepareStackTrace;
  Error.prepareStackTrace = (error, frames) => {
    const ours = frames.find((frame) => PRODUCT_DIRS.some((dir) => frame.getFileName()?.startsWith(dir)));
    if (ours) formatted.push(`${error.name}: ${error.message} (at ${ours.getFileName()}:${ours.getLineNumber()})`);
    return prior ? prior(error, frames) : `${error.name}: ${error.message}`;
  };
  try {
    return { value: await work(), formatted };
  } finally {
    Error.prepareStackTrace = prior;
  }
}
