// In-process HiGHS (npm `highs`, WebAssembly) over the persistent model API, built from the LpModel's CSR
// arrays (never via LP text on this path): one-shot solves (createHighs), an LP solved for many objectives
// (openHighsLp), a MILP with its proven bound (solveMilp) and a growing LP for the lazy loop
// (openIncrementalLp). The only module that touches the HiGHS Model API and its numeric status codes.
// Every model is disposed; an aborted module is reloaded.

import * as highsPackage from "highs";
import type { Highs, Model, ModelData, ModelStatusCode } from "highs";
import type { LpSession } from "../../compiler/index.js";
import { ok, type LpModel, type Result } from "../../compiler/index.js";
import {
  FEASIBILITY_TOLERANCE,
  MIP_GAP,
  type FileSolution,
  type LpSolution,
  type SolveOptions,
  type SolveStatus,
  type Solver,
} from "./types.js";

// `highs` ships CommonJS-flavoured typings, so under NodeNext its default export types as `.default` of
// the namespace; at run time Node loads build/highs.mjs, whose default export is the loader.
const loadHighs = (highsPackage as unknown as { default: () => Promise<Highs> }).default;

let module: Promise<Highs> | null = null;
let loadedVersion: string | null = null;

/** The loaded module, shared by all callers (it is synchronous and single-threaded anyway). */
export function highsModule(): Promise<Highs> {
  const p =
    module ??
    loadHighs().then(
      (h) => {
        loadedVersion = `${h.version.string} (git ${h.version.gitHash})`;
        return h;
      },
      (e: unknown) => {
        module = null;
        throw e;
      },
    );
  module = p;
  return p;
}

/**
 * HiGHS' own version as the WebAssembly build reports it (Highs_version and its git hash, e.g. "1.15.1 (git
 * 04024d7)"; the npm package's version is the wrapper's, not HiGHS'), or null before the module first loaded.
 */
export const loadedHighsVersion = (): string | null => loadedVersion;

/** The version, loading the module if no solve in this process has (a report written by merge or the queue). */
export async function highsVersion(): Promise<string> {
  await highsModule();
  return loadedVersion as string;
}

/**
 * Whether `e` is the WebAssembly runtime aborting (`RuntimeError: Aborted()`, e.g. the 2 GiB heap is
 * exhausted). The Emscripten runtime is dead after that and every later call would fail too, so this
 * also drops the cached module: the next highsModule() loads a fresh one.
 */
