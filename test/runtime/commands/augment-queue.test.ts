// augment spread over processes, through the real CLI (make build first) on 6 mnist_mlp training digits:
// --queue on a real redis-server (Debian's, started here on a free port; missing is a failure) with two
// `robustc worker` child processes, and --shard 1/2 and 2/2 merged by robustc merge, each against one
// unsharded process: the same examples in the same order (images.npy, labels.npy, index.npy and points.jsonl
// byte for byte) and the same counts; table1's measurements (examples/table1.sh's commands) on the same
// workers give bench/table1.ts's table of one process. Bad input is refused with one line and exit 2.

import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis, type RedisServer } from "../../helpers/redis-server.js";
import { lines, refusedOneLine, robustc } from "../../helpers/cli.js";

const MODEL = "examples/models/mnist_mlp.onnx";
const N = 6;
// margin 1 (logits): the LP finds examples for most MLP digits (augment.test.ts).
const ARGS = ["augment", MODEL, "--data", "mnist:train", "--limit", String(N), "--margin", "1"];
const FILES = ["images.npy", "labels.npy", "index.npy", "points.jsonl"];
// A child waiting on a queue nobody serves must not outlive the test.
const cli = (...a: string[]) => robustc(a, { timeout: 120_000 });
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
/** What must not differ between two augment outputs of one run: everything but how it was spread and timed. */
const counts = (dir: string) => {
  const m = manifest(dir);
  for (const k of ["jobs", "seconds", "shard", "shards", "merged_from", "queue", "workers", "attempts", "job_timeout"])
    delete m[k];
  return m;
};
function sameExamples(dir: string, whole: string): void {
  for (const f of FILES) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(whole, f))), `${dir}: ${f}`);
  assert.deepEqual(counts(dir), counts(whole));
}

