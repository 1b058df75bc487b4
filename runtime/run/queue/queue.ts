// A measurement on a BullMQ queue over Redis, the side that enqueues and collects: the run's config under
// the queue name (robustc:NAME:run), one job per point (jobId = run id + index, so enqueuing a point twice
// does nothing), and the finished points in a Redis hash (robustc:NAME:results, index -> points.jsonl record).

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { diag, fail, ok, type Diagnostic, type Result } from "../../../compiler/index.js";
import { pointFromRecord } from "../points-file.js";
import type { RunConfig } from "../point-runner.js";
import type { RunIdentity } from "../out-dir.js";
import type { QueueTarget } from "./redis-url.js";
import { type PointResult } from "../../rho/types.js";

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
}

export interface QueueHandle { readonly target: QueueTarget; readonly redis: Redis; readonly queue: Queue }

export const runKey = (name: string) => `robustc:${name}:run`;
export const resultsKey = (name: string) => `robustc:${name}:results`;
/** index -> {"worker": "host:pid", "at": ms}: who finished a point, and when. */
export const finishedKey = (name: string) => `robustc:${name}:finished`;
export const jobId = (run: string, index: number) => `${run}-${index}`;

const errCode = (e: unknown) => (e as NodeJS.ErrnoException)?.code ?? (e instanceof Error ? e.message.split("\n")[0] : String(e));

