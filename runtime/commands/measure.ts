// `robustc measure`: consumes a measure request (a run request, --eps, --out, --resume, --shard or --queue);
// produces the frequency/severity report with its files (report.json, points.jsonl, points.csv,
// adversarial*.npy, cdf.svg) in --out, and the table it prints. A resumed or sharded run is one run.

import { UserError, diag, unwrap } from "../../compiler/index.js";
import { progressBar, runPoints } from "../run/measure.js";
import { prepareOut, runIdentity } from "../run/out-dir.js";
import { makeRunner } from "../run/point-runner.js";
import { parseShard, shardIndices, shardName } from "../run/shard.js";
import { reportsLine, writeMeasurement } from "../report/write.js";
import { type PointResult } from "../rho/types.js";
import { measureOnQueue, type QueueOptions } from "./measure-queue.js";
import { openRun, type RunRequest } from "./run-request.js";

export interface MeasureRequest extends RunRequest, Partial<QueueOptions> {
  readonly eps: number;
  readonly out: string;
  readonly resume?: boolean;
  /** K/N: only every N-th point from the K-th (robustc merge combines the shards). */
  readonly shard?: string;
  /** redis://HOST:PORT/NAME: the points as jobs for robustc worker processes. */
  readonly queue?: string;
}

export async function measureCommand(model: string, r: MeasureRequest, out: (line: string) => void): Promise<void> {
  if (!(r.eps > 0)) throw new UserError([diag("cli/eps", `--eps must be positive, got ${r.eps}`)]);
  if (r.queue !== undefined && r.shard !== undefined) throw new UserError([diag("cli/shard", "--shard and --queue are two ways to spread a run: use one")]);
  if (r.queue !== undefined) return measureOnQueue(model, { ...r, queue: r.queue, attempts: r.attempts ?? 3 }, out);
  const shard = r.shard === undefined ? null : unwrap(parseShard(r.shard));
  const { session, indices, cfg } = await openRun(model, r);
  const identity = runIdentity(cfg, indices, r.eps);
  const done = unwrap(prepareOut(r.out, { ...identity, ...(shard ? { shard: shardName(shard) } : {}) }, r.resume === true));
  const finished = new Set(done.map((p) => p.index));
  const todo = (shard ? shardIndices(indices, shard) : indices).filter((i) => !finished.has(i));
  if (done.length > 0) process.stderr.write(`robustc: resuming: ${done.length} points finished, ${todo.length} to run\n`);
  const t0 = performance.now();
  const jobs = Math.max(1, Math.min(r.jobs, todo.length));
  let points: PointResult[] = [];
  if (todo.length > 0) {
    const runner = await makeRunner(cfg, jobs);
    try {
      points = await runPoints(runner, todo, jobs, `${r.out}/points.jsonl`, await progressBar(todo.length, process.stderr.isTTY === true));
    } finally {
      await runner.close();
    }
  }
  const all = [...done, ...points].sort((a, b) => a.index - b.index);
  out(unwrap(await writeMeasurement(r.out, session, {
    identity, points: all, jobs, totalSeconds: (performance.now() - t0) / 1000,
    settings: { resumed_points: done.length, ...(shard ? { shard: shardName(shard) } : {}) },
  })));
  out(reportsLine(r.out));
}
