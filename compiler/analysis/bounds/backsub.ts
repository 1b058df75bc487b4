// Linear bounds by back-substitution (DeepPoly / CROWN style) for networks of affine, ReLU, max-pool, reshape
// and residual add layers: tighter pre-activation intervals than IBP for the big-M rows, and lower bounds on
// an atom's linear function of the outputs. Consumes IBP bounds (interval.ts) and only ever narrows them;
// every result is widened by a relative pad well above the float64 rounding of the sums. A kind without a
// linear relaxation keeps IBP.

import { match, P } from "ts-pattern";
import { intersect, intervalBounds, layerInterval, type LayerBounds } from "./interval.js";
import type { NetworkMatrices } from "../../ir/matrices.js";
import { sizeOf, type Network } from "../../ir/network.js";
import { isNonlinear, semanticsOf, windowsOf } from "../../nonlinear/index.js";

const PAD = 1e-7;
/** Skip back-substitution for a layer when rows × (nonzeros on its path) exceeds this (time and memory). */
const WORK_LIMIT = 3e9;
/** ... or when one dense coefficient matrix would hold more entries than this. */
const MEMORY_LIMIT = 2e7;

/** Every nonlinear kind with a linear relaxation: back-substitution applies (residual adds included). */
export const backsubApplies = (net: Network): boolean =>
  net.layers.every((l) => !isNonlinear(l) || semanticsOf(l).linearRelaxable);

/**
 * Sees the lower side's coefficients (rows × layer size, row-major) as they reach each nonlinear layer's
 * output and, last, the input: branch and bound scores neurons and picks the box vertex from them.
 */
export type BacksubProbe = (layer: number, L: Float64Array) => void;

/**
 * Lower-relaxation slopes chosen by the caller (the engine's `bounds`: slopes as inputs so that later work can
 * optimise them): ReLU layer id → one slope per neuron, used for the unstable neurons (v ≥ a·u holds on
 * [l, h] with l < 0 < h for any a in [0, 1]); a value outside [0, 1] (or NaN) keeps DeepPoly's choice.
 */
export type ReluSlopes = ReadonlyMap<number, ArrayLike<number>>;

/**
 * The multiply-adds back-substituting `rows` rows from layer t down to the input costs (backsub's test against its
 * work limit), or null where one coefficient matrix would exceed its memory limit. The engine's bounds graph
 * (compiler/engine/bounds-graph.ts) decides which layers it back-substitutes by the same rule.
 */
export function backsubWork(net: Network, m: NetworkMatrices, t: number, rows: number): number | null {
  let work = 0;
  for (let id = t; id > 0; id--) {
    if (rows * sizeOf(net.layers[id].shape) > MEMORY_LIMIT) return null;
    work += rows * Math.max(sizeOf(net.layers[id].shape), m.csr[id]?.values.length ?? 0);
  }
  return work;
}

/**
 * Bounds of A·v_t + c over the box (rows of A over layer t's values), by substituting layer t back to the
 * input with each nonlinear kind's linear relaxation under `bounds` (ReLU, max-pool) and through residual
 * adds. Dense rows; returns null when too costly.
 */