/** Connects (one try, 5 s), so that a wrong URL is one line, not an endless retry; then a resilient client. */
export async function connectRedis(t: QueueTarget): Promise<Result<Redis>> {
  // bullmq and ioredis load when a queue is opened, not at start-up (~0.25 s every other command saves).
  const { Redis } = await import("ioredis");
  const probe = new Redis({ ...t.connection, lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The connect promise only says "Connection is closed"; the error event has the cause (ECONNREFUSED, ...).
  let cause: unknown = null;
  probe.on("error", (e) => { cause ??= e; });
  try {
    await probe.connect();
    await probe.ping();
  } catch (e) {
    return fail(diag("queue/connect", `--queue ${t.display}: cannot reach Redis (${errCode(cause ?? e)})`));
  } finally {
    probe.disconnect();
  }
  const redis = new Redis({ ...t.connection, maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
  return ok(redis);
}

export async function openQueue(t: QueueTarget): Promise<Result<QueueHandle>> {
  const r = await connectRedis(t);
  if (!r.ok) return r;
  const { Queue } = await import("bullmq");
  const queue = new Queue(t.name, { connection: { ...t.connection, maxRetriesPerRequest: null } });
  queue.on("error", () => undefined);
  // Closing a Queue whose connection is still starting makes BullMQ emit an unhandled "Connection is closed".
  await queue.waitUntilReady();
  return ok({ target: t, redis: r.value, queue });
}

export async function closeQueue(h: QueueHandle): Promise<void> {
  await h.queue.close();
  h.redis.disconnect();
}

/** A data spec or labels path as workers elsewhere must open it: file paths absolute, bundled names as they are. */
function absoluteSpec(spec: string): string {
  if (spec.startsWith("mnist:")) return spec;
  if (spec.startsWith("cifar:")) return `cifar:${resolve(spec.slice("cifar:".length))}`;
  return existsSync(spec) ? resolve(spec) : spec;
}

export function queuedRun(cfg: RunConfig, identity: RunIdentity, indices: readonly number[], eps: number,
  attempts: number, jobTimeout: number): QueuedRun {
  const id = createHash("sha256").update(JSON.stringify(identity)).digest("hex").slice(0, 16);
  const portable: RunConfig = {
    ...cfg, modelPath: resolve(cfg.modelPath), data: absoluteSpec(cfg.data),
    ...(cfg.labels !== undefined ? { labels: absoluteSpec(cfg.labels) } : {}),
  };
  return { version: 1, id, identity, cfg: portable, modelSha256: sha256File(cfg.modelPath), indices: [...indices], eps, attempts, jobTimeout, started: Date.now() };
}

export const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

export function describeRun(r: QueuedRun): string {
  const i = r.identity;
  return `model ${String(i.model)}, data ${String(i.data)}, eps ${String(i.eps)}, ${r.indices.length} points, algorithm ${String(i.algorithm)}`;
}

export async function readRun(h: QueueHandle): Promise<QueuedRun | null> {
  const text = await h.redis.get(runKey(h.target.name));
  return text === null ? null : (JSON.parse(text) as QueuedRun);
}

export interface Enqueued { readonly run: QueuedRun; readonly added: number; readonly finished: number; readonly retried: number }

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
      return fail(diag("queue/other-run", `--queue ${h.target.display} holds another run (${there ? describeRun(there) : "unreadable"}); use another queue name`));
    }
    stored = there;
  }
  const done = new Set((await h.redis.hkeys(resultsKey(name))).map(Number));
  let retried = 0;
  for (const job of await h.queue.getJobs(["failed"])) {
    if (job && (job.data as { run?: string }).run === run.id) { await job.retry("failed"); retried++; }
  }
  const todo = stored.indices.filter((i) => !done.has(i));
  for (let k = 0; k < todo.length; k += 500) {
    await h.queue.addBulk(todo.slice(k, k + 500).map((index) => ({
      name: "point", data: { run: run.id, index },
      opts: { jobId: jobId(run.id, index), attempts: stored.attempts, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: false, removeOnFail: false },
    })));
  }
  return ok({ run: stored, added: todo.length, finished: stored.indices.length - todo.length, retried });
}

export interface Collected {
  readonly points: PointResult[];
  /** Points whose job failed for good (every attempt), with BullMQ's reason. */
  readonly failed: { index: number; attempts: number; reason: string }[];
  /** Distinct workers (host:pid) that finished points, and the last finish time (ms since the epoch); read when complete. */
  readonly workers: number;
  readonly lastFinished: number | null;
}

/** The finished points of a run now (fetching only fields not in `known`), and its failed jobs. */
export async function collect(h: QueueHandle, run: QueuedRun, known: Map<number, PointResult>, withFailed: boolean): Promise<Collected> {
  const want = new Set(run.indices);
  // HLEN first: a poll that finds nothing new costs one small round trip, not the list of every field.
  const unchanged = (await h.redis.hlen(resultsKey(h.target.name))) === known.size;
  const fresh = unchanged ? [] : (await h.redis.hkeys(resultsKey(h.target.name))).filter((f) => want.has(Number(f)) && !known.has(Number(f)));
  for (let k = 0; k < fresh.length; k += 200) {
    const part = fresh.slice(k, k + 200);
    const values = await h.redis.hmget(resultsKey(h.target.name), ...part);
    part.forEach((f, j) => { if (values[j] !== null) known.set(Number(f), pointFromRecord(JSON.parse(values[j] as string))); });
  }
  const failed: { index: number; attempts: number; reason: string }[] = [];
  if (withFailed && (await h.queue.getJobCountByTypes("failed")) > 0) {
    for (const job of await h.queue.getJobs(["failed"])) {
      const d = job?.data as { run?: string; index?: number } | undefined;
      if (d?.run === run.id && d.index !== undefined && !known.has(d.index)) failed.push({ index: d.index, attempts: job.attemptsMade, reason: job.failedReason ?? "unknown" });
    }
  }
  // Who finished what is only read once the run is complete (for its report), not on every poll.
  const complete = known.size + failed.length >= run.indices.length;
  const by = complete ? Object.values(await h.redis.hgetall(finishedKey(h.target.name))).map((v) => JSON.parse(v) as { worker: string; at: number }) : [];
  return {
    points: [...known.values()].sort((a, b) => a.index - b.index), failed: failed.sort((a, b) => a.index - b.index),
    workers: new Set(by.map((b) => b.worker)).size, lastFinished: by.length > 0 ? Math.max(...by.map((b) => b.at)) : null,
  };
}

/** Polls until every point has a result or a failed job; `tick` sees each new point once. */
export async function waitForRun(h: QueueHandle, run: QueuedRun, tick: (p: PointResult) => void, pollMs = 250): Promise<Collected> {
  const known = new Map<number, PointResult>();
  let polls = 0;
  for (;;) {
    const before = new Set(known.keys());
    // Failed jobs are rare and listing them costs a round trip per job: look every 8th poll.
    const c = await collect(h, run, known, polls++ % 8 === 0);
    for (const p of c.points) if (!before.has(p.index)) tick(p);
    if (c.points.length + c.failed.length >= run.indices.length) return c;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** The diagnostics for points a collection lacks: failed jobs (with reasons), then points without any result. */
export function missingDiagnostics(h: QueueHandle, run: QueuedRun, c: Collected, hint: string): Diagnostic[] {
  const have = new Set([...c.points.map((p) => p.index), ...c.failed.map((f) => f.index)]);
  const missing = run.indices.filter((i) => !have.has(i));
  const out = c.failed.slice(0, 10).map((f) => diag("queue/failed", `--queue ${h.target.display}: point ${f.index} failed (${f.attempts} attempt${f.attempts === 1 ? "" : "s"}): ${f.reason.split("\n")[0]}`));
  if (c.failed.length > 10) out.push(diag("queue/failed", `--queue ${h.target.display}: ${c.failed.length - 10} more points failed`));
  if (missing.length > 0) out.push(diag("queue/missing", `--queue ${h.target.display}: ${missing.length} of ${run.indices.length} points have no result yet (${listIndices(missing)})`));
  if (out.length > 0) out.push(diag("queue/hint", hint));
  return out;
}

export function listIndices(xs: readonly number[]): string {
  return xs.length <= 8 ? xs.join(", ") : `${xs.slice(0, 8).join(", ")}, ...`;
}
