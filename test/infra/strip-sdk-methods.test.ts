/**
 * infra/strip-sdk-methods.ts: the build-time scan for @flatfile/api calls and the stripping of the
 * resource-client endpoints nobody calls. The end-to-end guarantee (each production bundle drives
 * a real event to completion) is test/bench/bundles.test.ts; this checks the pieces, and checks the
 * regex scan against the TypeScript checker: every method called on a resource client anywhere in
 * shared/ or functions/, as the type checker sees it, must be on the scan's keep-list.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";
import { scanSdkMethodUsage, stripClientMethods } from "../../infra/strip-sdk-methods";
import { narrowNamespaceImports } from "../../infra/lazy-sdk-exports";

const ROOTS = [join(REPO_ROOT, "shared"), join(REPO_ROOT, "functions")];
const clientPath = (resource: string) => require.resolve(`@flatfile/api/api/resources/${resource}/client/Client.js`);

describe("scanSdkMethodUsage", () => {
  const dir = mkdtempSync(join(tmpdir(), "strip-scan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const scan = (source: string) => {
    const id = Math.random().toString(36).slice(2);
    const api = join(dir, `api-${id}.ts`);
    const file = join(dir, `case-${id}.ts`);
    writeFileSync(api, "interface FlatfileApi { readonly jobs: Jobs; readonly documents: Documents; }\n");
    writeFileSync(file, source);
    return scanSdkMethodUsage([api, file]);
  };

  it("maps FlatfileApi's properties to client classes and keeps each method called on them, whatever the receiver or layout", () => {
    const usage = scan(`
      await api.jobs.get(id);
      await finalApi.jobs.complete(id, {});
      writes.push(api.documents
        .update(a, b, c));
      deps.api?.jobs?.ack(id);
    `);
    expect(usage.disabled).toBeUndefined();
    expect(usage.classOf).toEqual(
      new Map([
        ["jobs", "Jobs"],
        ["documents", "Documents"],
      ]),
    );
    expect([...(usage.methods.get("Jobs") ?? [])].sort()).toEqual(["ack", "complete", "get"]);
    expect([...(usage.methods.get("Documents") ?? [])]).toEqual(["update"]);
    expect(usage.whole.size).toBe(0);
  });

  it("keeps a client whole when it is used other than by calling a method on it", () => {
    expect(scan("const jobs = api.jobs; await jobs.cancel(id);").whole).toEqual(new Set(["Jobs"]));
    expect(scan("const get = api.jobs.get.bind(api.jobs);").whole).toEqual(new Set(["Jobs"]));
    expect(scan("const { get } = api.documents;").whole).toEqual(new Set(["Documents"]));
    expect(scan("const j = new Jobs(options); await j.cancel(id);").whole).toEqual(new Set(["Jobs"]));
  });

  it("strips nothing when an api object is destructured or indexed, but not for a call's result or a regex", () => {
    expect(scan("const { jobs } = api;").disabled).toMatch(/destructures/);
    expect(scan("const client = api[name];").disabled).toMatch(/indexes/);
    expect(scan("const { data } = await api.jobs.get(id);").disabled).toBeUndefined();
    expect(scan("const KEY = /(api[-_]?key)/i;").disabled).toBeUndefined();
  });

  it("agrees with the TypeScript checker: every resource-client method called in shared/ and functions/ is kept", () => {
    const usage = scanSdkMethodUsage(ROOTS);
    expect(usage.disabled).toBeUndefined();
    const program = ts.createProgram({
      rootNames: [...usage.files].filter((f) => f.endsWith(".ts")),
      options: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        skipLibCheck: true,
        noEmit: true,
      },
    });
    const checker = program.getTypeChecker();
    const classes = new Set(usage.classOf.values());
    const seen = new Map<string, Set<string>>();
    for (const file of program.getSourceFiles()) {
      if (!usage.files.has(file.fileName)) continue;
      const visit = (node: ts.Node): void => {
        if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
          const type = checker.getTypeAtLocation(node.expression);
          const name = (type.getSymbol() ?? type.aliasSymbol)?.getName();
          if (name && classes.has(name)) {
            const method = ts.isPropertyAccessExpression(node) ? node.name.text : node.argumentExpression.getText();
            if (!seen.has(name)) seen.set(name, new Set());
            seen.get(name)!.add(method);
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(file);
    }
    expect(seen.size).toBeGreaterThan(5); // the checker did resolve the clients
    for (const [cls, methods] of seen) {
      if (usage.whole.has(cls)) continue;
      for (const method of methods) expect(usage.methods.get(cls)?.has(method), `${cls}.${method}`).toBe(true);
    }
  }, 60_000);
});

describe("stripClientMethods", () => {
  it("removes the uncalled endpoints of a generated client, both halves, and leaves a stub that names them", () => {
    const source = readFileSync(clientPath("documents"), "utf8");
    const stripped = stripClientMethods(source, new Set(["get", "update"]));
    expect(stripped?.className).toBe("Documents");
    expect(stripped?.removed.sort()).toEqual(["create", "delete", "list"]);
    const out = stripped!.source;
    expect(out).toMatch(/^ {4}get\(spaceId, documentId, requestOptions\) \{$/m);
    expect(out).toMatch(/^ {4}__update\(/m);
    expect(out).not.toMatch(/^ {4}(__)?(list|create|delete)\(/m);
    expect(out).not.toMatch(/^ {4}\/\*\*/m); // JSDoc names types the narrowing would take for values

    // The rewritten module still loads and works the same for what it kept.
    const dir = mkdtempSync(join(tmpdir(), "strip-client-"));
    try {
      const mod = { exports: {} as Record<string, unknown> };
      const requireFrom = (spec: string) => require(spec.startsWith(".") ? join(clientPath("documents"), "..", spec) : spec);
      new Function("exports", "require", "module", out)(mod.exports, requireFrom, mod);
      const Documents = mod.exports.Documents as new (o: object) => Record<string, (...args: unknown[]) => unknown>;
      const client = new Documents({ token: "t" });
      expect(typeof client.get).toBe("function");
      expect(typeof client.update).toBe("function");
      expect(() => client.list!("us_sp_1")).toThrow(/@flatfile\/api Documents\.list\(\) was stripped from this bundle/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets the narrowing drop the schemas only the removed endpoints named", () => {
    const path = clientPath("workbooks");
    const source = readFileSync(path, "utf8");
    const whole = narrowNamespaceImports(source, path) ?? source;
    const stripped = stripClientMethods(source, new Set(["get"]))!;
    const narrowed = narrowNamespaceImports(stripped.source, path) ?? stripped.source;
    expect(whole).toContain("CreateWorkbookConfig");
    expect(narrowed).not.toContain("CreateWorkbookConfig");
    expect(narrowed).toContain("WorkbookResponse");
  });

  it("leaves a client whose shape it does not recognise untouched", () => {
    const source = readFileSync(clientPath("jobs"), "utf8");
    const odd = source.replace("    _getAuthorizationHeader() {", "    get extra() { return 1; }\n    _getAuthorizationHeader() {");
    expect(stripClientMethods(odd, new Set(["get"]))).toBeUndefined();
    // A kept member that refers to a removed endpoint.
    const crossCall = source.replace("    _getAuthorizationHeader() {\n", "    _getAuthorizationHeader() {\n        void this.__cancel;\n");
    expect(crossCall).not.toBe(source);
    expect(stripClientMethods(crossCall, new Set(["get"]))).toBeUndefined();
    expect(stripClientMethods("class X {\n}\nexports.X = X;\n", new Set())).toBeUndefined();
  });
});
