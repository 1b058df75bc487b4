// Linear bounds by back-substitution (DeepPoly / CROWN style) for chain networks of affine, ReLU, max-pool
// and reshape layers: tighter pre-activation intervals than IBP for the big-M rows, and lower bounds on an
// atom's linear function of the outputs. Consumes IBP bounds (interval.ts) and only ever narrows them; every
// result is widened by a relative pad well above the float64 rounding of the sums. Networks with add layers
// keep IBP (a kind without a linear relaxation, or a residual add, ends back-substitution).

import { match, P } from "ts-pattern";
import { intervalBounds, type LayerBounds } from "./interval.js";
import type { NetworkMatrices } from "../../ir/matrices.js";
import { sizeOf, type Network } from "../../ir/network.js";
import { isNonlinear, semanticsOf, windowsOf } from "../../nonlinear/index.js";

const PAD = 1e-7;
/** Skip back-substitution for a layer when rows × (nonzeros on its path) exceeds this (time and memory). */
const WORK_LIMIT = 3e9;
/** ... or when one dense coefficient matrix would hold more entries than this. */
const MEMORY_LIMIT = 2e7;

/** No residual add, and every nonlinear kind with a linear relaxation: back-substitution applies. */
export const chainOnly = (net: Network): boolean => net.layers.every((l) => l.kind !== "add" && (!isNonlinear(l) || semanticsOf(l).linearRelaxable));

/**
 * Bounds of A·v_t + c over the box (rows of A over layer t's values), by substituting layer t back to the
 * input with each ReLU's linear relaxation under `bounds`. Dense rows; returns null when too costly.
 */
export function backsub(net: Network, m: NetworkMatrices, bounds: readonly LayerBounds[], t: number, A0: Float64Array, c0: Float64Array, rows: number,
  workLimit = WORK_LIMIT): LayerBounds | null {
  let work = 0;
  for (let id = t; id > 0; id--) {
    if (rows * sizeOf(net.layers[id].shape) > MEMORY_LIMIT) return null;
    work += rows * Math.max(sizeOf(net.layers[id].shape), m.csr[id]?.values.length ?? 0);
  }
  if (work > workLimit) return null;
  // Lower (L) and upper (U) coefficient matrices over the current layer, and their constants.
  let n = sizeOf(net.layers[t].shape);
  let L = A0.slice(), U = A0.slice();
  const cL = c0.slice(), cU = c0.slice();
  let id = t;
  while (net.layers[id].kind !== "input") {
    const l = net.layers[id];
    const next = match(l)
      .with({ kind: "input" }, () => { throw new Error("internal: input reached"); })
      .with({ kind: "affine" }, (a) => {
        const W = m.csr[a.id]!, b = m.bias[a.id]!, p = sizeOf(net.layers[a.input].shape);
        const nL = new Float64Array(rows * p), nU = new Float64Array(rows * p);
        for (let r = 0; r < rows; r++) {
          const o = r * n, q = r * p;
          for (let i = 0; i < n; i++) {
            const wl = L[o + i], wu = U[o + i];
            if (wl === 0 && wu === 0) continue;
            cL[r] += wl * b[i]; cU[r] += wu * b[i];
            for (let k = W.indptr[i]; k < W.indptr[i + 1]; k++) { nL[q + W.indices[k]] += wl * W.values[k]; nU[q + W.indices[k]] += wu * W.values[k]; }
          }
        }
        return { L: nL, U: nU, n: p, id: a.input };
      })
      .with({ kind: P.union("relu", "maxpool") }, (nl) => {
        const rx = semanticsOf(nl).linearRelaxation(nl, windowsOf(nl), bounds[nl.input]);
        if (!rx) return null;
        // v ≤ s·u_ui + d above and v ≥ a·u_li below (each line reads one input value; stable ReLUs exact): the
        // sign of each coefficient picks the side.
        const p = sizeOf(net.layers[nl.input].shape);
        const nL = new Float64Array(rows * p), nU = new Float64Array(rows * p);
        for (let i = 0; i < n; i++) {
          const s = rx.upperSlope[i], d = rx.upperIntercept[i], al = rx.lowerSlope[i], li = rx.lowerIndex[i], ui = rx.upperIndex[i];
          for (let r = 0; r < rows; r++) {
            const k = r * n + i, wl = L[k], wu = U[k], q = r * p;
            if (wl > 0) nL[q + li] += wl * al;
            else if (wl < 0) { if (ui >= 0) nL[q + ui] += wl * s; cL[r] += wl * d; }
            if (wu > 0) { if (ui >= 0) nU[q + ui] += wu * s; cU[r] += wu * d; }
            else if (wu < 0) nU[q + li] += wu * al;
          }
        }
        return { L: nL, U: nU, n: p, id: nl.input };
      })
      .with({ kind: "reshape" }, (rs) => {
        if (!rs.source) return { L, U, n, id: rs.input };
        const p = sizeOf(net.layers[rs.input].shape);
        const nL = new Float64Array(rows * p), nU = new Float64Array(rows * p);
        for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) {
          const s = rs.source[i];
          if (s >= 0) { nL[r * p + s] += L[r * n + i]; nU[r * p + s] += U[r * n + i]; }
        }
        return { L: nL, U: nU, n: p, id: rs.input };
      })
      .with({ kind: "add" }, () => null)
      .exhaustive();
    if (!next) return null;
    ({ L, U, n, id } = next);
  }
  const box = bounds[id];
  const lower = new Float64Array(rows), upper = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let lo = cL[r], hi = cU[r], mag = Math.abs(cL[r]) + Math.abs(cU[r]);
    for (let j = 0; j < n; j++) {
      const wl = L[r * n + j], wu = U[r * n + j], xl = box.lower[j], xu = box.upper[j];
      lo += wl >= 0 ? wl * xl : wl * xu;
      hi += wu >= 0 ? wu * xu : wu * xl;
      mag += (Math.abs(wl) + Math.abs(wu)) * Math.max(Math.abs(xl), Math.abs(xu));
    }
    const pad = PAD * (1 + mag);
    lower[r] = lo - pad; upper[r] = hi + pad;
  }
  return { lower, upper };
}

