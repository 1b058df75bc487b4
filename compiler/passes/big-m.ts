// select-disjuncts, exact mode: every disjunction of C_f(x) becomes mixed-integer rows, so the MILP's
// feasible set is exactly F(C_f) within the bounds' box (Tjeng et al.'s MIPVerify encoding): each nonlinear
// kind's big-M rows (compiler/nonlinear/), binaries appended after the layer variables. A neuron whose bounds
// decide its piece is fixed (no binary). Bounds must be sound (compiler/analysis/bounds/).

import { and, varCount, type Formula, type LinearBlock, type Problem, type VarBlock } from "../ir/constraint.js";
import type { LayerBounds } from "../ir/bounds.js";
import type { Network } from "../ir/network.js";
import { emptyStats, isNonlinear, semanticsOf, windowsOf } from "../nonlinear/index.js";
import type { Encoding } from "./encode.js";
import { sanitizeName } from "../backend/names.js";

export interface BigMStats {
  readonly binaries: number;
  readonly stableActive: number;
  readonly stableInactive: number;
}

export function bigM(
  net: Network,
  enc: Encoding,
  bounds: readonly LayerBounds[],
): { problem: Problem; stats: BigMStats } {
  const p = enc.problem;
  const at = (id: number) => p.vars[enc.layerVar[id]].offset;
  const nBase = varCount(p);
  let nBin = 0;
  const stats = emptyStats();
  const blocks: LinearBlock[] = [];
  for (const l of net.layers) {
    if (!isNonlinear(l)) continue;
    blocks.push(
      semanticsOf(l).bigMRows(
        l,
        windowsOf(l),
        bounds[l.input],
        { u: at(l.input), v: at(l.id) },
        sanitizeName(l.name),
        () => nBase + nBin++,
        stats,
      ),
    );
  }
  const binaries: VarBlock = {
    name: "b",
    offset: nBase,
    size: nBin,
    lower: new Float64Array(nBin),
    upper: new Float64Array(nBin).fill(1),
    integer: true,
  };
  const keep = (f: Formula): Formula[] => (f.kind === "and" ? f.items.flatMap(keep) : f.kind === "or" ? [] : [f]);
  return {
    problem: {
      vars: nBin > 0 ? [...p.vars, binaries] : p.vars,
      constraint: and(...keep(p.constraint), ...blocks),
      objective: p.objective,
    },
    stats: { binaries: nBin, stableActive: stats.stableActive, stableInactive: stats.stableInactive },
  };
}
