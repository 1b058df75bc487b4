// `robustc worker --queue redis://HOST:PORT/NAME`: takes point jobs from the queue until stopped (SIGINT,
// SIGTERM) or, with --drain, until the queue is empty; prints one line per finished point.

import { hostname } from "node:os";
import { UserError, diag, unwrap } from "../../compiler/index.js";
import { defaultJobs } from "../run/point-runner.js";
import { parseQueueUrl } from "../run/queue/redis-url.js";

export interface WorkerRequest {
  readonly queue: string;
  readonly concurrency?: number;
  readonly lock: number;
  readonly drain?: boolean;
}

export async function workerCommand(o: WorkerRequest, out: (s: string) => void): Promise<void> {
  const target = unwrap(parseQueueUrl(o.queue));
  const concurrency = o.concurrency ?? defaultJobs();
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UserError([diag("cli/concurrency", `--concurrency must be a positive integer, got ${concurrency}`)]);
  if (!(o.lock >= 1)) throw new UserError([diag("cli/lock", `--lock must be at least 1 second, got ${o.lock}`)]);
  process.stderr.write(
    `robustc: worker ${hostname()}:${process.pid} on ${target.display}, concurrency ${concurrency}\n`,
  );
  // bullmq loads with the worker, not at every command's start-up.
  const { runWorker } = await import("../run/queue/queue-worker.js");
  const done = await runWorker(target, { concurrency, lockSeconds: o.lock, drain: o.drain === true, log: out }).catch(
    (e: unknown) => {
      endWhenPrinted();
      throw e;
    },
  );
  if (!done.ok) endWhenPrinted();
  process.stderr.write(`robustc: worker stopped after ${unwrap(done).points} points\n`);
}

/**
 * A worker that failed (Redis lost, a run this machine cannot open) has closed its BullMQ Worker and its
 * connections; but BullMQ (5.81) can leave the closed Worker's stalled-jobs check waiting a whole --lock
 * interval (30 s) when Redis went away while the check waited for its answer, and the process would outlive
 * its one line that long. Nothing is left to do: end once main has printed the line and returned the exit
 * code (this timer fires after that, and keeps nothing alive itself).
 */
const endWhenPrinted = () => setTimeout(() => process.exit(), 0).unref();
