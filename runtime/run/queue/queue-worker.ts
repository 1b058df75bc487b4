// The side that takes jobs: a BullMQ Worker whose jobs are points of the run stored under the queue name.
// Each point runs on a worker thread (tinypool), so this thread stays free to renew job locks; a result is in
// the Redis hash before its job completes, and a crashed worker's jobs stall and are retried elsewhere.

import { hostname } from "node:os";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import { UserError, diag, fail, ok, type Result } from "../../../compiler/index.js";
import { pointRecord } from "../points-file.js";
import { dataOptionsOf, poolRunner, type PointRunner } from "../point-runner.js";
import { openSession } from "../session.js";
import {
  closeQueue,
  guarded,
  openQueue,
  readRun,
  saveResult,
  sha256File,
  type QueueHandle,
  type QueuedRun,
} from "./queue.js";
import type { QueueTarget } from "./redis-url.js";
import { type PointResult } from "../../rho/result.js";

export interface WorkerOptions {
  /** Points at once (one worker thread each). */
  readonly concurrency: number;
  /** Seconds a job stays locked without a renewal before another worker may take it over (BullMQ lockDuration). */
  readonly lockSeconds: number;
  /** Exit once the queue has no waiting, delayed or active job. */
  readonly drain: boolean;
  readonly log: (line: string) => void;
}

interface RunContext {
  readonly run: QueuedRun;
  readonly runner: PointRunner;
}

export const formatDone = (p: PointResult) =>
  `point ${p.index}: ${p.status}${p.rho !== null && Number.isFinite(p.rho) ? ` rho ${p.rho.toFixed(4)} px` : ""} (${p.seconds.toFixed(3)} s)`;

/**
 * Runs until SIGINT/SIGTERM (or, with drain, an empty queue); a run this machine cannot open ends it with its
 * diagnostics.
 */
