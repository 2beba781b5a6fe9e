/**
 * What reaches ERROR: only what needs an operator. A Submit refused because records have errors
 * is the person's to fix (the job's message says how), so it is logged below ERROR.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { handler } from "../../../functions/action-job/handler";
import { logger } from "../../../shared/core/logger";
import { configureSpace, useHarness } from "../../support/fixture";
import { jobReadyEvent } from "../../support/harness";

const h = useHarness();
afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel("SILENT");
});

/** Every JSON log line written while `run` runs, stdout and stderr alike. */
async function linesDuring(run: () => Promise<void>): Promise<{ level?: string; message?: string }[]> {
  const chunks: string[] = [];
  const grab = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  };
  vi.spyOn(process.stdout, "write").mockImplementation(grab);
  vi.spyOn(process.stderr, "write").mockImplementation(grab);
  logger.setLogLevel("DEBUG");
  try {
    await run();
  } finally {
    logger.setLogLevel("SILENT");
    vi.restoreAllMocks();
  }
  return chunks
    .join("")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level?: string; message?: string });
}

describe("log levels", () => {
  it("logs a Submit refused for records with errors as WARN, and nothing at ERROR", async () => {
    const c = await configureSpace(h);
    h.flatfile.seed.commit(c.state.sheets.contacts!, { insert: [{ firstName: "Ada", email: "" }], invalid: 1 });
    const job = h.flatfile.seed.job({ job: "workbook:submitActionFg", spaceId: c.spaceId, workbookId: c.state.workbookId });
    const event = jobReadyEvent({ job: "workbook:submitActionFg", jobId: job.id, spaceId: c.spaceId, workbookId: c.state.workbookId });
    let status = 0;
    const lines = await linesDuring(async () => {
      status = (await h.deliver(handler, event)).status;
    });
    expect(status).toBe(200);
    expect(h.flatfile.jobs.get(job.id)?.status).toBe("failed");
    expect(lines.find((l) => l.message === "job failed")).toMatchObject({ level: "WARN" });
    expect(lines.filter((l) => l.level === "ERROR")).toEqual([]);
  });
});
