/**
 * `npm start`'s stand-in for the stack's schedule: runs the job sweep every interval in this
 * process (whose routes track their open jobs in process), one run at a time, and stops cleanly.
 */
import { OPEN_JOB_SWEEP_INTERVAL_MS } from "../shared/core/open-jobs";
import { runScheduledSweep } from "../functions/job-sweep/sweep";

export interface SweepTimer {
  /** Clears the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startSweepTimer(options: { intervalMs?: number; sweep?: () => Promise<unknown> } = {}): SweepTimer {
  const sweep = options.sweep ?? (() => runScheduledSweep());
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return; // the last run is still going: skip this tick
    running = sweep()
      .catch((error: unknown) => console.error(`job sweep failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        running = undefined;
      });
  }, options.intervalMs ?? OPEN_JOB_SWEEP_INTERVAL_MS);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
