// select-disjuncts, relax mode: every disjunction of C_f(x) is replaced by its kind's convex outer
// approximation on sound bounds (compiler/nonlinear/: the triangle for a ReLU; v ≥ u_k, v ≤ Σ_k (u_k − l_k) +
// max_k l_k for a max-pool), so the LP's feasible set CONTAINS F(C_f) within the box.
// Every layer variable also gets its bounds as column bounds (finite: the dual bounds of lp-bounds/tighten.ts need
// that). An infeasible relaxation, or a relaxation optimum, is a certified statement about the network.

import { and, type Formula, type LinearBlock, type Problem, type VarBlock } from "../ir/constraint.js";
import type { LayerBounds } from "../ir/bounds.js";
import type { Network } from "../ir/network.js";
import { emptyStats, isNonlinear, semanticsOf, windowsOf } from "../nonlinear/index.js";
import type { Encoding } from "./encode.js";
import { sanitizeName } from "../backend/names.js";

export interface RelaxStats {
  readonly unstable: number;
  readonly stableActive: number;
  readonly stableInactive: number;
}

/**
 * The triangle relaxation of `enc` on `bounds` (one entry per layer). `upTo`: only layers with id ≤ upTo
 * keep any rows (later layers' columns stay, bounded, in no row), which is what bound tightening of layer
 * upTo needs and keeps its LPs small.
 */
export function relaxDisjuncts(
  net: Network,
  enc: Encoding,
  bounds: readonly LayerBounds[],
  upTo = Infinity,
): { problem: Problem; stats: RelaxStats } {
  const p = enc.problem;
  const at = (id: number) => p.vars[enc.layerVar[id]].offset;
  const stats = emptyStats();
  const blocks: LinearBlock[] = [];
  for (const l of net.layers) {
    if (l.id > upTo) break;
    if (!isNonlinear(l)) continue;
    blocks.push(
      semanticsOf(l).triangleRows(
        l,
        windowsOf(l),
        bounds[l.input],
        { u: at(l.input), v: at(l.id) },
        sanitizeName(l.name),
        stats,
      ),
    );
  }
  // Layers' variable blocks are laid out in layer order: columns below `limit` belong to layers ≤ upTo.
  const limit = upTo < net.layers.length - 1 ? at(upTo) + p.vars[enc.layerVar[upTo]].size : Infinity;
  const early = (b: LinearBlock) => b.cols.every((c) => c < limit);
  const keep = (f: Formula): Formula[] =>
    f.kind === "and" ? f.items.flatMap(keep) : f.kind === "or" ? [] : early(f) ? [f] : [];
  return {
    problem: {
      vars: boundedVars(p.vars, enc, bounds),
      constraint: and(...keep(p.constraint), ...blocks),
      objective: p.objective,
    },
    stats: { unstable: stats.unstable, stableActive: stats.stableActive, stableInactive: stats.stableInactive },
  };
}

/** Layer variable blocks with the bounds as column bounds (intersected with what the block had). */
export function boundedVars(vars: readonly VarBlock[], enc: Encoding, bounds: readonly LayerBounds[]): VarBlock[] {
  const out = [...vars];
  enc.layerVar.forEach((vi, id) => {
    const b = vars[vi],
      lb = bounds[id];
    if (!lb) return;
    out[vi] = {
      ...b,
      lower: Float64Array.from(b.lower, (v, i) => Math.max(v, lb.lower[i])),
      upper: Float64Array.from(b.upper, (v, i) => Math.min(v, lb.upper[i])),
    };
  });
  return out;
}