export async function runWorker(t: QueueTarget, o: WorkerOptions): Promise<Result<{ points: number }>> {
  const opened = await openQueue(t);
  if (!opened.ok) return opened;
  const h = opened.value;
  const me = `${hostname()}:${process.pid}`;
  const contexts = new Map<string, Promise<RunContext>>();
  let points = 0;
  let stopWith: UserError | null = null;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    finish = r;
  });

  // Jobs in flight per context, and the contexts of earlier runs still closing (closed when their jobs end).
  const busy = new Map<Promise<RunContext>, number>();
  const retired = new Set<Promise<RunContext>>();
  const release = (c: Promise<RunContext>) =>
    c.then(
      (x) => x.runner.close(),
      () => undefined,
    );
  /** The context of run `id`, counted busy until `done`. */
  const context = (id: string): Promise<RunContext> => {
    let c = contexts.get(id);
    if (!c) {
      // A queue name holds one run at a time: a worker that outlives its run (one queue serving the runs of a
      // script one after the other, robustc queue clear between them) closes the earlier runs' threads and
      // models, each once its jobs in flight are done, instead of keeping a pool per run for its whole life.
      for (const [other, oc] of contexts) {
        contexts.delete(other);
        if ((busy.get(oc) ?? 0) === 0) void release(oc);
        else retired.add(oc);
      }
      const opened = openContext(h, id, o.concurrency);
      opened.catch(() => {
        if (contexts.get(id) === opened) contexts.delete(id);
      });
      contexts.set(id, opened);
      c = opened;
    }
    busy.set(c, (busy.get(c) ?? 0) + 1);
    return c;
  };
  const done = (c: Promise<RunContext>) => {
    const n = (busy.get(c) ?? 1) - 1;
    if (n > 0) busy.set(c, n);
    else {
      busy.delete(c);
      if (retired.delete(c)) void release(c);
    }
  };

  const processor = async (job: Job): Promise<{ status: string; rho: number | null }> => {
    const { run: id } = job.data as { run: string };
    const held = context(id);
    try {
      return await runJob(job, held);
    } finally {
      done(held);
    }
  };

  const runJob = async (job: Job, held: Promise<RunContext>): Promise<{ status: string; rho: number | null }> => {
    const { run: id, index } = job.data as { run: string; index: number };
    let c: RunContext;
    try {
      c = await held;
    } catch (e) {
      if (e instanceof UnrecoverableError) throw e;
      // This machine cannot run the run (model missing or different here): give the job back to the others, stop.
      stopWith = e instanceof UserError ? e : new UserError([diag("queue/worker", String(e))]);
      finish();
      throw new Error(`worker ${me}: ${stopWith.message}`);
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), c.run.jobTimeout * 1000);
    let p: PointResult;
    try {
      p = await c.runner.run(index, ac.signal);
    } catch (e) {
      if (ac.signal.aborted) throw new Error(`the job time limit (${c.run.jobTimeout} s) ran out`);
      throw e;
    } finally {
      clearTimeout(timer);
    }
    if (!(await saveResult(h, id, index, pointRecord(p, true), { worker: me, at: Date.now() }))) {
      throw new UnrecoverableError(`the queue no longer holds run ${id} (cleared?): result not stored`);
    }
    points++;
    o.log(formatDone(p));
    return { status: p.status, rho: p.rho !== null && Number.isFinite(p.rho) ? p.rho : null };
  };

  const lock = Math.round(o.lockSeconds * 1000);
  // The worker's connections share the handle's lifeline: Redis gone for longer than its reconnect time stops
  // the worker with one line (its jobs in flight stall, and another worker retries them once Redis is back).
  const worker = new Worker(t.name, processor, {
    connection: h.lifeline.connection,
    concurrency: o.concurrency,
    lockDuration: lock,
    stalledInterval: lock,
    maxStalledCount: 2,
    // Started below, once both connections are up, not here: run() begins with BullMQ's stalled-jobs check,
    // and a check that was waiting for Redis when Redis went away outlives the closed Worker by a whole check
    // interval (--lock); started here, that check waited through the whole start-up.
    autorun: false,
  });
  worker.on("error", (e) => h.lifeline.noteError(e));
  const resume = "when Redis is back, start the worker again (the points it held are retried)";
  void h.lifeline.lost.then((d) => {
    stopWith ??= new UserError([diag(d.code, `${d.message}; ${resume}`)]);
    finish();
  });
  try {
    await guarded(h, worker.waitUntilReady(), resume);
  } catch (e) {
    if (h.lifeline.lostWith() !== null) await startUpSettled(worker);
    await worker.close(true).catch(() => undefined);
    await closeQueue(h);
    throw e;
  }
  worker.on("failed", (job, err) => {
    if (job)
      o.log(
        `point ${(job.data as { index: number }).index}: attempt ${job.attemptsMade} failed: ${err.message.split("\n")[0]}`,
      );
  });
  worker.run().catch((e: unknown) => h.lifeline.noteError(e));

  const onSignal = () => finish();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const drainTimer = o.drain
    ? setInterval(() => {
        h.queue.getJobCountByTypes("wait", "active", "delayed", "prioritized", "paused").then(
          (n) => {
            if (n === 0) finish();
          },
          () => undefined,
        );
      }, 1000)
    : null;

  await finished;
  if (drainTimer) clearInterval(drainTimer);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // Let jobs in flight finish (a second signal kills the process; their jobs then stall and are retried); with
  // Redis gone, nothing can take their results: close at once.
  await worker.close(h.lifeline.lostWith() !== null).catch(() => undefined);
  for (const c of [...contexts.values(), ...retired]) await release(c);
  await closeQueue(h);
  if (stopWith !== null) return fail(...(stopWith as UserError).diagnostics);
  return ok({ points });
}

/**
 * Waits (5 s at most) until both of a Worker's connections have finished starting up, or failed to. Closing a
 * BullMQ connection that is still starting up removes its listeners, and its start-up's failure then comes as
 * an 'error' event that nobody handles: with Redis gone in the first milliseconds of a worker, an uncaught
 * exception after the worker's one line, and exit 1. With Redis gone the start-ups fail within one retry
 * delay: once the lifeline has given up, its retryStrategy ends every client at its next attempt.
 * (The blocking connection is a private field of BullMQ's Worker, pinned at 5.81.5; without it, no wait.)
 */
async function startUpSettled(worker: Worker): Promise<void> {
  const blocking = (worker as unknown as { blockingConnection?: { client?: Promise<unknown> } }).blockingConnection;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([worker.client, blocking?.client]),
    new Promise((r) => {
      timer = setTimeout(r, 5000);
    }),
  ]);
  clearTimeout(timer);
}

async function openContext(h: QueueHandle, id: string, threads: number): Promise<RunContext> {
  const run = await readRun(h);
  if (run === null || run.id !== id)
    throw new UnrecoverableError(`the job belongs to run ${id}, which the queue no longer holds`);
  const s = openSession(run.cfg.modelPath, dataOptionsOf(run.cfg));
  if (!s.ok) throw new UserError(s.diagnostics);
  const here = sha256File(run.cfg.modelPath);
  if (here !== run.modelSha256) {
    throw new UserError([
      diag(
        "queue/model-differs",
        `${run.cfg.modelPath}: this machine's file differs from the one enqueued (sha256 ${here.slice(0, 12)}…, expected ${run.modelSha256.slice(0, 12)}…)`,
      ),
    ]);
  }
  return { run, runner: await poolRunner(run.cfg, threads) };
}
