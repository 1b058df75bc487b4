// `robustc measure`: consumes a measure request (a run request, --eps, --out, --resume, --shard or --queue);
// produces the frequency/severity report with its files (report.json, points.jsonl, points.csv,
// adversarial*.npy, cdf.svg) in --out, and the table it prints (--images: Figure 2's PNGs). A resumed or
// sharded run is one run; Ctrl-C leaves points.jsonl whole and says how to resume it.

import { existsSync, rmSync } from "node:fs";
import { UserError, diag, unwrap } from "../../compiler/index.js";
import { makeDir, prepareOut, resumedTolerance, runIdentity } from "../run/out-dir.js";
import { parseShard, shardIndices, shardName } from "../run/shard.js";
import { reportedExamples, reportsLine, writeMeasurement } from "../report/write.js";
import { checkImageInput, writeImages } from "../report/images.js";
import { CLI_TOLERANCE } from "../rho/result.js";
import { measureOnQueue } from "./measure-queue.js";
import { type QueueOptions } from "./on-queue.js";
import { openRun, runRemaining, withCliTolerance, type RunRequest } from "./run-request.js";

export interface MeasureRequest extends RunRequest, Partial<QueueOptions> {
  /** Absent: the paper's 20 of 255 on the data's scale (run-request.ts). */
  readonly eps?: number;
  readonly out: string;
  readonly resume?: boolean;
  /** K/N: only every N-th point from the K-th (robustc merge combines the shards). */
  readonly shard?: string;
  /** redis://HOST:PORT/NAME: the points as jobs for robustc worker processes. */
  readonly queue?: string;
  /** A directory for one PNG per reported example: x*, the example, the perturbation (report/images.ts). */
  readonly images?: string;
  /** The command line as typed (cli.ts): Ctrl-C prints it again with --resume. */
  readonly argv?: readonly string[];
}

export async function measureCommand(model: string, given: MeasureRequest, out: (line: string) => void): Promise<void> {
  // --tolerance when not given: 1% of upper; a resumed run.json written before the option keeps its rule (0).
  const r = withCliTolerance(given, given.resume ? resumedTolerance(given.out, CLI_TOLERANCE) : CLI_TOLERANCE);
  if (r.queue !== undefined && r.shard !== undefined)
    throw new UserError([diag("cli/shard", "--shard and --queue are two ways to spread a run: use one")]);
  if (r.queue !== undefined && r.images !== undefined)
    throw new UserError([
      diag(
        "cli/images",
        "--images with --queue: the examples arrive through the queue; write them afterwards with robustc report OUT --images DIR",
      ),
    ]);
  if (r.queue !== undefined) return measureOnQueue(model, { ...r, queue: r.queue, attempts: r.attempts ?? 3 }, out);
  const shard = r.shard === undefined ? null : unwrap(parseShard(r.shard));
  const { session, indices, cfg, announce } = await openRun(model, r);
  // --images on a model whose input is no image is refused before anything runs.
  if (r.images !== undefined) unwrap(checkImageInput(session));
  const identity = runIdentity(cfg, indices, cfg.eps);
  // --images is made first, so that a directory it cannot have fails before --out holds a run.
  const imagesNew = r.images !== undefined && !existsSync(r.images);
  if (r.images !== undefined) unwrap(makeDir(r.images, "--images"));
  const prepared = prepareOut(r.out, { ...identity, ...(shard ? { shard: shardName(shard) } : {}) }, r.resume === true);
  if (!prepared.ok && imagesNew) rmSync(r.images!, { recursive: true, force: true });
  const done = unwrap(prepared);
  announce();
  const finished = new Set(done.map((p) => p.index));
  const todo = (shard ? shardIndices(indices, shard) : indices).filter((i) => !finished.has(i));
  if (done.length > 0)
    process.stderr.write(`robustc: resuming: ${done.length} points finished, ${todo.length} to run\n`);
  const t0 = performance.now();
  const jobs = Math.max(1, Math.min(r.jobs, todo.length));
  const points = await runRemaining({
    cfg,
    session,
    todo,
    jobs,
    done: done.length,
    jsonl: `${r.out}/points.jsonl`,
    argv: r.argv,
    eps: cfg.eps,
  });
  const all = [...done, ...points].sort((a, b) => a.index - b.index);
  out(
    unwrap(
      await writeMeasurement(r.out, session, {
        identity,
        points: all,
        jobs,
        totalSeconds: (performance.now() - t0) / 1000,
        settings: {
          resumed_points: done.length,
          threads: cfg.threads ?? 1,
          ...(shard ? { shard: shardName(shard) } : {}),
        },
      }),
    ),
  );
  out(reportsLine(r.out));
  if (r.images !== undefined) {
    const n = unwrap(writeImages(r.images, session, reportedExamples(all, identity.mode !== undefined)));
    out(
      `images in ${r.images}: ${n} PNG (x*, the example, the perturbation stretched to ±m in the data's units, m in each name) and images.csv`,
    );
  }
}
