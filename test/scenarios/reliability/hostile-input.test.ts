/**
 * Reliability suite, hostile input: malformed, forged, stale and generated inputs (fast-check, fixed
 * seed) are refused before any Flatfile call, and the secrets stay out of every log line. The world
 * and the invariants checked after every scenario: ./world.ts.
 */
import { createHmac } from "node:crypto";
import fc from "fast-check";
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import type { RoutePath } from "../../../local/gateway";
import { MAX_BODY_BYTES } from "../../../shared/core/envelope";
import { signPayload } from "../../../shared/core/signature";
import { commitCreatedEvent, jobReadyEvent } from "../../support/harness";
import { counters, fault, newSigningSecret } from "./support";
import {
  FC_RUNS,
  FC_SEED,
  actionJob,
  commitOn,
  configuredSpace,
  contact,
  deliver,
  duplicateJobs,
  expectConfigured,
  flatfile,
  ghostEvent,
  ignored,
  jobStatus,
  logs,
  mark,
  newConfigureJob,
  ownedJobs,
  redeliver,
  refused,
  rejected,
  routesOf,
  scenario,
  signingSecret,
  smallGateway,
  useReliabilityWorld,
  withValue,
  without,
  type DeliverOptions,
} from "./world";

useReliabilityWorld("hostile-input");

// ---------------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------------

