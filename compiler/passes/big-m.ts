// select-disjuncts, exact mode: every disjunction of C_f(x) becomes mixed-integer rows, so the MILP's
// feasible set is exactly F(C_f) within the bounds' box (Tjeng et al.'s MIPVerify encoding). A ReLU whose
// pre-activation bounds have one sign is fixed (no binary); an unstable one gets a binary a with
//   v ≥ 0, v ≥ u, v ≤ u − l·(1 − a), v ≤ h·a          (l < 0 < h the pre-activation bounds);
// a max-pool output v over window elements u_k gets v ≥ u_k and, unless one element dominates by bounds,
// binaries a_k with Σ a_k = 1 and v ≤ u_k + (max_k' h_k' − l_k)·(1 − a_k). Bounds must be sound (bounds.ts).

import { and, EQ, GE, LE, RowBuilder, varCount, type Formula, type LinearBlock, type Problem, type VarBlock } from "../ir/constraint.js";
import type { Network } from "../ir/network.js";
import type { LayerBounds } from "./bounds.js";
import type { Encoding } from "./encode.js";
import { sanitizeName } from "../backend/names.js";

export interface BigMStats { readonly binaries: number; readonly stableActive: number; readonly stableInactive: number }

export function bigM(net: Network, enc: Encoding, bounds: readonly LayerBounds[]): { problem: Problem; stats: BigMStats } {
  const p = enc.problem;
  const at = (id: number) => p.vars[enc.layerVar[id]].offset;
  const nBase = varCount(p);
  let nBin = 0, stableActive = 0, stableInactive = 0;
  const blocks: LinearBlock[] = [];
  for (const l of net.layers) {
    const base = sanitizeName(l.name);
    if (l.kind === "relu") {
      const u = at(l.input), v = at(l.id), b = bounds[l.input];
      const rb = new RowBuilder(`relu_${base}_milp`);
      for (let j = 0; j < b.lower.length; j++) {
        const lo = b.lower[j], hi = b.upper[j];
        if (hi <= 0) { rb.term(v + j, 1).end(EQ); stableInactive++; continue; }
        if (lo >= 0) { rb.term(v + j, 1).term(u + j, -1).end(EQ); stableActive++; continue; }
        const a = nBase + nBin++;
        rb.term(v + j, 1).end(GE);
        rb.term(v + j, 1).term(u + j, -1).end(GE);
        rb.term(v + j, 1).term(u + j, -1).term(a, -lo).end(LE, lo);
        rb.term(v + j, 1).term(a, -hi).end(LE);
      }
      blocks.push(rb.build());
    } else if (l.kind === "maxpool") {
      const u = at(l.input), v = at(l.id), b = bounds[l.input];
      const w = enc.windows.get(l.id)!;
      const rb = new RowBuilder(`pool_${base}_milp`);
      for (let j = 0; j < w.length; j++) {
        const win = w[j];
        for (const k of win) rb.term(v + j, 1).term(u + k, -1).end(GE);
        const hiMax = Math.max(...win.map((k) => b.upper[k]));
        const dominant = win.find((k) => win.every((k2) => k2 === k || b.lower[k] >= b.upper[k2]));
        if (dominant !== undefined) { rb.term(v + j, 1).term(u + dominant, -1).end(EQ); continue; }
        const bins = win.map(() => nBase + nBin++);
        bins.forEach((a) => rb.term(a, 1));
        rb.end(EQ, -1);
        win.forEach((k, i) => {
          const M = hiMax - b.lower[k];
          rb.term(v + j, 1).term(u + k, -1).term(bins[i], M).end(LE, -M);
        });
      }
      blocks.push(rb.build());
    }
  }
  const binaries: VarBlock = { name: "b", offset: nBase, size: nBin, lower: new Float64Array(nBin), upper: new Float64Array(nBin).fill(1), integer: true };
  const keep = (f: Formula): Formula[] => (f.kind === "and" ? f.items.flatMap(keep) : f.kind === "or" ? [] : [f]);
  return {
    problem: { vars: nBin > 0 ? [...p.vars, binaries] : p.vars, constraint: and(...keep(p.constraint), ...blocks), objective: p.objective },
    stats: { binaries: nBin, stableActive, stableInactive },
  };
}
