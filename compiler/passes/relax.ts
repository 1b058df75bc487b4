// select-disjuncts, relax mode: every disjunction of C_f(x) is replaced by its convex outer approximation on
// sound bounds (bounds.ts / tighten-bounds.ts), so the LP's feasible set CONTAINS F(C_f) within the box:
//   ReLU, bounds l < 0 < h:  v ≥ 0, v ≥ u, v ≤ h·(u − l)/(h − l)   (the triangle; stable ReLUs are exact);
//   max-pool over u_k:       v ≥ u_k, v ≤ Σ_k (u_k − l_k) + max_k l_k, v ≤ max_k h_k   (one dominant element: v = u_k).
// Every layer variable also gets its bounds as column bounds (finite: the dual bounds of tighten-bounds need
// that). An infeasible relaxation, or a relaxation optimum, is a certified statement about the network.

import { and, EQ, GE, LE, RowBuilder, type Formula, type LinearBlock, type Problem, type VarBlock } from "../ir/constraint.js";
import type { Network } from "../ir/network.js";
import type { LayerBounds } from "./bounds.js";
import type { Encoding } from "./encode.js";
import { sanitizeName } from "../backend/names.js";

export interface RelaxStats { readonly unstable: number; readonly stableActive: number; readonly stableInactive: number }

/**
 * The triangle relaxation of `enc` on `bounds` (one entry per layer). `upTo`: only layers with id ≤ upTo
 * keep any rows (later layers' columns stay, bounded, in no row), which is what bound tightening of layer
 * upTo needs and keeps its LPs small.
 */
export function relaxDisjuncts(net: Network, enc: Encoding, bounds: readonly LayerBounds[], upTo = Infinity): { problem: Problem; stats: RelaxStats } {
  const p = enc.problem;
  const at = (id: number) => p.vars[enc.layerVar[id]].offset;
  let unstable = 0, stableActive = 0, stableInactive = 0;
  const blocks: LinearBlock[] = [];
  for (const l of net.layers) {
    if (l.id > upTo) break;
    const base = sanitizeName(l.name);
    if (l.kind === "relu") {
      const u = at(l.input), v = at(l.id), b = bounds[l.input];
      const rb = new RowBuilder(`relu_${base}_relax`);
      for (let j = 0; j < b.lower.length; j++) {
        const lo = b.lower[j], hi = b.upper[j];
        if (hi <= 0) { rb.term(v + j, 1).end(EQ); stableInactive++; continue; }
        if (lo >= 0) { rb.term(v + j, 1).term(u + j, -1).end(EQ); stableActive++; continue; }
        unstable++;
        rb.term(v + j, 1).end(GE);
        rb.term(v + j, 1).term(u + j, -1).end(GE);
        // (h − l)·v − h·u + h·l ≤ 0: the chord from (l, 0) to (h, h).
        rb.term(v + j, hi - lo).term(u + j, -hi).end(LE, hi * lo);
      }
      blocks.push(rb.build());
    } else if (l.kind === "maxpool") {
      const u = at(l.input), v = at(l.id), b = bounds[l.input];
      const rb = new RowBuilder(`pool_${base}_relax`);
      enc.windows.get(l.id)!.forEach((win, j) => {
        const dominant = win.find((k) => win.every((k2) => k2 === k || b.lower[k] >= b.upper[k2]));
        if (dominant !== undefined) { rb.term(v + j, 1).term(u + dominant, -1).end(EQ); return; }
        for (const k of win) rb.term(v + j, 1).term(u + k, -1).end(GE);
        // max_k u_k − max_k l_k ≤ u_k* − l_k* ≤ Σ_k (u_k − l_k), each term being ≥ 0 on the bounds.
        rb.term(v + j, 1);
        let c = -Math.max(...win.map((k) => b.lower[k]));
        for (const k of win) { rb.term(u + k, -1); c += b.lower[k]; }
        rb.end(LE, c);
      });
      blocks.push(rb.build());
    }
  }
  // Layers' variable blocks are laid out in layer order: columns below `limit` belong to layers ≤ upTo.
  const limit = upTo < net.layers.length - 1 ? at(upTo) + p.vars[enc.layerVar[upTo]].size : Infinity;
  const early = (b: LinearBlock) => b.cols.every((c) => c < limit);
  const keep = (f: Formula): Formula[] => (f.kind === "and" ? f.items.flatMap(keep) : f.kind === "or" ? [] : early(f) ? [f] : []);
  return { problem: { vars: boundedVars(p.vars, enc, bounds), constraint: and(...keep(p.constraint), ...blocks), objective: p.objective }, stats: { unstable, stableActive, stableInactive } };
}

/** Layer variable blocks with the bounds as column bounds (intersected with what the block had). */
export function boundedVars(vars: readonly VarBlock[], enc: Encoding, bounds: readonly LayerBounds[]): VarBlock[] {
  const out = [...vars];
  enc.layerVar.forEach((vi, id) => {
    const b = vars[vi], lb = bounds[id];
    if (!lb) return;
    out[vi] = {
      ...b,
      lower: Float64Array.from(b.lower, (v, i) => Math.max(v, lb.lower[i])),
      upper: Float64Array.from(b.upper, (v, i) => Math.min(v, lb.upper[i])),
    };
  });
  return out;
}