export function isHighsAbort(e: unknown): boolean {
  const abort = e instanceof WebAssembly.RuntimeError || (e instanceof Error && /Aborted\(/.test(e.message));
  if (abort) module = null;
  return abort;
}

function describeError(e: unknown): string {
  if (isHighsAbort(e)) return `HiGHS (WebAssembly) aborted: ${(e as Error).message}; the module will be reloaded`;
  return `HiGHS failed: ${e instanceof Error ? e.message : String(e)}`;
}

/** Options set explicitly on every model (documented choices, not HiGHS' defaults). */
export function highsOptions(opts: { readonly timeLimit?: number } = {}): Record<string, number | string | boolean> {
  return {
    output_flag: false,
    primal_feasibility_tolerance: FEASIBILITY_TOLERANCE,
    dual_feasibility_tolerance: FEASIBILITY_TOLERANCE,
    mip_feasibility_tolerance: FEASIBILITY_TOLERANCE,
    mip_rel_gap: MIP_GAP,
    ...(opts.timeLimit !== undefined ? { time_limit: Math.max(0, opts.timeLimit) } : {}),
  };
}

/**
 * HiGHS model status codes by name: the only place in robustc where their numbers appear (HiGHS'
 * HighsModelStatus enum: 6 empty model, 7 optimal, 8 infeasible, 9 infeasible or unbounded, 10 unbounded,
 * 13 time limit, 14 iteration limit, 15 unknown, 17 interrupted; the others are errors).
 */
export type HighsStatusName =
  | "optimal"
  | "empty"
  | "infeasible"
  | "infeasible-or-unbounded"
  | "unbounded"
  | "time-limit"
  | "iteration-limit"
  | "unknown"
  | "interrupted"
  | "other";

const STATUS_BY_CODE: Record<number, HighsStatusName> = {
  6: "empty",
  7: "optimal",
  8: "infeasible",
  9: "infeasible-or-unbounded",
  10: "unbounded",
  13: "time-limit",
  14: "iteration-limit",
  15: "unknown",
  17: "interrupted",
};

export const statusName = (code: ModelStatusCode | number): HighsStatusName => STATUS_BY_CODE[code] ?? "other";

/** HiGHS model status → ours. 9 ("unbounded or infeasible") is an error here: solve() resolves it first
 *  by a re-run without presolve. */
export function mapHighsStatus(code: ModelStatusCode | number): { status: SolveStatus; message?: string } {
  switch (statusName(code)) {
    case "optimal":
      return { status: "optimal" };
    case "empty":
      return { status: "optimal", message: "HiGHS: empty model" };
    case "infeasible":
      return { status: "infeasible", message: "HiGHS: infeasible" };
    case "unbounded":
      return { status: "unbounded", message: "HiGHS: unbounded" };
    case "time-limit":
      return { status: "timeout", message: "HiGHS: time limit reached" };
    case "infeasible-or-unbounded":
      return { status: "error", message: "HiGHS: infeasible or unbounded (not distinguished)" };
    default:
      return { status: "error", message: `HiGHS: model status ${code} (${STATUS_NAMES[code] ?? statusName(code)})` };
  }
}

const STATUS_NAMES: Record<number, string> = {
  0: "not set",
  1: "load error",
  2: "model error",
  3: "presolve error",
  4: "solve error",
  5: "postsolve error",
  11: "objective bound reached",
  12: "objective target reached",
  16: "solution limit reached",
};

/** The LpModel as HiGHS model data (HiGHS' infinity is IEEE Infinity, so bounds pass as they are). `integer`
 *  false drops the integrality: the LP relaxation of a MILP. */
export function modelData(h: Highs, m: LpModel, integer = true): ModelData {
  const nc = m.colNames.length,
    nr = m.rowNames.length;
  return {
    numCols: nc,
    numRows: nr,
    sense: m.sense === "max" ? h.constants.objectiveSense.maximize : h.constants.objectiveSense.minimize,
    offset: m.objectiveConstant,
    colCost: m.objective,
    colLower: m.colLower,
    colUpper: m.colUpper,
    rowLower: m.rowLower,
    rowUpper: m.rowUpper,
    matrix: { format: "csr", numRows: nr, numCols: nc, starts: m.indptr, indices: m.indices, values: m.values },
    ...(integer && m.colInteger.some((v) => v !== 0) ? { integrality: Int32Array.from(m.colInteger) } : {}),
  };
}

/** Runs a model; when presolve cannot tell infeasible from unbounded, runs again without it. */
function run(model: Model): { code: ModelStatusCode; rerun: boolean } {
  model.run();
  let code = model.getModelStatus();
  if (statusName(code) !== "infeasible-or-unbounded") return { code, rerun: false };
  model.options.set("presolve", "off");
  model.clearSolver();
  model.run();
  code = model.getModelStatus();
  return { code, rerun: true };
}

export function createHighs(): Solver {
  return {
    name: "highs",
    async available(): Promise<Result<string>> {
      const h = await highsModule();
      return ok(`HiGHS ${h.version.string} (npm highs, WebAssembly)`);
    },
    async solve(m: LpModel, opts: SolveOptions = {}): Promise<LpSolution> {
      const t0 = performance.now();
      const done = (
        status: SolveStatus,
        objective: number | null,
        x: Float64Array | null,
        message?: string,
      ): LpSolution => ({
        status,
        objective,
        x,
        seconds: (performance.now() - t0) / 1000,
        solver: "highs",
        ...(message ? { message } : {}),
      });
      let h: Highs;
      try {
        h = await highsModule();
      } catch (e) {
        return done("error", null, null, `cannot load HiGHS: ${String(e)}`);
      }
      let model: Model | null = null;
      try {
        model = h.createModel(modelData(h, m));
        model.options.set(highsOptions(opts));
        const { code, rerun } = run(model);
        const { status, message } = mapHighsStatus(code);
        const note = rerun ? `${message ?? "HiGHS"} (after a re-run without presolve)` : message;
        if (status !== "optimal") return done(status, null, null, note);
        // HiGHS calls a model without columns "empty" and reports no primal solution for it.
        if (statusName(code) === "empty" && m.colNames.length === 0)
          return done("optimal", m.objectiveConstant, new Float64Array(0), note);
        if (Number(model.info.get("primal_solution_status")) !== h.constants.solutionStatus.feasible) {
          return done("error", null, null, "HiGHS reported optimal without a feasible primal solution");
        }
        return done("optimal", model.getObjectiveValue(), model.getSolution().colValue, note);
      } catch (e) {
        return done("error", null, null, describeError(e));
      } finally {
        // Disposing a model of an aborted module can throw too; the module is dropped anyway.
        try {
          model?.dispose();
        } catch {
          /* the runtime is gone */
        }
      }
    },
  };
}

const LEGACY_STATUS: Record<string, SolveStatus> = {
  Optimal: "optimal",
  Empty: "optimal",
  Infeasible: "infeasible",
  Unbounded: "unbounded",
  "Time limit reached": "timeout",
};

/** HiGHS on CPLEX-LP text (its own LP parser), for checking a written file; values keyed by column name. */
export async function solveLpTextWithHighs(text: string, opts: SolveOptions = {}): Promise<FileSolution> {
  const t0 = performance.now();
  const done = (
    status: SolveStatus,
    objective: number | null,
    values: Map<string, number> | null,
    message?: string,
  ): FileSolution => ({
    status,
    objective,
    values,
    seconds: (performance.now() - t0) / 1000,
    solver: "highs",
    ...(message ? { message } : {}),
  });
  try {
    const h = await highsModule();
    let r = h.solve(text, highsOptions(opts));
    if (r.Status === "Primal infeasible or unbounded") r = h.solve(text, { ...highsOptions(opts), presolve: "off" });
    const status = LEGACY_STATUS[r.Status] ?? "error";
    if (status !== "optimal") return done(status, null, null, `HiGHS: ${r.Status}`);
    const values = new Map<string, number>();
    for (const [name, c] of Object.entries(r.Columns)) values.set(name, c.Primal ?? NaN);
    return done("optimal", r.ObjectiveValue, values);
  } catch (e) {
    return done("error", null, null, describeError(e));
  }
}

/** HiGHS on MPS text (its own MPS parser), for checking a written file; values keyed by column name. */
export async function solveMpsTextWithHighs(text: string, opts: SolveOptions = {}): Promise<FileSolution> {
  const t0 = performance.now();
  const done = (
    status: SolveStatus,
    objective: number | null,
    values: Map<string, number> | null,
    message?: string,
  ): FileSolution => ({
    status,
    objective,
    values,
    seconds: (performance.now() - t0) / 1000,
    solver: "highs",
    ...(message ? { message } : {}),
  });
  let model: Model | null = null;
  try {
    const h = await highsModule();
    model = h.createModel({ format: "mps", data: text });
    model.options.set(highsOptions(opts));
    const { code } = run(model);
    const { status, message } = mapHighsStatus(code);
    if (status !== "optimal") return done(status, null, null, message);
    const x = model.getSolution().colValue;
    const values = new Map<string, number>();
    for (let j = 0; j < x.length; j++) values.set(model.getColName(j), x[j]);
    return done("optimal", model.getObjectiveValue(), values);
  } catch (e) {
    return done("error", null, null, describeError(e));
  } finally {
    try {
      model?.dispose();
    } catch {
      /* the runtime is gone */
    }
  }
}

// ---- Sessions: one LP for many objectives (bounds), a MILP with its proven bound (exact rho) ----

async function createModel(lp: LpModel, integer: boolean): Promise<{ model: Model }> {
  const h = await highsModule();
  return { model: h.createModel(modelData(h, lp, integer)) };
}

/** An LP session for LP tightening / the relaxation: minimise one objective after another (warm). */
export async function openHighsLp(lp: LpModel, timeLimitPerLp = 30): Promise<LpSession> {
  const { model } = await createModel({ ...lp, objective: new Float64Array(lp.colLower.length), sense: "min" }, false);
  model.options.set(highsOptions({ timeLimit: timeLimitPerLp }));
  let last: Int32Array | null = null,
    primal: Float64Array | null = null,
    infeasible = false;
  return {
    async minimize(cols, vals) {
      primal = null;
      infeasible = false;
      try {
        if (last && last.length > 0)
          model.changeColsCost({ kind: "set", indices: Array.from(last) }, new Float64Array(last.length));
        const order = Array.from(cols.keys()).sort((a, b) => cols[a] - cols[b]);
        model.changeColsCost(
          { kind: "set", indices: order.map((i) => cols[i]) },
          Float64Array.from(order, (i) => vals[i]),
        );
        last = Int32Array.from(order, (i) => cols[i]);
        model.run();
        const st = statusName(model.getModelStatus());
        primal = st === "optimal" ? Float64Array.from(model.getSolution().colValue) : null;
        infeasible = st === "infeasible";
        // Duals are used whatever their quality (dualBound makes any vector sound); only a missing one is null.
        if (st !== "optimal" && st !== "time-limit" && st !== "iteration-limit") return null;
        const y = model.getSolution().rowDual;
        return y.length === lp.rowLower.length && y.every(Number.isFinite) ? Float64Array.from(y) : null;
      } catch (e) {
        isHighsAbort(e);
        return null;
      }
    },
    primal: () => primal,
    infeasible: () => infeasible,
    close() {
      try {
        model.dispose();
      } catch {
        /* an aborted module */
      }
    },
  };
}

export interface MilpResult {
  readonly status: "optimal" | "infeasible" | "timeout" | "error";
  /** Best feasible objective (incumbent), null when none was found. */
  readonly objective: number | null;
  readonly x: Float64Array | null;
  /** Proven lower bound on the optimum (minimisation); +Infinity when infeasible. */
  readonly dualBound: number;
  readonly gap: number | null;
  readonly seconds: number;
  readonly message?: string;
}

/** A MILP (minimisation) under a time limit: the incumbent and the proven bound even when it times out. */
export async function solveMilp(lp: LpModel, timeLimit: number): Promise<MilpResult> {
  const t0 = performance.now();
  const done = (r: Omit<MilpResult, "seconds">): MilpResult => ({ ...r, seconds: (performance.now() - t0) / 1000 });
  let model: Model | null = null;
  try {
    const h = await highsModule();
    ({ model } = await createModel(lp, true));
    model.options.set(highsOptions({ timeLimit: Math.max(0.01, timeLimit) }));
    model.run();
    const st = statusName(model.getModelStatus());
    if (st === "infeasible")
      return done({ status: "infeasible", objective: null, x: null, dualBound: Infinity, gap: null });
    // Without integer columns HiGHS solves an LP and reports no MIP dual bound: the optimum is the bound.
    const isMip = lp.colInteger.some((v) => v !== 0);
    const bound = isMip
      ? Number(model.info.get("mip_dual_bound"))
      : st === "optimal"
        ? model.getObjectiveValue()
        : -Infinity;
    const feasible = Number(model.info.get("primal_solution_status")) === h.constants.solutionStatus.feasible;
    const x = feasible ? Float64Array.from(model.getSolution().colValue) : null;
    const objective = feasible ? model.getObjectiveValue() : null;
    const gap = objective !== null && Number.isFinite(bound) ? objective - bound : null;
    if (st === "optimal")
      return done({
        status: "optimal",
        objective,
        x,
        dualBound: Number.isFinite(bound) ? bound : (objective ?? -Infinity),
        gap,
      });
    if (st === "time-limit" || st === "iteration-limit" || st === "interrupted")
      return done({
        status: "timeout",
        objective,
        x,
        dualBound: Number.isFinite(bound) ? bound : -Infinity,
        gap,
        message: "HiGHS: time limit reached",
      });
    return done({
      status: "error",
      objective,
      x,
      dualBound: -Infinity,
      gap,
      message: mapHighsStatus(model.getModelStatus()).message,
    });
  } catch (e) {
    return done({
      status: "error",
      objective: null,
      x: null,
      dualBound: -Infinity,
      gap: null,
      message: isHighsAbort(e) ? `HiGHS aborted: ${(e as Error).message}` : String(e),
    });
  } finally {
    try {
      model?.dispose();
    } catch {
      /* an aborted module */
    }
  }
}

// ---- The lazy loop's LP: columns fixed, rows added between warm re-solves ----

/** Rows lower ≤ A·z ≤ upper in CSR over the model's columns (±Infinity for a free side). */
export interface RowBatch {
  readonly starts: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
}

export interface IncrementalLp {
  addRows(rows: RowBatch): void;
  /**
   * Re-solves warm (dual simplex) or, with `ipm`, by the interior point method with crossover (its basis
   * stays for the next warm start); an IPM run that ends in neither optimal nor infeasible is repeated by
   * the simplex method, and a run that ends in HiGHS' "unknown" (numerical trouble after a warm start) is
   * repeated cold once. x is the primal solution when optimal. `devex`: the dual simplex prices by devex
   * weights instead of HiGHS' own choice (dual steepest edge, whose weight for each added row costs a solve
   * with the basis).
   */
  solve(opts: { readonly timeLimit: number; readonly ipm: boolean; readonly devex?: boolean }): {
    status: SolveStatus;
    message?: string;
    x: Float64Array | null;
  };
  dispose(): void;
}

/** min cost·z over the column box, no rows yet. */
export async function openIncrementalLp(
  cols: { readonly lower: Float64Array; readonly upper: Float64Array; readonly cost: Float64Array },
  timeLimit: number,
): Promise<IncrementalLp> {
  const h = await highsModule();
  const n = cols.cost.length;
  const model = h.createModel({
    numCols: n,
    numRows: 0,
    sense: h.constants.objectiveSense.minimize,
    colCost: cols.cost,
    colLower: cols.lower,
    colUpper: cols.upper,
    rowLower: new Float64Array(0),
    rowUpper: new Float64Array(0),
    matrix: {
      format: "csr",
      numRows: 0,
      numCols: n,
      starts: Int32Array.of(0),
      indices: new Int32Array(0),
      values: new Float64Array(0),
    },
  });
  model.options.set(highsOptions({ timeLimit }));
  return {
    addRows(r) {
      const m = r.lower.length;
      if (m === 0) return;
      model.addRows({
        lower: r.lower,
        upper: r.upper,
        matrix: { format: "csr", numRows: m, numCols: n, starts: r.starts, indices: r.indices, values: r.values },
      });
    },
    solve({ timeLimit: t, ipm, devex }) {
      model.options.set("time_limit", t);
      model.options.set("solver", ipm ? "ipm" : "simplex");
      // HiGHS' simplex_dual_edge_weight_strategy: -1 its own choice (the default), 1 devex.
      model.options.set("simplex_dual_edge_weight_strategy", devex ? 1 : -1);
      model.run();
      const st = () => statusName(model.getModelStatus());
      if (ipm && st() !== "optimal" && st() !== "infeasible") {
        model.options.set("solver", "simplex");
        model.clearSolver();
        model.run();
      }
      if (st() === "unknown") {
        model.clearSolver();
        model.run();
      }
      const mapped = mapHighsStatus(model.getModelStatus());
      return { ...mapped, x: mapped.status === "optimal" ? Float64Array.from(model.getSolution().colValue) : null };
    },
    dispose() {
      try {
        model.dispose();
      } catch {
        /* an aborted module */
      }
    },
  };
}

// ---- Branch and bound's LP: one model, column bounds and objective changed between warm re-solves ----

export interface BoundedLpAnswer {
  readonly status: HighsStatusName;
  /** Row duals of the minimisation (any quality: the caller makes them sound with dualBound); null when none. */
  readonly duals: Float64Array | null;
  /** A dual ray when HiGHS found the LP infeasible (a Farkas certificate the caller verifies), else null. */
  readonly ray: Float64Array | null;
  readonly primal: Float64Array | null;
}

/** What a subdomain changes: every column's bounds, every row's upper side, and some matrix coefficients. */
export interface BoundedLpChange {
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly rowUpper: Float64Array;
  readonly coefRow: Int32Array;
  readonly coefCol: Int32Array;
  readonly coefValue: Float64Array;
}

export interface BoundedLp {
  /** min Σ vals·z[cols] after the change, warm from the last basis. */
  minimize(change: BoundedLpChange, cols: Int32Array, vals: Float64Array, timeLimit: number): BoundedLpAnswer;
  dispose(): void;
}

export async function openBoundedLp(lp: LpModel): Promise<BoundedLp> {
  const { model } = await createModel({ ...lp, objective: new Float64Array(lp.colLower.length), sense: "min" }, false);
  model.options.set(highsOptions({}));
  const n = lp.colLower.length;
  const all = { kind: "set" as const, indices: Array.from({ length: n }, (_, j) => j) };
  const allRows = { kind: "set" as const, indices: Array.from({ length: lp.rowLower.length }, (_, j) => j) };
  let last: Int32Array | null = null;
  // Coefficients as the model holds them now (key row·n + col): only changed ones cross into WebAssembly.
  const coef = new Map<number, number>();
  return {
    minimize(change, cols, vals, timeLimit) {
      try {
        return solve(change, cols, vals, timeLimit);
      } catch (e) {
        // A failed run (HiGHS status −1) or an aborted module: no answer for this subdomain (the caller keeps it open).
        isHighsAbort(e);
        try {
          model.clearSolver();
        } catch {
          /* an aborted module */
        }
        return { status: "other", duals: null, ray: null, primal: null };
      }
    },
    dispose() {
      try {
        model.dispose();
      } catch {
        /* an aborted module */
      }
    },
  };

  function solve(change: BoundedLpChange, cols: Int32Array, vals: Float64Array, timeLimit: number): BoundedLpAnswer {
    model.changeColsBounds(all, change.colLower, change.colUpper);
    model.changeRowsBounds(allRows, lp.rowLower, change.rowUpper);
    for (let k = 0; k < change.coefRow.length; k++) {
      const key = change.coefRow[k] * n + change.coefCol[k],
        v = change.coefValue[k];
      if (coef.get(key) === v) continue;
      model.changeCoefficient(change.coefRow[k], change.coefCol[k], v);
      coef.set(key, v);
    }
    if (last && last.length > 0)
      model.changeColsCost({ kind: "set", indices: Array.from(last) }, new Float64Array(last.length));
    const order = Array.from(cols.keys()).sort((a, b) => cols[a] - cols[b]);
    model.changeColsCost(
      { kind: "set", indices: order.map((i) => cols[i]) },
      Float64Array.from(order, (i) => vals[i]),
    );
    last = Int32Array.from(order, (i) => cols[i]);
    model.options.set("time_limit", Math.max(0.01, timeLimit));
    model.run();
    let status = statusName(model.getModelStatus());
    // A warm start that ends in HiGHS' "unknown" (numerical trouble) is repeated cold once.
    if (status === "unknown") {
      model.clearSolver();
      model.run();
      status = statusName(model.getModelStatus());
    }
    if (status === "infeasible") {
      const r = model.getDualRay();
      return { status, duals: null, ray: r ? Float64Array.from(r.values) : null, primal: null };
    }
    if (status !== "optimal" && status !== "time-limit" && status !== "iteration-limit")
      return { status, duals: null, ray: null, primal: null };
    const sol = model.getSolution();
    const duals =
      sol.rowDual.length === lp.rowLower.length && Array.from(sol.rowDual).every(Number.isFinite)
        ? Float64Array.from(sol.rowDual)
        : null;
    return { status, duals, ray: null, primal: status === "optimal" ? Float64Array.from(sol.colValue) : null };
  }
}
