/**
 * Size bounds for what other parties put in Flatfile objects we read, so they cannot exhaust our
 * memory or our writes. The SDK has
 * parsed a response before our code sees it, so the bound is on the parsed value, checked before
 * it is merged into what we write or rendered into what a person reads.
 */

/** A user's metadata (read by the audience rule): far more than a role and a flag need. */
export const MAX_ACTOR_METADATA_CHARS = 16 * 1024;
/** A space's metadata as a whole: every write of our state sends all of it back. */
export const MAX_SPACE_METADATA_CHARS = 256 * 1024;
/** Our own key in it: MAX_ARCHIVED snapshots and a capped history stay well inside this. */
export const MAX_SPACE_STATE_CHARS = 128 * 1024;
/** Deeper than any metadata we read; counted as too large rather than walked. */
const MAX_DEPTH = 32;

/**
 * Whether `value` serialised as JSON would be longer than `maxChars`. Walks it with a running
 * budget and stops as soon as the budget is spent, so a huge value costs no more than the bound.
 * Approximate in escapes (a string counts its length plus quotes), which only errs small.
 */
export function jsonExceeds(value: unknown, maxChars: number): boolean {
  let budget = maxChars;
  const spend = (n: number) => (budget -= n) < 0;
  const walk = (node: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH) return true;
    if (node === null || node === undefined) return spend(4);
    switch (typeof node) {
      case "string":
        return spend(node.length + 2);
      case "number":
      case "boolean":
      case "bigint":
        return spend(String(node).length);
      case "object": {
        if (spend(2)) return true;
        let first = true;
        const comma = () => (first ? ((first = false), false) : spend(1));
        if (Array.isArray(node)) {
          for (const item of node) if (comma() || walk(item, depth + 1)) return true;
          return false;
        }
        for (const key in node) {
          if (!Object.hasOwn(node, key)) continue;
          // "key": then the value
          if (comma() || spend(key.length + 3) || walk((node as Record<string, unknown>)[key], depth + 1)) return true;
        }
        return false;
      }
      default:
        return false;
    }
  };
  return walk(value, 0);
}
