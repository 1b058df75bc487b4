// In-process HiGHS for the exact mode and bounds: one LP solved for many objectives (openHighsLp, the
// tighten-bounds / relaxation oracle: it returns row duals, which the caller turns into sound bounds), and a
// MILP run that reports its incumbent, proven dual bound and gap under a time limit (solveMilp).

import type { Model } from "highs";
import type { LpModel, LpSession } from "../../compiler/index.js";
import { highsModule, highsOptions, isHighsAbort, modelData } from "./highs.js";

async function createModel(lp: LpModel, integer: boolean): Promise<{ model: Model }> {
  const h = await highsModule();
  return { model: h.createModel(modelData(h, lp, integer)) };
}

/** An LP session for tighten-bounds / the relaxation: minimise one objective after another (warm). */
export async function openHighsLp(lp: LpModel, timeLimitPerLp = 30): Promise<LpSession> {
  const { model } = await createModel({ ...lp, objective: new Float64Array(lp.colLower.length), sense: "min" }, false);
  model.options.set(highsOptions({ timeLimit: timeLimitPerLp }));
  let last: Int32Array | null = null;
  return {
    async minimize(cols, vals) {
      try {
        if (last && last.length > 0) model.changeColsCost({ kind: "set", indices: Array.from(last) }, new Float64Array(last.length));
        const order = Array.from(cols.keys()).sort((a, b) => cols[a] - cols[b]);
        model.changeColsCost({ kind: "set", indices: order.map((i) => cols[i]) }, Float64Array.from(order, (i) => vals[i]));
        last = Int32Array.from(order, (i) => cols[i]);
        model.run();
        const code = model.getModelStatus();
        // Duals are used whatever their quality (dualBound makes any vector sound); only a missing one is null.
        if (code !== 7 && code !== 13 && code !== 14) return null;
        const y = model.getSolution().rowDual;
        return y.length === lp.rowLower.length && y.every(Number.isFinite) ? Float64Array.from(y) : null;
      } catch (e) {
        isHighsAbort(e);
        return null;
      }
    },
    close() { try { model.dispose(); } catch { /* an aborted module */ } },
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
    const code = model.getModelStatus();
    if (code === 8) return done({ status: "infeasible", objective: null, x: null, dualBound: Infinity, gap: null });
    // Without integer columns HiGHS solves an LP and reports no MIP dual bound: the optimum is the bound.
    const isMip = lp.colInteger.some((v) => v !== 0);
    const bound = isMip ? Number(model.info.get("mip_dual_bound")) : code === 7 ? model.getObjectiveValue() : -Infinity;
    const feasible = Number(model.info.get("primal_solution_status")) === h.constants.solutionStatus.feasible;
    const x = feasible ? Float64Array.from(model.getSolution().colValue) : null;
    const objective = feasible ? model.getObjectiveValue() : null;
    const gap = objective !== null && Number.isFinite(bound) ? objective - bound : null;
    if (code === 7) return done({ status: "optimal", objective, x, dualBound: Number.isFinite(bound) ? bound : (objective ?? -Infinity), gap });
    if (code === 13 || code === 14 || code === 17) return done({ status: "timeout", objective, x, dualBound: Number.isFinite(bound) ? bound : -Infinity, gap, message: "HiGHS: time limit reached" });
    return done({ status: "error", objective, x, dualBound: -Infinity, gap, message: `HiGHS: model status ${code}` });
  } catch (e) {
    return done({ status: "error", objective: null, x: null, dualBound: -Infinity, gap: null, message: isHighsAbort(e) ? `HiGHS aborted: ${(e as Error).message}` : String(e) });
  } finally {
    try { model?.dispose(); } catch { /* an aborted module */ }
  }
}
