/**
 * Reliability suite, floods: concurrent deliveries with duplicates over many spaces and over one
 * workbook, bursts of commits, and floods of unsigned requests through the throttled gateway. The
 * world and the invariants checked after every scenario: ./world.ts.
 */
import { describe, expect, vi } from "vitest";

vi.hoisted(() => {
  // Before the handlers (and the logger) are imported: every line, DEBUG included, is captured.
  process.env.POWERTOOLS_LOG_LEVEL = "DEBUG";
});

import { routes } from "../../../local/routes";
import { renderProgress } from "../../../shared/domain/guide";
import { countedAtOf, guideSection as readSection } from "../../support/guide";
import { copySlugFor } from "../../../functions/action-job/duplicate-sheet";
import { relayUnderFlood, SHORT_BOUND, SHORT_WINDOW_MS } from "../../support/virtual-flood";
import { attack, fault, prng, shuffle } from "./support";
import {
  actionJob,
  commitOn,
  configuredFrom,
  configuredSpace,
  contact,
  deliver,
  expectConfigured,
  flatfile,
  jobStatus,
  mark,
  newConfigureJob,
  redeliver,
  routesOf,
  scenario,
  signingSecret,
  stateOf,
  useReliabilityWorld,
  type ConfigureJob,
  type Event,
} from "./world";

useReliabilityWorld("floods");

// ---------------------------------------------------------------------------------------------
// Floods
// ---------------------------------------------------------------------------------------------

