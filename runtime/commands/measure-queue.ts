// `robustc measure ... --queue redis://HOST:PORT/NAME`: the run's config into Redis, one job per point, then
// (unless --detach) a wait with progress for the workers' results and the reports in --out. Rerunning the
// same command is the resume: finished points are kept, failed ones retried, the rest waited for. Redis
// going away ends it within the reconnect time (run/queue/connection.ts) with one line, never a hang.

import { UserError, diag, unwrap } from "../../compiler/index.js";
import { progressBar, type Progress } from "../run/measure.js";
import { prepareOut, runIdentity } from "../run/out-dir.js";
import {
  closeQueue,
  describeRun,
  enqueueRun,
  guarded,
  missingDiagnostics,
  openQueue,
  queuedRun,
  readRun,
  waitForRun,
} from "../run/queue/queue.js";
import { parseQueueUrl } from "../run/queue/redis-url.js";
import { reportsLine } from "../report/write.js";
import { queueMerged, writeMerged } from "./merge.js";
import { openRun, type RunRequest } from "./run-request.js";

/** The options only a --queue run has. */
export interface QueueOptions {
  /** Tries per point before it fails. */
  readonly attempts: number;
  /** Seconds one try may take (default 2 x --time-limit + 60). */
  readonly jobTimeout?: number;
  /** Enqueue and exit; robustc merge --queue writes the report. */
  readonly detach?: boolean;
}

export interface QueueRequest extends RunRequest, QueueOptions {
  readonly out: string;
  readonly queue: string;
  readonly resume?: boolean;
}

export async function measureOnQueue(model: string, o: QueueRequest, out: (s: string) => void): Promise<void> {
  const target = unwrap(parseQueueUrl(o.queue));
  if (!Number.isInteger(o.attempts) || o.attempts < 1)
    throw new UserError([diag("cli/attempts", `--attempts must be a positive integer, got ${o.attempts}`)]);
  if (o.jobTimeout !== undefined && !(o.jobTimeout > 0))
    throw new UserError([diag("cli/job-timeout", `--job-timeout must be positive, got ${o.jobTimeout}`)]);
  const { indices, cfg, announce } = await openRun(model, o);
  const identity = runIdentity(cfg, indices, cfg.eps);
  // A backstop for a point that ignores its own --time-limit (a solver stuck in WebAssembly, a dead thread).
  const run = queuedRun(cfg, identity, indices, cfg.eps, o.attempts, o.jobTimeout ?? 2 * cfg.lazy.timeLimit + 60);
  const h = unwrap(await openQueue(target));
  let seen = -1;
  // Redis going away at any step ends the command with one line: what happened and how to go on from there.
  const resume = () =>
    `${seen >= 0 ? `${seen} of ${indices.length} points had finished; ` : ""}when Redis is back, rerun this command to resume${seen >= 0 ? `, or robustc merge --queue ${target.display} --out ${o.out} once the workers are done` : ""}`;
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
    unwrap(prepareOut(o.out, identity, o.resume === true));
    announce();
    const t0 = performance.now();
    const e = unwrap(await enqueueRun(h, run));
    process.stderr.write(
      `robustc: queue ${target.display}: ${e.added} points enqueued, ${e.finished} already finished${e.retried > 0 ? `, ${e.retried} failed ones retried` : ""}\n`,
    );
    if (o.detach) {
      out(`enqueued; start workers with: robustc worker --queue ${target.display}`);
      out(`when they are done: robustc merge --queue ${target.display} --out ${o.out}`);
      return;
    }
    if (e.added > 0) process.stderr.write(`robustc: waiting for workers (robustc worker --queue ${target.display})\n`);
    const progress =
      process.stderr.isTTY === true
        ? await progressBar(indices.length, true)
        : e.added > 0
          ? logProgress(target.display, indices.length)
          : { tick: () => undefined, stop: () => undefined };
    let c;
    seen = 0;
    try {
      c = await waitForRun(h, e.run, (p) => {
        seen++;
        progress.tick(p);
      });
    } finally {
      progress.stop();
    }
    const bad = missingDiagnostics(h, e.run, c, "rerun this command to retry the failed points");
    if (bad.length > 0) throw new UserError(bad);
    const merged = queueMerged(h, e.run, c);
    // This process saw the whole run when it enqueued every point: its own wall time is the run's.
    const table = unwrap(
      await writeMerged(
        o.out,
        e.finished === 0 ? { ...merged, totalSeconds: (performance.now() - t0) / 1000 } : merged,
        o.resume === true,
      ),
    );
    out(table);
    out(reportsLine(o.out));
  }
}

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
