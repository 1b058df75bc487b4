// The complete step: the network over a VNN-LIB box as a big-M MILP (encode → IBP bounds → big-M →
// LpModel, every layer column bounded by its sound interval), plus one unsafe disjunct's rows g ≤ −margin.
// The same model serves three questions: `milp` (exact), `relax` (integrality dropped: infeasible ⇒ the
// disjunct is refuted) and `restrict` (ReLU phases / max-pool winners fixed to a point's: its linear region).

import type { LpModel } from "../../compiler/backend/lp-model.js";
import type { Network } from "../../compiler/ir/network.js";
import { bigM } from "../../compiler/passes/big-m.js";
import type { LayerBounds } from "../../compiler/passes/bounds.js";
import type { NetworkMatrices } from "../region.js";
import { backsub, tightBounds } from "./backsub.js";
import { encode } from "../../compiler/passes/encode.js";
import { toLpModel } from "../../compiler/passes/to-lp-model.js";
import type { Trace } from "../evaluator/reference.js";
import type { Disjunct, LeAtom, Spec } from "./spec.js";

export interface BaseModel {
  readonly lp: LpModel;
  readonly bounds: readonly LayerBounds[];
  /** Column offset of each layer's variables. */
  readonly offset: readonly number[];
  readonly inputLayer: number;
  readonly binaries: number;
}

export function buildBase(net: Network, m: NetworkMatrices, s: Spec): BaseModel {
  const enc = encode(net, { inputLower: 0, inputUpper: 0 });
  const bounds = tightBounds(net, m, s.lower, s.upper);
  const { problem, stats } = bigM(net, enc, bounds);
  const lp = toLpModel(problem, "verify", []);
  const offset = net.layers.map((l) => problem.vars[enc.layerVar[l.id]].offset);
  const colLower = lp.colLower.slice(), colUpper = lp.colUpper.slice();
  let inputLayer = 0;
  for (const l of net.layers) {
    const b = l.kind === "input" ? { lower: s.lower, upper: s.upper } : bounds[l.id];
    if (l.kind === "input") inputLayer = l.id;
    for (let j = 0; j < b.lower.length; j++) {
      // The input columns take the box exactly; the others their (padded, sound) intervals.
      colLower[offset[l.id] + j] = l.kind === "input" ? b.lower[j] : Math.max(colLower[offset[l.id] + j], b.lower[j]);
      colUpper[offset[l.id] + j] = l.kind === "input" ? b.upper[j] : Math.min(colUpper[offset[l.id] + j], b.upper[j]);
    }
  }
  return { lp: { ...lp, colLower, colUpper }, bounds, offset, inputLayer, binaries: stats.binaries };
}

/**
 * Whether bounds alone refute the disjunct: some atom's g is positive over the whole box, by the output
 * intervals or by back-substituting the atom's own combination of outputs (much tighter for y_j − y_l).
 */
export function boundsRefute(net: Network, m: NetworkMatrices, base: BaseModel, d: Disjunct, s: Spec): boolean {
  const out = base.bounds[net.output], ny = out.lower.length;
  return d.some((a) => {
    const A = new Float64Array(ny);
    a.ys.forEach((j, k) => { A[j] += a.yw[k]; });
    const r = backsub(net, m, base.bounds, net.output, A, new Float64Array(1), 1);
    if (r) {
      let lo = r.lower[0], mag = Math.abs(lo);
      a.xs.forEach((i, k) => { const w = a.xw[k]; lo += Math.min(w * s.lower[i], w * s.upper[i]); mag += Math.abs(w) * Math.max(Math.abs(s.lower[i]), Math.abs(s.upper[i])); });
      if (lo + a.c > 1e-9 * (1 + mag + Math.abs(a.c))) return true;
    }
    let lo = a.c, mag = Math.abs(a.c);
    a.ys.forEach((j, k) => { const w = a.yw[k]; lo += Math.min(w * out.lower[j], w * out.upper[j]); mag += Math.abs(w) * Math.max(Math.abs(out.lower[j]), Math.abs(out.upper[j])); });
    a.xs.forEach((i, k) => { const w = a.xw[k]; lo += Math.min(w * s.lower[i], w * s.upper[i]); mag += Math.abs(w) * Math.max(Math.abs(s.lower[i]), Math.abs(s.upper[i])); });
    return lo > 1e-9 * (1 + mag); // above the rounding of this sum
  });
}

