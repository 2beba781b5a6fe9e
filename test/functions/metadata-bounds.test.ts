/**
 * A space's and an actor's metadata are bounded before they are merged or rendered.
 * Through the handlers against the stand-in (the SDK parses what the stand-in sends, as it would
 * what Flatfile sends), plus the bound itself.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { handler as actionHandler } from "../../functions/action-job/handler";
import { handler as configureHandler } from "../../functions/space-configure/handler";
import { jsonExceeds, MAX_ACTOR_METADATA_CHARS, MAX_SPACE_METADATA_CHARS, MAX_SPACE_STATE_CHARS } from "../../shared/core/bounds";
import { createFlatfileClient, type FlatfileApi } from "../../shared/core/flatfile-client";
import { readSpaceState, SPACE_STATE_KEY, type SpaceState } from "../../shared/domain/space-state";
import { lookUpActor } from "../../shared/flatfile/actor";
import { jobReadyEvent } from "../support/harness";
import { useHarness } from "../support/fixture";

const h = useHarness();
// The functions' own client (not the harness's SDK client): lookUpActor is called as a route calls it.
let api: FlatfileApi;
beforeAll(() => {
  api = createFlatfileClient({ token: h.flatfile.apiKey, baseUrl: h.flatfile.url });
});

describe("jsonExceeds", () => {
  it("agrees with JSON.stringify's length around the bound", () => {
    const value = { a: "x".repeat(100), b: [1, 2, 3, { c: true, d: null }], e: "é" };
    const length = JSON.stringify(value).length;
    expect(jsonExceeds(value, length)).toBe(false);
    expect(jsonExceeds(value, length - 5)).toBe(true);
  });

  it("stops at the bound on values far larger than it, and on deep nesting", () => {
    const wide = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    expect(jsonExceeds(wide, 1_000)).toBe(true);
    let deep: unknown = "leaf";
    for (let i = 0; i < 100; i++) deep = { deep };
    expect(jsonExceeds(deep, 1_000_000)).toBe(true);
    expect(jsonExceeds({ staff: true, role: "admin" }, MAX_ACTOR_METADATA_CHARS)).toBe(false);
  });
});

describe("an actor's metadata", () => {
  it("over the bound is not used: the audience rule falls back to the e-mail domain", async () => {
    const bloated = h.flatfile.seed.user({
      email: "ada@example.com",
      name: "Ada",
      metadata: { staff: true, notes: "x".repeat(MAX_ACTOR_METADATA_CHARS) },
    });
    const actor = await lookUpActor(api, bloated.id);
    expect(actor.kind).toBe("user");
    expect(actor.metadata).toBeUndefined();
    const modest = h.flatfile.seed.user({ email: "bob@example.com", name: "Bob", metadata: { staff: true } });
    expect((await lookUpActor(api, modest.id)).metadata).toEqual({ staff: true });
  });
});

describe("a space's metadata", () => {
  it("our state over its bound is not read (as if it were invalid)", () => {
    const huge = {
      [SPACE_STATE_KEY]: {
        version: 1,
        workbookId: "us_wb_1",
        guideDocumentId: "us_dc_1",
        sheets: {},
        currency: "USD",
        audience: "member",
        configuredAt: "x",
        configureJobId: "x".repeat(MAX_SPACE_STATE_CHARS),
      },
    };
    expect(readSpaceState(huge)).toBeUndefined();
    const small = { [SPACE_STATE_KEY]: { ...huge[SPACE_STATE_KEY], configureJobId: "us_jb_1" } };
    expect(readSpaceState(small)?.configureJobId).toBe("us_jb_1");
  });

  it("over its bound is not merged and written back: the job fails with a message a person can act on", async () => {
    const user = h.flatfile.seed.user({ email: "ada@example.com", name: "Ada" });
    const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
    const configure = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
    expect(
      (
        await h.deliver(
          configureHandler,
          jobReadyEvent({ job: "space:configure", jobId: configure.id, spaceId: space.id, actorId: user.id }),
        )
      ).status,
    ).toBe(200);
    const state = readSpaceState((await api.spaces.get(space.id)).data.metadata) as SpaceState;
    // The embedding app (or anyone with a key) bloats the space's metadata afterwards.
    const stored = h.flatfile.spaces.get(space.id)!;
    stored.metadata = { ...(stored.metadata as Record<string, unknown>), appBlob: "x".repeat(MAX_SPACE_METADATA_CHARS) };

    const sheetId = state.sheets.contacts!;
    const job = h.flatfile.seed.job({ job: "sheet:duplicate", spaceId: space.id, workbookId: state.workbookId, sheetId });
    const start = h.flatfile.requests.length;
    const answer = await h.deliver(
      actionHandler,
      jobReadyEvent({
        job: "sheet:duplicate",
        jobId: job.id,
        spaceId: space.id,
        workbookId: state.workbookId,
        sheetId,
        sheetSlug: "contacts",
        actorId: user.id,
      }),
    );
    expect(answer.status).toBe(200);
    const finished = (await api.jobs.get(job.id)).data;
    expect(finished.status).toBe("failed");
    expect(finished.outcome?.message).toMatch(/metadata is larger than/);
    const writes = h.flatfile.requests
      .slice(start)
      .filter((r) => r.method !== "GET")
      .map((r) => r.route);
    expect(writes).not.toContain("spaces.update");
    expect(writes).not.toContain("sheets.duplicate");
  });
});
