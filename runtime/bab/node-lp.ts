// The subdomain LP, one HiGHS model for a whole search: a big-M encoding on the root's bounds with the binaries
// relaxed to [0, 1]; a subdomain sets every column's bounds (its sound layer bounds; the binary of a ReLU its
// bounds make stable fixed at 0 or 1, which makes that ReLU's rows exact), rewrites each big-M row's constants
// from its own bounds (the triangle of [l, h], not the root's wider one) and re-solves warm. Unlike
// back-substitution it enforces the split constraints. The bound is taken from the row duals (dualBound),
// infeasibility only from a verified dual ray (Farkas). Used for the decision's atoms (openNodeLp).

import { dualBound, type LayerBounds, type LpModel, type Network } from "../../compiler/index.js";
import { openBoundedLp, type BoundedLp } from "../solvers/highs.js";
import { baseFromBounds, disjunctModel } from "./milp.js";
import type { Spec } from "./spec.js";

/** An LP over a layered encoding: each layer's first column, the input layer's id; binaries as bigM made them. */
export interface SubdomainModel {
  readonly lp: LpModel;
  readonly offset: readonly number[];
  readonly inputLayer: number;
}

export interface SubdomainAnswer {
  /** A sound lower bound of the objective on the subdomain (+∞: the subdomain's LP is proved empty). */
  readonly lower: number;
  /** The LP's optimiser (every column), a candidate's source. */
  readonly primal: Float64Array | null;
}

export interface SubdomainLp {
  /** min c·z + constant over the subdomain's LP (columns of the model's layers bounded by `bounds`). */
  minimize(
    bounds: readonly LayerBounds[],
    c: Float64Array,
    constant: number,
    timeLimit: number,
    input?: { readonly lower: Float64Array; readonly upper: Float64Array },
  ): SubdomainAnswer;
  dispose(): void;
}

/**
 * The model's binaries must be bigM's on `root`: one per ReLU unstable there, layer by layer, neuron by neuron,
 * after the layer columns (compiler/passes/big-m.ts); each with its rows v − u − l·a ≤ −l and v − h·a ≤ 0.
 */
export async function openSubdomainLp(
  net: Network,
  sm: SubdomainModel,
  root: readonly LayerBounds[],
): Promise<SubdomainLp> {
  const lp: LpModel = { ...sm.lp, colInteger: new Uint8Array(sm.lp.colInteger.length) };
  const first = sm.lp.colInteger.indexOf(1);
  const binOf = new Map<number, Int32Array>();
  let next = first;
  for (const l of net.layers) {
    if (l.kind !== "relu") continue;
    const p = root[l.input],
      cols = new Int32Array(p.lower.length).fill(-1);
    for (let j = 0; j < cols.length; j++) if (p.lower[j] < 0 && p.upper[j] > 0) cols[j] = next++;
    binOf.set(l.id, cols);
  }
  const nb = first < 0 ? 0 : next - first;
  if (sm.lp.colInteger.reduce((a, v) => a + v, 0) !== nb)
    throw new Error("internal: the big-M binaries are not the root's unstable ReLUs in order");
  // Each binary's two rows, found by their binary, and the CSR position of its coefficient in each.
  const rowL = new Int32Array(nb).fill(-1),
    rowH = new Int32Array(nb).fill(-1),
    posL = new Int32Array(nb),
    posH = new Int32Array(nb);
  for (let r = 0; r < lp.rowLower.length; r++) {
    for (let k = lp.indptr[r]; k < lp.indptr[r + 1]; k++) {
      const b = lp.indices[k] - first;
      if (first < 0 || b < 0 || b >= nb) continue;
      if (lp.indptr[r + 1] - lp.indptr[r] === 3) {
        rowL[b] = r;
        posL[b] = k;
      } else {
        rowH[b] = r;
        posH[b] = k;
      }
    }
  }
  for (const l of net.layers) {
    if (l.kind !== "relu") continue;
    const p = root[l.input],
      cols = binOf.get(l.id)!;
    for (let j = 0; j < cols.length; j++) {
      const k = cols[j] - first;
      if (
        cols[j] >= 0 &&
        (rowL[k] < 0 ||
          rowH[k] < 0 ||
          lp.values[posL[k]] !== -p.lower[j] ||
          lp.rowUpper[rowL[k]] !== -p.lower[j] ||
          lp.values[posH[k]] !== -p.upper[j])
      ) {
        throw new Error("internal: the big-M rows are not v − u − l·a ≤ −l and v − h·a ≤ 0");
      }
    }
  }
  const model: BoundedLp = await openBoundedLp(lp);
  return {
    minimize(bounds, c, constant, timeLimit, input) {
      const lower = lp.colLower.slice(),
        upper = lp.colUpper.slice();
      const values = lp.values.slice(),
        rowUpper = lp.rowUpper.slice();
      const coefRow = new Int32Array(2 * nb),
        coefCol = new Int32Array(2 * nb),
        coefValue = new Float64Array(2 * nb);
      for (const l of net.layers) {
        const o = sm.offset[l.id];
        const b = l.kind === "input" ? input : bounds[l.id];
        if (b) {
          for (let j = 0; j < b.lower.length; j++) {
            lower[o + j] = Math.max(lower[o + j], b.lower[j]);
            upper[o + j] = Math.min(upper[o + j], b.upper[j]);
          }
        }
        if (l.kind !== "relu") continue;
        const p = bounds[l.input],
          cols = binOf.get(l.id)!;
        for (let j = 0; j < cols.length; j++) {
          if (cols[j] < 0) continue;
          if (p.lower[j] >= 0) lower[cols[j]] = 1;
          else if (p.upper[j] <= 0) upper[cols[j]] = 0;
          const k = cols[j] - first,
            lo = Math.min(0, p.lower[j]),
            hi = Math.max(0, p.upper[j]);
          values[posL[k]] = -lo;
          rowUpper[rowL[k]] = -lo;
          values[posH[k]] = -hi;
          coefRow[2 * k] = rowL[k];
          coefCol[2 * k] = cols[j];
          coefValue[2 * k] = -lo;
          coefRow[2 * k + 1] = rowH[k];
          coefCol[2 * k + 1] = cols[j];
          coefValue[2 * k + 1] = -hi;
        }
      }
      // Every column bound holds on the subdomain: crossing ones leave it empty.
      for (let j = 0; j < lower.length; j++) if (lower[j] > upper[j]) return { lower: Infinity, primal: null };
      const node: LpModel = { ...lp, colLower: lower, colUpper: upper, values, rowUpper };
      const cols = Int32Array.from(c.keys()).filter((j) => c[j] !== 0);
      const r = model.minimize(
        { colLower: lower, colUpper: upper, rowUpper, coefRow, coefCol, coefValue },
        cols,
        Float64Array.from(cols, (j) => c[j]),
        timeLimit,
      );
      // Farkas: a ray whose weak-duality bound on min 0 is positive proves that no point satisfies the rows.
      if (r.ray && dualBound(node, new Float64Array(c.length), r.ray) > 0) return { lower: Infinity, primal: null };
      return { lower: r.duals ? dualBound(node, c, r.duals) + constant : -Infinity, primal: r.primal };
    },
    dispose: () => model.dispose(),
  };
}

