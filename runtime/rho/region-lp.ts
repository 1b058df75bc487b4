// The one "margin ladder → LP → check" loop: the restricted LP of a region (x*'s for the paper's rho_hat, any
// other for walking, the margin examples and the MILP's repair), solved by the lazy loop with each margin of
// the float32 ladder in turn (point/check.ts marginLadder) until its optimiser passes the check.

import { argmax } from "../evaluator/types.js";
import { DEFAULT_LAZY, solveLazy, type LazyOptions, type LazyProblem } from "../lazy/lazy-loop.js";
import { Region } from "../lazy/region.js";
import { inspectExample, marginOfLabel, type Checked } from "../point/check.js";
import { boxOf, type PointContext } from "../point/context.js";
import type { ActivationPattern } from "../../compiler/index.js";

export interface LadderOptions {
  /** The seed's label: an example must win with another. */
  readonly avoid: number;
  /** The example must win with the LP's own target (the paper's rho_hat); otherwise any label but `avoid`. */
  readonly requireTarget: boolean;
  /** performance.now() deadline of the whole ladder. */
  readonly deadline: number;
  /** Solve each rung with at least this many seconds even past the deadline (0: stop at the deadline). */
  readonly minSeconds: number;
  /** The lazy loop's options for these LPs over the context's (ctx.lazy, DEFAULT_LAZY). */
  readonly lazy?: Partial<LazyOptions>;
}

/**
 * The lazy loop's options for the bracket's LPs, its walk's region LPs and its ρ̂ LP inside the ball (modes.ts,
 * restrict.ts; `--mode restrict` keeps the context's, whose row counts it reports): after one iteration on the
 * earliest layer's rows the candidates lie near the region, and every layer's violated rows at once end the loop
 * in ~5 iterations instead of ~20; the dual simplex throughout (an IPM solve after a thousand new rows was slower
 * here) with devex pricing (dual steepest edge weighs each of the hundreds of rows added at once with a solve); the
 * |x − x*| ≤ t rows the box implies left out. Measured on mnist_lenet, the attack's examples of the first 10 test
 * digits: the example's region LP 0.14–0.31 s instead of 0.33–0.56 s, about as many rows added, the same optima
 * (the ball's interval bounds, as the restrict stage passes them, prune no row with the earliest-layer scope and
 * 1–3% of the rows with every layer's, saving no time). The ρ̂ LP inside the ball: the same answers on the first
 * 20 test digits of mnist_mlp and mnist_lenet_caffe, the stage's total 2.0 → 1.6 s and 7.2 → 5.0 s; on
 * mnist_lenet digit 18 an answer (no example inside the ball) in 2.8 s where it ran into its time limit (18 s).
 */
export const BRACKET_LAZY: Partial<LazyOptions> = {
  scope: "earliest-then-all",
  ipmRows: Infinity,
  devex: true,
  skipImpliedLinf: true,
};

/** What the ladder ended with, and the lazy loop's work summed over its rungs. */
export interface LadderResult {
  /** checked: an optimiser passed; infeasible: the first rung's LP is infeasible; exhausted: none passed. */
  readonly status: "checked" | "infeasible" | "exhausted" | "timeout" | "error";
  readonly checked: Checked | null;
  /** The margin of the last LP solved and its optimum t (model units), when optimal. */
  readonly alpha: number;
  readonly t: number | null;
  readonly iterations: number;
  readonly rows: number;
  readonly rowsAdded: number;
  readonly solverSeconds: number;
  readonly primalInfeasibility: number | null;
  /** One note per rung that failed, and the lazy loop's message on timeout or error. */
  readonly failures: readonly string[];
  readonly message?: string;
}

/** Why a ladder that ran out of margins found no example (every rung's failure). */
export const exhaustedMessage = (lp: LadderResult): string =>
  `no LP optimiser passed the onnxruntime float32 check (${lp.failures.join("; ")})`;

/**
 * min ‖x − x*‖∞ over `problem` (a region, its target, optionally a ball) with each margin of `ladder`; the
 * first optimiser that passes point/check.ts inspectExample (label ≠ avoid; = target when required) ends it.
 * With alpha > 0 an infeasible LP only says the boundary example did not survive float32 rounding.
 */
export async function ladderLp(
  ctx: PointContext,
  problem: Omit<LazyProblem, "margin" | "lower" | "upper">,
  ladder: readonly number[],
  o: LadderOptions,
): Promise<LadderResult> {
  const box = boxOf(ctx);
  let iterations = 0,
    rowsAdded = 0,
    solverSeconds = 0,
    rows = 0,
    alpha = 0,
    t: number | null = null,
    primalInfeasibility: number | null = null;
  const failures: string[] = [];
  const done = (status: LadderResult["status"], checked: Checked | null, message?: string): LadderResult => ({
    status,
    checked,
    alpha,
    t,
    iterations,
    rows,
    rowsAdded,
    solverSeconds,
    primalInfeasibility,
    failures,
    ...(message !== undefined ? { message } : {}),
  });
  for (const [k, margin] of ladder.entries()) {
    const remaining = (o.deadline - performance.now()) / 1000;
    if (o.minSeconds <= 0 && remaining <= 0) return done("timeout", null);
    alpha = margin;
    const r = await solveLazy(
      { ...problem, margin, lower: box.lo, upper: box.hi },
      { ...(ctx.lazy ?? DEFAULT_LAZY), ...o.lazy, timeLimit: Math.max(o.minSeconds, remaining) },
    );
    iterations += r.iterations;
    rowsAdded += r.rowsAdded;
    solverSeconds += r.solverSeconds;
    rows = r.rows;
    t = r.t;
    primalInfeasibility = r.status === "optimal" ? r.poolViolation : null;
    if (r.status === "infeasible") {
      if (k === 0) return done("infeasible", null);
      failures.push(`alpha ${margin.toExponential(1)}: LP infeasible`);
      return done("exhausted", null);
    }
    if (r.status !== "optimal") return done(r.status === "timeout" ? "timeout" : "error", null, r.message);
    const { checked, logits32: y } = await inspectExample(
      ctx,
      Float32Array.from(r.x!),
      problem.xStar,
      o.avoid,
      iterations,
    );
    if (checked && (!o.requireTarget || checked.label === problem.target)) return done("checked", checked);
    const got = argmax(y);
    failures.push(
      `alpha ${margin.toExponential(1)}: float32 argmax ${got} (margin ${marginOfLabel(y, problem.target).toExponential(2)})${got === problem.target ? ", not a strict win in float32 and float64" : ""}`,
    );
  }
  return done("exhausted", null);
}

/**
 * The restricted LP of any region toward `target` (optionally inside the ball `radius`), the ladder's first
 * checked optimiser with any label but `avoid`. Null: infeasible, failed, out of time or never checked. `lazy`:
 * the lazy loop's options for it over the context's.
 */
export async function checkedRegionLp(
  ctx: PointContext,
  pattern: ActivationPattern,
  xStar: Float64Array,
  target: number,
  avoid: number,
  ladder: readonly number[],
  timeLimit: number,
  radius?: number,
  lazy?: Partial<LazyOptions>,
): Promise<Checked | null> {
  const r = await ladderLp(
    ctx,
    {
      region: new Region(ctx.net, ctx.matrices, pattern),
      xStar,
      target,
      ...(radius !== undefined && Number.isFinite(radius) ? { radius } : {}),
    },
    ladder,
    {
      avoid,
      requireTarget: false,
      deadline: performance.now() + timeLimit * 1000,
      minSeconds: 0,
      ...(lazy ? { lazy } : {}),
    },
  );
  return r.checked;
}
