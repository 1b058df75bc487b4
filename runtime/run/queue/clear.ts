// `robustc queue clear`'s work: removes everything one queue name holds on a Redis, BullMQ's keys (bull:NAME:*,
// by obliterate) and robustc's own (robustc:NAME:run, :results, :finished), and counts what it removed.
// Nothing is created for a name that holds nothing (opening a BullMQ Queue would write bull:NAME:meta).

import type { Redis } from "ioredis";
import { ok, type Result } from "../../../compiler/index.js";
import {
  closeQueue,
  connectRedis,
  finishedKey,
  guarded,
  openQueue,
  readRun,
  resultsKey,
  runKey,
  type QueuedRun,
} from "./queue.js";
import type { QueueTarget } from "./redis-url.js";

export interface Cleared {
  /** Jobs by BullMQ state (waiting, active, completed, failed, ...), only the states that had some. */
  readonly jobs: Record<string, number>;
  readonly results: number;
  /** The run whose config the queue held, if any. */
  readonly run: QueuedRun | null;
  /** Keys under the name before (0: nothing to clear) and after (0 unless a client wrote while clearing). */
  readonly keysBefore: number;
  readonly keysAfter: number;
}

/** Keys matching a prefix, by SCAN (KEYS would block a busy Redis); queue names hold no glob characters. */
async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0",
    n = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    n += keys.length;
  } while (cursor !== "0");
  return n;
}

const keysOf = async (redis: Redis, name: string) =>
  (await countKeys(redis, `bull:${name}:`)) + (await countKeys(redis, `robustc:${name}:`));

export async function clearQueue(t: QueueTarget, label: string): Promise<Result<Cleared>> {
  const c = await connectRedis(t, label);
  if (!c.ok) return c;
  const { redis } = c.value;
  const before = await keysOf(redis, t.name).catch((e: unknown) => {
    redis.disconnect();
    throw e;
  });
  if (before === 0) {
    redis.disconnect();
    return ok({ jobs: {}, results: 0, run: null, keysBefore: 0, keysAfter: 0 });
  }
  const opened = await openQueue(t, label, c.value);
  if (!opened.ok) return opened;
  const h = opened.value;
  try {
    return ok(
      await guarded(
        h,
        (async () => {
          const counts = await h.queue.getJobCounts();
          const jobs = Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
          const results = await h.redis.hlen(resultsKey(t.name));
          let run: QueuedRun | null = null;
          try {
            run = await readRun(h);
          } catch {
            run = null;
          }
          // force: active jobs too (their workers' results are then refused: queue.ts saveResult checks the run).
          await h.queue.obliterate({ force: true });
          await h.redis.del(runKey(t.name), resultsKey(t.name), finishedKey(t.name));
          return { jobs, results, run, keysBefore: before, keysAfter: await keysOf(h.redis, t.name) };
        })(),
        "nothing or part of the queue was removed: run queue clear again once Redis is back",
      ),
    );
  } finally {
    await closeQueue(h);
  }
}