export function backsub(
  net: Network,
  m: NetworkMatrices,
  bounds: readonly LayerBounds[],
  t: number,
  A0: Float64Array,
  c0: Float64Array,
  rows: number,
  workLimit = WORK_LIMIT,
  lowerOnly = false,
  probe?: BacksubProbe,
  slopes?: ReluSlopes,
): LayerBounds | null {
  // lowerOnly: the upper side is not computed (upper = +∞), half the work (exclude.ts needs lower bounds only).
  const both = !lowerOnly;
  const work = backsubWork(net, m, t, rows);
  if (work === null || work > workLimit) return null;
  // Lower (L) and upper (U) coefficient matrices waiting at each layer, and the rows' constants. Layers are in
  // topological order: from t down, each layer with coefficients sends them to its input(s) — a residual add
  // down both branches, summed where they meet again (a sum of valid linear bounds is one).
  const cL = c0.slice(),
    cU = c0.slice();
  const pending = new Map<number, { L: Float64Array; U: Float64Array }>();
  const send = (to: number, L: Float64Array, U: Float64Array) => {
    const e = pending.get(to);
    if (!e) {
      pending.set(to, { L, U });
      return;
    }
    for (let k = 0; k < L.length; k++) e.L[k] += L[k];
    for (let k = 0; k < U.length; k++) e.U[k] += U[k];
  };
  send(t, A0.slice(), A0.slice());
  let id = t;
  for (; id >= 0; id--) {
    const acc = pending.get(id);
    if (!acc) continue;
    const l = net.layers[id];
    if (l.kind === "input") break;
    pending.delete(id);
    const n = sizeOf(l.shape),
      { L, U } = acc;
    const sent = match(l)
      .with({ kind: "affine" }, (a) => {
        const W = m.csr[a.id]!,
          b = m.bias[a.id]!,
          p = sizeOf(net.layers[a.input].shape);
        const nL = new Float64Array(rows * p),
          nU = new Float64Array(both ? rows * p : 0);
        for (let r = 0; r < rows; r++) {
          const o = r * n,
            q = r * p;
          for (let i = 0; i < n; i++) {
            const wl = L[o + i];
            if (wl !== 0) {
              cL[r] += wl * b[i];
              for (let k = W.indptr[i]; k < W.indptr[i + 1]; k++) nL[q + W.indices[k]] += wl * W.values[k];
            }
            const wu = both ? U[o + i] : 0;
            if (wu !== 0) {
              cU[r] += wu * b[i];
              for (let k = W.indptr[i]; k < W.indptr[i + 1]; k++) nU[q + W.indices[k]] += wu * W.values[k];
            }
          }
        }
        send(a.input, nL, nU);
        return true;
      })
      .with({ kind: P.union("relu", "maxpool") }, (nl) => {
        probe?.(nl.id, L);
        const rx = semanticsOf(nl).linearRelaxation(nl, windowsOf(nl), bounds[nl.input]);
        if (!rx) return false;
        const chosen = nl.kind === "relu" ? slopes?.get(nl.id) : undefined;
        if (chosen) {
          const pre = bounds[nl.input];
          for (let i = 0; i < n; i++) {
            const a = chosen[i];
            if (pre.lower[i] < 0 && pre.upper[i] > 0 && a >= 0 && a <= 1) rx.lowerSlope[i] = a;
          }
        }
        // v ≤ s·u_ui + d above and v ≥ a·u_li below (each line reads one input value; stable ReLUs exact): the
        // sign of each coefficient picks the side.
        const p = sizeOf(net.layers[nl.input].shape);
        const nL = new Float64Array(rows * p),
          nU = new Float64Array(both ? rows * p : 0);
        for (let i = 0; i < n; i++) {
          const s = rx.upperSlope[i],
            d = rx.upperIntercept[i],
            al = rx.lowerSlope[i],
            li = rx.lowerIndex[i],
            ui = rx.upperIndex[i];
          for (let r = 0; r < rows; r++) {
            const k = r * n + i,
              wl = L[k],
              wu = both ? U[k] : 0,
              q = r * p;
            if (wl > 0) nL[q + li] += wl * al;
            else if (wl < 0) {
              if (ui >= 0) nL[q + ui] += wl * s;
              cL[r] += wl * d;
            }
            if (wu > 0) {
              if (ui >= 0) nU[q + ui] += wu * s;
              cU[r] += wu * d;
            } else if (wu < 0) nU[q + li] += wu * al;
          }
        }
        send(nl.input, nL, nU);
        return true;
      })
      .with({ kind: "reshape" }, (rs) => {
        if (!rs.source) {
          send(rs.input, L, U);
          return true;
        }
        const p = sizeOf(net.layers[rs.input].shape);
        const nL = new Float64Array(rows * p),
          nU = new Float64Array(both ? rows * p : 0);
        for (let r = 0; r < rows; r++)
          for (let i = 0; i < n; i++) {
            const s = rs.source[i];
            if (s >= 0) {
              nL[r * p + s] += L[r * n + i];
              if (both) nU[r * p + s] += U[r * n + i];
            }
          }
        send(rs.input, nL, nU);
        return true;
      })
      .with({ kind: "add" }, (a) => {
        send(a.inputs[0], L, U);
        send(a.inputs[1], L.slice(), U.slice());
        return true;
      })
      .exhaustive();
    if (!sent) return null;
  }
  const last = pending.get(id);
  if (id < 0 || !last || pending.size !== 1) throw new Error("internal: back-substitution did not end at the input");
  const { L, U } = last,
    n = sizeOf(net.layers[id].shape);
  probe?.(id, L);
  const box = bounds[id];
  const lower = new Float64Array(rows),
    upper = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let lo = cL[r],
      hi = cU[r],
      mag = Math.abs(cL[r]) + Math.abs(cU[r]);
    for (let j = 0; j < n; j++) {
      const wl = L[r * n + j],
        wu = both ? U[r * n + j] : 0,
        xl = box.lower[j],
        xu = box.upper[j];
      lo += wl >= 0 ? wl * xl : wl * xu;
      hi += wu >= 0 ? wu * xu : wu * xl;
      mag += (Math.abs(wl) + Math.abs(wu)) * Math.max(Math.abs(xl), Math.abs(xu));
    }
    const pad = PAD * (1 + mag);
    lower[r] = lo - pad;
    upper[r] = both ? hi + pad : Infinity;
  }
  return { lower, upper };
}

