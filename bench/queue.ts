// Prints the throughput (points/s, end to end through the CLI) of one measurement run four ways: measure
// --jobs 1 and --jobs 2 without a queue, and measure --queue with 1 and 2 local `robustc worker` processes
// (concurrency 1 each) on a throwaway local redis-server; then the queue's overhead per point. Figures, never
// assertions (the assertions are in test/runtime/run/queue/queue.test.ts). Needs `make build` and redis-server.
//
//   npx tsx bench/queue.ts [model] [points]        (defaults: mnist_mlp, 40; QUEUE_BENCH_POINTS too)
//
// Workers are started (and connected) before the timed `measure --queue`, as on a cluster; each worker thread
// loads the model on its first job, as each --jobs thread does, so both sides pay the same warm-up.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRedis } from "../test/helpers/redis-server.js";

const model = process.argv[2] ?? "mnist_mlp";
const points = Number(process.argv[3] ?? process.env.QUEUE_BENCH_POINTS ?? 40);
const path = model.endsWith(".onnx") ? model : `examples/models/${model}.onnx`;
const ARGS = ["measure", path, "--data", "mnist:test", "--limit", String(points), "--eps", "20"];

const run = (args: string[]) =>
  new Promise<void>((resolve, reject) => {
    const c = spawn("node", ["bin/robustc.js", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr!.on("data", (d: Buffer) => {
      err += d;
    });
    c.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`robustc ${args.join(" ")}: exit ${code}: ${err}`)),
    );
  });

const timed = async (args: string[]) => {
  const t0 = performance.now();
  await run(args);
  return (performance.now() - t0) / 1000;
};

/** Sum of the points' own seconds in a report directory (the work, without process start or queue). */
const pointSeconds = (dir: string) =>
  readFileSync(join(dir, "points.jsonl"), "utf8")
    .trim()
    .split("\n")
    .reduce((a, l) => a + Number((JSON.parse(l) as { seconds: number }).seconds), 0);

async function withWorkers<T>(url: string, n: number, body: () => Promise<T>): Promise<T> {
  const ws: ChildProcess[] = [];
  for (let k = 0; k < n; k++) {
    const w = spawn("node", ["bin/robustc.js", "worker", "--queue", url, "--concurrency", "1"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    await new Promise<void>((r) => w.stderr!.once("data", () => r()));
    ws.push(w);
  }
  try {
    return await body();
  } finally {
    for (const w of ws) {
      const gone = new Promise((r) => w.once("exit", r));
      w.kill("SIGTERM");
      await gone;
    }
  }
}

/** The four runs of one configuration: wall seconds, and the seconds its points themselves took. */
async function compare(
  args: string[],
  tag: string,
  url: (name: string) => string,
): Promise<{ name: string; slots: number; seconds: number; work: number }[]> {
  const rows = [];
  for (const jobs of [1, 2]) {
    const out = join(dir, `${tag}-jobs${jobs}`);
    rows.push({
      name: `measure --jobs ${jobs} (no queue)`,
      slots: jobs,
      seconds: await timed([...args, "--jobs", String(jobs), "--out", out]),
      work: pointSeconds(out),
    });
  }
  for (const workers of [1, 2]) {
    const out = join(dir, `${tag}-queue${workers}`),
      u = url(`${tag}${workers}`);
    const seconds = await withWorkers(u, workers, () => timed([...args, "--queue", u, "--out", out]));
    rows.push({
      name: `measure --queue, ${workers} worker${workers > 1 ? "s" : ""} (concurrency 1)`,
      slots: workers,
      seconds,
      work: pointSeconds(out),
    });
  }
  return rows;
}

const dir = mkdtempSync(join(tmpdir(), "robustc-bench-queue-"));
const redis = await startRedis();
try {
  // lp: the real workload; fgsm (~20 ms a point): where the queue's own cost per point shows.
  const fgsmPoints = 5 * points;
  for (const [label, args, n] of [
    [`${path}, lp, ${points} points`, ARGS, points],
    [
      `${path}, fgsm, ${fgsmPoints} points`,
      ["measure", path, "--data", "mnist:test", "--limit", String(fgsmPoints), "--eps", "20", "--algorithm", "fgsm"],
      fgsmPoints,
    ],
  ] as const) {
    const rows = await compare([...args], label.includes("fgsm") ? "fgsm" : "lp", redis.url);
    console.log(`\n${label} (mnist:test, eps 20); wall seconds of the measure command, process start included`);
    console.log(
      `${"run".padEnd(42)}  ${"wall s".padStart(7)}  ${"points/s".padStart(8)}  ${"sum of point s".padStart(14)}  ${"other ms/point/slot".padStart(19)}`,
    );
    // other = wall x slots - the points' own seconds: start-up, model loading, idle slots and the queue's round trips.
    for (const r of rows) {
      const other = (1000 * (r.seconds * r.slots - r.work)) / n;
      console.log(
        `${r.name.padEnd(42)}  ${r.seconds.toFixed(2).padStart(7)}  ${(n / r.seconds).toFixed(2).padStart(8)}  ${r.work.toFixed(2).padStart(14)}  ${other.toFixed(1).padStart(19)}`,
      );
    }
    for (const k of [1, 2]) {
      const plain = rows[k - 1],
        queued = rows[k + 1];
      const extra = (1000 * (queued.seconds * k - queued.work - (plain.seconds * k - plain.work))) / n;
      console.log(
        `queue overhead, ${k} worker${k > 1 ? "s" : ""} vs --jobs ${k}: ${extra.toFixed(1)} ms per point per slot`,
      );
    }
  }
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
