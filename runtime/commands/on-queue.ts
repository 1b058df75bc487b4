// The producer of a run on a queue (measure --queue, augment --queue): the run's config into Redis, one job per
// point, then (unless --detach) a wait with progress for the workers' results, and the command's own files in
// --out from them. Rerunning the same command is the resume: finished points are kept, failed ones retried,
// the rest waited for. Redis going away ends it within the reconnect time (run/queue/connection.ts) with one
// line, never a hang.

import { UserError, diag, fail, ok, unwrap, type Result } from "../../compiler/index.js";
import { progressBar, type Progress } from "../run/measure.js";
import {
  closeQueue,
  describeRun,
  enqueueRun,
  guarded,
  missingDiagnostics,
  openQueue,
  readRun,
  waitForRun,
  type Collected,
  type QueueHandle,
  type QueuedRun,
} from "../run/queue/queue.js";
import { parseQueueUrl, type QueueTarget } from "../run/queue/redis-url.js";

/** The options only a --queue run has. */
export interface QueueOptions {
  /** Tries per point before it fails. */
  readonly attempts: number;
  /** Seconds one try may take (default 2 x --time-limit + 60). */
  readonly jobTimeout?: number;
  /** Enqueue and exit; robustc merge --queue writes the files. */
  readonly detach?: boolean;
}

/** --queue's URL and the queue options, checked before anything is opened. */
export function checkQueueOptions(url: string, o: QueueOptions): Result<QueueTarget> {
  const target = parseQueueUrl(url);
  if (!target.ok) return target;
  if (!Number.isInteger(o.attempts) || o.attempts < 1)
    return fail(diag("cli/attempts", `--attempts must be a positive integer, got ${o.attempts}`));
  if (o.jobTimeout !== undefined && !(o.jobTimeout > 0))
    return fail(diag("cli/job-timeout", `--job-timeout must be positive, got ${o.jobTimeout}`));
  return ok(target.value);
}

/** A backstop for a point that ignores its own --time-limit (a solver stuck in WebAssembly, a dead thread). */
export const jobTimeoutOf = (o: QueueOptions, timeLimit: number): number => o.jobTimeout ?? 2 * timeLimit + 60;

export interface Production {
  readonly target: QueueTarget;
  readonly run: QueuedRun;
  readonly out: string;
  readonly detach?: boolean;
  /** Makes --out ready (or refuses it) once the queue is known to take this run, before anything is enqueued. */
  readonly prepare: () => void;
  /** The notes on what robustc chose (openRun's), printed once the checks passed. */
  readonly announce: () => void;
  /**
   * Writes the command's files from the finished run (every point has a result). `wall`: this process's own
   * seconds when it enqueued every point itself (it saw the whole run), else null.
   */
  readonly write: (h: QueueHandle, run: QueuedRun, c: Collected, wall: number | null) => Promise<void>;
}

export async function produceOnQueue(p: Production, out: (s: string) => void): Promise<void> {
  const { target, run } = p;
  const h = unwrap(await openQueue(target));
  let seen = -1;
  // Redis going away at any step ends the command with one line: what happened and how to go on from there.
  const resume = () =>
    `${seen >= 0 ? `${seen} of ${run.indices.length} points had finished; ` : ""}when Redis is back, rerun this command to resume${seen >= 0 ? `, or robustc merge --queue ${target.display} --out ${p.out} once the workers are done` : ""}`;
  try {
    await guarded(h, enqueueAndWait(), resume);
  } finally {
    await closeQueue(h);
  }

  async function enqueueAndWait(): Promise<void> {
    const there = await readRun(h);
    if (there !== null && there.id !== run.id)
      throw new UserError([
        diag(
          "queue/other-run",
          `--queue ${target.display} holds another run (${describeRun(there)}); use another queue name`,
        ),
      ]);
    p.prepare();
    p.announce();
    const t0 = performance.now();
    const e = unwrap(await enqueueRun(h, run));
    process.stderr.write(
      `robustc: queue ${target.display}: ${e.added} points enqueued, ${e.finished} already finished${e.retried > 0 ? `, ${e.retried} failed ones retried` : ""}\n`,
    );
    if (p.detach) {
      out(`enqueued; start workers with: robustc worker --queue ${target.display}`);
      out(`when they are done: robustc merge --queue ${target.display} --out ${p.out}`);
      return;
    }
    if (e.added > 0) process.stderr.write(`robustc: waiting for workers (robustc worker --queue ${target.display})\n`);
    const progress =
      process.stderr.isTTY === true
        ? await progressBar(run.indices.length, true)
        : e.added > 0
          ? logProgress(target.display, run.indices.length)
          : { tick: () => undefined, stop: () => undefined };
    let c;
    seen = 0;
    try {
      c = await waitForRun(h, e.run, (pt) => {
        seen++;
        progress.tick(pt);
      });
    } finally {
      progress.stop();
    }
    const bad = missingDiagnostics(h, e.run, c, "rerun this command to retry the failed points");
    if (bad.length > 0) throw new UserError(bad);
    await p.write(h, e.run, c, e.finished === 0 ? (performance.now() - t0) / 1000 : null);
  }
}

/** How a queue run was spread, as its files record it (report.json's and manifest.json's settings). */
export const queueSettings = (h: QueueHandle, run: QueuedRun, c: Collected): Record<string, unknown> => ({
  queue: h.target.display,
  workers: c.workers,
  attempts: run.attempts,
  job_timeout: run.jobTimeout,
});

/** Without a terminal: one line when a tenth of the points more are done (and at the end). */
function logProgress(display: string, total: number): Progress {
  let done = 0,
    shown = 0;
  return {
    tick: () => {
      done++;
      if (done === total || done - shown >= Math.max(1, Math.ceil(total / 10))) {
        shown = done;
        process.stderr.write(`robustc: queue ${display}: ${done}/${total} points finished\n`);
      }
    },
    stop: () => undefined,
  };
}
