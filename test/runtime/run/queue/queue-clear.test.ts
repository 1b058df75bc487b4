// `robustc queue clear` and a Redis that goes away, on real redis-servers (test/helpers/redis-server.ts): clear
// removes every key of a queue name and counts what it removed; a measure waiting on a cleared run, or on a
// Redis that is killed, and a worker on a killed Redis end with one line and exit 2 within the reconnect
// time (ROBUSTC_REDIS_RECONNECT_SECONDS). Needs a build (bin/robustc.js runs dist/).

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { closeQueue, openQueue, resultsKey, runKey, saveResult } from "../../../../runtime/run/queue/queue.js";
import { parseQueueUrl } from "../../../../runtime/run/queue/redis-url.js";
import { startRedis, type RedisServer } from "../../../helpers/redis-server.js";
import { lines, robustc } from "../../../helpers/cli.js";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
const RECONNECT = "1";
const env = { ...process.env, ROBUSTC_REDIS_RECONNECT_SECONDS: RECONNECT };
const cli = (...a: string[]) => robustc(a, { env, timeout: 60_000 });
/** A child CLI process; `done` resolves with its exit code, output and the ms from `mark()` to its exit. */
function spawnCli(...a: string[]) {
  const child = spawn("node", ["bin/robustc.js", ...a], { env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "",
    stderr = "",
    t0 = 0;
  child.stdout.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d;
  });
  // "close", not "exit": at "exit" the child's last lines may still be in its pipes, unread.
  const done = new Promise<Ran & { ms: number }>((r) =>
    child.once("close", (code) => r({ code: code ?? 128, stdout, stderr, ms: Date.now() - t0 })),
  );
  return {
    child,
    err: () => stderr,
    mark: () => {
      t0 = Date.now();
    },
    done,
  };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keysOf = async (c: Redis, name: string) => [
  ...(await c.keys(`bull:${name}:*`)),
  ...(await c.keys(`robustc:${name}:*`)),
];
const measureArgs = (url: string, out: string, n: number) => [
  "measure",
  "examples/models/mnist_mlp.onnx",
  "--data",
  "mnist:test",
  "--limit",
  String(n),
  "--algorithm",
  "fgsm",
  "--queue",
  url,
  "--out",
  out,
];

/**
 * A BullMQ Worker of queue `name` as this Redis sees it: its blocking connection (opened only once the
 * command's own connections are up) is named bull:<the name in base64> (BullMQ's getWorkers); "idle" once it
 * has started up and blocks in BZPOPMIN waiting for a job, "starting" before.
 */
async function workerState(port: number, name: string): Promise<"absent" | "starting" | "idle"> {
  const c = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await c.connect();
    const me = `name=bull:${Buffer.from(name).toString("base64")}`;
    const line = ((await c.client("LIST")) as string).split("\n").find((l) => l.split(" ").includes(me));
    return line === undefined ? "absent" : line.split(" ").includes("cmd=bzpopmin") ? "idle" : "starting";
  } finally {
    c.disconnect();
  }
}

/** Waits until `cond` holds (polling every `pollMs`), failing after `ms`. */
async function until(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string | (() => string),
  pollMs = 50,
): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    assert.ok(Date.now() - t0 < ms, `timed out: ${typeof what === "string" ? what : what()}`);
    await sleep(pollMs);
  }
}

describe("robustc queue clear", function () {
  this.timeout(90_000);
  let dir: string, redis: RedisServer, client: Redis;
  before(async () => {
    redis = await startRedis();
    client = new Redis({ host: "127.0.0.1", port: redis.port });
    dir = mkdtempSync(join(tmpdir(), "robustc-queue-clear-"));
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("removes a finished run's jobs, results and run, says how many; then nothing is left and a second clear says so", async () => {
    const url = redis.url("done");
    assert.equal((await cli(...measureArgs(url, join(dir, "done"), 2), "--detach")).code, 0);
    const w = await cli("worker", "--queue", url, "--concurrency", "1", "--drain");
    assert.equal(w.code, 0, w.stderr);
    const jobs = await client.zcard("bull:done:completed"),
      results = await client.hlen(resultsKey("done"));
    assert.ok(jobs === 2 && results === 2, `before clearing: ${jobs} jobs, ${results} results`);
    const r = await cli("queue", "clear", url);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      lines(r.stdout)[0],
      `queue ${url}: removed ${jobs} jobs (${jobs} completed), ${results} results and the run ` +
        "(model examples/models/mnist_mlp.onnx, data mnist:test, eps 20, 2 points, algorithm fgsm)",
    );
    assert.deepEqual(await keysOf(client, "done"), []);
    const again = await cli("queue", "clear", url);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: nothing to clear \(no jobs, results or run under 'done' on this Redis\)\n$/);
  });

  it("a name that was never used: nothing to clear, and no key is created for it", async () => {
    const r = await cli("queue", "clear", redis.url("never"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /nothing to clear/);
    assert.deepEqual(await keysOf(client, "never"), []);
  });

  it("refuses a URL without a queue name and an unreachable Redis: one line, exit 2", async () => {
    for (const [url, expected] of [
      [
        `redis://127.0.0.1:${redis.port}`,
        /^robustc: queue clear 'redis:\/\/127\.0\.0\.1:\d+': missing or invalid queue name ''/,
      ],
      [
        "redis://127.0.0.1:1/q",
        /^robustc: queue clear redis:\/\/127\.0\.0\.1:1\/q: cannot reach Redis \(ECONNREFUSED\)$/,
      ],
    ] as const) {
      const r = await cli("queue", "clear", url);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0], expected);
    }
  });

  it("a measure waiting on a run that is cleared ends with one line and exit 2", async () => {
    const url = redis.url("waiting"),
      out = join(dir, "waiting");
    const m = spawnCli(...measureArgs(url, out, 3));
    await until(() => /waiting for workers/.test(m.err()), 30_000, "the measure never waited");
    const c = await cli("queue", "clear", url);
    assert.match(c.stdout, /removed 3 jobs \(3 waiting\), 0 results and the run/);
    m.mark();
    const r = await m.done;
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      lines(r.stderr).at(-1)!,
      /^robustc: --queue redis:\/\/\S+\/waiting: the run is no longer on the queue \(cleared by robustc queue clear, or Redis restarted without its data\); rerun this command to enqueue it again$/,
    );
    assert.ok(r.ms < 10_000, `${r.ms} ms after the clear`);
    assert.equal(existsSync(join(out, "report.json")), false);
  });

  it("a worker's result for a run no longer on the queue is not stored", async () => {
    const t = parseQueueUrl(redis.url("stale"));
    assert.ok(t.ok);
    const h = await openQueue(t.value);
    assert.ok(h.ok);
    try {
      await client.set(runKey("stale"), JSON.stringify({ id: "new-run" }));
      assert.equal(await saveResult(h.value, "old-run", 0, { index: 0 }, { worker: "w" }), false);
      assert.equal(await client.hlen(resultsKey("stale")), 0);
      assert.equal(await saveResult(h.value, "new-run", 0, { index: 0 }, { worker: "w" }), true);
      assert.deepEqual(JSON.parse((await client.hget(resultsKey("stale"), "0"))!), { index: 0 });
    } finally {
      await closeQueue(h.value);
    }
  });
});

