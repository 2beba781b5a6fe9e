import { describe, expect, it } from "vitest";
import { resolveCurrency } from "../../../shared/domain/currency";
import { initialGuideState } from "../../../shared/domain/guide";
import {
  archivedEntry,
  guideStateOf,
  isoTime,
  MAX_ARCHIVED,
  readSpaceState,
  recordDuplicate,
  recordProgress,
  recordSubmit,
  roleOf,
  SPACE_STATE_KEY,
  withSpaceState,
  type Duplication,
  type SpaceState,
} from "../../../shared/domain/space-state";

const state: SpaceState = {
  version: 1,
  workbookId: "us_wb_1",
  guideDocumentId: "us_dc_1",
  sheets: { contacts: "us_sh_c", orders: "us_sh_o" },
  currency: "USD",
  audience: "member",
  configuredAt: "2026-11-24T10:00:00.000Z",
  configureJobId: "us_jb_cfg",
  guide: initialGuideState({
    audience: "member",
    actorName: "Ada",
    currency: resolveCurrency({}),
    workbookName: "Contacts & Orders",
    sheets: [
      { name: "Contacts", slug: "contacts" },
      { name: "Orders", slug: "orders" },
    ],
  }),
};

const dup = (n: number, original = "us_sh_c"): Duplication => ({
  role: "contacts",
  original: { id: original, name: "Contacts" },
  copy: { id: `us_sh_copy${n}`, name: "Contacts (copy)" },
  jobId: `us_jb_dup${n}`,
  at: "2026-11-24T11:00:00.000Z",
  counts: { total: 3, valid: 1, error: 2 },
});

describe("working sheets in the space state", () => {
  it("makes the copy the role's working sheet and the original a locked snapshot, idempotently", () => {
    const next = recordDuplicate(state, dup(1));
    expect(next.sheets).toEqual({ contacts: "us_sh_copy1", orders: "us_sh_o" });
    expect(roleOf(next, "us_sh_copy1")).toBe("contacts");
    expect(roleOf(next, "us_sh_c")).toBeUndefined();
    expect(archivedEntry(next, "us_sh_c")).toMatchObject({ role: "contacts", replacedBy: "us_sh_copy1", jobId: "us_jb_dup1" });
    expect(guideStateOf(next).progress[0]).toEqual({ role: "contacts", sheetName: "Contacts (copy)", total: 3, valid: 1, error: 2 });
    expect(guideStateOf(next).history).toEqual([expect.objectContaining({ id: "us_jb_dup1", kind: "locked" })]);
    expect(recordDuplicate(next, dup(1))).toEqual(next);
    // The input is untouched.
    expect(state.sheets.contacts).toBe("us_sh_c");
  });

  it("stays bounded however many duplicates a space sees", () => {
    let s = state;
    for (let i = 0; i < MAX_ARCHIVED + 20; i++) s = recordDuplicate(s, dup(i + 1, i === 0 ? "us_sh_c" : `us_sh_copy${i}`));
    expect(s.archived).toHaveLength(MAX_ARCHIVED);
    expect(s.sheets.contacts).toBe(`us_sh_copy${MAX_ARCHIVED + 20}`);
    expect(JSON.stringify(s).length).toBeLessThan(30_000);
  });

  it("records a submission once per job, with the counts it checked", () => {
    const progress = [
      { role: "contacts", sheetName: "Contacts", total: 2, valid: 2, error: 0 },
      { role: "orders", sheetName: "Orders", total: 1, valid: 1, error: 0 },
    ];
    const next = recordSubmit(state, { jobId: "us_jb_s1", at: "2026-11-24T12:00:00.000Z", actorName: "Ada", records: 3, progress });
    expect(guideStateOf(next).progress).toEqual(progress);
    expect(guideStateOf(next).history).toEqual([
      { id: "us_jb_s1", kind: "submitted", at: "2026-11-24T12:00:00.000Z", actorName: "Ada", records: 3 },
    ]);
    expect(recordSubmit(next, { jobId: "us_jb_s1", at: "2026-11-24T12:00:00.000Z", records: 3, progress })).toEqual(next);
    const counted = guideStateOf(recordProgress(state, progress, "2026-11-24T12:05:00.000Z"));
    expect(counted.progress).toEqual(progress);
    expect(counted.countedAt).toBe("2026-11-24T12:05:00.000Z");
    expect(guideStateOf(next).countedAt).toBe("2026-11-24T12:00:00.000Z");
  });

  it("round-trips through space metadata, keeps the app's keys, and reads a state from before the working set", () => {
    const next = recordDuplicate(state, dup(1));
    const metadata = withSpaceState({ fromTheApp: { plan: "pro" } }, next);
    expect(metadata.fromTheApp).toEqual({ plan: "pro" });
    expect(readSpaceState(JSON.parse(JSON.stringify(metadata)))).toEqual(next);
    const { guide: _guide, ...older } = state;
    const read = readSpaceState({ [SPACE_STATE_KEY]: older })!;
    expect(read.archived).toBeUndefined();
    expect(guideStateOf(read).progress.map((p) => p.role)).toEqual(["contacts", "orders"]);
    expect(readSpaceState({ [SPACE_STATE_KEY]: { ...older, sheets: "nope" } })).toBeUndefined();
  });

  it("takes the first valid time, else now", () => {
    expect(isoTime(undefined, "not a date", "2026-11-24T12:00:00Z")).toBe("2026-11-24T12:00:00.000Z");
    expect(Date.parse(isoTime("garbage"))).not.toBeNaN();
  });
});

