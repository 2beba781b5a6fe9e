/**
 * Every relative link in the README and docs/ reaches a file that exists, and a `#fragment` a
 * heading of it (GitHub's anchors: lower case, punctuation dropped, spaces as hyphens).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../infra/bundling";

const DOCUMENTS = [
  "README.md",
  "infra/relay/README.md",
  ...readdirSync(join(REPO_ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

function anchorsOf(markdown: string): Set<string> {
  const headings = [...markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1]!);
  return new Set(
    headings.map((h) =>
      h
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\- _]/gu, "")
        .replace(/ /g, "-"),
    ),
  );
}

/** Relative links outside code: `[text](target)`, `![alt](target)`. */
function linksOf(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((link) => !/^[a-z]+:/i.test(link));
}

describe("links in the README and docs/", () => {
  it.each(DOCUMENTS)("%s: every relative link and anchor resolves", (document) => {
    const broken: string[] = [];
    for (const link of linksOf(readFileSync(join(REPO_ROOT, document), "utf8"))) {
      const [path, fragment] = link.split("#") as [string, string | undefined];
      const target = path ? normalize(join(dirname(document), path)) : document;
      if (!existsSync(join(REPO_ROOT, target))) {
        broken.push(`${link}: no file ${target}`);
        continue;
      }
      if (fragment && target.endsWith(".md") && !anchorsOf(readFileSync(join(REPO_ROOT, target), "utf8")).has(fragment)) {
        broken.push(`${link}: no heading #${fragment} in ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
