// The complete step: the network over a VNN-LIB box as a big-M MILP (encode → back-substituted bounds → big-M →
// LpModel, every layer column bounded by its sound interval), plus one unsafe disjunct's rows g ≤ −margin.
// The same model serves three questions: `milp` (exact), `relax` (integrality dropped: infeasible ⇒ the
// disjunct is refuted) and `restrict` (an activation pattern's rows: a point's linear region).

import {
  blocksOf,
  boundsProve,
  compileNetwork,
  GE,
  isNonlinear,
  LE,
  restrictLayer,
  soundBounds,
  type ActivationPattern,
  type LayerBounds,
  type LpModel,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";
import type { Disjunct, LeAtom, Spec } from "./spec.js";

export interface BaseModel {
  readonly lp: LpModel;
  readonly bounds: readonly LayerBounds[];
  /** Column offset of each layer's variables. */
  readonly offset: readonly number[];
  readonly inputLayer: number;
  readonly binaries: number;
}

/** `m`: the network's CSR cache; the bounds are back-substituted (compiler/analysis/bounds/) on the box. */
export async function buildBase(net: Network, m: NetworkMatrices, s: Spec): Promise<BaseModel> {
  return baseFromBounds(
    net,
    s,
    await soundBounds(net, { lower: s.lower, upper: s.upper }, { method: "backsub", matrices: m }),
  );
}

/**
 * The base model on given sound bounds of the box `s` (a branch-and-bound subdomain's: split ReLUs have their
 * pre-activation bounds clipped at 0, so their rows are the exact stable ones and the columns carry the split).
 */
export function baseFromBounds(
  net: Network,
  s: Pick<Spec, "lower" | "upper">,
  bounds: readonly LayerBounds[],
): BaseModel {
  // The input columns take the box below (every column's bounds are set from the sound bounds).
  const {
    encoding: enc,
    problem,
    lp,
    stats,
  } = compileNetwork(net, {
    mode: "exact",
    bounds,
    inputLower: 0,
    inputUpper: 0,
    name: "verify",
  });
  const offset = net.layers.map((l) => problem.vars[enc.layerVar[l.id]].offset);
  const colLower = lp.colLower.slice(),
    colUpper = lp.colUpper.slice();
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

/** Whether bounds alone refute the disjunct: some atom's g is positive over the whole box (exclude.ts). */
export function boundsRefute(net: Network, m: NetworkMatrices, base: BaseModel, d: Disjunct): boolean {
  return d.some((a) => boundsProve(net, m, base.bounds, { ys: a.ys, yw: a.yw, xs: a.xs, xw: a.xw, c: a.c }));
}

export type ModelKind =
  | { readonly kind: "milp" }
  | { readonly kind: "relax" }
  | { readonly kind: "restrict"; readonly pattern: ActivationPattern };

interface Rows {
  lower: number[];
  upper: number[];
  indptr: number[];
  indices: number[];
  values: number[];
}

/**
 * The base model with the disjunct's rows (g ≤ −margin) and, for `restrict`, the pattern's rows (its linear region).
 */
export function disjunctModel(net: Network, base: BaseModel, d: Disjunct, kind: ModelKind, margin: number): LpModel {
  const lp = base.lp,
    out = base.offset[net.output],
    xin = base.offset[base.inputLayer];
  const rows: Rows = { lower: [], upper: [], indptr: [0], indices: [], values: [] };
  const add = (cols: number[], vals: number[], lo: number, hi: number) => {
    rows.indices.push(...cols);
    rows.values.push(...vals);
    rows.lower.push(lo);
    rows.upper.push(hi);
    rows.indptr.push(rows.indices.length);
  };
  const atomRow = (a: LeAtom) => {
    const cols = new Map<number, number>();
    a.ys.forEach((j, k) => cols.set(out + j, (cols.get(out + j) ?? 0) + a.yw[k]));
    a.xs.forEach((i, k) => cols.set(xin + i, (cols.get(xin + i) ?? 0) + a.xw[k]));
    const entries = [...cols].filter(([, v]) => v !== 0);
    add(
      entries.map((e) => e[0]),
      entries.map((e) => e[1]),
      -Infinity,
      -a.c - margin,
    );
  };
  for (const a of d) atomRow(a);
  if (kind.kind === "restrict") {
    // Each nonlinear layer's rows restricted to the pattern (restrictLayer: the rows select-disjuncts keeps).
    for (const l of net.layers) {
      if (!isNonlinear(l)) continue;
      for (const b of blocksOf(
        restrictLayer(l, kind.pattern, { u: base.offset[l.input], v: base.offset[l.id] }, "restrict"),
      )) {
        for (let r = 0; r < b.rows; r++) {
          const rhs = -b.constant[r];
          add(
            Array.from(b.cols.subarray(b.indptr[r], b.indptr[r + 1])),
            Array.from(b.vals.subarray(b.indptr[r], b.indptr[r + 1])),
            b.sense[r] === LE ? -Infinity : rhs,
            b.sense[r] === GE ? Infinity : rhs,
          );
        }
      }
    }
  }
  const m = lp.rowLower.length,
    k0 = lp.indptr[m];
  const indptr = new Int32Array(m + rows.lower.length + 1);
  indptr.set(lp.indptr);
  rows.indptr.forEach((p, r) => {
    indptr[m + r] = k0 + p;
  });
  const cat = (a: Float64Array, b: number[]) => {
    const c = new Float64Array(a.length + b.length);
    c.set(a);
    c.set(b, a.length);
    return c;
  };
  const indices = new Int32Array(k0 + rows.indices.length);
  indices.set(lp.indices.subarray(0, k0));
  indices.set(rows.indices, k0);
  return {
    ...lp,
    colInteger: kind.kind === "milp" ? lp.colInteger : new Uint8Array(lp.colInteger.length),
    rowNames: [...lp.rowNames, ...rows.lower.map((_, r) => `unsafe_${r}`)],
    rowLower: cat(lp.rowLower, rows.lower),
    rowUpper: cat(lp.rowUpper, rows.upper),
    indptr,
    indices,
    values: cat(lp.values.subarray(0, k0), rows.values),
  };
}

/** The input part of a solution of a model built from `base`. */
export const inputOf = (base: BaseModel, n: number, sol: Float64Array): Float64Array =>
  sol.slice(base.offset[base.inputLayer], base.offset[base.inputLayer] + n);
