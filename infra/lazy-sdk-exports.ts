/**
 * An esbuild plugin that makes @flatfile/api's re-export modules lazy.
 *
 * The SDK's `index.js` files re-export every type and serialization schema eagerly
 * (`__exportStar(require("./Job"), exports)`), so touching one resource client evaluates about
 * 600 schemas at cold start. This rewrites each pure re-export module into getters that require
 * the child on first access. The export names are read at build time by loading the original
 * modules in the build process, so the rewritten module exposes exactly the same names in the
 * same precedence as `__exportStar` (the first child that provides a name wins).
 *
 * Modules with any other statement are left untouched.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Plugin } from "esbuild";

const PREAMBLE_HELPERS = /^var (__createBinding|__setModuleDefault|__importStar|__exportStar|__importDefault) = /;
const STAR = /^__exportStar\(require\("(\.{1,2}\/[^"]+)"\), exports\);$/;
const NAMESPACE = /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\("(\.{1,2}\/[^"]+)"\)\);$/;
const VOID_INIT = /^(exports\.[A-Za-z_$][\w$]* = )+void 0;$/;
const ES_MODULE = 'Object.defineProperty(exports, "__esModule", { value: true });';

/** Top-level statements, skipping the TypeScript helper preamble (multi-line `var __x = ...;`). */
function statementsOf(source: string): string[] | undefined {
  const lines = source.split("\n");
  const out: string[] = [];
  let inHelper = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (inHelper) {
      // Helpers end with a line that closes the expression at column 0 (`});`, `})();`, `};`, `}));`).
      if (/^(\}\)*\(?\)?;|\}\)\);|\}\)\(\);|\};)$/.test(raw)) inHelper = false;
      continue;
    }
    if (line === "" || line === '"use strict";' || line.startsWith("//")) continue;
    if (PREAMBLE_HELPERS.test(line)) {
      if (!line.endsWith(";") || line.endsWith("{") || /\($/.test(line) || !/;\s*$/.test(line) || line.includes("function")) inHelper = true;
      continue;
    }
    out.push(line);
  }
  return out;
}

export function rewriteReexportModule(source: string, path: string, load: (p: string) => Record<string, unknown> = require): string | undefined {
  const statements = statementsOf(source);
  if (!statements || statements.length === 0) return undefined;
  const getters = new Map<string, string>();
  const stars: string[] = [];
  const namespaces: [string, string][] = [];
  for (const statement of statements) {
    if (statement === ES_MODULE || VOID_INIT.test(statement)) continue;
    const star = STAR.exec(statement);
    if (star) {
      stars.push(star[1]!);
      continue;
    }
    const ns = NAMESPACE.exec(statement);
    if (ns) {
      namespaces.push([ns[1]!, ns[2]!]);
      continue;
    }
    return undefined; // anything else: not a pure re-export module
  }
  // Same precedence as the original: assignments in source order, __exportStar skips taken names.
  for (const [name, child] of namespaces) getters.set(name, `require(${JSON.stringify(child)})`);
  for (const child of stars) {
    const names = Object.keys(load(join(dirname(path), child)));
    for (const name of names) {
      if (name === "default" || name === "__esModule" || getters.has(name)) continue;
      getters.set(name, `require(${JSON.stringify(child)})[${JSON.stringify(name)}]`);
    }
  }
  const body = [...getters].map(([name, expr]) => `d(${JSON.stringify(name)}, function () { return ${expr}; });`);
  return [
    '"use strict";',
    ES_MODULE,
    "function d(n, g) { Object.defineProperty(exports, n, { enumerable: true, configurable: true, get: g }); }",
    ...body,
    "",
  ].join("\n");
}

export function lazySdkExportsPlugin(): Plugin {
  return {
    name: "lazy-flatfile-sdk-exports",
    setup(build) {
      build.onLoad({ filter: /[\\/]@flatfile[\\/]api[\\/].*index\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const contents = rewriteReexportModule(source, args.path);
        return contents ? { contents, loader: "js", resolveDir: dirname(args.path) } : undefined;
      });
    },
  };
}
