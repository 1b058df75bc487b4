// The subdomain LP, one HiGHS model for the whole search: the big-M encoding on the root's bounds with the
// binaries relaxed to [0, 1]; a subdomain sets every column's bounds (its sound layer bounds; the binary of a
// ReLU its bounds make stable fixed at 0 or 1, which makes that ReLU's rows exact) and re-solves warm.
// Unlike back-substitution it enforces the split constraints, so it closes what the bounds alone cannot.
// The bound is taken from the row duals (dualBound), infeasibility only from a verified dual ray.

import { dualBound, type LayerBounds, type LpModel, type Network } from "../../compiler/index.js";
import { openBoundedLp, type BoundedLp } from "../solvers/highs.js";
import { baseFromBounds, inputOf, type BaseModel } from "../verify/milp.js";
import type { Spec } from "../verify/spec.js";

export interface NodeLpAnswer {
  /** A sound lower bound of the atom's minimum on the subdomain (+∞: the subdomain LP is proved empty). */
  readonly lower: number;
  /** The LP's optimiser (input part), a candidate. */
  readonly point: Float64Array | null;
}

export interface NodeLp {
  /** min of disjunct d's (single) atom over the subdomain's LP. */
  bound(bounds: readonly LayerBounds[], d: number, timeLimit: number): NodeLpAnswer;
  dispose(): void;
}

/**
 * Null where it does not apply: a network with nonlinear layers other than ReLU (their binaries are not
 * mapped), or a disjunct of several atoms (the leaf LP of leaf.ts handles those).
 */
export async function openNodeLp(net: Network, s: Spec, root: readonly LayerBounds[]): Promise<NodeLp | null> {
  if (net.layers.some((l) => l.kind === "maxpool") || s.disjuncts.some((d) => d.length !== 1)) return null;
  const base = baseFromBounds(net, s, root);
  const lp: LpModel = { ...base.lp, colInteger: new Uint8Array(base.lp.colInteger.length) };
  // bigM allocates one binary per ReLU unstable on the root bounds, layer by layer, neuron by neuron, after
  // the layer columns (compiler/passes/big-m.ts).
  const binOf = new Map<number, Int32Array>();
  const first = base.lp.colInteger.indexOf(1);
  let next = first;
  for (const l of net.layers) {
    if (l.kind !== "relu") continue;
    const p = root[l.input], cols = new Int32Array(p.lower.length).fill(-1);
    for (let j = 0; j < cols.length; j++) if (p.lower[j] < 0 && p.upper[j] > 0) cols[j] = next++;
    binOf.set(l.id, cols);
  }
  if (base.binaries > 0 && next - first !== base.binaries) {
    throw new Error("internal: the big-M binaries are not the root's unstable ReLUs in order");
  }
  // Each binary's two big-M rows (compiler/nonlinear/relu.ts): v − u − l·a ≤ −l (three terms) and v − h·a ≤ 0
  // (two), found by their binary; the CSR position of the binary's coefficient in each.
  const nb = base.binaries, rowL = new Int32Array(nb).fill(-1), rowH = new Int32Array(nb).fill(-1), posL = new Int32Array(nb), posH = new Int32Array(nb);
  for (let r = 0; r < lp.rowLower.length; r++) {
    for (let k = lp.indptr[r]; k < lp.indptr[r + 1]; k++) {
      const b = lp.indices[k] - first;
      if (b < 0 || b >= nb || first < 0) continue;
      if (lp.indptr[r + 1] - lp.indptr[r] === 3) { rowL[b] = r; posL[b] = k; } else { rowH[b] = r; posH[b] = k; }
    }
  }
  if (rowL.some((r) => r < 0) || rowH.some((r) => r < 0)) throw new Error("internal: a big-M binary without its two rows");
  const rows: BigMRows = { first, rowL, rowH, posL, posH };
  for (const l of net.layers) {
    if (l.kind !== "relu") continue;
    const p = root[l.input], cols = binOf.get(l.id)!;
    for (let j = 0; j < cols.length; j++) {
      const k = cols[j] - first;
      if (cols[j] >= 0 && (lp.values[posL[k]] !== -p.lower[j] || lp.rowUpper[rowL[k]] !== -p.lower[j] || lp.values[posH[k]] !== -p.upper[j])) {
        throw new Error("internal: the big-M rows are not v − u − l·a ≤ −l and v − h·a ≤ 0");
      }
    }
  }
  const model = await openBoundedLp(lp);
  return {
    bound: (bounds, d, timeLimit) => solveNode(net, s, base, lp, binOf, rows, model, bounds, d, timeLimit),
    dispose: () => model.dispose(),
  };
}

