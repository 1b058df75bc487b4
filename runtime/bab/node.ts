// One branch-and-bound subdomain: the input box with some ReLUs split (active: pre-activation ≥ 0, inactive:
// ≤ 0). Consumes the parent's sound bounds and one split; produces the child's bounds (the split neuron's
// pre-activation clipped at 0, every later layer recomputed from it) and, per unsafe disjunct, whether
// back-substitution refutes it there, the box vertex its bound points at, and the neuron to split next.
// Sound as the bounds layer is (compiler/analysis/bounds/): every bound holds on the subdomain.

import {
  backsub,
  inputPart,
  isNonlinear,
  refineBounds,
  sizeOf,
  type LayerBounds,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";
import type { LeAtom, Spec } from "./spec.js";
import type { NetContext } from "../point/context.js";

/** The network as branch and bound sees it (no evaluator: its `check` callback decides examples). */
export interface BabNet extends Pick<NetContext, "net" | "matrices"> {
  /** Multiply-adds a layer's back-substitution may cost when a subdomain's bounds are recomputed. */
  readonly refineWork: number;
}

/** A ReLU to split: layer id of the ReLU and the neuron. */
export interface Neuron {
  readonly layer: number;
  readonly j: number;
}

export interface NodeEval {
  readonly bounds: readonly LayerBounds[];
  /** Disjuncts (indices into the spec) that the bounds do not refute on this subdomain. */
  readonly open: readonly number[];
  /** min over open disjuncts of (max over its atoms of the atom's lower bound): > 0 nowhere, the priority. */
  readonly value: number;
  /** That bound per disjunct (indexed by disjunct; meaningful for the open ones). */
  readonly values: Float64Array;
  /** The box vertex that minimises the worst open disjunct's best atom's linear bound (a cheap candidate). */
  readonly vertex: Float64Array | null;
  /** The unstable ReLU with the best score, null when none is unstable (a leaf: the LP decides). */
  readonly branch: Neuron | null;
  /** Unstable ReLUs on the subdomain. */
  readonly unstable: number;
}

/** Bounds with one more split: its pre-activation clipped at 0 on the split's side, the later layers recomputed. */
export function splitBounds(b: BabNet, parent: readonly LayerBounds[], n: Neuron, active: boolean): LayerBounds[] {
  const layer = b.net.layers[n.layer];
  if (layer.kind !== "relu") throw new Error(`internal: split of a ${layer.kind} layer`);
  const pre = parent[layer.input];
  const clipped = { lower: pre.lower.slice(), upper: pre.upper.slice() };
  if (active) clipped.lower[n.j] = Math.max(0, clipped.lower[n.j]);
  else clipped.upper[n.j] = Math.min(0, clipped.upper[n.j]);
  const prev = parent.slice();
  prev[layer.input] = clipped;
  // The output's bounds are not needed: the atoms are back-substituted from the output themselves.
  return refineBounds(b.net, b.matrices, prev, layer.input, b.refineWork, false, true);
}

/**
 * The subdomain's verdict per disjunct (`candidates`: the disjuncts still open at its parent). One
 * back-substitution pass for every atom of every open disjunct, lower side only.
 */
export function evaluateNode(
  b: BabNet,
  s: Spec,
  bounds: readonly LayerBounds[],
  candidates: readonly number[],
): NodeEval {
  const { net, matrices: m } = b;
  const input = net.layers.findIndex((l) => l.kind === "input");
  const rowsOf: { d: number; a: LeAtom }[] = [];
  for (const d of candidates) for (const a of s.disjuncts[d]) rowsOf.push({ d, a });
  const unstable = unstableCount(net, bounds);
  const values = new Float64Array(s.disjuncts.length).fill(Infinity);
  if (rowsOf.length === 0) return { bounds, open: [], value: Infinity, values, vertex: null, branch: null, unstable };
  const ny = sizeOf(net.layers[net.output].shape),
    rows = rowsOf.length;
  const A = new Float64Array(rows * ny);
  rowsOf.forEach(({ a }, r) => {
    for (let k = 0; k < a.ys.length; k++) A[r * ny + a.ys[k]] += a.yw[k];
  });
  const seen = new Map<number, Float64Array>();
  const r = backsub(net, m, bounds, net.output, A, new Float64Array(rows), rows, Infinity, true, (id, L) =>
    seen.set(id, L.slice()),
  );
  if (!r) throw new Error("internal: back-substitution refused the atoms (dense rows over the output)");
  // The atoms' input terms (rare) over the box, from exclude.ts, padded for rounding.
  const lb = rowsOf.map(({ a }, k) => {
    const x = inputPart(a, bounds, input);
    return r.lower[k] + a.c + x.lo - 1e-12 * (1 + x.mag);
  });
  // Per disjunct: its best atom (refuted when that atom's lower bound is positive).
  const best = new Map<number, { v: number; row: number }>();
  lb.forEach((v, row) => {
    const d = rowsOf[row].d,
      e = best.get(d);
    if (!e || v > e.v) best.set(d, { v, row });
  });
  for (const [d, e] of best) values[d] = e.v;
  const open = candidates.filter((d) => !(best.get(d)!.v > 0));
  if (open.length === 0) return { bounds, open, value: Infinity, values, vertex: null, branch: null, unstable };
  let worst = open[0];
  for (const d of open) if (best.get(d)!.v < best.get(worst)!.v) worst = d;
  const row = best.get(worst)!.row;
  const Lx = seen.get(input)!,
    nIn = bounds[input].lower.length,
    box = bounds[input];
  const vertex = Float64Array.from({ length: nIn }, (_, j) => (Lx[row * nIn + j] >= 0 ? box.lower[j] : box.upper[j]));
  return {
    bounds,
    open,
    value: best.get(worst)!.v,
    values,
    vertex,
    branch: pickNeuron(net, bounds, seen, row),
    unstable,
  };
}

/** Unstable ReLUs: pre-activation bounds strictly on both sides of 0. */
export function unstableCount(net: Network, bounds: readonly LayerBounds[]): number {
  let n = 0;
  for (const l of net.layers) {
    if (l.kind !== "relu") continue;
    const p = bounds[l.input];
    for (let j = 0; j < p.lower.length; j++) if (p.lower[j] < 0 && p.upper[j] > 0) n++;
  }
  return n;
}

/**
 * The split that should lift the bound most (BaBSR-like): an unstable ReLU's triangle is loosest by its height
 * −l·u/(u − l), weighted by the neuron's coefficient in the worst atom's bound (the upper line serves a
 * negative coefficient, whose intercept costs the bound directly; the lower line a positive one, half as much).
 * Falls back to the widest unstable ReLU when every weighted score is 0 (the neuron does not reach the atom).
 */
function pickNeuron(
  net: Network,
  bounds: readonly LayerBounds[],
  seen: ReadonlyMap<number, Float64Array>,
  row: number,
): Neuron | null {
  let best: Neuron | null = null,
    bestScore = -1,
    wide: Neuron | null = null,
    wideW = -1;
  for (const l of net.layers) {
    if (!isNonlinear(l) || l.kind !== "relu") continue;
    const p = bounds[l.input],
      L = seen.get(l.id),
      n = p.lower.length;
    for (let j = 0; j < n; j++) {
      const lo = p.lower[j],
        hi = p.upper[j];
      if (!(lo < 0 && hi > 0)) continue;
      if (hi - lo > wideW) {
        wideW = hi - lo;
        wide = { layer: l.id, j };
      }
      if (!L) continue;
      const lam = L[row * n + j],
        h = (-lo * hi) / (hi - lo);
      const score = lam < 0 ? -lam * h : 0.5 * lam * h;
      if (score > bestScore) {
        bestScore = score;
        best = { layer: l.id, j };
      }
    }
  }
  return bestScore > 0 ? best : wide;
}
