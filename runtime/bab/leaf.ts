// The LP of a subdomain (HiGHS): the network's relaxation on the subdomain's bounds (split and stable ReLUs exact,
// unstable ones by their big-M rows with integrality dropped) plus the disjunct's other atoms; min of one atom.
// Where no ReLU is unstable the LP is the network itself on the subdomain, so it decides the disjunct there:
// refuted when the atom's minimum, taken from the row duals by weak duality (dualBound, never the solver's
// objective), is positive; otherwise its optimiser is a candidate for the float32 check.

import { dualBound, type LayerBounds, type Network } from "../../compiler/index.js";
import { openHighsLp } from "../solvers/highs.js";
import { baseFromBounds, disjunctModel, inputOf } from "./milp.js";
import type { Spec } from "./spec.js";

export interface LeafAnswer {
  /** The disjunct holds nowhere on the subdomain (proved from duals, or HiGHS found the LP infeasible). */
  readonly refuted: boolean;
  /** The LP optimiser's input part, when the LP had one. */
  readonly point: Float64Array | null;
}

export async function leafLp(
  net: Network,
  s: Spec,
  bounds: readonly LayerBounds[],
  d: number,
  timeLimit: number,
): Promise<LeafAnswer> {
  const base = baseFromBounds(net, s, bounds);
  const atoms = s.disjuncts[d];
  const out = base.offset[net.output],
    xin = base.offset[base.inputLayer];
  let point: Float64Array | null = null;
  for (let k = 0; k < atoms.length; k++) {
    const a = atoms[k];
    // The other atoms as rows (g ≤ 0), this one as the objective: min g_k > 0 refutes the conjunction.
    const lp = disjunctModel(
      net,
      base,
      atoms.filter((_, i) => i !== k),
      { kind: "relax" },
      0,
    );
    const c = new Float64Array(lp.colLower.length);
    a.ys.forEach((j, i) => {
      c[out + j] += a.yw[i];
    });
    a.xs.forEach((j, i) => {
      c[xin + j] += a.xw[i];
    });
    const cols = Int32Array.from(c.keys()).filter((j) => c[j] !== 0);
    const session = await openHighsLp(lp, Math.max(0.05, timeLimit));
    try {
      const y = await session.minimize(
        cols,
        Float64Array.from(cols, (j) => c[j]),
      );
      if (y === null) {
        // No duals: HiGHS proved the relaxation infeasible (as verify's LP step takes it), or gave up.
        if (session.infeasible?.()) return { refuted: true, point: null };
        continue;
      }
      const g = dualBound(lp, c, y) + a.c;
      if (g > 1e-9 * (1 + Math.abs(a.c))) return { refuted: true, point: null };
      const x = session.primal?.();
      if (x && !point) point = inputOf(base, s.lower.length, x);
    } finally {
      session.close();
    }
  }
  return { refuted: false, point };
}
