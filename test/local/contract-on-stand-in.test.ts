/**
 * The live contract checks (test/live/contract.ts), run against the stand-in: the code a person
 * with a key runs through `npm run test:live` is exercised here, and the stand-in is shown to
 * model what each row assumes. A second run, with the stand-in set the other way where the docs
 * are silent, shows the checks tell the two answers apart.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ENVIRONMENT_ID, startFlatfileStandIn, type FlatfileStandIn } from "../../local/flatfile-stand-in";
import { formatTable, runContract, type ContractRow } from "../live/contract";

let ff: FlatfileStandIn;
beforeAll(async () => {
  ff = await startFlatfileStandIn({ platform: { omittedSheets: "kept", dropHtmlComments: true, disabledHooks: "skipped" } });
});
afterAll(async () => {
  await ff?.close();
});

const row = (rows: ContractRow[], start: string) => {
  const found = rows.find((r) => r.assumption.startsWith(start));
  if (!found) throw new Error(`no row "${start}"`);
  return found;
};

describe("the live contract checks, against the stand-in", () => {
  it("confirms every assumption the product relies on, and the stand-in's answers where the docs are silent", async () => {
    const rows = await runContract({ apiKey: ff.apiKey, environmentId: DEFAULT_ENVIRONMENT_ID, apiUrl: ff.url, eventWaitMs: 0 });
    const table = formatTable(rows);
    expect(table.split("\n")).toHaveLength(rows.length + 2);
    expect(rows.length).toBeGreaterThanOrEqual(12);
    for (const r of rows.filter((x) => x.reliedOn)) expect(r.confirmed, `${r.assumption}: ${r.observed}`).toBe(true);
    expect(row(rows, "HTML comments").confirmed).toBe(true);
    expect(row(rows, "workbooks.update keeps").confirmed).toBe(true);
    expect(row(rows, "an enum field").confirmed).toBe(true);
    expect(row(rows, "spaces.update replaces").confirmed).toBe(true);
    expect(row(rows, "duplicateSheet copies").confirmed).toBe(true);
    expect(row(rows, "jobs.retry")).toMatchObject({ confirmed: true, observed: "HTTP 404" });
    expect(row(rows, "records.insert with the SDK's default X-Disable-Hooks")).toMatchObject({ confirmed: true });
    // It cleans up after itself.
    expect(ff.spaces.size).toBe(0);
    expect(ff.workbooks.size).toBe(0);
  });

  it("tells the other answers apart: comments kept and omitted sheets dropped are reported as not confirmed", async () => {
    ff.reset();
    Object.assign(ff.platform, { omittedSheets: "dropped", dropHtmlComments: false, disabledHooks: "raised" });
    const rows = await runContract({ apiKey: ff.apiKey, environmentId: DEFAULT_ENVIRONMENT_ID, apiUrl: ff.url, eventWaitMs: 0 });
    expect(row(rows, "HTML comments")).toMatchObject({ confirmed: false, observed: "kept" });
    expect(row(rows, "workbooks.update keeps")).toMatchObject({ confirmed: false });
    expect(row(rows, "workbooks.update keeps").observed).toMatch(/^dropped/);
    expect(row(rows, "records.insert with the SDK's default X-Disable-Hooks")).toMatchObject({ confirmed: false });
    expect(row(rows, "records.insert with the SDK's default X-Disable-Hooks").observed).toMatch(/^raised/);
    for (const r of rows.filter((x) => x.reliedOn)) expect(r.confirmed, `${r.assumption}: ${r.observed}`).toBe(true);
  });
});
