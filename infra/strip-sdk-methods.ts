/**
 * An esbuild plugin that strips the @flatfile/api resource-client methods our code never calls.
 *
 * Each generated `api/resources/<resource>/client/Client.js` is one class whose endpoints all have
 * the same shape:
 *
 *     list(request, requestOptions) {
 *         return core.HttpResponsePromise.fromPromise(this.__list(request, requestOptions));
 *     }
 *     __list(request, requestOptions) { ...fetcher call, request/response serializers... }
 *
 * The allow-list is derived at BUILD TIME, from the sources: every file under the scanned roots
 * (`shared/` and `functions/`) is searched for `<property>.<method>(` (whatever the receiver, so
 * `api.jobs.get(`, `finalApi.jobs.complete(` and a multi-line `api.documents\n .update(` all count),
 * and `FlatfileApi`'s `readonly <property>: <Class>;` members map properties to client classes.
 * A method is kept when any scanned file calls it; a client is left whole when a scanned file
 * uses it in any other way (`api.jobs` passed along, `api.jobs.get.bind(…)`, `new Jobs(…)`), and
 * nothing is stripped when an api object is destructured or indexed (`{ jobs } = api`,
 * `api[name]`). Over-matching only keeps more. After the build, every project file that ended up
 * in the bundle must have been scanned; if one was not (a function importing from outside the
 * roots), the build fails and says which.
 *
 * Then the endpoints nobody calls are removed, both halves, and the namespace imports are
 * narrowed again on the rewritten source (`narrowNamespaceImports`), so the request/response
 * schemas only those endpoints named leave the bundle too. A removed method is replaced by a stub
 * that throws an error naming it, so a call the scan could not see fails loudly, not as
 * "undefined is not a function". A Client.js whose shape is not exactly the one above is left
 * untouched.
 *
 * Only the three function bundles use this plugin (infra/bundling.ts `esbuildPlugins`); the relay
 * registration Lambda (infra/relay) is bundled separately by NodejsFunction, without it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import type { Plugin } from "esbuild";
import { narrowNamespaceImports } from "./lazy-sdk-exports";

const SOURCE_FILE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const CLIENT_FILE = /[\\/]@flatfile[\\/]api[\\/](?:dist[\\/])?api[\\/]resources[\\/][^\\/]+[\\/]client[\\/]Client\.js$/;

export interface SdkMethodUsage {
  /** Scanned files (absolute). */
  files: Set<string>;
  /** FlatfileApi property -> client class, e.g. `documents` -> `Documents`. */
  classOf: Map<string, string>;
  /** Client class -> methods called on it. */
  methods: Map<string, Set<string>>;
  /** Client classes used other than as `<property>.<method>(`: kept whole. */
  whole: Set<string>;
  /** Why nothing may be stripped at all (destructured or indexed api object), if so. */
  disabled?: string;
}

