// Iterative constraint solving (the paper's §4) on one persistent HiGHS model: start from the rows that are
// always needed (C_out and the L∞ rows, in the `reduced` form: columns x and t), solve, find the pool rows
// (ReLU signs, max-pool winners) the candidate violates by a masked forward pass, add them, re-solve warm,
// stop when none is violated. An infeasible subset proves the whole restricted LP infeasible.

import type { Highs, Model } from "highs";
import { choicesOf, isNonlinear, semanticsOf, sizeOf, type RowSpec } from "../../compiler/index.js";
import { Region, type InputRow } from "./region.js";
import { highsModule, highsOptions, isHighsAbort, mapHighsStatus } from "../solvers/highs.js";
import type { SolveStatus } from "../solvers/types.js";

export interface LazyOptions {
  /** Add every violated row ("all") or only the k most violated per iteration. */
  readonly add: "all" | number;
  /**
   * Which violated rows are candidates: every layer's, or only the earliest layer's that has any. Early
   * layers' rows are sparse (a conv neuron reads 25 pixels) and often prove infeasibility alone; measured on
   * mnist_lenet it cut the median time per point by about a third (bench/rho.ts).
   */
  readonly scope: "all-layers" | "earliest-layer";
  /** A pool row counts as violated when it is off by more than this (model units). */
  readonly tolerance: number;
  readonly timeLimit: number;
  readonly maxIterations: number;
  /**
   * A solve that follows the addition of at least this many rows uses HiGHS' interior point method (with
   * crossover, so the basis stays available for the next warm dual simplex) instead of the warm dual simplex:
   * after thousands of new dense rows the old basis is of little use. Measured on 8 mnist_lenet points (all
   * infeasible): median 1.56 s with dual simplex, 0.54 s with IPM; on mnist_mlp (all optimal, fewer rows per
   * step) warm simplex stays faster (0.095 s against 0.224 s with IPM for every solve). Infinity: never.
   */
  readonly ipmRows: number;
}

export const DEFAULT_LAZY: LazyOptions = { add: "all", scope: "earliest-layer", tolerance: 1e-8, timeLimit: 60, maxIterations: 10_000, ipmRows: 1000 };

export interface LazyProblem {
  readonly region: Region;
  readonly xStar: Float64Array;
  readonly target: number;
  /** C_out margin alpha (model logit units). */
  readonly margin: number;
  /** Input box in model units. */
  readonly lower: number;
  readonly upper: number;
}

export interface LazyResult {
  readonly status: SolveStatus;
  /** Optimal t in model units (‖x − x*‖∞), null unless optimal. */
  readonly t: number | null;
  readonly x: Float64Array | null;
  readonly iterations: number;
  /** Rows in the final LP: always-needed + added. */
  readonly rows: number;
  readonly rowsAdded: number;
  /** Largest violation of a pool row by the final x (≤ tolerance when optimal). */
  readonly poolViolation: number;
  readonly solverSeconds: number;
  readonly seconds: number;
  readonly message?: string;
}

/** Pool rows the region's affine values at x violate (each nonlinear kind's `violated`), over layer values. */
export function violatedRows(region: Region, vals: readonly Float64Array[], tol: number): RowSpec[] {
  const out: RowSpec[] = [];
  for (const l of region.net.layers) {
    if (!isNonlinear(l)) continue;
    semanticsOf(l).violated(l, region.m.windows[l.id], vals[l.input], choicesOf(region.pattern, l.id), tol, out);
  }
  return out;
}

/** Rows a·x + c ∈ [lower, upper] as HiGHS row data over columns (x, t). */
function addRows(h: Highs, model: Model, rows: { row: InputRow; lower: number; upper: number }[], nCols: number): void {
  if (rows.length === 0) return;
  const starts = new Int32Array(rows.length + 1);
  rows.forEach((r, i) => { starts[i + 1] = starts[i] + r.row.idx.length; });
  const indices = new Int32Array(starts[rows.length]), values = new Float64Array(starts[rows.length]);
  const lower = new Float64Array(rows.length), upper = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    indices.set(r.row.idx, starts[i]);
    values.set(r.row.val, starts[i]);
    lower[i] = r.lower === -Infinity ? -h.infinity : r.lower - r.row.c;
    upper[i] = r.upper === Infinity ? h.infinity : r.upper - r.row.c;
  });
  model.addRows({ lower, upper, matrix: { format: "csr", numRows: rows.length, numCols: nCols, starts, indices, values } });
}

