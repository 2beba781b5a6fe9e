/**
 * Where the relay sends space:configure, by the spaceConfigureBy setting: "ours" (the default) to
 * our space-configure route alone, whatever the listener registers; "listener" to /listener alone
 * when the listener takes the job (configureSpace), with a give-up failing it as the listener's.
 * The build says when the job is handed to a listener that takes none of it, and when a listener
 * takes it while our route owns it.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { destinationsFor, relayTopics } from "../../../infra/relay/forward";
import { ourJobsNote, relayPlanFor, relayPlanWithNotes, untakenJobsNote } from "../../../infra/relay/plan";
import { OWNED_ACTION_JOBS } from "../../../shared/domain/blueprint";
import { jobsHandedToListener } from "../../../shared/routes";

const configuring = join(__dirname, "fixtures", "space-configure-listener.ts");
const ready = (job: string) => ({
  id: "us_evt_1",
  topic: "job:ready",
  domain: "job",
  context: { environmentId: "us_env_1", spaceId: "us_sp_1", jobId: "us_jb_1" },
  payload: { job, domain: job.split(":")[0], operation: job.split(":")[1] },
});

describe("space:configure at the relay", { timeout: 120_000 }, () => {
  it('with spaceConfigureBy "ours", goes to our route alone, even to a listener that registers configureSpace', () => {
    const { plan, ourJobs } = relayPlanWithNotes({ listenerRoute: true, listenerModule: configuring });
    expect(plan.listener!.jobs).toBeUndefined();
    expect(destinationsFor(ready("space:configure"), plan)).toEqual([
      { name: "space-configure", path: "/space-configure", failsJob: true },
    ]);
    // The build says so, and how to hand it over.
    expect(ourJobs).toEqual(["space:configure"]);
    expect(ourJobsNote(ourJobs)).toMatch(/never gets it \(set spaceConfigureBy to "listener"/);
  });

  it('with spaceConfigureBy "listener", goes to /listener alone, and a give-up fails it as the listener\'s job', () => {
    const { plan, ourJobs } = relayPlanWithNotes({ listenerRoute: true, spaceConfigureBy: "listener", listenerModule: configuring });
    expect(plan.listener!.jobs).toEqual(["space:configure"]);
    expect(ourJobs).toEqual([]);
    expect(destinationsFor(ready("space:configure"), plan)).toEqual([{ name: "listener", path: "/listener", failsJob: true }]);
    // Only space-configure's jobs are handed over: the blueprint's actions stay ours.
    for (const job of OWNED_ACTION_JOBS) expect(destinationsFor(ready(job), plan).map((d) => d.path)).toEqual(["/action-job"]);
    expect(relayTopics(plan).sort()).toEqual(["commit:created", "job:ready"]);
  });

  it("hands nothing over without the listener route, whatever the setting", () => {
    expect(jobsHandedToListener({ spaceConfigureBy: "listener" })).toEqual([]);
    expect(jobsHandedToListener({ listener: true, spaceConfigureBy: "ours" })).toEqual([]);
    expect(jobsHandedToListener({ listener: true, spaceConfigureBy: "listener" })).toEqual(["space:configure"]);
    const plan = relayPlanFor({ spaceConfigureBy: "listener" });
    expect(destinationsFor(ready("space:configure"), plan).map((d) => d.path)).toEqual(["/space-configure"]);
  });

  it("says so when the job is handed to a listener none of whose callbacks takes it (the repo's example): nobody gets it", () => {
    const { plan, untakenJobs } = relayPlanWithNotes({ listenerRoute: true, spaceConfigureBy: "listener" });
    expect(untakenJobs).toEqual(["space:configure"]);
    expect(untakenJobsNote(untakenJobs)).toMatch(/no Space would be configured/);
    expect(destinationsFor(ready("space:configure"), plan)).toEqual([]);
    expect(relayPlanWithNotes({ listenerRoute: true, spaceConfigureBy: "listener", listenerModule: configuring }).untakenJobs).toEqual([]);
  });
});
