// A measurement on a BullMQ queue over Redis, the side that enqueues and collects: the run's config under
// the queue name (robustc:NAME:run), one job per point (jobId = run id + index, so enqueuing a point twice
// does nothing), and the finished points in a Redis hash (robustc:NAME:results, index -> points.jsonl record;
// robustc:NAME:finished says who finished each). clear.ts removes all of these; connection.ts bounds the waits.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { UserError, diag, fail, ok, type Diagnostic, type Result } from "../../../compiler/index.js";
import { pointFromRecord } from "../points-file.js";
import { errCode, lifeline, reconnectSeconds, type Lifeline } from "./connection.js";
import type { RunConfig } from "../point-runner.js";
import type { RunIdentity } from "../out-dir.js";
import type { QueueTarget } from "./redis-url.js";
import { type PointResult } from "../../rho/result.js";
import type { AugmentAlgorithm } from "../../augment.js";

/** What workers read from Redis: everything to rebuild a point's context, and the run's limits. */
export interface QueuedRun {
  readonly version: 1;
  /** sha256 of the run identity (run.json), 16 hex digits: the prefix of every job id. */
  readonly id: string;
  readonly identity: RunIdentity;
  /** The config workers run, with file paths made absolute (workers must see the same files there). */
  readonly cfg: RunConfig;
  readonly modelSha256: string;
  readonly indices: readonly number[];
  readonly eps: number;
  readonly attempts: number;
  /** Seconds one job may run before it is aborted (and retried while attempts remain). */
  readonly jobTimeout: number;
  /** When the run was first enqueued (ms since the epoch). */
  readonly started: number;
  /** A run of robustc augment (absent: of measure): the command's own words its files record (manifest.json). */
  readonly augment?: AugmentRun;
}

/** What robustc augment's files need beyond the points: the model and data as typed, the algorithm and margin. */
export interface AugmentRun {
  readonly model: string;
  readonly data: string;
  readonly algorithm: AugmentAlgorithm;
  readonly margin: number;
}

/** `lifeline`: the connection options of every client of this command, and how the first lost connection ended. */
export interface QueueHandle {
  readonly target: QueueTarget;
  readonly redis: Redis;
  readonly queue: Queue;
  readonly lifeline: Lifeline;
}

export const runKey = (name: string) => `robustc:${name}:run`;
export const resultsKey = (name: string) => `robustc:${name}:results`;
/** index -> {"worker": "host:pid", "at": ms}: who finished a point, and when. */
export const finishedKey = (name: string) => `robustc:${name}:finished`;
export const jobId = (run: string, index: number) => `${run}-${index}`;

/**
 * Connects (one try, 5 s), so that a wrong URL is one line, not an endless retry; then a client that reconnects
 * for a bounded time (connection.ts). `label`: how the URL was given (an option, or the queue command's argument).
 */
