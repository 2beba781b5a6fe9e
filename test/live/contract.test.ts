/**
 * The platform contract against the real Flatfile API, in one command:
 *
 *   FLATFILE_LIVE_API_KEY=sk_... FLATFILE_LIVE_ENVIRONMENT_ID=us_env_... npm run test:live
 *   (FLATFILE_LIVE_API_URL selects another region, e.g. https://platform.eu.flatfile.com/api)
 *
 * Use a development environment with no deployed relay: the checks create real jobs, and a relay
 * in the same environment would answer them too. It prints one row per assumption (confirmed or
 * not, and what was observed), fails if an assumption the product relies on does not hold, and
 * deletes the two Spaces it made. Without a key it is skipped. The same checks run against the
 * stand-in in every `npm test` (test/local/contract-on-stand-in.test.ts).
 */
import { describe, expect, it } from "vitest";
import { formatTable, runContract } from "./contract";

const apiKey = process.env.FLATFILE_LIVE_API_KEY;
const environmentId = process.env.FLATFILE_LIVE_ENVIRONMENT_ID;
const apiUrl = process.env.FLATFILE_LIVE_API_URL;

describe.skipIf(!apiKey || !environmentId)("the platform contract, against the live Flatfile API", () => {
  it("confirms every assumption the product relies on, and reports the rest", async () => {
    const rows = await runContract({ apiKey: apiKey!, environmentId: environmentId!, apiUrl });
    process.stdout.write(`\nFlatfile platform contract (${apiUrl ?? "production"}, ${environmentId}):\n${formatTable(rows)}\n\n`);
    const broken = rows.filter((r) => r.reliedOn && r.confirmed !== true).map((r) => `${r.assumption}: ${r.observed}`);
    expect(broken).toEqual([]);
  }, 300_000);
});
