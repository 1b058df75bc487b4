// Runs rho_hat for points of one model and dataset, in this thread or on K worker threads (tinypool:
// the WebAssembly solver is single-threaded, so parallelism means one HiGHS per worker).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { networkMatrices, unwrap } from "../../compiler/index.js";
import type { Layout } from "../data/input-map.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";
import { attackPoint, type Algorithm } from "../rho/baselines.js";
import { rhoForPointMode, type RhoMode } from "../rho/modes.js";
import { marginExample } from "../rho/margin-example.js";
import { modelInput, openEvaluator, openSession, toDataOptions, type DataOptions, type Session } from "./session.js";
import { type PointContext } from "../point/context.js";
import { type PointResult } from "../rho/result.js";

/** Everything a worker needs to rebuild the point context (plain data: it crosses thread boundaries). */
export interface RunConfig {
  readonly modelPath: string;
  readonly data: string;
  readonly labels?: string;
  /** Resolved by the command's session (never auto-detected again in a worker). */
  readonly pixelScale: number;
  readonly layout?: Layout;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly lazy: LazyOptions;
  readonly algorithm: Algorithm;
  /** eps in pixels: FGSM's step, and the radius below which the bracket's rho_hat is exact (R = max(upper, eps)). */
  readonly eps: number;
  /** Confidence margin of the LP / L-BFGS-B examples (PointContext.margin); the algorithm's default when absent. */
  readonly margin?: number;
  /** The lp algorithm's mode (rho/modes.ts; the CLI's default is the bracket); absent: restrict, the paper's rho_hat alone. */
  readonly mode?: RhoMode;
}

export interface PointRunner {
  /** `signal` aborts the point (a pool runner ends the thread running it); a local runner ignores it. */
  run(index: number, signal?: AbortSignal): Promise<PointResult>;
  close(): Promise<void>;
}

/** The data options of a run's session (what a worker re-opens). */
export const dataOptionsOf = (cfg: RunConfig): DataOptions => toDataOptions(cfg);

export async function localContext(cfg: RunConfig): Promise<{ session: Session; ctx: PointContext }> {
  const session = unwrap(openSession(cfg.modelPath, dataOptionsOf(cfg)));
  const ort = await openEvaluator(session, "onnxruntime", { threads: 1 });
  const ctx: PointContext = {
    net: session.network,
    matrices: networkMatrices(session.network),
    evaluator: ort,
    // The input box is [0, 1] in model units: pixels [0, pixel scale] (the example models' input range).
    pixelScale: cfg.pixelScale,
    pixelMin: 0,
    pixelMax: cfg.pixelScale,
    lazy: cfg.lazy,
    ...(cfg.margin !== undefined ? { margin: cfg.margin } : {}),
  };
  return { session, ctx };
}

/** One point's answer: the point's index, its model input x* and its true label (if known). */
type PointAlgorithm = (
  cfg: RunConfig,
  ctx: PointContext,
  index: number,
  x: Float64Array,
  label: number | null,
) => Promise<PointResult>;

/** Per --algorithm; only lp has modes (rho/modes.ts; a --mode with another algorithm is refused by the CLI). */
const BY_ALGORITHM: Record<Algorithm, PointAlgorithm> = {
  lp: async (cfg, ctx, i, x, label) => {
    // A bracket with a margin (augment --algorithm bracket): the bracket as measured, then the paper's LP with
    // the margin in the region of its example (rho/margin-example.ts).
    if (cfg.mode === "bracket" && cfg.margin !== undefined) {
      const { margin, ...plain } = ctx;
      const p = await rhoForPointMode(plain, "bracket", i, x, label, cfg.eps);
      return marginExample(ctx, p, x, margin ?? cfg.margin, Math.max(1, cfg.lazy.timeLimit / 2));
    }
    return rhoForPointMode(ctx, cfg.mode ?? "restrict", i, x, label, cfg.eps);
  },
  lbfgsb: (cfg, ctx, i, x, label) => attackPoint(ctx, "lbfgsb", cfg.eps, i, x, label),
  fgsm: (cfg, ctx, i, x, label) => attackPoint(ctx, "fgsm", cfg.eps, i, x, label),
  pgd: (cfg, ctx, i, x, label) => attackPoint(ctx, "pgd", cfg.eps, i, x, label),
};

/** One point with the configured algorithm. */
export function runPoint(cfg: RunConfig, session: Session, ctx: PointContext, i: number): Promise<PointResult> {
  const x = modelInput(session, i),
    label = session.dataset.labels ? session.dataset.labels[i] : null;
  return BY_ALGORITHM[cfg.algorithm](cfg, ctx, i, x, label);
}

export async function localRunner(cfg: RunConfig): Promise<PointRunner> {
  const { session, ctx } = await localContext(cfg);
  return { run: (i) => runPoint(cfg, session, ctx, i), close: () => ctx.evaluator.dispose() };
}

/** The worker module: dist/runtime/run/worker.js when built, else the TypeScript source through tsx. */
function workerModule(): { filename: string; execArgv: string[] } {
  const js = fileURLToPath(new URL("./worker.js", import.meta.url));
  if (existsSync(js)) return { filename: js, execArgv: [] };
  return { filename: fileURLToPath(new URL("./worker.ts", import.meta.url)), execArgv: ["--import", "tsx"] };
}

export async function poolRunner(cfg: RunConfig, jobs: number): Promise<PointRunner> {
  const { Tinypool } = await import("tinypool");
  const { filename, execArgv } = workerModule();
  const pool = new Tinypool({ filename, minThreads: jobs, maxThreads: jobs, execArgv, isolateWorkers: false });
  return {
    run: (index, signal) => pool.run({ cfg, index }, signal ? { signal } : {}) as Promise<PointResult>,
    close: () => pool.destroy(),
  };
}

/** K > 1 jobs: a pool of worker threads; one: this thread. */
export async function makeRunner(cfg: RunConfig, jobs: number): Promise<PointRunner> {
  return jobs > 1 ? poolRunner(cfg, jobs) : localRunner(cfg);
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}
