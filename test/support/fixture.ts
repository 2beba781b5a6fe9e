/**
 * The set-up the in-process suites share: one harness per suite file, reset before each test, and
 * a space configured by the real space-configure handler, for suites that act on exactly what the
 * blueprint builds. Vitest-only (the bench imports harness.ts and configured-space.ts, not this).
 */
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { handler as configureHandler } from "../../functions/space-configure/handler";
import { configuredFrom, type ConfiguredSpace } from "./configured-space";
import { jobReadyEvent, startHarness, type Harness, type HarnessOptions } from "./harness";

/**
 * A harness started before the suite's tests, reset before each and closed after them. Options
 * that depend on fixtures the suite starts itself (a table, a reference API) are given as a
 * function, called once those have started: register their hooks before this one.
 */
export function useHarness(options: HarnessOptions | (() => HarnessOptions) = {}): Harness {
  const fixture = {} as Harness;
  beforeAll(async () => {
    Object.assign(fixture, await startHarness(typeof options === "function" ? options() : options));
  });
  afterAll(async () => {
    await fixture.close?.();
  });
  beforeEach(() => fixture.reset());
  return fixture;
}

/**
 * A space the real configure handler set up, for a user the stand-in knows (their name is free
 * text), or for a guest of that Space: its workbook then has no Duplicate and no delete.
 */
export async function configureSpace(
  h: Harness,
  userName = "Ada Lovelace",
  creator: "user" | "guest" = "user",
): Promise<ConfiguredSpace & { userId: string }> {
  const user = creator === "user" ? h.flatfile.seed.user({ email: "ada@example.com", name: userName }) : undefined;
  const space = h.flatfile.seed.space({ metadata: { locale: "en-US" } });
  const actorId = user?.id ?? h.flatfile.seed.guest({ email: "grace@example.com", name: userName, spaceIds: [space.id] }).id;
  const job = h.flatfile.seed.job({ job: "space:configure", spaceId: space.id });
  const answer = await h.deliver(configureHandler, jobReadyEvent({ job: "space:configure", jobId: job.id, spaceId: space.id, actorId }));
  expect(answer.status).toBe(200);
  return { ...configuredFrom(space.id, (await h.api.spaces.get(space.id)).data.metadata), userId: actorId };
}