interface BigMRows { readonly first: number; readonly rowL: Int32Array; readonly rowH: Int32Array; readonly posL: Int32Array; readonly posH: Int32Array }

function solveNode(net: Network, s: Spec, base: BaseModel, lp: LpModel, binOf: ReadonlyMap<number, Int32Array>, bm: BigMRows, model: BoundedLp,
  bounds: readonly LayerBounds[], d: number, timeLimit: number): NodeLpAnswer {
  const lower = lp.colLower.slice(), upper = lp.colUpper.slice();
  // The big-M constants from the subdomain's own bounds (the triangle of [l, h], not the root's wider one).
  const values = lp.values.slice(), rowUpper = lp.rowUpper.slice();
  const nb = bm.rowL.length, coefRow = new Int32Array(2 * nb), coefCol = new Int32Array(2 * nb), coefValue = new Float64Array(2 * nb);
  for (const l of net.layers) {
    if (l.kind === "input") continue;
    const b = bounds[l.id], o = base.offset[l.id];
    for (let j = 0; j < b.lower.length; j++) {
      lower[o + j] = Math.max(lower[o + j], b.lower[j]);
      upper[o + j] = Math.min(upper[o + j], b.upper[j]);
    }
    if (l.kind !== "relu") continue;
    const p = bounds[l.input], cols = binOf.get(l.id)!;
    for (let j = 0; j < cols.length; j++) {
      if (cols[j] < 0) continue;
      if (p.lower[j] >= 0) lower[cols[j]] = 1;
      else if (p.upper[j] <= 0) upper[cols[j]] = 0;
      const k = cols[j] - bm.first, lo = Math.min(0, p.lower[j]), hi = Math.max(0, p.upper[j]);
      values[bm.posL[k]] = -lo; rowUpper[bm.rowL[k]] = -lo; values[bm.posH[k]] = -hi;
      coefRow[2 * k] = bm.rowL[k]; coefCol[2 * k] = cols[j]; coefValue[2 * k] = -lo;
      coefRow[2 * k + 1] = bm.rowH[k]; coefCol[2 * k + 1] = cols[j]; coefValue[2 * k + 1] = -hi;
    }
  }
  // Every column bound holds on the subdomain: crossing ones leave it empty.
  for (let j = 0; j < lower.length; j++) if (lower[j] > upper[j]) return { lower: Infinity, point: null };
  const node: LpModel = { ...lp, colLower: lower, colUpper: upper, values, rowUpper };
  const a = s.disjuncts[d][0];
  const out = base.offset[net.output], xin = base.offset[base.inputLayer];
  const c = new Float64Array(lp.colLower.length);
  a.ys.forEach((j, i) => { c[out + j] += a.yw[i]; });
  a.xs.forEach((j, i) => { c[xin + j] += a.xw[i]; });
  const cols = Int32Array.from(c.keys()).filter((j) => c[j] !== 0);
  const r = model.minimize({ colLower: lower, colUpper: upper, rowUpper, coefRow, coefCol, coefValue }, cols, Float64Array.from(cols, (j) => c[j]), timeLimit);
  if (r.ray) {
    // Farkas: a ray whose weak-duality bound on min 0 is positive proves that no point satisfies the rows.
    if (dualBound(node, new Float64Array(c.length), r.ray) > 0) return { lower: Infinity, point: null };
  }
  const value = r.duals ? dualBound(node, c, r.duals) + a.c : -Infinity;
  return { lower: value, point: r.primal ? inputOf(base, s.lower.length, r.primal) : null };
}
