/**
 * The page in a real headless Chromium (playwright-core), driven as a person would: create a
 * Space with fr-CH, add records with an error, duplicate, fix the copy, submit. The browser is
 * the Chromium inside @sparticuz/chromium (npm ci brings it), else Debian's /usr/bin/chromium.
 * Under CI=true it never skips; elsewhere, without a browser that starts, it skips saying how to
 * get one. Saves a screenshot under .tmp/screenshots (git-ignored).
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium as playwright, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/bundling";
import { startLocalRun, type LocalRun } from "../../local/local-run";

export const SCREENSHOT = join(REPO_ROOT, ".tmp", "screenshots", "playground.png");
const HOW_TO_GET_ONE = "run `npm ci` (it brings @sparticuz/chromium) or `apt-get install chromium`";

async function browserPath(): Promise<string | undefined> {
  try {
    const { default: chromium } = await import("@sparticuz/chromium");
    const path = await chromium.executablePath();
    if (path && existsSync(path)) return path;
  } catch {
    // not installed or not for this platform: try Debian's
  }
  return existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
}

/** A fresh profile each run (playwright takes the user-data-dir as launchPersistentContext's argument). */
async function launch(): Promise<BrowserContext | string> {
  const executablePath = await browserPath();
  if (!executablePath) return `no Chromium found: ${HOW_TO_GET_ONE}`;
  try {
    return await playwright.launchPersistentContext(mkdtempSync(join(tmpdir(), "chromium-")), {
      executablePath,
      headless: true,
      viewport: { width: 1400, height: 1000 },
      args: [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  } catch (error) {
    return `Chromium at ${executablePath} did not start (${error instanceof Error ? error.message.split("\n")[0] : String(error)}): ${HOW_TO_GET_ONE}`;
  }
}

const ci = process.env.CI === "true";
let browser: BrowserContext | string;
let run: LocalRun;
let page: Page;
const saved = { ...process.env };

beforeAll(async () => {
  browser = await launch();
  if (typeof browser === "string") return;
  for (const key of Object.keys(process.env))
    if (key.startsWith("FLATFILE_") || key === "REFERENCE_DATA_URL" || key === "IDEMPOTENCY_TABLE") delete process.env[key];
  process.env.LOCAL_STATE_DIR = mkdtempSync(join(tmpdir(), "browser-"));
  run = await startLocalRun({ port: 0 });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  if (browser && typeof browser !== "string") await browser.close();
  await run?.close();
  process.env = saved;
});

/** Waits until the page's text (it refreshes itself) matches. */
const waitForText = (pattern: RegExp, root = "body") =>
  page.waitForFunction(
    ([source, flags, selector]) =>
      new RegExp(source, flags).test((document.querySelector(selector) as HTMLElement | null)?.innerText ?? ""),
    [pattern.source, pattern.flags, root] as const,
    { timeout: 15_000 },
  );

describe("the playground page in Chromium", () => {
  it("creates a Space, shows its changes, duplicates, fixes the copy and submits", async (context) => {
    if (typeof browser === "string") {
      if (ci) throw new Error(`CI=true and ${browser}`);
      console.warn(`browser test skipped: ${browser}`);
      return context.skip();
    }
    await page.goto(`${run.url}/`);
    await waitForText(/No Space yet/);

    await page.fill('input[name="locale"]', "fr-CH");
    await page.click('button:has-text("Create Space")');
    await waitForText(/CHF · 2 decimals/);
    await waitForText(/Amount \(CHF\)/);

    await page.fill('input[name="add"]', "3");
    await page.fill('input[name="invalid"]', "1");
    await page.click('button:has-text("Add records")');
    await waitForText(/4 records · 3 valid · 1 in error/, '[data-slug="contacts"]');
    await waitForText(/Contacts\s*: 4 records: 3 valid, 1 with errors/, "#guide");
    // The cell in error is the empty e-mail (required), not the record's first cell.
    const cells = await page.$$eval('[data-slug="contacts"] tr[data-valid="false"] td:not(.record-actions)', (tds) =>
      tds.map((td) => ({
        error: td.classList.contains("error"),
        value: td.firstChild?.nodeType === 3 ? (td.firstChild.textContent ?? "") : "",
      })),
    );
    expect(cells.filter((c) => c.error)).toEqual([{ error: true, value: "" }]);
    expect(cells[0]).toMatchObject({ error: false });

    await page.click('button:has-text("Duplicate Contacts")');
    await page.waitForSelector('[data-slug="contacts"][data-locked="true"]', { timeout: 15_000 });
    await page.waitForSelector('[data-slug^="contacts-copy"][data-locked="false"]', { timeout: 15_000 });
    await waitForText(/Open the copy/, "#jobs");

    await page.click('[data-slug^="contacts-copy"] tr[data-valid="false"] button:has-text("Fix")');
    await waitForText(/4 records · 4 valid · 0 in error/, '[data-slug^="contacts-copy"]');
    await waitForText(/Contacts \(copy\)\s*: 4 records: 4 valid, 0 with errors/, "#guide");

    // Submit counts the working sheets: the copy, now valid; the locked original is a snapshot.
    await page.click('button:has-text("Submit")');
    await page.waitForSelector('#jobs tr[data-kind="workbook:submitActionFg"][data-status="complete"]', { timeout: 15_000 });
    await waitForText(/Submitted/, "#guide");

    mkdirSync(join(REPO_ROOT, ".tmp", "screenshots"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);
  }, 90_000);
});
