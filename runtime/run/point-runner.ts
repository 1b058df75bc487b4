// Runs rho_hat for points of one model and dataset, in this thread or on K worker threads (tinypool:
// the WebAssembly solver is single-threaded, so parallelism means one HiGHS per worker).

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { networkMatrices, unwrap, type EngineBackend } from "../../compiler/index.js";
import { openEngine } from "../engine/index.js";
import type { Layout } from "../data/input-map.js";
import { solvePoint, type PointPlan } from "../rho/point.js";
import { modelInput, openEvaluator, openSession, toDataOptions, type DataOptions, type Session } from "./session.js";
import { type PointContext } from "../point/context.js";
import { type PointResult } from "../rho/result.js";

/**
 * Everything a worker needs to rebuild the point context and answer a point (plain data: it crosses thread boundaries).
 */
export interface RunConfig extends PointPlan {
  readonly modelPath: string;
  readonly data: string;
  readonly labels?: string;
  /** Resolved by the command's session (never auto-detected again in a worker). */
  readonly pixelScale: number;
  readonly layout?: Layout;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** --backend: the engine behind the attacks' logits and gradients (PointContext.engine); default onnxruntime. */
  readonly backend?: EngineBackend;
  /** --threads: onnxruntime's intra-op threads for this thread's evaluator and engine sessions (default 1). */
  readonly threads?: number;
  /**
   * --tolerance (rho and measure, the bracket's modes): PointContext.tolerance, relative to upper (0: the absolute
   * 1e-3 px); absent: the library default (rho/result.ts DEFAULT_TOLERANCE).
   */
  readonly tolerance?: number;
}

export interface PointRunner {
  /**
   * `signal` aborts the point (a pool runner ends the thread running it); a local runner ignores it. `plan`
   * overrides the run's algorithm or mode for this point (compare: every algorithm on one runner).
   */
  run(index: number, signal?: AbortSignal, plan?: Partial<PointPlan>): Promise<PointResult>;
  close(): Promise<void>;
}

/** What a thread's point context depends on: the run's config but the per-point plan's algorithm, mode and eps. */
export const contextKey = (cfg: RunConfig): string =>
  JSON.stringify({ ...cfg, algorithm: undefined, mode: undefined, eps: undefined });

/** The data options of a run's session (what a worker re-opens). */
export const dataOptionsOf = (cfg: RunConfig): DataOptions => toDataOptions(cfg);

/** The point context of a run: on the command's own session when it has one (opened once per thread). */
export async function localContext(cfg: RunConfig, opened?: Session): Promise<{ session: Session; ctx: PointContext }> {
  const session = opened ?? unwrap(openSession(cfg.modelPath, dataOptionsOf(cfg)));
  const ort = await openEvaluator(session, "onnxruntime", { threads: cfg.threads ?? 1 });
  const matrices = networkMatrices(session.network);
  // The engine of this thread (one per network, its sessions kept for the thread's life): disposed with the
  // evaluator (disposeContext).
  const engine = openEngine(session.network, matrices, cfg.backend ?? "onnxruntime", { threads: cfg.threads ?? 1 });
  const ctx: PointContext = {
    net: session.network,
    matrices,
    evaluator: ort,
    engine,
    // The input box is [0, 1] in model units: pixels [0, pixel scale] (the example models' input range).
    pixelScale: cfg.pixelScale,
    pixelMin: 0,
    pixelMax: cfg.pixelScale,
    lazy: cfg.lazy,
    ...(cfg.margin !== undefined ? { margin: cfg.margin } : {}),
    ...(cfg.tolerance !== undefined ? { tolerance: cfg.tolerance } : {}),
  };
  return { session, ctx };
}

/** Releases what a thread's point context holds: the evaluator's and the engine's onnxruntime sessions. */
export async function disposeContext(ctx: PointContext): Promise<void> {
  await ctx.evaluator.dispose();
  await ctx.engine.dispose();
}

/** One point with the configured algorithm. */
export function runPoint(cfg: RunConfig, session: Session, ctx: PointContext, i: number): Promise<PointResult> {
  const x = modelInput(session, i),
    label = session.dataset.labels ? session.dataset.labels[i] : null;
  return solvePoint(ctx, cfg, i, x, label);
}

export async function localRunner(cfg: RunConfig, session?: Session): Promise<PointRunner> {
  const { session: s, ctx } = await localContext(cfg, session);
  return { run: (i, _signal, plan) => runPoint({ ...cfg, ...plan }, s, ctx, i), close: () => disposeContext(ctx) };
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
    run: (index, signal, plan) =>
      pool.run({ cfg: { ...cfg, ...plan }, index }, signal ? { signal } : {}) as Promise<PointResult>,
    close: () => pool.destroy(),
  };
}

/**
 * K > 1 jobs: a pool of worker threads (each opens the session once); one: this thread, on the command's own
 * session when given (a session is opened once per thread).
 */
export async function makeRunner(cfg: RunConfig, jobs: number, session?: Session): Promise<PointRunner> {
  return jobs > 1 ? poolRunner(cfg, jobs) : localRunner(cfg, session);
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}