/**
 * IBP, then every nonlinear layer's input (and the output) narrowed by back-substitution, layer by layer;
 * a layer whose back-substitution would cost more than `workLimit` multiply-adds keeps IBP. `known`: bounds that
 * hold on the box for some layers (e.g. branch and bound's split constraints, a ReLU's pre-activation ≥ 0 or ≤ 0),
 * intersected with each of those layers' bounds as they are computed (intervalBounds; refineBounds keeps them).
 */
export function tightBounds(
  net: Network,
  m: NetworkMatrices,
  inLower: Float64Array,
  inUpper: Float64Array,
  workLimit = WORK_LIMIT,
  outputs = true,
  slopes?: ReluSlopes,
  known?: ReadonlyMap<number, LayerBounds>,
): LayerBounds[] {
  const b = intervalBounds(net, inLower, inUpper, known);
  if (!backsubApplies(net)) return b;
  return refineBounds(
    net,
    m,
    b,
    net.layers.findIndex((l) => l.kind === "input"),
    workLimit,
    outputs,
    false,
    slopes,
  );
}

/** Whether every consumer of layer id is a ReLU (whose relaxation only an unstable pre-activation's bounds change). */
export function feedsReluOnly(net: Network, id: number): boolean {
  const users = net.layers.filter((l) => (l.kind === "add" ? l.inputs.includes(id) : "input" in l && l.input === id));
  return users.length > 0 && users.every((l) => l.kind === "relu");
}

/**
 * Bounds of every layer after `from`, recomputed from `prev` (sound on the same box or a part of it, e.g. a
 * branch-and-bound subdomain whose split neurons' pre-activations the caller clipped at 0): each layer's
 * interval from its (narrowed) inputs, intersected with prev's, and back-substituted where it feeds a
 * nonlinear layer (or is the output, with `outputs`). Layers up to `from` keep prev's arrays (shared).
 * With `unstableOnly`, a layer that only ReLUs read is back-substituted for its unstable values alone.
 */
export function refineBounds(
  net: Network,
  m: NetworkMatrices,
  prev: readonly LayerBounds[],
  from: number,
  workLimit = WORK_LIMIT,
  outputs = true,
  unstableOnly = false,
  slopes?: ReluSlopes,
): LayerBounds[] {
  const b = prev.slice();
  // The output's own bounds are skipped when the caller back-substitutes its functions of the output itself
  // (exclude.ts: the margins), which is tighter and as cheap.
  const wanted = new Set<number>(outputs ? [net.output] : []);
  for (const l of net.layers) if (isNonlinear(l)) wanted.add(l.input);
  for (const l of net.layers) {
    if (l.id <= from || l.kind === "input") continue;
    b[l.id] = intersect(prev[l.id], layerInterval(l, b));
    // Back-substituted: the inputs of nonlinear layers (and the output) that an affine layer or a residual add
    // computes (an affine map of the input itself is exact under IBP already).
    if (
      !wanted.has(l.id) ||
      (l.kind !== "affine" && l.kind !== "add") ||
      (l.kind === "affine" && net.layers[l.input].kind === "input")
    )
      continue;
    // unstableOnly (branch and bound): only rows whose bounds can still change a ReLU's relaxation; a
    // pre-activation already stable on one side of 0 is relaxed exactly (max-pool inputs, the output: every row).
    const n = sizeOf(l.shape),
      reluOnly = unstableOnly && feedsReluOnly(net, l.id) && l.id !== net.output;
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (!reluOnly || (b[l.id].lower[i] < 0 && b[l.id].upper[i] > 0)) rows.push(i);
    if (rows.length === 0 || rows.length * n > MEMORY_LIMIT) continue;
    const sel = new Float64Array(rows.length * n);
    rows.forEach((i, r) => {
      sel[r * n + i] = 1;
    });
    const r = backsub(
      net,
      m,
      b,
      l.id,
      sel,
      new Float64Array(rows.length),
      rows.length,
      workLimit,
      false,
      undefined,
      slopes,
    );
    if (!r) continue;
    rows.forEach((i, k) => {
      b[l.id].lower[i] = Math.max(b[l.id].lower[i], r.lower[k]);
      b[l.id].upper[i] = Math.min(b[l.id].upper[i], r.upper[k]);
    });
  }
  return b;
}
