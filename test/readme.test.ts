/**
 * The README and the deploy reference say what the repository does: CI runs exactly the README's
 * install and test commands, every deploy setting infra/settings.ts reads is documented, and the
 * README's runbook says what to do for every alarm the stack makes.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../infra/bundling";
import { SETTING_KEYS } from "../infra/settings";
import { cleanup, synthWithoutBundling } from "./infra/support";

afterAll(cleanup);

const read = (path: string) => readFileSync(join(REPO_ROOT, path), "utf8");

/** The commands of the README's first `sh` block under "Set up and try it locally", comments dropped. */
function readmeSetUpCommands(): string[] {
  const readme = read("README.md");
  const section = readme.split(/^## /m).find((part) => part.startsWith("Set up and try it locally"));
  const block = section?.match(/```sh\n([\s\S]*?)```/)?.[1];
  if (!block) throw new Error('README.md has no sh block under "## Set up and try it locally"');
  return block
    .split("\n")
    .map((line) => line.replace(/#.*$/, "").trim())
    .filter(Boolean);
}

/** The commands .ci/run runs: every line that is not a comment, the shebang, `set` or `cd`. */
function ciCommands(): string[] {
  return read(".ci/run")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#") && !/^(set|cd)\s/.test(line));
}

describe("README", () => {
  it("CI runs exactly the README's install and test commands, in its order", () => {
    const commands = readmeSetUpCommands();
    expect(commands).toContain("npm ci");
    expect(commands).toContain("npm test");
    // `npm start` serves until stopped: the one set-up command CI does not run.
    expect(ciCommands()).toEqual(commands.filter((command) => command !== "npm start"));
  });

  it("documents every deploy setting in a settings table of docs/deploy.md or docs/stages.md", () => {
    const docs = ["docs/deploy.md", "docs/stages.md"].filter((path) => existsSync(join(REPO_ROOT, path))).map(read);
    const documented = new Set(docs.flatMap((doc) => [...doc.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|/gm)].map((match) => match[1]!)));
    const undocumented = SETTING_KEYS.filter((key) => !documented.has(key));
    expect(undocumented, "add a row for each to the settings table of docs/deploy.md (or docs/stages.md)").toEqual([]);
  });

  it("has a runbook row for every alarm the stack makes", () => {
    // With an environment, so that the relay's own alarm is made too.
    const { stack, template } = synthWithoutBundling({ flatfileEnvironmentId: "us_env_1a2b3c4d" });
    const ids = Object.values(template.findResources("AWS::CloudWatch::Alarm")).map((alarm) =>
      String(alarm.Properties.AlarmName).replace(`${stack.stackName}-`, ""),
    );
    expect(ids).toContain("RelayAgentMissing");
    const operate =
      read("README.md")
        .split(/^## /m)
        .find((part) => part.startsWith("Operate")) ?? "";
    const rows = operate.split("\n").filter((line) => line.startsWith("| `"));
    const named = new Set(rows.flatMap((row) => [...row.split("|")[1]!.matchAll(/`([^`]+)`/g)].map((match) => match[1]!)));
    // `<Function>Errors` and `<Function>Throttles` rows cover each function's pair.
    const covered = (id: string) =>
      named.has(id) || [...named].some((name) => name.startsWith("<Function>") && id.endsWith(name.slice(10)));
    expect(ids.filter((id) => !covered(id))).toEqual([]);
  });
});
