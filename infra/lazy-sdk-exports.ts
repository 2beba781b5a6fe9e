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
import { dirname, join, relative as relativePath } from "node:path";
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
      if (!line.endsWith(";") || line.endsWith("{") || /\($/.test(line) || !/;\s*$/.test(line) || line.includes("function"))
        inHelper = true;
      continue;
    }
    out.push(line);
  }
  return out;
}

export function rewriteReexportModule(
  source: string,
  path: string,
  load: (p: string) => Record<string, unknown> = require,
): string | undefined {
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

// ---------------------------------------------------------------------------------------------
// Dead weight that is provably never run on Node >= 18 (the functions run nodejs24.x)
// ---------------------------------------------------------------------------------------------

/**
 * Why each stubbed package is never reached, in @flatfile/api 1.23.1:
 *   - `node-fetch` is required only by `core/fetcher/getFetchFn.js`, and only when the runtime is
 *     not Node >= 18 (on Node >= 18 it returns the global `fetch`). Our fetcher
 *     (shared/core/flatfile-client.ts) delegates to the SDK's, which uses getFetchFn.
 *   - `form-data` is required only by `Node16FormData` (Node < 18).
 *   - `formdata-node`, `form-data-encoder` and `readable-stream` are required only by
 *     `Node18FormData`, which only `newFormData()` builds, which only the `files` resource client
 *     calls (multipart upload). The plugin fails the build if that client is ever bundled.
 * Each is replaced by a module that throws a clear error if it is ever required after all.
 */
export const UNREACHABLE_SDK_DEPENDENCIES = ["node-fetch", "form-data", "formdata-node", "form-data-encoder", "readable-stream"] as const;

const SDK_FILE = /[\\/]@flatfile[\\/]api[\\/]/;
const FILES_CLIENT = /[\\/]@flatfile[\\/]api[\\/](dist[\\/])?api[\\/]resources[\\/]files[\\/]client[\\/]Client\.js$/;

export function unusedSdkPolyfillsPlugin(): Plugin {
  const names = new Set<string>(UNREACHABLE_SDK_DEPENDENCIES);
  return {
    name: "unused-flatfile-sdk-polyfills",
    setup(build) {
      build.onResolve({ filter: /^(node-fetch|form-data|formdata-node|form-data-encoder|readable-stream)$/ }, (args) => {
        if (!names.has(args.path) || !SDK_FILE.test(args.importer)) return undefined;
        return { path: args.path, namespace: "unreachable-sdk-dependency" };
      });
      build.onLoad({ filter: /.*/, namespace: "unreachable-sdk-dependency" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(
          `${args.path} is not bundled: @flatfile/api needs it only on Node < 18 or for multipart file uploads (see infra/lazy-sdk-exports.ts)`,
        )});`,
        loader: "js",
      }));
      build.onLoad({ filter: FILES_CLIENT }, () => ({
        errors: [
          {
            text:
              "the @flatfile/api files client is bundled: it uploads multipart bodies through formdata-node/readable-stream, " +
              "which unusedSdkPolyfillsPlugin stubs. Drop the stub for those packages before using files.",
          },
        ],
      }));
    },
  };
}

/**
 * zod 4's classic `z` namespace re-exports every locale (`z.locales.*`, ~190 KB minified) and
 * esbuild cannot drop them. Only English is used: zod registers it from `classic/schemas.js`, which
 * imports `locales/en.js` directly, and no code here calls `z.config(z.locales.xx())`. This keeps
 * `z.locales.en` and drops the rest. (shared/ now builds its schemas with `zod/mini`, which
 * tree-shakes and registers English itself in shared/core/zod-locale.ts; this stays as a guard
 * should classic `zod` be imported again.)
 */
export function zodEnglishOnlyPlugin(): Plugin {
  return {
    name: "zod-english-only",
    setup(build) {
      build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
        contents: 'export { default as en } from "./en.js";\n',
        loader: "js",
        resolveDir: dirname(args.path),
      }));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Only the schemas and types a module names
// ---------------------------------------------------------------------------------------------

/** What a pure re-export module re-exports, or undefined for any other module. */
function reexportsOf(path: string): { namespaces: Map<string, string>; stars: string[] } | undefined {
  let source: string;
  try {
    source = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const statements = statementsOf(source);
  if (!statements || statements.length === 0) return undefined;
  const namespaces = new Map<string, string>();
  const stars: string[] = [];
  for (const statement of statements) {
    if (statement === ES_MODULE || VOID_INIT.test(statement)) continue;
    const star = STAR.exec(statement);
    if (star) {
      stars.push(join(dirname(path), star[1]!));
      continue;
    }
    const ns = NAMESPACE.exec(statement);
    if (ns) {
      if (!namespaces.has(ns[1]!)) namespaces.set(ns[1]!, join(dirname(path), ns[2]!));
      continue;
    }
    return undefined;
  }
  return { namespaces, stars };
}

type Resolved = { kind: "module"; path: string } | { kind: "export"; path: string; name: string };

/**
 * Where `<namespace of module>.<props[0]>` comes from, with the same precedence as the original
 * (assignments first, then `__exportStar` children in order). Returns how many props it consumed.
 */
function resolveName(module: string, prop: string, load: (p: string) => Record<string, unknown>): Resolved | undefined {
  const reexports = reexportsOf(module);
  if (!reexports) return { kind: "export", path: module, name: prop };
  const ns = reexports.namespaces.get(prop);
  if (ns) return { kind: "module", path: require.resolve(ns) };
  for (const star of reexports.stars) {
    const file = require.resolve(star);
    if (Object.prototype.hasOwnProperty.call(load(file), prop)) return resolveName(file, prop, load);
  }
  return undefined;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Set when this node's value is taken as a whole (or is a leaf export). */
  value?: string;
}

const NS_IMPORT = /^const ([A-Za-z_$][\w$]*) = __importStar\(require\("(\.{1,2}\/[^"]+)"\)\);$/gm;

/**
 * Rewrites `const ns = __importStar(require("<re-export module>"))` in a module that uses `ns`
 * only as `ns.a.b…` into an object whose getters require exactly the modules those names come
 * from. The SDK's resource clients name ~100 of the ~1,900 schemas and types behind
 * `serialization/index` and `api/index`; this keeps the rest out of the bundle. Any other use of
 * `ns` (passed along, computed access) leaves the module untouched.
 */
export function narrowNamespaceImports(
  source: string,
  path: string,
  load: (p: string) => Record<string, unknown> = require,
): string | undefined {
  let out = source;
  let changed = false;
  for (const match of source.matchAll(NS_IMPORT)) {
    const [declaration, name, spec] = match as unknown as [string, string, string];
    let target: string;
    try {
      target = require.resolve(join(dirname(path), spec));
    } catch {
      continue;
    }
    if (!reexportsOf(target)) continue;
    const rest = out.replace(declaration, "");
    const uses = [...rest.matchAll(new RegExp(`(?<![\\w$.])${name.replace(/\$/g, "\\$")}(?![\\w$])((?:\\.[A-Za-z_$][\\w$]*)*)`, "g"))];
    if (uses.length === 0) {
      // Not used at all (infra/strip-sdk-methods.ts removed every endpoint that named it): the
      // SDK's modules only define schemas and types, so requiring nothing loses nothing.
      out = rest;
      changed = true;
      continue;
    }
    if (uses.some((u) => !u[1])) continue; // used as a whole somewhere
    const root: TrieNode = { children: new Map() };
    let ok = true;
    for (const use of uses) {
      const props = use[1]!.slice(1).split(".");
      let node = root;
      let module = target;
      for (const prop of props) {
        if (node.value) break;
        const resolved = resolveName(module, prop, load);
        if (!resolved) {
          ok = false;
          break;
        }
        let child = node.children.get(prop);
        if (!child) node.children.set(prop, (child = { children: new Map() }));
        node = child;
        const rel = (p: string) => {
          const r = relativePath(dirname(path), p);
          return r.startsWith(".") ? r : `./${r}`;
        };
        if (resolved.kind === "export") {
          node.value = `require(${JSON.stringify(rel(resolved.path))})[${JSON.stringify(resolved.name)}]`;
          break;
        }
        module = resolved.path;
        if (props.indexOf(prop) === props.length - 1 || !reexportsOf(module)) {
          // Taken as a whole (or not a re-export module): the module itself.
          node.value = `require(${JSON.stringify(rel(module))})`;
          break;
        }
      }
      if (!ok) break;
    }
    if (!ok) continue;
    let counter = 0;
    const lines: string[] = [];
    const emit = (node: TrieNode): string => {
      if (node.value) return node.value;
      const id = `n${counter++}`;
      lines.push(`const ${id} = {};`);
      for (const [prop, child] of node.children) {
        const expr = emit(child);
        lines.push(`Object.defineProperty(${id}, ${JSON.stringify(prop)}, { enumerable: true, get: function () { return ${expr}; } });`);
      }
      return id;
    };
    const rootId = emit(root);
    out = out.replace(declaration, `const ${name} = (function () { ${lines.join(" ")} return ${rootId}; })();`);
    changed = true;
  }
  return changed ? out : undefined;
}

export function narrowSdkNamespacesPlugin(): Plugin {
  return {
    name: "narrow-flatfile-sdk-namespaces",
    setup(build) {
      build.onLoad({ filter: /[\\/]@flatfile[\\/]api[\\/].*[\\/]client[\\/]Client\.js$/ }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const contents = narrowNamespaceImports(source, args.path);
        return contents ? { contents, loader: "js", resolveDir: dirname(args.path) } : undefined;
      });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Dead weight on our code paths in Lambda
// ---------------------------------------------------------------------------------------------

/**
 * The AWS SDK's default credential chain (`@aws-sdk/credential-provider-node`) tries, in order:
 * the environment, SSO, the shared ini files, `credential_process`, a web-identity token file,
 * then the container/instance endpoints. Lambda always sets AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from the execution role (reserved variables), and
 * the stack sets no AWS_PROFILE, so `fromEnv` answers first and the rest are never loaded: they
 * are behind `await import()` in the chain. Their code (with the SSO-OIDC, STS and sign-in
 * clients of @aws-sdk/nested-clients they build) is ~65 KB of every bundle. Each is replaced by a
 * provider that skips itself the way the SDK's own providers do (CredentialsProviderError with
 * tryNextLink), so if the environment ever lacks credentials the chain still goes on to the
 * container/instance endpoints (kept), and otherwise ends with the SDK's own "Could not load
 * credentials from any providers".
 */
export const SKIPPED_CREDENTIAL_PROVIDERS = {
  "@aws-sdk/credential-provider-sso": "fromSSO",
  "@aws-sdk/credential-provider-ini": "fromIni",
  "@aws-sdk/credential-provider-process": "fromProcess",
  "@aws-sdk/credential-provider-web-identity": "fromTokenFile",
} as const;

/**
 * `object-inspect` is required by qs's `side-channel` packages (qs builds the SDK's query strings)
 * only to describe a missing key in `channel.assert()`'s error message; qs never calls `assert`.
 * It is replaced by a one-line describer, so even that message would still read sensibly.
 */
export function unreachableAwsDependenciesPlugin(): Plugin {
  const providers = new Map<string, string>(Object.entries(SKIPPED_CREDENTIAL_PROVIDERS));
  return {
    name: "unreachable-aws-dependencies",
    setup(build) {
      build.onResolve({ filter: /^@aws-sdk\/credential-provider-(sso|ini|process|web-identity)$/ }, (args) => {
        if (!providers.has(args.path) || !/[\\/]@aws-sdk[\\/]credential-provider-node[\\/]/.test(args.importer)) return undefined;
        return { path: args.path, namespace: "skipped-credential-provider", pluginData: { resolveDir: dirname(args.importer) } };
      });
      build.onLoad({ filter: /.*/, namespace: "skipped-credential-provider" }, (args) => {
        const name = providers.get(args.path)!;
        const message = `${name} (${args.path}) is not bundled: on Lambda the credentials come from the environment (see infra/lazy-sdk-exports.ts)`;
        return {
          contents: [
            'import { CredentialsProviderError } from "@smithy/core/config";',
            `export const ${name} = (init = {}) => async () => {`,
            `  throw new CredentialsProviderError(${JSON.stringify(message)}, { logger: init.logger, tryNextLink: true });`,
            "};",
            "",
          ].join("\n"),
          loader: "js",
          resolveDir: (args.pluginData as { resolveDir: string }).resolveDir,
        };
      });
      build.onResolve({ filter: /^object-inspect$/ }, (args) => {
        if (!/[\\/]side-channel[^\\/]*[\\/]/.test(args.importer)) return undefined;
        return { path: args.path, namespace: "object-inspect-stub" };
      });
      build.onLoad({ filter: /.*/, namespace: "object-inspect-stub" }, () => ({
        contents:
          'module.exports = function inspect(value) { try { return typeof value === "string" ? JSON.stringify(value) : String(value); } catch (e) { return typeof value; } };\n',
        loader: "js",
      }));
    },
  };
}