describe("floods", () => {
  const flooded: ConfigureJob[] = [];

  scenario(
    "50 concurrent configure deliveries over 10 spaces, with duplicates → one workbook and guide each",
    async () => {
      const random = prng(4242);
      const deliveries: { job: ConfigureJob; body: string }[] = [];
      for (let i = 0; i < 10; i++) {
        const job = newConfigureJob(`flood ${i}`, { locale: i % 2 ? "de-DE" : "en-GB" });
        flooded.push(job);
        const same = JSON.stringify(job.event);
        // Three copies of one event, and two more events (new event ids) for the same job.
        const again = () => JSON.stringify({ ...job.event, id: `us_evt_again${i}x${deliveries.length}` });
        deliveries.push({ job, body: same }, { job, body: same }, { job, body: same }, { job, body: again() }, { job, body: again() });
      }
      const answers = await Promise.all(
        shuffle(deliveries, random).map(async (d) => ({ d, a: await deliver("/space-configure", d.body) })),
      );
      for (const { d, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/space-configure", d.job.event)).status).toBe(200);
      }
      expect(answers.filter(({ a }) => a.status === 200 && a.body.status === "complete").length).toBeGreaterThanOrEqual(1);
      for (const job of flooded) expectConfigured(job);
    },
    30_000,
  );

  scenario(
    "50 concurrent action deliveries (duplicate and submit) over 10 spaces, with duplicates",
    async () => {
      expect(flooded).toHaveLength(10);
      const random = prng(777);
      const spaces = flooded.map((f) => configuredFrom(f.spaceId));
      spaces.slice(5, 8).forEach((c, i) => flatfile.seed.commit(c.contactsId, { insert: [contact(i), contact(i + 100)] }));
      const jobs = spaces.map((c, i) => ({ c, i, ...actionJob(c, i < 5 ? "sheet:duplicate" : "workbook:submitActionFg") }));
      const deliveries = jobs.flatMap((j) => [
        j,
        j,
        j,
        { ...j, event: { ...j.event, id: `us_evt_act${j.i}a` } },
        { ...j, event: { ...j.event, id: `us_evt_act${j.i}b` } },
      ]);
      const answers = await Promise.all(shuffle(deliveries, random).map(async (d) => ({ d, a: await deliver("/action-job", d.event) })));
      for (const { d, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/action-job", d.event)).status).toBe(200);
      }
      for (const j of jobs) {
        const expected = j.i < 8 ? "complete" : "failed";
        expect(jobStatus(j.jobId), `space ${j.i}`).toMatchObject({ status: expected, message: expect.any(String) });
        if (j.i < 5) {
          const book = flatfile.workbooks.get(j.c.workbookId)!;
          const copies = book.sheetIds
            .map((id) => flatfile.sheets.get(id)?.slug ?? "")
            .filter((s) => s === copySlugFor("contacts", j.jobId));
          expect(copies).toHaveLength(1);
        }
      }
    },
    30_000,
  );

  scenario("duplicate, submit and a commit on one workbook at once → every job's promise still holds afterwards", async () => {
    const c = await configuredSpace("one workbook, three writers");
    const commit = commitOn(c, c.contactsId, [contact(1), contact(2)]);
    const dup = actionJob(c, "sheet:duplicate");
    const submit = actionJob(c, "workbook:submitActionFg");
    // The copy takes a moment: submit locks the sheets meanwhile, from the same first read.
    flatfile.faults.latency("sheets.duplicate", 300);
    fault();
    const answers = await Promise.all([
      deliver("/action-job", dup.event),
      deliver("/action-job", submit.event),
      deliver("/commit-created", commit),
    ]);
    for (const a of answers) expect(a.status, a.text).toBe(200);
    const submitted = answers[1]!.body;
    expect(submitted).toMatchObject({ status: "complete" });
    const book = flatfile.workbooks.get(c.workbookId)!;
    const sheets = book.sheetIds.map((id) => flatfile.sheets.get(id)!);
    const bySlug = (slug: string) => sheets.find((s) => s.slug === slug);
    // duplicate: the copy exists and the original is locked.
    expect(bySlug(copySlugFor("contacts", dup.jobId)), "the copy the duplicate job points to").toBeDefined();
    expect(bySlug("contacts")?.config).toMatchObject({ readonly: true, access: [] });
    // submit: "Its sheets are now read-only" — every sheet it reports locked still is.
    for (const slug of submitted.lockedSheets as string[]) {
      expect(bySlug(slug)?.config, `sheet ${slug}, locked by the submit job, is still read-only`).toMatchObject({
        readonly: true,
        access: [],
      });
    }
  });

  scenario(
    "a burst of 20 commits on one sheet, delivered at once with duplicates → the guide shows the last count",
    async () => {
      const c = await configuredSpace("commit burst");
      const random = prng(99);
      const events: Event[] = [];
      for (let i = 0; i < 20; i++) events.push(commitOn(c, c.contactsId, [contact(i)], i % 5 === 0 ? 1 : 0));
      const deliveries = [...events, ...events.slice(0, 10)];
      const answers = await Promise.all(shuffle(deliveries, random).map(async (e) => ({ e, a: await deliver("/commit-created", e) })));
      for (const { e, a } of answers) {
        expect([200, 500, 502, 503, 504], a.text).toContain(a.status);
        if (a.status >= 500) expect((await redeliver("/commit-created", e)).status).toBe(200);
      }
      // A late, single delivery of the last commit (as a relay retry would) settles nothing new.
      const m = mark();
      const last = await deliver("/commit-created", events.at(-1)!);
      expect(last.status).toBe(200);
      expect(routesOf(m.writes())).toEqual([]);
      const guide = flatfile.documents.get(c.state.guideDocumentId)!;
      const expected = renderProgress(
        [
          { role: "contacts", sheetName: "Contacts", total: 20, valid: 16, error: 4 },
          { role: "orders", sheetName: "Orders", total: 0, valid: 0, error: 0 },
        ],
        undefined,
        countedAtOf(flatfile.spaces.get(c.spaceId)?.metadata),
      );
      expect(readSection(guide.body, "progress")?.trim()).toBe(expected.trim());
    },
    30_000,
  );

  // Floods from strangers: unsigned requests through a gateway that throttles like
  // the stage, while the relay's own code delivers real events (virtual time, short bound;
  // test/support/virtual-flood.ts).
  const relayFlooded = (plan: Parameters<typeof relayUnderFlood>[0]["plan"], jobs: ConfigureJob[]) =>
    relayUnderFlood({
      routes,
      flatfile: { url: flatfile.url, apiKey: flatfile.apiKey },
      signingSecret,
      plan,
      deliveries: jobs.map((job, i) => ({ name: `job ${i}`, event: job.event, jobId: job.jobId })),
    });

  scenario(
    "a flood of unsigned requests at 4x the route limit that stops within the relay's window delays relayed deliveries, loses none",
    async () => {
      attack();
      const jobs = [newConfigureJob("flooded 1"), newConfigureJob("flooded 2"), newConfigureJob("flooded 3")];
      const { relayed, flood } = await relayFlooded(
        (start) => ({
          kind: "paced",
          routes: ["/space-configure", "/action-job", "/commit-created"],
          timesLimit: 4,
          from: start - 1_000,
          until: start + SHORT_WINDOW_MS / 3,
        }),
        jobs,
      );
      expect(Object.keys(flood.tally.statuses).sort(), "the flood met the throttle and the signature check only").toEqual(["401", "429"]);
      for (const { outcome } of relayed) expect(outcome).toMatchObject({ kind: "delivered", status: 200 });
      for (const job of jobs) expectConfigured(job);
    },
  );

  scenario("a flood that takes every token and outlasts the relay's window → each job ends failed, saying it was throttled", async () => {
    attack();
    const jobs = [newConfigureJob("starved 1"), newConfigureJob("starved 2")];
    const m = mark();
    const { relayed } = await relayFlooded(
      (start) => ({ kind: "saturating", routes: ["/space-configure"], from: start - 1_000, until: start + SHORT_BOUND.totalMs * 2 }),
      jobs,
    );
    for (const { outcome } of relayed) expect(outcome).toMatchObject({ kind: "gave-up", jobFailed: true });
    // Nothing reached the handlers but the flood's unsigned requests: the only Flatfile calls are the relay failing the jobs.
    expect(routesOf(m.all())).toEqual(jobs.map(() => "jobs.fail:200"));
    for (const job of jobs) {
      expect(stateOf(job.spaceId), "nothing was configured").toBeUndefined();
      expect(jobStatus(job.jobId)).toMatchObject({
        status: "failed",
        message: expect.stringContaining("received more requests than its throttle accepts"),
      });
    }
  });
});