export interface NodeLp {
  /**
   * min of disjunct d's first atom over the subdomain's LP (its other atoms as rows), and the optimiser's input part.
   */
  bound(
    bounds: readonly LayerBounds[],
    d: number,
    timeLimit: number,
  ): { readonly lower: number; readonly point: Float64Array | null };
  dispose(): void;
}

/**
 * The decision's LP (verify's base model on the root bounds): per disjunct one model, its first atom the
 * objective and the others rows (min g_1 over the relaxation ∩ {g_k ≤ 0} > 0 refutes the conjunction). Null
 * where it does not apply: a network with nonlinear layers other than ReLU (their binaries are not mapped), or
 * more than MAX_MODELS multi-atom disjuncts (one HiGHS model each; leaf.ts decides their leaves).
 */
export async function openNodeLp(net: Network, s: Spec, root: readonly LayerBounds[]): Promise<NodeLp | null> {
  if (net.layers.some((l) => l.kind === "maxpool") || s.disjuncts.filter((d) => d.length > 1).length > MAX_MODELS)
    return null;
  const base = baseFromBounds(net, s, root);
  const out = base.offset[net.output],
    xin = base.offset[base.inputLayer],
    n = s.lower.length;
  // Single-atom disjuncts share the base model; each multi-atom one gets its own with the other atoms' rows.
  const shared = await openSubdomainLp(net, base, root);
  const own = new Map<number, SubdomainLp>();
  try {
    for (let d = 0; d < s.disjuncts.length; d++) {
      if (s.disjuncts[d].length < 2) continue;
      const lp = disjunctModel(net, base, s.disjuncts[d].slice(1), { kind: "milp" }, 0);
      own.set(d, await openSubdomainLp(net, { ...base, lp }, root));
    }
  } catch (e) {
    shared.dispose();
    for (const m of own.values()) m.dispose();
    throw e;
  }
  return {
    bound(bounds, d, timeLimit) {
      const a = s.disjuncts[d][0],
        sub = own.get(d) ?? shared;
      const c = new Float64Array(base.lp.colLower.length);
      a.ys.forEach((j, i) => {
        c[out + j] += a.yw[i];
      });
      a.xs.forEach((j, i) => {
        c[xin + j] += a.xw[i];
      });
      const r = sub.minimize(bounds, c, a.c, timeLimit);
      return { lower: r.lower, point: r.primal ? r.primal.slice(xin, xin + n) : null };
    },
    dispose: () => {
      shared.dispose();
      for (const m of own.values()) m.dispose();
    },
  };
}

/** Multi-atom disjuncts beyond this many leave the subdomain LP to the leaves (one HiGHS model each). */
const MAX_MODELS = 16;
