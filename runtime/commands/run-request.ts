// The options rho, measure, compare and augment share (data, points, workers, algorithm, mode) → the session,
// the point indices and the RunConfig a runner takes. Invalid values and combinations are refused here.

import { diag, fail, ok, unwrap, type Result } from "../../compiler/index.js";
import type { Algorithm } from "../attacks/point.js";
import { DEFAULT_LAZY, type LazyOptions } from "../lazy/lazy-loop.js";
import { RHO_MODES, type RhoMode } from "../rho/modes.js";
import type { RunConfig } from "../run/point-runner.js";
import { openSession, selectIndices, type Session } from "../run/session.js";

export interface RunRequest {
  readonly data: string;
  readonly labels?: string;
  readonly pixelScale: number;
  readonly index?: number;
  readonly limit?: number;
  readonly jobs: number;
  readonly timeLimit: number;
  readonly add: string;
  readonly algorithm: Algorithm;
  /** --mode (rho and measure, --algorithm lp): bracket (default), restrict, exact, bounds or walk. */
  readonly mode?: RhoMode;
  readonly eps?: number;
}

/** The --mode values each algorithm has: the modes bracket the restricted LP; the attacks have only their own answer. */
const MODES_OF: Record<Algorithm, readonly RhoMode[]> = {
  lp: RHO_MODES,
  lbfgsb: [],
  fgsm: [],
  pgd: [],
};

/** --mode with an algorithm that has no such mode would be silently ignored: refused instead. */
export function checkMode(r: Pick<RunRequest, "algorithm" | "mode">): Result<void> {
  if (r.mode === undefined || MODES_OF[r.algorithm].includes(r.mode)) return ok(undefined);
  return fail(diag("cli/mode", `--mode ${r.mode} is a mode of --algorithm lp, not of --algorithm ${r.algorithm}: drop --mode or use --algorithm lp`));
}

export function lazyOptions(r: RunRequest): Result<LazyOptions> {
  if (!(r.timeLimit > 0)) return fail(diag("cli/time-limit", `--time-limit must be positive, got ${r.timeLimit}`));
  const add = r.add === "all" ? "all" : /^\d+$/.test(r.add) && Number(r.add) > 0 ? Number(r.add) : null;
  if (add === null) return fail(diag("cli/add", `--add must be all or a positive integer, got '${r.add}'`));
  if (!Number.isInteger(r.jobs) || r.jobs < 1) return fail(diag("cli/jobs", `--jobs must be a positive integer, got ${r.jobs}`));
  return ok({ ...DEFAULT_LAZY, add, timeLimit: r.timeLimit });
}

export async function openRun(model: string, r: RunRequest): Promise<{ session: Session; indices: number[]; cfg: RunConfig }> {
  unwrap(checkMode(r));
  const session = unwrap(openSession(model, { data: r.data, labels: r.labels, pixelScale: r.pixelScale }));
  const indices = unwrap(selectIndices(session.dataset.count, r.index, r.limit, r.data));
  const lazy = unwrap(lazyOptions(r));
  return { session, indices, cfg: { modelPath: model, data: r.data, labels: r.labels, pixelScale: r.pixelScale, lazy, algorithm: r.algorithm, eps: r.eps ?? 20,
    // The lp algorithm answers the bracket unless --mode restrict asks for the paper's rho_hat alone.
    ...(r.algorithm === "lp" && (r.mode ?? "bracket") !== "restrict" ? { mode: r.mode ?? "bracket" } : {}) } };
}
