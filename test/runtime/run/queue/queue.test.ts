// measure --queue on a real redis-server (Debian's, started here on a free port; missing is a failure) with
// two `robustc worker` child processes, one killed by SIGKILL while it holds a job: its job stalls, the other
// worker retries it, and the report equals a single-process run's. Needs `make build` (bin/robustc.js).

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { finishedKey, jobId, runKey } from "../../../../runtime/run/queue/queue.js";
import { parseQueueUrl } from "../../../../runtime/run/queue/redis-url.js";
import { runPoints, runReport } from "../../../helpers/compare-runs.js";
import { startRedis, type RedisServer } from "../../../helpers/redis-server.js";
import { lines, robustc } from "../../../helpers/cli.js";

const N = 10;
const ARGS = ["measure", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--limit", String(N), "--eps", "20"];
interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}
// A child waiting on a queue nobody serves must not outlive the test.
const cli = (...a: string[]) => robustc(a, { timeout: 120_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child CLI process whose output is collected; `done` resolves with its exit code and output. */
function spawnCli(...a: string[]): { child: ChildProcess; out: () => string; err: () => string; done: Promise<Ran> } {
  const child = spawn("node", ["bin/robustc.js", ...a], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "",
    stderr = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d;
  });
  // "close", not "exit": at "exit" the child's last lines may still be in its pipes, unread.
  const done = new Promise<Ran>((r) =>
    child.once("close", (code, signal) => r({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return { child, out: () => stdout, err: () => stderr, done };
}
/** Whether a process is stopped (SIGSTOP): state T in /proc/PID/stat (after the command name in parentheses). */
const isStopped = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
};
const finishedPoints = (stdout: string) =>
  lines(stdout)
    .map((l) => /^point (\d+): (?!attempt)/.exec(l))
    .filter((m) => m !== null)
    .map((m) => Number(m![1]));

describe("runtime/queue: redis URLs", () => {
  it("reads host, port, queue name, credentials and db; refuses what is not redis://HOST:PORT/NAME", () => {
    const r = parseQueueUrl("redis://user:s3cret@example.org:7000/robust.run-1?db=2");
    assert.ok(r.ok);
    assert.deepEqual(r.value, {
      name: "robust.run-1",
      display: "redis://user@example.org:7000/robust.run-1",
      connection: { host: "example.org", port: 7000, username: "user", password: "s3cret", db: 2 },
    });
    const d = parseQueueUrl("rediss://10.0.0.1/q");
    assert.ok(d.ok && d.value.connection.port === 6379 && d.value.connection.tls !== undefined);
    for (const bad of ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379/a:b", "http://h/q", "q", "redis://h/q?db=x"]) {
      const b = parseQueueUrl(bad);
      assert.ok(!b.ok && b.diagnostics[0].message.startsWith(`--queue '${bad}'`), bad);
    }
  });
});

describe("robustc measure --queue and robustc worker", function () {
  this.timeout(180_000);
  let dir: string, redis: RedisServer, client: Redis;
  const workers: ChildProcess[] = [];
  before(async () => {
    redis = await startRedis();
    client = new Redis({ host: "127.0.0.1", port: redis.port });
    dir = mkdtempSync(join(tmpdir(), "robustc-queue-"));
    const whole = await cli(...ARGS, "--out", join(dir, "whole"));
    assert.equal(whole.code, 0, whole.stderr);
  });
  after(async () => {
    for (const w of workers)
      if (w.exitCode === null && w.signalCode === null) {
        const gone = new Promise((r) => w.once("exit", r));
        w.kill("SIGKILL");
        await gone;
      }
    client?.disconnect();
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("two workers, one killed by SIGKILL holding a job: every point once, the report equals a single-process run", async () => {
    const url = redis.url("kill");
    const measure = spawnCli(...ARGS, "--queue", url, "--out", join(dir, "queued"));
    const a = spawnCli("worker", "--queue", url, "--concurrency", "1", "--lock", "2");
    const b = spawnCli("worker", "--queue", url, "--concurrency", "1", "--lock", "2");
    workers.push(a.child, b.child);
    // Kill worker a in the state the test is about, read from Redis (not from a's output: a prints a point
    // after storing its result and before BullMQ completes its job, so "a printed a point and two jobs are
    // active" also held while a's only active job was the one it had just printed; killed then, that job was
    // retried by b, b was recorded as the finisher of every point, and the report said 1 worker, not 2):
    // a has completed a job (BullMQ's completed set, finished by a), so a stays its finisher; two jobs are
    // active, one each (concurrency 1), so a holds one in flight; and a job still waits. a is stopped
    // (SIGSTOP) while the state is read, so it cannot move on between the reading and the kill.
    const aWorker = `${hostname()}:${a.child.pid}`;
    const inState = async (): Promise<boolean> => {
      const run = await client.get(runKey("kill"));
      if (run === null) return false;
      const id = (JSON.parse(run) as { id: string }).id;
      let completedByA = 0;
      for (const [index, by] of Object.entries(await client.hgetall(finishedKey("kill"))))
        if (
          (JSON.parse(by) as { worker: string }).worker === aWorker &&
          (await client.zscore("bull:kill:completed", jobId(id, Number(index)))) !== null
        )
          completedByA++;
      return (
        completedByA >= 1 && (await client.llen("bull:kill:active")) === 2 && (await client.llen("bull:kill:wait")) >= 1
      );
    };
    const t0 = Date.now();
    for (;;) {
      assert.ok(Date.now() - t0 < 120_000, `worker a never held a job after completing one: ${a.out()}`);
      assert.equal(measure.child.exitCode, null, "the run ended before a worker could be killed");
      if (await inState()) {
        a.child.kill("SIGSTOP");
        while (!isStopped(a.child.pid!)) await sleep(5);
        if (await inState()) break;
        a.child.kill("SIGCONT");
      }
      await sleep(20);
    }
    a.child.kill("SIGKILL");
    const byA = finishedPoints((await a.done).stdout);
    const m = await measure.done;
    assert.equal(m.code, 0, m.stderr);
    assert.match(m.stderr, new RegExp(`${N} points enqueued, 0 already finished`));
    assert.match(m.stdout, /phi\(20\) in \[phi_lower, phi_upper\]/);
    const byB = finishedPoints(b.out());
    assert.ok(byA.length < N && byB.length > 0, `a finished ${byA}, b ${byB}`);
    // The point a held when it died stalled (its lock ran out) and was retried by b, so a and b finished all.
    const events = await client.xrange("bull:kill:events", "-", "+");
    assert.ok(
      events.some(([, f]) => f[0] === "event" && f[1] === "stalled"),
      "no job stalled",
    );
    assert.deepEqual(
      [...new Set([...byA, ...byB])].sort((x, y) => x - y),
      Array.from({ length: N }, (_, i) => i),
    );
    assert.deepEqual(runPoints(join(dir, "queued")), runPoints(join(dir, "whole")));
    assert.deepEqual(runReport(join(dir, "queued")), runReport(join(dir, "whole")));
    const settings = (await import("node:fs")).readFileSync(join(dir, "queued", "report.json"), "utf8");
    assert.equal(JSON.parse(settings).settings.workers, 2);
    // A worker stops on SIGTERM after its jobs in flight.
    b.child.kill("SIGTERM");
    const bDone = await b.done;
    assert.equal(bDone.code, 0, bDone.stderr);
    assert.match(bDone.stderr, /robustc: worker stopped after \d+ points\n$/);
  });

  it("enqueuing the finished run again does nothing; merge --queue writes the same report", async () => {
    const url = redis.url("kill");
    const again = await cli(...ARGS, "--queue", url, "--out", join(dir, "again"));
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, new RegExp(`0 points enqueued, ${N} already finished`));
    assert.equal(await client.llen("bull:kill:wait"), 0);
    assert.equal(await client.zcard("bull:kill:completed"), N, "one job per point, completed once");
    assert.deepEqual(runPoints(join(dir, "again")), runPoints(join(dir, "whole")));
    const merged = await cli("merge", "--queue", url, "--out", join(dir, "merged"));
    assert.equal(merged.code, 0, merged.stderr);
    assert.deepEqual(runPoints(join(dir, "merged")), runPoints(join(dir, "whole")));
    assert.deepEqual(runReport(join(dir, "merged")), runReport(join(dir, "whole")));
  });

  it("--detach enqueues and exits; a --drain worker runs the points; merge --queue reports them", async () => {
    const url = redis.url("detached");
    const args = [
      "measure",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "3",
      "--eps",
      "20",
      "--queue",
      url,
    ];
    const d = await cli(...args, "--detach", "--out", join(dir, "detached"));
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, new RegExp(`robustc merge --queue ${url} --out`));
    const early = await cli("merge", "--queue", url, "--out", join(dir, "early"));
    assert.equal(early.code, 2);
    assert.match(lines(early.stderr)[0], /^robustc: --queue .*detached: 3 of 3 points have no result yet \(0, 1, 2\)$/);
    assert.equal(existsSync(join(dir, "early")), false);
    const w = await cli("worker", "--queue", url, "--concurrency", "1", "--drain");
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual(finishedPoints(w.stdout).sort(), [0, 1, 2]);
    const m = await cli("merge", "--queue", url, "--out", join(dir, "detached"));
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(runPoints(join(dir, "detached")), runPoints(join(dir, "whole")).slice(0, 3));
  });

  it("a point whose job outlives --job-timeout on every attempt fails: one line each, exit 2, no report", async () => {
    const url = redis.url("timeouts");
    const args = [
      "measure",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "2",
      "--eps",
      "20",
      "--queue",
      url,
      "--attempts",
      "2",
      "--job-timeout",
      "0.01",
      "--out",
      join(dir, "timeouts"),
    ];
    assert.equal((await cli(...args, "--detach")).code, 0);
    const w = await cli("worker", "--queue", url, "--concurrency", "1", "--drain");
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /^point 0: attempt 2 failed: the job time limit \(0\.01 s\) ran out$/m);
    const merged = await cli("merge", "--queue", url, "--out", join(dir, "timeouts-merged"));
    assert.equal(merged.code, 2);
    assert.deepEqual(
      lines(merged.stderr).map((l) => l.replace(/redis:\/\/\S*timeouts:/, "URL:")),
      [
        "robustc: --queue URL: point 0 failed (2 attempts): the job time limit (0.01 s) ran out",
        "robustc: --queue URL: point 1 failed (2 attempts): the job time limit (0.01 s) ran out",
        "robustc: rerun the measure --queue command to retry failed points, or wait for the workers",
      ],
    );
    assert.equal(existsSync(join(dir, "timeouts-merged")), false);
    // Rerunning the measure retries the failed points (here they fail again) and ends with the same lines.
    const m = spawnCli(...args);
    while (!/2 failed ones retried/.test(m.err())) {
      assert.equal(m.child.exitCode, null, `the measure ended before retrying: ${m.err()}`);
      await sleep(20);
    }
    assert.equal((await cli("worker", "--queue", url, "--concurrency", "1", "--drain")).code, 0);
    const r = await m.done;
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /point 1 failed \(3 attempts\): the job time limit \(0\.01 s\) ran out\nrobustc: rerun this command to retry the failed points\n$/,
    );
    assert.equal(existsSync(join(dir, "timeouts", "report.json")), false);
  });

  it("a worker that cannot open the model stops with one line, exit 2, and its job is tried again", async () => {
    const url = redis.url("nomodel"),
      model = join(dir, "copy.onnx");
    (await import("node:fs")).copyFileSync("examples/models/mnist_mlp.onnx", model);
    const d = await cli(
      "measure",
      model,
      "--data",
      "mnist:test",
      "--limit",
      "2",
      "--queue",
      url,
      "--detach",
      "--out",
      join(dir, "nomodel"),
    );
    assert.equal(d.code, 0, d.stderr);
    rmSync(model);
    const w = await cli("worker", "--queue", url, "--concurrency", "1");
    assert.equal(w.code, 2);
    assert.match(lines(w.stderr).at(-1)!, /^robustc: .*copy\.onnx: cannot read the model file \(ENOENT\)$/);
    assert.equal(
      (await client.llen("bull:nomodel:wait")) + (await client.zcard("bull:nomodel:delayed")),
      2,
      "both points still to run",
    );
  });

  it("refuses another run on a queue name, an unreachable Redis and a bad URL: one line, exit 2, no --out", async () => {
    const taken = await cli(...ARGS, "--queue", redis.url("taken"), "--detach", "--out", join(dir, "taken"));
    assert.equal(taken.code, 0, taken.stderr);
    const cases: [string[], RegExp][] = [
      [
        [...ARGS.map((a) => (a === "20" ? "10" : a)), "--queue", redis.url("taken")],
        /^robustc: --queue redis:\/\/127\.0\.0\.1:\d+\/taken holds another run \(model examples\/models\/mnist_mlp\.onnx, data mnist:test, eps 20, 10 points, algorithm lp\); use another queue name$/,
      ],
      [
        [...ARGS, "--queue", "redis://127.0.0.1:1/q"],
        /^robustc: --queue redis:\/\/127\.0\.0\.1:1\/q: cannot reach Redis \(ECONNREFUSED\)$/,
      ],
      [
        [...ARGS, "--queue", "redis://127.0.0.1:1"],
        /^robustc: --queue 'redis:\/\/127\.0\.0\.1:1': missing or invalid queue name ''/,
      ],
    ];
    for (const [args, expected] of cases) {
      const out = join(dir, "refused");
      const r = await cli(...args, "--out", out);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0], expected);
      assert.equal(existsSync(out), false);
    }
    const w = await cli("worker", "--queue", "redis://127.0.0.1:1/q");
    assert.equal(w.code, 2);
    assert.match(
      lines(w.stderr).at(-1)!,
      /^robustc: --queue redis:\/\/127\.0\.0\.1:1\/q: cannot reach Redis \(ECONNREFUSED\)$/,
    );
  });
});