/** The threads of a process now (Linux: /proc/PID/status). */
const threads = (c: ChildProcess) =>
  Number(/^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${c.pid}/status`, "utf8"))![1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `robustc worker` child; `points` the indices it printed as finished. */
function spawnWorker(url: string): { child: ChildProcess; points: () => number[]; done: Promise<number> } {
  const child = spawn("node", ["bin/robustc.js", "worker", "--queue", url, "--concurrency", "1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.resume();
  const done = new Promise<number>((r) => child.once("close", (code) => r(code ?? 1)));
  const points = () =>
    lines(stdout)
      .map((l) => /^point (\d+): (?!attempt)/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m![1]));
  return { child, points, done };
}

describe("robustc augment --queue and --shard", function () {
  this.timeout(180_000);
  let dir: string, redis: RedisServer;
  const workers: ChildProcess[] = [];
  /** Per worker: whether it finished points of the first run (and so holds that run's thread and models). */
  let servedFirst: boolean[] = [];
  before(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), "robustc-augment-queue-"));
    const whole = await cli(...ARGS, "--out", join(dir, "whole"));
    assert.equal(whole.code, 0, whole.stderr);
    assert.ok(manifest(join(dir, "whole")).kept >= 3, "too few examples to compare");
  });
  after(async () => {
    for (const w of workers)
      if (w.exitCode === null && w.signalCode === null) {
        const gone = new Promise((r) => w.once("close", r));
        w.kill("SIGKILL");
        await gone;
      }
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("two workers against one process: the same examples in the same order; merge --queue writes them again", async () => {
    const url = redis.url("two");
    const a = spawnWorker(url),
      b = spawnWorker(url);
    workers.push(a.child, b.child);
    const q = await cli(...ARGS, "--queue", url, "--out", join(dir, "queued"));
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stderr, new RegExp(`${N} points enqueued, 0 already finished`));
    assert.match(q.stdout, new RegExp(`^augment lp \\(margin 1\\) on mnist:train: ${N} points tried`));
    assert.equal(existsSync(join(dir, "queued.partial")), false);
    sameExamples(join(dir, "queued"), join(dir, "whole"));
    // Every point was computed by the workers, once.
    const byA = a.points(),
      byB = b.points();
    servedFirst = [byA.length > 0, byB.length > 0];
    assert.deepEqual(
      [...byA, ...byB].sort((x, y) => x - y),
      Array.from({ length: N }, (_, i) => i),
    );
    const m = manifest(join(dir, "queued"));
    assert.equal(m.queue, url);
    assert.equal(m.workers, (byA.length > 0 ? 1 : 0) + (byB.length > 0 ? 1 : 0));
    assert.equal(m.run.margin, 1);
    const merged = await cli("merge", "--queue", url, "--out", join(dir, "queue-merged"));
    assert.equal(merged.code, 0, merged.stderr);
    assert.doesNotMatch(merged.stdout, /report/);
    sameExamples(join(dir, "queue-merged"), join(dir, "whole"));
    // The queue holds this augment run: a measure (another run) under its name is refused, nothing written.
    const other = await cli(
      "measure",
      MODEL,
      "--data",
      "mnist:train",
      "--limit",
      "2",
      "--queue",
      url,
      "--out",
      join(dir, "m"),
    );
    refusedOneLine(
      other,
      /holds another run \(augment lp \(margin 1\): model .*mnist_mlp\.onnx, data mnist:train, 6 points\)/,
    );
    assert.equal(existsSync(join(dir, "m")), false);
  });

  it("after robustc queue clear the same workers take the next run (another margin): as one process again, the first run's threads closed", async () => {
    const url = redis.url("two");
    const before = workers.map(threads);
    const cleared = await cli("queue", "clear", url);
    assert.equal(cleared.code, 0, cleared.stderr);
    const args = [...ARGS.slice(0, -1), "2"];
    const local = await cli(...args, "--out", join(dir, "m2-whole"));
    assert.equal(local.code, 0, local.stderr);
    const q = await cli(...args, "--queue", url, "--out", join(dir, "m2-queued"));
    assert.equal(q.code, 0, q.stderr);
    sameExamples(join(dir, "m2-queued"), join(dir, "m2-whole"));
    assert.equal(manifest(join(dir, "m2-queued")).margin, 2);
    // Each worker that ran the first run closed its thread (and that thread's models) for the second's: it has
    // no more threads than before (one that had none of the first run's points opened its first).
    const grown = () => workers.filter((w, k) => servedFirst[k] && threads(w) > before[k]);
    const t0 = Date.now();
    while (grown().length > 0 && Date.now() - t0 < 10_000) await sleep(100);
    assert.ok(servedFirst.some((x) => x));
    assert.equal(grown().length, 0, `threads ${before} before, ${workers.map(threads)} after (served: ${servedFirst})`);
  });

  it("table1's measurements handed to the same workers, cleared between steps as examples/table1.sh does: the same table", async () => {
    const url = redis.url("two");
    assert.equal((await cli("queue", "clear", url)).code, 0);
    for (const [out, spread] of [
      ["t1-local", ["--jobs", "1"]],
      ["t1-queue", ["--queue", url]],
    ] as const) {
      mkdirSync(join(dir, out, "measure"), { recursive: true });
      writeFileSync(join(dir, out, "settings.json"), JSON.stringify({ bases: "mnist_mlp", test_points: 4 }) + "\n");
      for (const [how, alg] of [
        ["bracket", "lp"],
        ["lbfgsb", "lbfgsb"],
      ]) {
        const m = await cli(
          "measure",
          MODEL,
          "--data",
          "mnist:test",
          "--limit",
          "4",
          "--eps",
          "20",
          ...spread,
          "--algorithm",
          alg,
          "--out",
          join(dir, out, "measure", `mnist_mlp-original-${how}`),
        );
        assert.equal(m.code, 0, m.stderr);
        if (spread[0] === "--queue") assert.equal((await cli("queue", "clear", url)).code, 0);
      }
      const t = spawnSync("npx", ["tsx", "bench/table1.ts", join(dir, out)], { encoding: "utf8", timeout: 120_000 });
      assert.equal(t.status, 0, t.stderr);
    }
    const table = (out: string, f: string) =>
      readFileSync(join(dir, out, f), "utf8")
        .replaceAll(`${join(dir, out)}/`, "OUT/")
        .replace(/"(\w*seconds)": [\d.]+/g, '"$1": 0');
    assert.match(table("t1-queue", "table1.md"), /\| mnist_mlp \(original\) \| [\d.]+% \| \d/);
    assert.equal(table("t1-queue", "table1.md"), table("t1-local", "table1.md"));
    assert.equal(table("t1-queue", "table1.json"), table("t1-local", "table1.json"));
    for (const w of workers) {
      const gone = new Promise((r) => w.once("close", r));
      w.kill("SIGTERM");
      await gone;
      assert.equal(w.exitCode, 0);
    }
  });

  it("shards 1/2 and 2/2 merge into the unsharded run's examples; incomplete or foreign shards are refused", async () => {
    for (const k of [1, 2]) {
      const r = await cli(...ARGS, "--shard", `${k}/2`, "--out", join(dir, `s${k}`));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\(shard ${k}/2\\): ${N / 2} points tried`));
      assert.equal(manifest(join(dir, `s${k}`)).shard, `${k}/2`);
      // Only its own points: every other one, from the k-th.
      const idx = readFileSync(join(dir, `s${k}`, "points.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).index as number);
      assert.ok(idx.every((i) => i % 2 === k - 1) && idx.length > 0, `shard ${k}: ${idx}`);
    }
    const m = await cli("merge", join(dir, "s2"), join(dir, "s1"), "--out", join(dir, "merged"));
    assert.equal(m.code, 0, m.stderr);
    sameExamples(join(dir, "merged"), join(dir, "whole"));
    assert.deepEqual(manifest(join(dir, "merged")).shards, ["1/2", "2/2"]);

    const other = await cli(...ARGS.slice(0, -1), "2", "--shard", "2/2", "--out", join(dir, "s2-margin2"));
    assert.equal(other.code, 0, other.stderr);
    const refused: [string[], RegExp][] = [
      [[join(dir, "s1")], /shard 2\/2 missing/],
      [[join(dir, "s1"), join(dir, "s1")], /are both shard 1\/2: each shard once/],
      [[join(dir, "s1"), join(dir, "s2-margin2")], /another run than .*s1 \(--margin 1 vs 2\)/],
      [[join(dir, "s1"), join(dir, "whole")], /not a shard \(augment without --shard\)/],
    ];
    for (const [dirs, re] of refused) {
      const r = await cli("merge", ...dirs, "--out", join(dir, "refused"));
      refusedOneLine(r, re);
      assert.equal(existsSync(join(dir, "refused")), false);
      assert.equal(existsSync(join(dir, "refused.partial")), false);
    }
  });

  it("bad input: one line, exit 2, nothing written", async () => {
    const url = redis.url("bad");
    const cases: [string[], RegExp][] = [
      [["--shard", "1/2", "--queue", url], /^robustc: --shard and --queue are two ways to spread a run: use one$/],
      [["--shard", "3/2"], /^robustc: --shard must be K\/N with 1 <= K <= N \(e\.g\. 2\/8\), got '3\/2'$/],
      [["--shard", "1-2"], /--shard must be K\/N/],
      [["--detach"], /^robustc: --detach is an option of --queue runs/],
      [
        ["--queue", "redis://127.0.0.1/"],
        /^robustc: --queue 'redis:\/\/127\.0\.0\.1\/': missing or invalid queue name/,
      ],
      [["--queue", url, "--attempts", "0"], /^robustc: --attempts must be a positive integer, got 0$/],
    ];
    for (const [extra, re] of cases) {
      const out = join(dir, "bad");
      const r = await cli(...ARGS, ...extra, "--out", out);
      refusedOneLine(r, re);
      assert.equal(existsSync(out), false, extra.join(" "));
      assert.equal(existsSync(`${out}.partial`), false, extra.join(" "));
    }
  });
});