export type ModelKind = { readonly kind: "milp" } | { readonly kind: "relax" } | { readonly kind: "restrict"; readonly trace: Trace };

interface Rows { lower: number[]; upper: number[]; indptr: number[]; indices: number[]; values: number[] }

/** The base model with the disjunct's rows (g ≤ −margin) and, for `restrict`, the point's phases fixed. */
export function disjunctModel(net: Network, base: BaseModel, d: Disjunct, kind: ModelKind, margin: number): LpModel {
  const lp = base.lp, out = base.offset[net.output], xin = base.offset[base.inputLayer];
  const rows: Rows = { lower: [], upper: [], indptr: [0], indices: [], values: [] };
  const add = (cols: number[], vals: number[], lo: number, hi: number) => {
    rows.indices.push(...cols); rows.values.push(...vals); rows.lower.push(lo); rows.upper.push(hi); rows.indptr.push(rows.indices.length);
  };
  const atomRow = (a: LeAtom) => {
    const cols = new Map<number, number>();
    a.ys.forEach((j, k) => cols.set(out + j, (cols.get(out + j) ?? 0) + a.yw[k]));
    a.xs.forEach((i, k) => cols.set(xin + i, (cols.get(xin + i) ?? 0) + a.xw[k]));
    const entries = [...cols].filter(([, v]) => v !== 0);
    add(entries.map((e) => e[0]), entries.map((e) => e[1]), -Infinity, -a.c - margin);
  };
  for (const a of d) atomRow(a);
  const colLower = lp.colLower.slice(), colUpper = lp.colUpper.slice();
  if (kind.kind === "restrict") {
    for (const l of net.layers) {
      if (l.kind === "relu") {
        const ph = kind.trace.phases.get(l.id)!, u = base.offset[l.input], v = base.offset[l.id];
        for (let j = 0; j < ph.length; j++) {
          if (ph[j]) { colLower[u + j] = Math.max(colLower[u + j], 0); add([v + j, u + j], [1, -1], 0, 0); }
          else { colUpper[u + j] = Math.min(colUpper[u + j], 0); colUpper[v + j] = Math.min(colUpper[v + j], 0); }
        }
      } else if (l.kind === "maxpool") {
        const am = kind.trace.argmax.get(l.id)!, u = base.offset[l.input], v = base.offset[l.id];
        for (let j = 0; j < am.length; j++) add([v + j, u + am[j]], [1, -1], 0, 0);
      }
    }
  }
  const m = lp.rowLower.length, k0 = lp.indptr[m];
  const indptr = new Int32Array(m + rows.lower.length + 1);
  indptr.set(lp.indptr);
  rows.indptr.forEach((p, r) => { indptr[m + r] = k0 + p; });
  const cat = (a: Float64Array, b: number[]) => { const c = new Float64Array(a.length + b.length); c.set(a); c.set(b, a.length); return c; };
  const indices = new Int32Array(k0 + rows.indices.length);
  indices.set(lp.indices.subarray(0, k0)); indices.set(rows.indices, k0);
  return {
    ...lp,
    colLower, colUpper,
    colInteger: kind.kind === "milp" ? lp.colInteger : new Uint8Array(lp.colInteger.length),
    rowNames: [...lp.rowNames, ...rows.lower.map((_, r) => `unsafe_${r}`)],
    rowLower: cat(lp.rowLower, rows.lower), rowUpper: cat(lp.rowUpper, rows.upper),
    indptr, indices, values: cat(lp.values.subarray(0, k0), rows.values),
  };
}

/** The input part of a solution of a model built from `base`. */
export const inputOf = (base: BaseModel, n: number, sol: Float64Array): Float64Array => sol.slice(base.offset[base.inputLayer], base.offset[base.inputLayer] + n);
