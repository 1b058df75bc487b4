// In-process HiGHS (npm `highs`, WebAssembly) over the persistent model API, built from the LpModel's CSR
// arrays (never via LP text on this path). Every model is disposed; an aborted module is reloaded.

import * as highsPackage from "highs";
import type { Highs, Model, ModelData, ModelStatusCode } from "highs";
import { ok, type LpModel, type Result } from "../../compiler/index.js";
import { FEASIBILITY_TOLERANCE, MIP_GAP, type FileSolution, type LpSolution, type SolveOptions, type SolveStatus, type Solver } from "./types.js";

// `highs` ships CommonJS-flavoured typings, so under NodeNext its default export types as `.default` of
// the namespace; at run time Node loads build/highs.mjs, whose default export is the loader.
const loadHighs = (highsPackage as unknown as { default: () => Promise<Highs> }).default;

let module: Promise<Highs> | null = null;

/** The loaded module, shared by all callers (it is synchronous and single-threaded anyway). */
export function highsModule(): Promise<Highs> {
  const p = module ?? loadHighs().catch((e: unknown) => { module = null; throw e; });
  module = p;
  return p;
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

/** HiGHS model status → ours. 9 ("unbounded or infeasible") is an error here: solve() resolves it first
 *  by a re-run without presolve. */
export function mapHighsStatus(code: ModelStatusCode | number): { status: SolveStatus; message?: string } {
  switch (code) {
    case 7: return { status: "optimal" };
    case 6: return { status: "optimal", message: "HiGHS: empty model" };
    case 8: return { status: "infeasible", message: "HiGHS: infeasible" };
    case 10: return { status: "unbounded", message: "HiGHS: unbounded" };
    case 13: return { status: "timeout", message: "HiGHS: time limit reached" };
    case 9: return { status: "error", message: "HiGHS: infeasible or unbounded (not distinguished)" };
    default: return { status: "error", message: `HiGHS: model status ${code} (${STATUS_NAMES[code] ?? "unknown"})` };
  }
}

const STATUS_NAMES: Record<number, string> = {
  0: "not set", 1: "load error", 2: "model error", 3: "presolve error", 4: "solve error", 5: "postsolve error",
  11: "objective bound reached", 12: "objective target reached", 14: "iteration limit reached", 15: "unknown",
  16: "solution limit reached", 17: "interrupted",
};

/** The LpModel as HiGHS model data (HiGHS' infinity is IEEE Infinity, so bounds pass as they are). `integer`
 *  false drops the integrality: the LP relaxation of a MILP. */
export function modelData(h: Highs, m: LpModel, integer = true): ModelData {
  const nc = m.colNames.length, nr = m.rowNames.length;
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
  if (code !== 9) return { code, rerun: false };
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
      const done = (status: SolveStatus, objective: number | null, x: Float64Array | null, message?: string): LpSolution =>
        ({ status, objective, x, seconds: (performance.now() - t0) / 1000, solver: "highs", ...(message ? { message } : {}) });
      let h: Highs;
      try { h = await highsModule(); } catch (e) { return done("error", null, null, `cannot load HiGHS: ${String(e)}`); }
      let model: Model | null = null;
      try {
        model = h.createModel(modelData(h, m));
        model.options.set(highsOptions(opts));
        const { code, rerun } = run(model);
        const { status, message } = mapHighsStatus(code);
        const note = rerun ? `${message ?? "HiGHS"} (after a re-run without presolve)` : message;
        if (status !== "optimal") return done(status, null, null, note);
        // HiGHS calls a model without columns "empty" and reports no primal solution for it.
        if (code === 6 && m.colNames.length === 0) return done("optimal", m.objectiveConstant, new Float64Array(0), note);
        if (Number(model.info.get("primal_solution_status")) !== h.constants.solutionStatus.feasible) {
          return done("error", null, null, "HiGHS reported optimal without a feasible primal solution");
        }
        return done("optimal", model.getObjectiveValue(), model.getSolution().colValue, note);
      } catch (e) {
        return done("error", null, null, describeError(e));
      } finally {
        // Disposing a model of an aborted module can throw too; the module is dropped anyway.
        try { model?.dispose(); } catch { /* the runtime is gone */ }
      }
    },
  };
}

const LEGACY_STATUS: Record<string, SolveStatus> = {
  "Optimal": "optimal", "Empty": "optimal", "Infeasible": "infeasible", "Unbounded": "unbounded", "Time limit reached": "timeout",
};

/** HiGHS on CPLEX-LP text (its own LP parser), for checking a written file; values keyed by column name. */
export async function solveLpTextWithHighs(text: string, opts: SolveOptions = {}): Promise<FileSolution> {
  const t0 = performance.now();
  const done = (status: SolveStatus, objective: number | null, values: Map<string, number> | null, message?: string): FileSolution =>
    ({ status, objective, values, seconds: (performance.now() - t0) / 1000, solver: "highs", ...(message ? { message } : {}) });
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
  const done = (status: SolveStatus, objective: number | null, values: Map<string, number> | null, message?: string): FileSolution =>
    ({ status, objective, values, seconds: (performance.now() - t0) / 1000, solver: "highs", ...(message ? { message } : {}) });
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
    try { model?.dispose(); } catch { /* the runtime is gone */ }
  }
}