export async function solveLazy(p: LazyProblem, opts: LazyOptions = DEFAULT_LAZY): Promise<LazyResult> {
  const t0 = performance.now();
  const { region } = p;
  const n = p.xStar.length;
  const h = await highsModule();
  let model: Model | null = null;
  let iterations = 0, rowsAdded = 0, solverSeconds = 0, rows = 0;
  const done = (status: SolveStatus, extra: Partial<LazyResult> = {}): LazyResult => ({
    status, t: null, x: null, iterations, rows, rowsAdded, poolViolation: Infinity, solverSeconds,
    seconds: (performance.now() - t0) / 1000, ...extra,
  });
  try {
    const colLower = new Float64Array(n + 1), colUpper = new Float64Array(n + 1), cost = new Float64Array(n + 1);
    colLower.fill(p.lower, 0, n); colUpper.fill(p.upper, 0, n);
    colLower[n] = 0; colUpper[n] = h.infinity; cost[n] = 1;
    model = h.createModel({
      numCols: n + 1, numRows: 0, sense: h.constants.objectiveSense.minimize, colCost: cost, colLower, colUpper,
      rowLower: new Float64Array(0), rowUpper: new Float64Array(0),
      matrix: { format: "csr", numRows: 0, numCols: n + 1, starts: Int32Array.of(0), indices: new Int32Array(0), values: new Float64Array(0) },
    });
    model.options.set(highsOptions({ timeLimit: opts.timeLimit }));
    // Always-needed rows: |x − x*| ≤ t, and C_out(target): y_target − y_l' ≥ margin.
    const linf: { row: InputRow; lower: number; upper: number }[] = [];
    for (let i = 0; i < n; i++) {
      const row = { idx: Int32Array.of(i, n), val: Float64Array.of(1, 1), c: 0 };
      linf.push({ row, lower: p.xStar[i], upper: Infinity });
      linf.push({ row: { ...row, val: Float64Array.of(1, -1) }, lower: -Infinity, upper: p.xStar[i] });
    }
    const net = region.net;
    const outLayer = net.output, nOut = sizeOf(net.layers[outLayer].shape);
    for (let k = 0; k < nOut; k++) {
      if (k === p.target) continue;
      linf.push({ row: region.rowFor(outLayer, [p.target, k], [1, -1]), lower: p.margin, upper: Infinity });
    }
    addRows(h, model, linf, n + 1);
    rows = linf.length;
    let poolViolation = Infinity, fresh = 0;
    for (;;) {
      if (iterations >= opts.maxIterations) return done("error", { message: `no convergence in ${opts.maxIterations} iterations` });
      const remaining = opts.timeLimit - (performance.now() - t0) / 1000;
      if (remaining <= 0) return done("timeout", { message: `time limit ${opts.timeLimit} s` });
      model.options.set("time_limit", remaining);
      const ipm = fresh >= opts.ipmRows;
      model.options.set("solver", ipm ? "ipm" : "simplex");
      const s0 = performance.now();
      model.run();
      // An IPM run that ends in neither optimal nor infeasible is repeated by the simplex method.
      if (ipm && !OPTIMAL_OR_INFEASIBLE.has(model.getModelStatus())) { model.options.set("solver", "simplex"); model.clearSolver(); model.run(); }
      // HiGHS can end a warm re-solve in status "unknown" (numerical trouble); one cold re-solve of the same
      // LP usually settles it (seen on mnist_lenet with --add 200).
      if (model.getModelStatus() === 15) { model.clearSolver(); model.run(); }
      fresh = 0;
      solverSeconds += (performance.now() - s0) / 1000;
      iterations++;
      const st = mapHighsStatus(model.getModelStatus());
      if (st.status !== "optimal") return done(st.status, { message: st.message });
      const sol = model.getSolution();
      const x = Float64Array.from(sol.colValue.subarray(0, n));
      const vals = region.forward(x);
      const viol = violatedRows(region, vals, opts.tolerance);
      if (viol.length === 0) {
        poolViolation = maxPoolViolation(region, vals);
        return done("optimal", { t: sol.colValue[n], x, poolViolation });
      }
      let pool = viol;
      if (opts.scope === "earliest-layer") { const first = Math.min(...viol.map((v) => v.layer)); pool = viol.filter((v) => v.layer === first); }
      const chosen = opts.add === "all" ? pool : pool.sort((a, b) => b.amount - a.amount).slice(0, opts.add);
      addRows(h, model, chosen.map((c) => ({ row: region.rowFor(c.layer, c.js, c.ws), lower: c.lower, upper: c.upper })), n + 1);
      rowsAdded += chosen.length;
      rows += chosen.length;
      fresh += chosen.length;
    }
  } catch (e) {
    return done("error", { message: isHighsAbort(e) ? `HiGHS aborted: ${(e as Error).message}` : `lazy loop failed: ${e instanceof Error ? e.message : String(e)}` });
  } finally {
    model?.dispose();
  }
}

/** HiGHS model status codes: 7 optimal, 8 infeasible. */
const OPTIMAL_OR_INFEASIBLE = new Set([7, 8]);

/** The largest violation of any pool row at the region's values (0 inside the region). */
export function maxPoolViolation(region: Region, vals: readonly Float64Array[]): number {
  let worst = 0;
  for (const c of violatedRows(region, vals, 0)) worst = Math.max(worst, c.amount);
  return worst;
}