describe("a Redis that goes away", function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-queue-lost-"));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("measure --queue waiting for workers: one line naming the URL, what happened and how to resume; exit 2, no report", async () => {
    const redis = await startRedis();
    let stopped = false;
    try {
      const url = redis.url("lost"),
        out = join(dir, "lost");
      const m = spawnCli(...measureArgs(url, out, 3));
      await until(() => /waiting for workers/.test(m.err()), 30_000, "the measure never waited");
      m.mark();
      stopped = true;
      await redis.stop();
      const r = await m.done;
      assert.equal(r.code, 2, r.stderr);
      assert.equal(
        lines(r.stderr).at(-1),
        `robustc: --queue ${url}: lost the connection to Redis (ECONNREFUSED) and could not reconnect within ${RECONNECT} s; ` +
          `0 of 3 points had finished; when Redis is back, rerun this command to resume, or robustc merge --queue ${url} --out ${out} once the workers are done`,
      );
      assert.ok(r.ms < 10_000, `ended ${r.ms} ms after Redis went away`);
      assert.equal(existsSync(join(out, "report.json")), false);
    } finally {
      // (stop() twice would wait for a second exit: the server was killed by a signal, its exitCode stays null.)
      if (!stopped) await redis.stop();
    }
  });

  /** A worker on queue "idle" whose Redis is killed once `ready` holds: its exit code, stderr and ms after the kill. */
  async function workerLosingRedis(ready: (port: number) => Promise<boolean>, pollMs: number) {
    const redis = await startRedis();
    let stopped = false;
    try {
      const url = redis.url("idle");
      const w = spawnCli("worker", "--queue", url, "--concurrency", "1");
      await until(
        () => ready(redis.port),
        30_000,
        () => `the worker never got there: ${w.err()}`,
        pollMs,
      );
      w.mark();
      stopped = true;
      await redis.stop();
      return { url, ...(await w.done) };
    } finally {
      // (stop() twice would wait for a second exit: the server was killed by a signal, its exitCode stays null.)
      if (!stopped) await redis.stop();
    }
  }
  const lostLine = (url: string) =>
    `robustc: --queue ${url}: lost the connection to Redis (ECONNREFUSED) and could not reconnect within ${RECONNECT} s; ` +
    "when Redis is back, start the worker again (the points it held are retried)";

  it("worker: one line and exit 2 within the reconnect time", async () => {
    // Its start-up line comes before it connects, and Redis gone before it has connected ends it with another
    // line ("cannot reach Redis", or a lost connection with the hint to try again): wait until Redis itself
    // sees the worker waiting for jobs, not for a while after the line.
    const r = await workerLosingRedis(async (port) => (await workerState(port, "idle")) === "idle", 50);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(lines(r.stderr).at(-1), lostLine(r.url));
    assert.ok(r.ms < 10_000, `ended ${r.ms} ms after Redis went away`);
  });

  it("worker: Redis gone while it starts up (its first BullMQ connection just made): the same line and exit 2", async () => {
    // Killed somewhere in BullMQ's start-up or just after it (where exactly varies from run to run; every place
    // must end alike). It once ended with an uncaught 'error' event after the line, exit 1 (a connection closed
    // while starting up: queue-worker.ts startUpSettled), or 30 s after the line (a stalled-jobs check left
    // waiting: commands/worker.ts endWhenPrinted).
    for (let k = 0; k < 3; k++) {
      const r = await workerLosingRedis(async (port) => (await workerState(port, "idle")) !== "absent", 2);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).at(-1), lostLine(r.url));
      assert.doesNotMatch(r.stderr, /\n\s+at |Error/);
      assert.ok(r.ms < 10_000, `ended ${r.ms} ms after Redis went away`);
    }
  });

  it("refuses a reconnect time that is not a positive number: one line, exit 2", async () => {
    const r = await robustc(["worker", "--queue", "redis://127.0.0.1:1/q"], {
      env: { ROBUSTC_REDIS_RECONNECT_SECONDS: "soon" },
    });
    assert.equal(r.code, 2);
    assert.equal(
      lines(r.stderr).at(-1),
      "robustc: ROBUSTC_REDIS_RECONNECT_SECONDS must be a positive number of seconds, got 'soon'",
    );
  });
});
