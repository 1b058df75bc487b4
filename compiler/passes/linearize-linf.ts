// linearize-linf: min ‖x − x*‖∞ as an LP: a new variable t ≥ 0, rows x*_i − t ≤ x_i ≤ x*_i + t, and the
// objective min t. The input box stays as bounds on x. t is in model units: rho in pixels = t · pixel scale.

import { and, GE, LE, RowBuilder, varCount, findVar, type Problem, type VarBlock } from "../ir/constraint.js";

export const T_VAR = "t";

/** `tMax` bounds t (the exact mode's radius: beyond it the MILP's bounds no longer hold). */
export function linearizeLinf(p: Problem, xStar: Float64Array, tMax = Infinity): Problem {
  const x = findVar(p, "x");
  if (x.size !== xStar.length) throw new Error(`internal: x* has ${xStar.length} entries, x has ${x.size}`);
  const tCol = varCount(p);
  const t: VarBlock = {
    name: T_VAR,
    offset: tCol,
    size: 1,
    lower: Float64Array.of(0),
    upper: Float64Array.of(tMax),
    integer: false,
  };
  const lo = new RowBuilder("linf_lo"),
    hi = new RowBuilder("linf_hi");
  for (let i = 0; i < x.size; i++) {
    lo.term(x.offset + i, 1)
      .term(tCol, 1)
      .end(GE, -xStar[i]);
    hi.term(x.offset + i, 1)
      .term(tCol, -1)
      .end(LE, -xStar[i]);
  }
  return {
    vars: [...p.vars, t],
    constraint: and(p.constraint, lo.build(), hi.build()),
    objective: { sense: "min", cols: Int32Array.of(tCol), vals: Float64Array.of(1), constant: 0 },
  };
}