export async function connectRedis(
  t: QueueTarget,
  label = "--queue",
): Promise<Result<{ redis: Redis; lifeline: Lifeline }>> {
  const seconds = reconnectSeconds();
  if (typeof seconds !== "number") return fail(seconds);
  // bullmq and ioredis load when a queue is opened, not at start-up (~0.25 s every other command saves).
  const { Redis } = await import("ioredis");
  // commandTimeout: a Redis that accepts the connection but does not answer (stopped) is no Redis either.
  // (No ready check: its INFO would wait on such a Redis beyond both timeouts; the PING below is the check.)
  const probe = new Redis({
    ...t.connection,
    lazyConnect: true,
    connectTimeout: 5000,
    commandTimeout: 5000,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  // The connect promise only says "Connection is closed"; the error event has the cause (ECONNREFUSED, ...).
  let cause: unknown = null;
  probe.on("error", (e) => {
    cause ??= e;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    const timedOut = [cause, e].some((x) => x instanceof Error && x.message === "Command timed out");
    const why = timedOut ? "no answer within 5 s" : errCode(cause ?? e);
    return fail(diag("queue/connect", `${label} ${t.display}: cannot reach Redis (${why})`));
  } finally {
    probe.disconnect();
  }
  const life = lifeline(t, seconds, label);
  const redis = new Redis({ ...life.connection, commandTimeout: life.commandTimeoutMs });
  redis.on("error", (e) => life.noteError(e));
  return ok({ redis, lifeline: life });
}

/** `connected`: a client of connectRedis to use (else one is connected here). */
export async function openQueue(
  t: QueueTarget,
  label = "--queue",
  connected?: { redis: Redis; lifeline: Lifeline },
): Promise<Result<QueueHandle>> {
  let c = connected;
  if (c === undefined) {
    const r = await connectRedis(t, label);
    if (!r.ok) return r;
    c = r.value;
  }
  const { redis, lifeline: life } = c;
  const { Queue } = await import("bullmq");
  const queue = new Queue(t.name, { connection: { ...life.connection, commandTimeout: life.commandTimeoutMs } });
  queue.on("error", (e) => life.noteError(e));
  const h: QueueHandle = { target: t, redis, queue, lifeline: life };
  try {
    // Closing a Queue whose connection is still starting makes BullMQ emit an unhandled "Connection is closed".
    await guarded(h, queue.waitUntilReady(), "try again once Redis is back");
  } catch (e) {
    await closeQueue(h);
    throw e;
  }
  return ok(h);
}

/**
 * Closes the clients; after a lost connection nothing is waited for (there is nobody to answer). Not even
 * BullMQ's disconnect(): it waits for the client's "end" event, which an ioredis client between two reconnect
 * attempts never emits (its disconnect() only clears the timer), so awaiting it left a command with nothing
 * to run and its promise unsettled: Node exited 13 without the command's message. A client not disconnected
 * here ends at its next attempt (the lifeline's retryStrategy gives up for every client once one has).
 */
export async function closeQueue(h: QueueHandle): Promise<void> {
  if (h.lifeline.lostWith() === null) await h.queue.close();
  else
    void h.queue.client.then(
      (c) => c.disconnect(),
      () => undefined,
    );
  h.redis.disconnect();
}

/**
 * `p`, or, once a Redis connection of the command has given up (before `p` settles, or as the reason `p`
 * failed), a UserError: the lost connection and `hint` (how to resume) on one line.
 */
export async function guarded<T>(h: QueueHandle, p: Promise<T>, hint: string | (() => string)): Promise<T> {
  const lostError = (d: Diagnostic) =>
    new UserError([diag(d.code, `${d.message}; ${typeof hint === "string" ? hint : hint()}`)]);
  p.catch(() => undefined);
  const lost = h.lifeline.lost.then((d) => {
    throw lostError(d);
  });
  lost.catch(() => undefined);
  try {
    return await Promise.race([p, lost]);
  } catch (e) {
    // ioredis' commandTimeout (connection.ts): a Redis that does not answer is lost too.
    if (e instanceof Error && e.message === "Command timed out") h.lifeline.noAnswer();
    const d = h.lifeline.lostWith();
    if (d !== null && !(e instanceof UserError)) throw lostError(d);
    throw e;
  }
}

/** A data spec or labels path as workers elsewhere must open it: file paths absolute, bundled names as they are. */
function absoluteSpec(spec: string): string {
  if (spec.startsWith("mnist:")) return spec;
  if (spec.startsWith("cifar:")) return `cifar:${resolve(spec.slice("cifar:".length))}`;
  return existsSync(spec) ? resolve(spec) : spec;
}

export function queuedRun(
  cfg: RunConfig,
  identity: RunIdentity,
  indices: readonly number[],
  eps: number,
  attempts: number,
  jobTimeout: number,
  augment?: AugmentRun,
): QueuedRun {
  const id = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
  const portable: RunConfig = {
    ...cfg,
    modelPath: resolve(cfg.modelPath),
    data: absoluteSpec(cfg.data),
    ...(cfg.labels !== undefined ? { labels: absoluteSpec(cfg.labels) } : {}),
  };
  return {
    version: 1,
    id,
    identity,
    cfg: portable,
    modelSha256: sha256File(cfg.modelPath),
    indices: [...indices],
    eps,
    attempts,
    jobTimeout,
    started: Date.now(),
    ...(augment ? { augment } : {}),
  };
}

export const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

export function describeRun(r: QueuedRun): string {
  const i = r.identity;
  const base = `model ${String(i.model)}, data ${String(i.data)}`;
  return r.augment
    ? `augment ${r.augment.algorithm} (margin ${r.augment.margin}): ${base}, ${r.indices.length} points`
    : `${base}, eps ${String(i.eps)}, ${r.indices.length} points, algorithm ${String(i.algorithm)}`;
}

export async function readRun(h: QueueHandle): Promise<QueuedRun | null> {
  const text = await h.redis.get(runKey(h.target.name));
  return text === null ? null : (JSON.parse(text) as QueuedRun);
}

// KEYS: run, results, finished; ARGV: run id, index, the points.jsonl record, who finished it. One script, so
// that a result of a run no longer on the queue (cleared while its job ran) is never stored for a later run.
const SAVE_RESULT = `local run = redis.call('GET', KEYS[1])
if not run or cjson.decode(run).id ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
return 1`;

/** Stores a finished point of run `id`; false when the queue no longer holds that run (nothing stored). */
export async function saveResult(
  h: QueueHandle,
  id: string,
  index: number,
  record: unknown,
  by: unknown,
): Promise<boolean> {
  const n = h.target.name;
  return (
    (await h.redis.eval(
      SAVE_RESULT,
      3,
      runKey(n),
      resultsKey(n),
      finishedKey(n),
      id,
      String(index),
      JSON.stringify(record),
      JSON.stringify(by),
    )) === 1
  );
}

export interface Enqueued {
  readonly run: QueuedRun;
  readonly added: number;
  readonly finished: number;
  readonly retried: number;
}

/**
 * Puts the run's config under the queue name (or checks that the one there is this run's) and enqueues a job
 * for every point without a result; failed jobs of this run are retried.
 */
export async function enqueueRun(h: QueueHandle, run: QueuedRun): Promise<Result<Enqueued>> {
  const name = h.target.name;
  const set = await h.redis.set(runKey(name), JSON.stringify(run), "NX");
  let stored = run;
  if (set === null) {
    const there = await readRun(h);
    if (there === null || there.id !== run.id) {
      return fail(
        diag(
          "queue/other-run",
          `--queue ${h.target.display} holds another run (${there ? describeRun(there) : "unreadable"}); use another queue name`,
        ),
      );
    }
    stored = there;
  }
  const done = new Set((await h.redis.hkeys(resultsKey(name))).map(Number));
  let retried = 0;
  for (const job of await h.queue.getJobs(["failed"])) {
    if (job && (job.data as { run?: string }).run === run.id) {
      await job.retry("failed");
      retried++;
    }
  }
  const todo = stored.indices.filter((i) => !done.has(i));
  for (let k = 0; k < todo.length; k += 500) {
    await h.queue.addBulk(
      todo.slice(k, k + 500).map((index) => ({
        name: "point",
        data: { run: run.id, index },
        opts: {
          jobId: jobId(run.id, index),
          attempts: stored.attempts,
          backoff: { type: "fixed", delay: 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      })),
    );
  }
  return ok({ run: stored, added: todo.length, finished: stored.indices.length - todo.length, retried });
}

export interface Collected {
  readonly points: PointResult[];
  /** Points whose job failed for good (every attempt), with BullMQ's reason. */
  readonly failed: { index: number; attempts: number; reason: string }[];
  /**
   * Distinct workers (host:pid) that finished points, and the last finish time (ms since the epoch); read when
   * complete.
   */
  readonly workers: number;
  readonly lastFinished: number | null;
}

/** The finished points of a run now (fetching only fields not in `known`), and its failed jobs. */
export async function collect(
  h: QueueHandle,
  run: QueuedRun,
  known: Map<number, PointResult>,
  withFailed: boolean,
): Promise<Collected> {
  const want = new Set(run.indices);
  // HLEN first: a poll that finds nothing new costs one small round trip, not the list of every field.
  const unchanged = (await h.redis.hlen(resultsKey(h.target.name))) === known.size;
  const fresh = unchanged
    ? []
    : (await h.redis.hkeys(resultsKey(h.target.name))).filter((f) => want.has(Number(f)) && !known.has(Number(f)));
  for (let k = 0; k < fresh.length; k += 200) {
    const part = fresh.slice(k, k + 200);
    const values = await h.redis.hmget(resultsKey(h.target.name), ...part);
    part.forEach((f, j) => {
      if (values[j] !== null) known.set(Number(f), pointFromRecord(JSON.parse(values[j] as string)));
    });
  }
  const failed: { index: number; attempts: number; reason: string }[] = [];
  if (withFailed && (await h.queue.getJobCountByTypes("failed")) > 0) {
    for (const job of await h.queue.getJobs(["failed"])) {
      const d = job?.data as { run?: string; index?: number } | undefined;
      if (d?.run === run.id && d.index !== undefined && !known.has(d.index))
        failed.push({ index: d.index, attempts: job.attemptsMade, reason: job.failedReason ?? "unknown" });
    }
  }
  // Who finished what is only read once the run is complete (for its report), not on every poll.
  const complete = known.size + failed.length >= run.indices.length;
  const by = complete
    ? Object.values(await h.redis.hgetall(finishedKey(h.target.name))).map(
        (v) => JSON.parse(v) as { worker: string; at: number },
      )
    : [];
  return {
    points: [...known.values()].sort((a, b) => a.index - b.index),
    failed: failed.sort((a, b) => a.index - b.index),
    workers: new Set(by.map((b) => b.worker)).size,
    lastFinished: by.length > 0 ? Math.max(...by.map((b) => b.at)) : null,
  };
}

/** Polls until every point has a result or a failed job; `tick` sees each new point once. */
export async function waitForRun(
  h: QueueHandle,
  run: QueuedRun,
  tick: (p: PointResult) => void,
  pollMs = 250,
): Promise<Collected> {
  const known = new Map<number, PointResult>();
  let polls = 0;
  for (;;) {
    const before = new Set(known.keys());
    const rare = polls++ % 8 === 0;
    // Failed jobs are rare and listing them costs a round trip per job: look every 8th poll. Then, too, check
    // that the run is still there: with it cleared (robustc queue clear), no job would ever answer.
    if (rare && (await readRun(h))?.id !== run.id) {
      throw new UserError([
        diag(
          "queue/cleared",
          `--queue ${h.target.display}: the run is no longer on the queue (cleared by robustc queue clear, or Redis restarted without its data); rerun this command to enqueue it again`,
        ),
      ]);
    }
    const c = await collect(h, run, known, rare);
    for (const p of c.points) if (!before.has(p.index)) tick(p);
    if (c.points.length + c.failed.length >= run.indices.length) return c;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The diagnostics for points a collection lacks: failed jobs (with reasons), then points without any result. */
export function missingDiagnostics(h: QueueHandle, run: QueuedRun, c: Collected, hint: string): Diagnostic[] {
  const have = new Set([...c.points.map((p) => p.index), ...c.failed.map((f) => f.index)]);
  const missing = run.indices.filter((i) => !have.has(i));
  const out = c.failed
    .slice(0, 10)
    .map((f) =>
      diag(
        "queue/failed",
        `--queue ${h.target.display}: point ${f.index} failed (${f.attempts} attempt${f.attempts === 1 ? "" : "s"}): ${f.reason.split("\n")[0]}`,
      ),
    );
  if (c.failed.length > 10)
    out.push(diag("queue/failed", `--queue ${h.target.display}: ${c.failed.length - 10} more points failed`));
  if (missing.length > 0)
    out.push(
      diag(
        "queue/missing",
        `--queue ${h.target.display}: ${missing.length} of ${run.indices.length} points have no result yet (${listIndices(missing)})`,
      ),
    );
  if (out.length > 0) out.push(diag("queue/hint", hint));
  return out;
}

export function listIndices(xs: readonly number[]): string {
  return xs.length <= 8 ? xs.join(", ") : `${xs.slice(0, 8).join(", ")}, ...`;
}