function listSources(dir: string, out: string[] = []): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const entry of entries) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) listSources(path, out);
    else if (SOURCE_FILE.test(entry) && !entry.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

const IDENT = "[A-Za-z_$][\\w$]*";
/** A value that is a FlatfileApi by our naming convention: `api`, `finalApi`, `relayApi`. */
const API_VALUE = "(?<![\\w$])(?:api|[a-z][\\w$]*Api)";

/** Scans `roots` (directories or files) for the resource-client methods they call. */
export function scanSdkMethodUsage(roots: readonly string[]): SdkMethodUsage {
  const files = roots.flatMap((root) => (statSync(root).isDirectory() ? listSources(root) : [root]));
  const sources = files.map((file) => [file, readFileSync(file, "utf8")] as const);
  const usage: SdkMethodUsage = { files: new Set(files.map((f) => resolve(f))), classOf: new Map(), methods: new Map(), whole: new Set() };

  // FlatfileApi's members: `readonly documents: Documents;`. tsc checks that createFlatfileClient's
  // getters return exactly these classes.
  for (const [, source] of sources) {
    for (const block of source.matchAll(/interface\s+FlatfileApi\s*\{([^}]*)\}/g)) {
      for (const member of block[1]!.matchAll(new RegExp(`(?:readonly\\s+)?(${IDENT})\\s*:\\s*(${IDENT})\\s*;`, "g"))) {
        usage.classOf.set(member[1]!, member[2]!);
      }
    }
  }
  const properties = [...usage.classOf.keys()];
  if (properties.length === 0) {
    usage.disabled = "no `interface FlatfileApi { readonly <property>: <Client>; ... }` found in the scanned files";
    return usage;
  }
  const props = properties.map((p) => p.replace(/\$/g, "\\$")).join("|");
  const call = new RegExp(`(?<![\\w$])(${props})\\s*\\??\\.\\s*(${IDENT})\\s*\\(`, "g");
  const anyUse = new RegExp(`${API_VALUE}\\s*\\??\\.\\s*(${props})(?![\\w$])(?!\\s*\\??\\.\\s*${IDENT}\\s*\\()`, "g");
  // `api[name]`, not the regex character class in `/(api[-_]?key)/`.
  const indexed = new RegExp(`${API_VALUE}\\s*(?:\\?\\.)?\\s*\\[(?!\\s*[-^\\]\\\\])`);
  // `{ jobs } = api`, not `{ data } = await api.jobs.get(…)` (the result of a call).
  const destructured = new RegExp(`\\}\\s*=\\s*(?:await\\s+)?${API_VALUE}(?![\\w$])(?!\\s*\\??\\.)(?!\\s*\\[)`);
  const classes = new Set(usage.classOf.values());
  // Comments are scanned too: a call mentioned in one only keeps more (stripping comments with a
  // regex could swallow real code after a "/*" inside a string).
  for (const [file, source] of sources) {
    for (const m of source.matchAll(call)) {
      const cls = usage.classOf.get(m[1]!)!;
      if (!usage.methods.has(cls)) usage.methods.set(cls, new Set());
      usage.methods.get(cls)!.add(m[2]!);
    }
    for (const m of source.matchAll(anyUse)) usage.whole.add(usage.classOf.get(m[1]!)!);
    for (const m of source.matchAll(/\bnew\s+([A-Z][\w$]*)\s*\(/g)) {
      // createFlatfileClient itself builds every client; anywhere else, a directly built client
      // may be called under any name.
      if (classes.has(m[1]!) && !/interface\s+FlatfileApi\b/.test(source)) usage.whole.add(m[1]!);
    }
    if (!usage.disabled && indexed.test(source)) usage.disabled = `${file} indexes an api object (api[...])`;
    if (!usage.disabled && destructured.test(source)) usage.disabled = `${file} destructures an api object ({ ... } = api)`;
  }
  return usage;
}

const MEMBER_START = new RegExp(`^    (${IDENT})\\((.*)\\) \\{$`);
const WRAPPER = (name: string) =>
  new RegExp(`^        return core\\.HttpResponsePromise\\.fromPromise\\(this\\.__${name.replace(/\$/g, "\\$")}\\([^;]*\\)\\);$`);

/**
 * Removes the endpoints of a generated resource client that `keep` does not name. Returns the new
 * source (with a throwing stub per removed method), or undefined when nothing is removed or the
 * file's shape is not recognised.
 */
export function stripClientMethods(
  source: string,
  keep: ReadonlySet<string>,
): { source: string; className: string; removed: string[] } | undefined {
  const lines = source.split("\n");
  const classStarts = lines.flatMap((line, i) => (/^class [A-Za-z_$][\w$]* \{$/.test(line) ? [i] : []));
  if (classStarts.length !== 1) return undefined;
  const start = classStarts[0]!;
  const className = /^class ([A-Za-z_$][\w$]*) \{$/.exec(lines[start]!)![1]!;
  const end = lines.findIndex((line, i) => i > start && line === "}");
  if (end < 0 || lines.indexOf(`exports.${className} = ${className};`) <= end) return undefined;

  interface Member {
    name: string;
    from: number;
    to: number;
    body: string[];
  }
  const members: Member[] = [];
  let docFrom: number | undefined;
  // The JSDoc blocks go too: they name types (`{@link Flatfile.NotFoundError}`, `Flatfile.SpaceId`)
  // that the narrowing would otherwise take for runtime uses of the namespace.
  const docs: number[] = [];
  for (let i = start + 1; i < end; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (line === "    /**") {
      docFrom = i;
      while (i < end && lines[i] !== "     */") docs.push(i++);
      if (i >= end) return undefined;
      docs.push(i);
      continue;
    }
    const head = MEMBER_START.exec(line);
    if (!head) return undefined; // not the generated shape
    const close = lines.findIndex((l, j) => j > i && j < end && l === "    }");
    if (close < 0) return undefined;
    const body = lines.slice(i + 1, close);
    if (body.some((l) => l.trim() !== "" && !l.startsWith("        "))) return undefined;
    members.push({ name: head[1]!, from: docFrom ?? i, to: close, body });
    docFrom = undefined;
    i = close;
  }
  if (docFrom !== undefined) return undefined;

  const byName = new Map(members.map((m) => [m.name, m]));
  if (byName.size !== members.length) return undefined;
  const endpoints: string[] = [];
  for (const member of members) {
    if (member.name === "constructor" || member.name === "_getAuthorizationHeader") continue;
    if (member.name.startsWith("__")) {
      if (!byName.has(member.name.slice(2))) return undefined;
      continue;
    }
    if (member.body.length !== 1 || !WRAPPER(member.name).test(member.body[0]!) || !byName.has(`__${member.name}`)) return undefined;
    endpoints.push(member.name);
  }
  const removed = endpoints.filter((name) => !keep.has(name));
  if (removed.length === 0 && docs.length === 0) return undefined;

  const drop = new Set<number>(docs);
  for (const name of removed) {
    for (const member of [byName.get(name)!, byName.get(`__${name}`)!]) {
      for (let i = member.from; i <= member.to; i++) drop.add(i);
    }
  }
  const kept = lines.filter((_, i) => !drop.has(i));
  // Nothing left may refer to what was removed (another endpoint calling it, say).
  const rest = kept.join("\n");
  for (const name of removed) {
    if (new RegExp(`\\.__?${name.replace(/\$/g, "\\$")}(?![\\w$])`).test(rest)) return undefined;
  }
  if (removed.length === 0) return { source: rest, className, removed };
  const exportLine = kept.indexOf(`exports.${className} = ${className};`);
  const stub =
    `for (const m of ${JSON.stringify(removed)}) Object.defineProperty(${className}.prototype, m, { configurable: true, writable: true, value: function () {` +
    ` throw new Error("@flatfile/api ${className}." + m + "() was stripped from this bundle: no call to it was found in the sources when it was built (infra/strip-sdk-methods.ts)"); } });`;
  kept.splice(exportLine, 0, stub);
  return { source: kept.join("\n"), className, removed };
}

export interface StripSdkMethodsOptions {
  /** Directories (or files) whose sources are scanned for calls; default `shared/` and `functions/`. */
  roots: string[];
  /** The project root: bundled files under it (outside node_modules) must have been scanned. */
  projectRoot: string;
}

/**
 * Registers before `narrowSdkNamespacesPlugin`: for each resource client it strips the uncalled
 * endpoints and narrows the namespace imports of the result itself (a client it leaves alone
 * falls through to the narrowing plugin unchanged).
 */
export function stripUnusedSdkMethodsPlugin(options: StripSdkMethodsOptions): Plugin {
  return {
    name: "strip-unused-flatfile-sdk-methods",
    setup(build) {
      let usage: SdkMethodUsage | undefined;
      build.onStart(() => {
        usage = scanSdkMethodUsage(options.roots);
        if (usage.disabled) {
          return { warnings: [{ text: `@flatfile/api methods are not stripped: ${usage.disabled}` }] };
        }
        return undefined;
      });
      build.onLoad({ filter: CLIENT_FILE }, (args) => {
        if (!usage || usage.disabled) return undefined;
        const source = readFileSync(args.path, "utf8");
        const className = /^class ([A-Za-z_$][\w$]*) \{$/m.exec(source)?.[1];
        // A client that no FlatfileApi property names, or that is used whole, stays as it is.
        if (!className || usage.whole.has(className) || ![...usage.classOf.values()].includes(className)) return undefined;
        const stripped = stripClientMethods(source, usage.methods.get(className) ?? new Set());
        if (!stripped) return undefined;
        const contents = narrowNamespaceImports(stripped.source, args.path) ?? stripped.source;
        return { contents, loader: "js", resolveDir: dirname(args.path) };
      });
      build.onEnd((result) => {
        if (!usage || usage.disabled || !result.metafile) return undefined;
        const root = build.initialOptions.absWorkingDir ?? process.cwd();
        const unscanned = Object.keys(result.metafile.inputs)
          .filter((input) => !input.includes("node_modules/") && !input.includes(":") && SOURCE_FILE.test(input))
          .map((input) => resolve(root, input))
          .filter((path) => path.startsWith(resolve(options.projectRoot)) && !usage!.files.has(path));
        if (unscanned.length === 0) return undefined;
        return {
          errors: [
            {
              text:
                `bundled sources that strip-unused-flatfile-sdk-methods did not scan for @flatfile/api calls: ${unscanned.map((p) => relative(options.projectRoot, p)).join(", ")}. ` +
                "Add their directory to the plugin's roots (infra/bundling.ts).",
            },
          ],
        };
      });
    },
  };
}