describe("hostile input", () => {
  scenario("truncated JSON, wrong types and non-events → 400 with no Flatfile call", async () => {
    const c = newConfigureJob("truncated");
    ownedJobs.delete(c.jobId); // never delivered whole: stays ready
    const whole = JSON.stringify(c.event);
    for (const cut of [1, 10, Math.floor(whole.length / 2), whole.length - 1]) await rejected("/space-configure", whole.slice(0, cut), 400);
    for (const body of ["", " ", "null", "42", '"text"', "[]", "[{}]", "{}", "true", '{"id":1}']) await rejected("/action-job", body, 400);
    const wrongTypes: [string[], unknown][] = [
      [["id"], 123],
      [["topic"], ["job:ready"]],
      [["context"], "us_sp_x"],
      [["context", "spaceId"], 42],
      [["context", "jobId"], { id: c.jobId }],
      [["context", "environmentId"], null],
      [["context", "spaceId"], "us_sp_../../etc"],
      [["context", "jobId"], "us_jb_" + "a".repeat(65)],
    ];
    for (const [path, value] of wrongTypes) await rejected("/space-configure", withValue(c.event, path, value), 400);
    // A job name that is not a job name: not ours (ignored) or malformed (400), never a call.
    // A payload that is not an object carries no job: not ours (ignored) or 400, never a call.
    await refused("/space-configure", withValue(c.event, ["payload"], "space:configure"));
    for (const job of ["space configure", 42, null, ["space:configure"], "SPACE:CONFIGURE"]) {
      await refused("/space-configure", withValue(c.event, ["payload", "job"], job));
      await refused("/action-job", withValue(c.event, ["payload", "job"], job));
    }
    expect(jobStatus(c.jobId).status).toBe("ready");
  });

  scenario("a body over 1 MB → 401 unread, or 400 once measured; over the gateway's cap → 413; none calls Flatfile", async () => {
    // Longer than the bound: refused from its length before it is hashed, as a bad signature is.
    const big = withValue(ghostEvent(), ["payload", "input"], { blob: "x".repeat(MAX_BODY_BYTES) });
    await rejected("/space-configure", big, 401);
    // Short enough to be hashed, more than 1 MB once encoded: told to the signed sender.
    const multibyte = withValue(ghostEvent(), ["payload", "input"], { blob: "é".repeat(MAX_BODY_BYTES / 2 + 10) });
    await rejected("/action-job", multibyte, 400);
    await rejected("/commit-created", "x".repeat(2 * MAX_BODY_BYTES + 1), 413, { via: smallGateway });
  });

  scenario("odd Unicode: in ids and topics → 400; in free text of a real event → handled normally", async () => {
    const odd = [
      "\u0000",
      "\uFEFF",
      "\u202Eevil",
      "us_sp_\u0661\u0662",
      "us_sp_ａｂｃ",
      "us_sp_a\u200Bb",
      "\uD800",
      "\uDFFF\uD800",
      "💥".repeat(50),
      "e\u0301",
    ];
    for (const s of odd) {
      await rejected("/space-configure", withValue(ghostEvent(), ["context", "spaceId"], s), 400);
      await rejected("/commit-created", withValue(ghostEvent(), ["id"], s), 400);
      await rejected("/action-job", withValue(ghostEvent(), ["topic"], `job:${s}`), 400);
    }
    await rejected("/space-configure", "\uFEFF" + JSON.stringify(ghostEvent()), 400);
    // Bytes that are not UTF-8, signed as bytes: what the handler verifies is the decoded text.
    const bytes = Buffer.concat([
      Buffer.from('{"id":"us_evt_'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(JSON.stringify(ghostEvent()).slice(1)),
    ]);
    const t = Math.floor(Date.now() / 1000);
    const overBytes = createHmac("sha256", signingSecret)
      .update(Buffer.concat([Buffer.from(`${t}.`), bytes]))
      .digest("hex");
    counters.hostile += 1;
    const m = mark();
    const raw = await deliver("/space-configure", bytes, { signature: `t=${t},v1=${overBytes}` });
    expect([400, 401], raw.text).toContain(raw.status);
    expect(routesOf(m.all())).toEqual([]);
    await rejected("/space-configure", bytes, 400, { signature: signPayload(bytes.toString("utf8"), signingSecret, t) });
    // Lone surrogates and control characters in fields nobody validates do not break a real job.
    const c = newConfigureJob("unicode \u202E 💥 \uD800");
    const event = withValue(withValue(c.event, ["payload", "input"], { note: "\uD800\u0000\u202E💥" }), ["context", "slugs"], {
      space: "ＳＰＡＣＥ\u200B",
    });
    const a = await deliver("/space-configure", event);
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("missing context fields → 400 with no Flatfile call", async () => {
    const configure = ghostEvent();
    // accountId is read by no route, so its absence is not a 400.
    for (const key of ["environmentId", "spaceId", "jobId"]) await rejected("/space-configure", without(configure, ["context", key]), 400);
    await rejected("/space-configure", without(configure, ["context"]), 400);
    await rejected("/space-configure", without(configure, ["id"]), 400);
    await rejected("/space-configure", without(configure, ["topic"]), 400);
    const dup = ghostEvent("sheet:duplicate");
    for (const key of ["workbookId", "sheetId", "spaceId", "jobId"]) await rejected("/action-job", without(dup, ["context", key]), 400);
    await ignored("/action-job", without(dup, ["payload", "job"]));
    const commit = commitCreatedEvent({
      spaceId: "us_sp_ghost0001",
      workbookId: "us_wb_ghost0001",
      sheetId: "us_sh_ghost0001",
      commitId: "us_vr_ghost0001",
    });
    for (const key of ["sheetId", "workbookId", "spaceId"]) await rejected("/commit-created", without(commit, ["context", key]), 400);
    await rejected("/commit-created", without(without(commit, ["context", "commitId"]), ["context", "versionId"]), 400);
  });

  scenario("the wrong topic or job for a route → 200 ignored, nothing touched", async () => {
    const c = await configuredSpace("wrong topic");
    const configure = newConfigureJob("wrong topic job");
    ownedJobs.delete(configure.jobId);
    const commit = commitOn(c, c.contactsId, [contact(1)]);
    const dup = actionJob(c, "sheet:duplicate");
    ownedJobs.delete(dup.jobId);
    duplicateJobs.get(c.workbookId)?.delete(dup.jobId);
    await ignored("/commit-created", configure.event);
    await ignored("/action-job", configure.event);
    await ignored("/space-configure", commit);
    await ignored("/action-job", commit);
    await ignored("/space-configure", dup.event);
    await ignored("/commit-created", dup.event);
    await ignored("/action-job", withValue(dup.event, ["payload", "job"], "sheet:somebodyElses"));
    await ignored("/space-configure", withValue(configure.event, ["topic"], "job:completed"));
    await ignored("/action-job", withValue(dup.event, ["topic"], "job:failed"));
    await ignored("/space-configure", withValue(configure.event, ["topic"], "space:created"));
    expect(jobStatus(configure.jobId).status).toBe("ready");
    expect(jobStatus(dup.jobId).status).toBe("ready");
  });

  scenario("an action on a workbook this blueprint did not make → ignored, no write, job untouched", async () => {
    const space = flatfile.seed.space({ name: "foreign" });
    const book = flatfile.seed.workbook({ spaceId: space.id, sheets: [{ name: "Contacts", slug: "contacts" }] });
    const sheetId = book.sheets[0]!.id;
    const job = flatfile.seed.job({ job: "sheet:duplicate", spaceId: space.id, workbookId: book.id, sheetId });
    counters.hostile += 1;
    const m = mark();
    const a = await deliver(
      "/action-job",
      jobReadyEvent({ job: "sheet:duplicate", jobId: job.id, spaceId: space.id, workbookId: book.id, sheetId }),
    );
    expect(a.status, a.text).toBe(200);
    expect(a.body).toMatchObject({ ignored: true });
    expect(routesOf(m.writes())).toEqual([]);
    expect(jobStatus(job.id).status).toBe("ready");
  });

  scenario("forged, stale, future and malformed signatures → 401 with no Flatfile call", async () => {
    const c = newConfigureJob("signatures");
    const body = JSON.stringify(c.event);
    const now = Math.floor(Date.now() / 1000);
    const good = signPayload(body, signingSecret, now);
    const v1 = good.split("v1=")[1]!;
    const headers: (string | null)[] = [
      null,
      "",
      signPayload(body, newSigningSecret(), now), // forged: another secret
      signPayload(body.replace("job:ready", "job:READY"), signingSecret, now), // another body
      `t=${now}`,
      `v1=${v1}`,
      `t=${now},v1=${v1.slice(0, 63)}`,
      `t=${now},v1=${v1}zz`,
      `t=${now},v1=${"g".repeat(64)}`,
      `t=${now},t=${now},v1=${v1}`,
      `t=${now}.5,v1=${v1}`,
      `t=-${now},v1=${v1}`,
      `t=${now},v0=${v1}`,
      `t=${now};v1=${v1}`,
      `t=${now},=${v1}`,
      `garbage`,
      `t=${now},v1=${v1},v1`,
      `T=${now},V1=${v1}`,
      `t=${"9".repeat(13)},v1=${v1}`,
      `t=${now},v1=${"0".repeat(64)},v1=${"f".repeat(64)}`,
    ];
    for (const signature of headers) await rejected("/space-configure", body, 401, { signature });
    // Just outside the window either way, signed at the moment of sending (a slow run must not
    // bring "the future" inside the window).
    for (const skew of [-301, 301]) {
      await rejected("/space-configure", body, 401, { signature: signPayload(body, signingSecret, Math.floor(Date.now() / 1000) + skew) });
    }
    // HMAC over the body with the timestamp of another request.
    await rejected("/space-configure", body, 401, { signature: `t=${now - 10},v1=${v1}` });
    // The same, right, body to the other routes with a forged signature.
    await rejected("/action-job", body, 401, { secret: "not-the-secret-at-all" });
    await rejected("/commit-created", body, 401, { secret: "not-the-secret-at-all" });
    expect(jobStatus(c.jobId).status).toBe("ready");
    // A rotation: a wrong v1 beside the right one is accepted, as are an unknown scheme and upper-case hex.
    const a = await deliver("/space-configure", body, { signature: `t=${now},v0=abc,v1=${"0".repeat(64)},v1=${v1.toUpperCase()}` });
    expect(a.status, a.text).toBe(200);
    expectConfigured(c);
  });

  scenario("replay of a valid request: inside the window it changes nothing; an old one → 401", async () => {
    const c = newConfigureJob("replay");
    const body = JSON.stringify(c.event);
    const signature = signPayload(body, signingSecret);
    const first = await deliver("/space-configure", body, { signature });
    expect(first.status, first.text).toBe(200);
    expectConfigured(c);
    counters.hostile += 1;
    const m = mark();
    const again = await deliver("/space-configure", body, { signature });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toMatchObject({ replayed: true });
    expect(routesOf(m.all())).toEqual([]);
    // The same request as captured 10 minutes ago.
    const old = Math.floor(Date.now() / 1000) - 600;
    await rejected("/space-configure", body, 401, { signature: signPayload(body, signingSecret, old) });
  });

  scenario("an event from another environment → 403 with no Flatfile call", async () => {
    const c = newConfigureJob("other environment");
    ownedJobs.delete(c.jobId);
    const other = withValue(c.event, ["context", "environmentId"], "us_env_other0001");
    await rejected("/space-configure", other, 403);
    await rejected("/action-job", withValue(ghostEvent("sheet:duplicate"), ["context", "environmentId"], "us_env_other0001"), 403);
    const commit = commitCreatedEvent({
      spaceId: "us_sp_ghost0001",
      workbookId: "us_wb_ghost0001",
      sheetId: "us_sh_ghost0001",
      commitId: "us_vr_ghost0001",
      environmentId: "us_env_zz99",
    });
    await rejected("/commit-created", commit, 403);
    expect(jobStatus(c.jobId).status).toBe("ready");
  });

  scenario(
    `${FC_RUNS} generated hostile inputs (fast-check, seed ${FC_SEED}) → 4xx or ignored, never a write`,
    async () => {
      const paths: string[][] = [
        ["id"],
        ["topic"],
        ["context"],
        ["payload"],
        ["createdAt"],
        ["context", "accountId"],
        ["context", "environmentId"],
        ["context", "spaceId"],
        ["context", "jobId"],
        ["context", "workbookId"],
        ["context", "sheetId"],
        ["context", "commitId"],
        ["context", "versionId"],
        ["context", "actorId"],
        ["payload", "job"],
        ["payload", "input"],
        ["payload", "domain"],
        ["payload", "operation"],
      ];
      const oddStrings = fc.constantFrom(
        "",
        " ",
        "\u0000",
        "\uD800",
        "\uFEFF",
        "\u202E",
        "💥",
        "us_sp_ｘ",
        "us_env_other0001",
        "us_jb_ghost0002",
        "job:ready",
        "commit:created",
        "space:configure",
        "sheet:duplicate",
        "workbook:submitActionFg",
        "__proto__",
        "constructor",
      );
      const value = fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.string({ unit: "binary", maxLength: 30 }),
        oddStrings,
        fc.constant(undefined),
      );
      const base = fc.constantFrom(
        ghostEvent("space:configure"),
        ghostEvent("sheet:duplicate"),
        ghostEvent("workbook:submitActionFg"),
        commitCreatedEvent({
          spaceId: "us_sp_ghost0001",
          workbookId: "us_wb_ghost0001",
          sheetId: "us_sh_ghost0001",
          commitId: "us_vr_ghost0001",
        }),
      );
      const mutated = fc
        .tuple(base, fc.array(fc.tuple(fc.constantFrom(...paths), value), { minLength: 1, maxLength: 3 }))
        .map(([event, edits]) => JSON.stringify(edits.reduce((e, [path, v]) => withValue(e, path, v), event)));
      const body = fc.oneof(
        { arbitrary: mutated, weight: 6 },
        {
          arbitrary: fc.tuple(base, fc.nat()).map(([e, n]) => {
            const s = JSON.stringify(e);
            return s.slice(0, n % s.length);
          }),
          weight: 2,
        },
        { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null"), weight: 1 },
        { arbitrary: fc.string({ unit: "binary", maxLength: 200 }), weight: 1 },
      );
      const printable = fc.string({ unit: "grapheme-ascii", maxLength: 120 });
      const signing = fc.oneof(
        { arbitrary: fc.constant({ kind: "valid" as const }), weight: 6 },
        {
          arbitrary: fc.constantFrom(
            { kind: "forged" as const },
            { kind: "stale" as const },
            { kind: "future" as const },
            { kind: "missing" as const },
          ),
          weight: 2,
        },
        { arbitrary: printable.map((header) => ({ kind: "junk" as const, header })), weight: 2 },
      );
      const route = fc.constantFrom<RoutePath>("/space-configure", "/action-job", "/commit-created");
      const seen: Record<number, number> = {};

      await fc.assert(
        fc.asyncProperty(route, body, signing, async (path, raw, sig) => {
          counters.hostile += 1;
          const now = Math.floor(Date.now() / 1000);
          const options: DeliverOptions =
            sig.kind === "valid"
              ? {}
              : sig.kind === "forged"
                ? { secret: "whsec_forged_forged_forged" }
                : sig.kind === "stale"
                  ? { t: now - 1_000 }
                  : sig.kind === "future"
                    ? { t: now + 1_000 }
                    : sig.kind === "missing"
                      ? { signature: null }
                      : { signature: sig.header };
          const m = mark();
          const a = await deliver(path, raw, options);
          seen[a.status] = (seen[a.status] ?? 0) + 1;
          const detail = `${path} ${sig.kind} ${raw.slice(0, 300)} → ${a.status} ${a.text.slice(0, 300)}`;
          expect([200, 400, 401, 403, 404], detail).toContain(a.status);
          if (sig.kind !== "valid") expect(a.status, detail).toBe(401);
          if (a.status === 200) expect(a.body.ignored, detail).toBe(true);
          if ([400, 401, 403].includes(a.status)) expect(routesOf(m.all()), detail).toEqual([]);
          expect(routesOf(m.writes()), detail).toEqual([]);
        }),
        { seed: FC_SEED, numRuns: FC_RUNS, endOnFailure: true },
      );
      // The generator reaches past the signature and the parser, not only into 400s.
      expect(seen[401] ?? 0).toBeGreaterThan(20);
      expect(seen[400] ?? 0).toBeGreaterThan(20);
      expect((seen[200] ?? 0) + (seen[403] ?? 0) + (seen[404] ?? 0)).toBeGreaterThan(5);
      // 300 requests one after another through the gateway and the handlers: ~4 s idle, 14 s seen
      // beside two CPU burners; the budget follows the count, nothing here is timed.
    },
    120_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------

describe("secrets", () => {
  scenario("a signed body carrying the secrets, and failures with them in reach, leave them out of every log line", async () => {
    // Bodies that put the secrets where a log line might echo them: invalid JSON, a bad id, an ignored topic.
    await rejected("/space-configure", `${flatfile.apiKey} ${signingSecret}`, 400);
    await rejected("/space-configure", withValue(ghostEvent(), ["context", "spaceId"], `${flatfile.apiKey}/..`), 400);
    await ignored("/commit-created", withValue(ghostEvent(), ["payload", "job"], signingSecret));
    counters.hostile += 1;
    const ghost = await deliver(
      "/action-job",
      withValue(ghostEvent("sheet:duplicate"), ["context", "actorId"], `us_usr_${flatfile.apiKey.replace(/[^A-Za-z0-9]/g, "")}`),
    );
    expect(ghost.status, ghost.text).toBe(404);
    // A Flatfile failure, whose request carried the API key, logged at every level.
    const c = newConfigureJob("secrets in failures");
    flatfile.faults.statuses("workbooks.create", [500, 500, 500]);
    fault(3);
    expect((await deliver("/space-configure", c.event)).status).toBeGreaterThanOrEqual(500);
    expect((await redeliver("/space-configure", c.event)).status).toBe(200);
    const leaked = (logs?.lines ?? []).filter((l) => l.includes(flatfile.apiKey) || l.includes(signingSecret));
    expect(leaked.slice(0, 3)).toEqual([]);
  });
});
