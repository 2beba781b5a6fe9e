/**
 * Jobs: get, ack, complete, fail, retry.
 *
 * Status moves created → ready → executing → complete | failed | canceled (SDK `JobStatus`; the
 * docs' job lifecycle, https://flatfile.com/docs/core-concepts/jobs, and the events reference:
 * "A job with 'immediate' set to true will skip the planning step and transition directly to
 * 'ready'"). `ack` moves a ready job to executing and, on an executing job, updates info and
 * progress: that is how Flatfile's own job-handler plugin reports progress (its `tick` calls
 * `jobs.ack`). A finished job (complete, failed, canceled) refuses ack, complete and fail with 400:
 * no source says the platform reopens one, and 400 is the least convenient plausible answer.
 * Undocumented, and left permissive: complete or fail of a job never acknowledged.
 */
import { badRequest } from "../errors";
import { ID, ok, type Route } from "../router";
import { clone, isObject, now, type Store } from "../store";
import type { Json } from "../types";

const FINISHED = new Set(["complete", "failed", "canceled"]);

function finishJob(store: Store, id: string, status: "complete" | "failed", body: unknown): Json {
  const job = store.getJob(id);
  if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be marked ${status}`);
  const details = isObject(body) ? body : {};
  job.status = status;
  if (details.outcome !== undefined) job.outcome = clone(details.outcome) as Record<string, unknown>;
  if (typeof details.info === "string") job.info = details.info;
  if (status === "complete") job.progress = 100;
  const at = now();
  job.finishedAt = at;
  job.updatedAt = at;
  return ok(clone(job));
}

export const jobRoutes: Route[] = [
  { method: "GET", pattern: new RegExp(`^/jobs/${ID}$`), name: "jobs.get", handle: (store, [id]) => ok(clone(store.getJob(id!))) },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/ack$`),
    name: "jobs.ack",
    schema: (s) => s.jobs.ack.Request,
    handle: (store, [id], body) => {
      const job = store.getJob(id!);
      if (FINISHED.has(job.status)) throw badRequest(`Job ${id} is already ${job.status} and cannot be acknowledged`);
      const details = isObject(body) ? body : {};
      job.status = "executing";
      if (typeof details.info === "string") job.info = details.info;
      if (typeof details.progress === "number") job.progress = details.progress;
      if (typeof details.estimatedCompletionAt === "string") job.estimatedCompletionAt = details.estimatedCompletionAt;
      job.startedAt ??= now();
      job.updatedAt = now();
      return ok(clone(job));
    },
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/complete$`),
    name: "jobs.complete",
    schema: (s) => s.jobs.complete.Request,
    handle: (store, [id], body) => finishJob(store, id!, "complete", body),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/fail$`),
    name: "jobs.fail",
    schema: (s) => s.jobs.fail.Request,
    handle: (store, [id], body) => finishJob(store, id!, "failed", body),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/jobs/${ID}/retry$`),
    name: "jobs.retry",
    // API reference: "Retry a failed job and return the job", nothing more. The status it leaves,
    // whether job:ready is raised again and whether ack is then accepted are undocumented; the least
    // convenient plausible behaviour is that it does not exist. Modelled as a failed/canceled job
    // back to ready only while shared/core/job-lifecycle.ts still calls it (the `jobs` helper is
    // removing that call); then this route goes and it answers 404.
    handle: (store, [id]) => {
      const job = store.getJob(id!);
      if (job.status !== "failed" && job.status !== "canceled") throw badRequest(`Job ${id} is ${job.status}: only a failed or canceled job can be retried`);
      job.status = "ready";
      delete job.outcome;
      delete job.finishedAt;
      job.progress = 0;
      job.updatedAt = now();
      return ok(clone(job));
    },
  },
];