/**
 * IBP, then every nonlinear layer's input (and the output) narrowed by back-substitution, layer by layer;
 * a layer whose back-substitution would cost more than `workLimit` multiply-adds keeps IBP.
 */
export function tightBounds(net: Network, m: NetworkMatrices, inLower: Float64Array, inUpper: Float64Array, workLimit = WORK_LIMIT): LayerBounds[] {
  const b = intervalBounds(net, inLower, inUpper).map((x) => ({ lower: x.lower.slice(), upper: x.upper.slice() }));
  if (!chainOnly(net)) return b;
  const wanted = new Set<number>([net.output]);
  for (const l of net.layers) if (isNonlinear(l)) wanted.add(l.input);
  for (const l of net.layers) {
    if (l.kind === "input") continue;
    // Narrow from the (already narrowed) inputs, one layer, as IBP does.
    if (isNonlinear(l)) {
      const r = semanticsOf(l).interval(l, windowsOf(l), b[l.input]);
      b[l.id].lower.set(r.lower); b[l.id].upper.set(r.upper);
    }
    else if (l.kind === "reshape" && l.source) { const p = b[l.input]; l.source.forEach((s, j) => { b[l.id].lower[j] = s < 0 ? 0 : p.lower[s]; b[l.id].upper[j] = s < 0 ? 0 : p.upper[s]; }); }
    else if (l.kind === "reshape") { b[l.id].lower.set(b[l.input].lower); b[l.id].upper.set(b[l.input].upper); }
    if (l.kind !== "affine" || !wanted.has(l.id) || net.layers[l.input].kind === "input") continue;
    const n = sizeOf(l.shape);
    if (n * n > MEMORY_LIMIT) continue;
    const eye = new Float64Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    const r = backsub(net, m, b, l.id, eye, new Float64Array(n), n, workLimit);
    if (!r) continue;
    for (let i = 0; i < n; i++) {
      b[l.id].lower[i] = Math.max(b[l.id].lower[i], r.lower[i]);
      b[l.id].upper[i] = Math.min(b[l.id].upper[i], r.upper[i]);
    }
  }
  return b;
}