describe("fields another version wrote", () => {
  // As a newer (or older) version of this code might leave them: at the top, in the guide, its
  // currency, a progress entry and a snapshot. None is ours to read, none may be lost.
  const guide = guideStateOf(state);
  const written = {
    ...state,
    laterField: { kept: true },
    archived: [
      {
        sheetId: "us_sh_old",
        role: "contacts",
        name: "Contacts",
        replacedBy: "us_sh_c",
        jobId: "us_jb_d0",
        lockedAt: "2026-11-24T10:30:00.000Z",
        note: "n",
      },
    ],
    guide: {
      ...guide,
      theme: "dark",
      currency: { ...guide.currency, symbolPosition: "after" },
      progress: guide.progress.map((p) => ({ ...p, warnings: 2 })),
    },
  };
  const read = () => {
    const parsed = readSpaceState({ [SPACE_STATE_KEY]: JSON.parse(JSON.stringify(written)) });
    if (!parsed) throw new Error("a state with unknown fields must still be read");
    return parsed;
  };
  const unknownFieldsOf = (next: SpaceState) => {
    const raw = JSON.parse(JSON.stringify(withSpaceState({}, next)))[SPACE_STATE_KEY];
    return {
      top: raw.laterField,
      theme: raw.guide.theme,
      currency: raw.guide.currency.symbolPosition,
      progress: raw.guide.progress.find((p: { role: string }) => p.role === "orders")?.warnings,
      archived: raw.archived[0].note,
    };
  };
  const expected = { top: { kept: true }, theme: "dark", currency: "after", progress: 2, archived: "n" };
  const progress = [
    { role: "contacts", sheetName: "Contacts", total: 3, valid: 3, error: 0 },
    { role: "orders", sheetName: "Orders", total: 1, valid: 1, error: 0 },
  ];

  it("survive a commit's counts", () => {
    expect(unknownFieldsOf(recordProgress(read(), progress, "2026-11-24T12:05:00.000Z"))).toEqual(expected);
  });

  it("survive a duplicate", () => {
    expect(unknownFieldsOf(recordDuplicate(read(), dup(1)))).toEqual(expected);
  });

  it("survive a submit", () => {
    const next = recordSubmit(read(), { jobId: "us_jb_s9", at: "2026-11-24T12:00:00.000Z", records: 4, progress });
    expect(unknownFieldsOf(next)).toEqual(expected);
  });
});
