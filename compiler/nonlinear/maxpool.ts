// Max-pool: v_j = max of its window's input values (padding never wins). Pattern entry: the flat input index
// of the chosen element; ties keep the first maximal element in row-major order (numpy's argmax, ONNX
// MaxPool's Indices), and disjunction item k is "the window's k-th element is the max", so "first holding
// item" is the same convention.

import type { LayerBounds } from "../ir/bounds.js";
import { and, EQ, GE, LE, or, RowBuilder, type Formula } from "../ir/constraint.js";
import type { Windows } from "../ir/matrices.js";
import type { Layer } from "../ir/network.js";
import type { NonlinearSemantics } from "./types.js";

type MaxPool = Extract<Layer, { kind: "maxpool" }>;

const need = (w: Windows | null): Windows => {
  if (!w) throw new Error("internal: a max-pool layer without its windows");
  return w;
};

/** The element of window j that dominates every other by bounds (lower ≥ the others' upper), or -1. */
function dominant(w: Windows, j: number, b: LayerBounds): number {
  for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
    const e = w.indices[k];
    let all = true;
    for (let k2 = w.indptr[j]; k2 < w.indptr[j + 1] && all; k2++)
      if (k2 !== k && !(b.lower[e] >= b.upper[w.indices[k2]])) all = false;
    if (all) return e;
  }
  return -1;
}

export const maxpool: NonlinearSemantics<MaxPool> = {
  forward(_l, win, u, fixed) {
    const w = need(win),
      n = w.indptr.length - 1;
    const y = new Float64Array(n),
      choice = fixed ?? new Int32Array(n);
    for (let j = 0; j < n; j++) {
      if (!fixed) {
        let best = w.indices[w.indptr[j]];
        // Strict '>' keeps the first maximal element; NaN never wins.
        for (let k = w.indptr[j] + 1; k < w.indptr[j + 1]; k++) if (u[w.indices[k]] > u[best]) best = w.indices[k];
        choice[j] = best;
      }
      y[j] = u[choice[j]];
    }
    return { y, choice };
  },

  backward(_l, choice, j, g, add) {
    add(choice[j], g);
  },

  disjunction(l, win, { u, v }, base) {
    const w = need(win),
      n = w.indptr.length - 1;
    let K = 0;
    for (let j = 0; j < n; j++) K = Math.max(K, w.indptr[j + 1] - w.indptr[j]);
    // Item k: "the window's k-th element (row-major) is the max": v_j = u_wk ∧ u_wk ≥ u_wk' for k' ≠ k.
    const items: Formula[] = [];
    for (let k = 0; k < K; k++) {
      const def = new RowBuilder(`pool_${base}_def`),
        dom = new RowBuilder(`pool_${base}_max`);
      for (let j = 0; j < n; j++) {
        const s = w.indptr[j],
          len = w.indptr[j + 1] - s;
        if (k >= len) continue;
        def
          .term(v + j, 1)
          .term(u + w.indices[s + k], -1)
          .end(EQ, 0, j);
        for (let k2 = 0; k2 < len; k2++)
          if (k2 !== k)
            dom
              .term(u + w.indices[s + k], 1)
              .term(u + w.indices[s + k2], -1)
              .end(GE, 0, j);
      }
      items.push(and(def.build(), dom.build()));
    }
    return or(`pool_${base}`, n, items, l.id);
  },

  // Item k is "the window's k-th element is the max": the chosen element's position in its window.
  laneItems(_l, win, choice) {
    const w = need(win);
    return Int32Array.from(choice, (e, j) => {
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) if (w.indices[k] === e) return k - w.indptr[j];
      throw new Error(`internal: pattern entry ${e} is not in window ${j}`);
    });
  },

  bigMRows(_l, win, b, { u, v }, base, binary, stats) {
    // v ≥ u_k; unless one element dominates by bounds, binaries a_k with Σ a_k = 1 and
    // v ≤ u_k + (max_k' h_k' − l_k)·(1 − a_k).
    const w = need(win),
      rb = new RowBuilder(`pool_${base}_milp`);
    for (let j = 0; j < w.indptr.length - 1; j++) {
      const s = w.indptr[j],
        e = w.indptr[j + 1];
      let hiMax = -Infinity;
      for (let k = s; k < e; k++) {
        rb.term(v + j, 1)
          .term(u + w.indices[k], -1)
          .end(GE);
        hiMax = Math.max(hiMax, b.upper[w.indices[k]]);
      }
      const d = dominant(w, j, b);
      if (d >= 0) {
        rb.term(v + j, 1)
          .term(u + d, -1)
          .end(EQ);
        continue;
      }
      const bins: number[] = [];
      for (let k = s; k < e; k++) {
        bins.push(binary());
        stats.binaries++;
      }
      bins.forEach((a) => rb.term(a, 1));
      rb.end(EQ, -1);
      for (let k = s; k < e; k++) {
        const M = hiMax - b.lower[w.indices[k]];
        rb.term(v + j, 1)
          .term(u + w.indices[k], -1)
          .term(bins[k - s], M)
          .end(LE, -M);
      }
    }
    return rb.build();
  },

  triangleRows(_l, win, b, { u, v }, base) {
    // v ≥ u_k, v ≤ Σ_k (u_k − l_k) + max_k l_k (max_k u_k − max_k l_k ≤ u_k* − l_k* ≤ Σ_k (u_k − l_k),
    // each term ≥ 0 on the bounds); one dominant element: v = u_k.
    const w = need(win),
      rb = new RowBuilder(`pool_${base}_relax`);
    for (let j = 0; j < w.indptr.length - 1; j++) {
      const s = w.indptr[j],
        e = w.indptr[j + 1];
      const d = dominant(w, j, b);
      if (d >= 0) {
        rb.term(v + j, 1)
          .term(u + d, -1)
          .end(EQ);
        continue;
      }
      for (let k = s; k < e; k++)
        rb.term(v + j, 1)
          .term(u + w.indices[k], -1)
          .end(GE);
      rb.term(v + j, 1);
      let c = -Infinity;
      for (let k = s; k < e; k++) c = Math.max(c, b.lower[w.indices[k]]);
      c = -c;
      for (let k = s; k < e; k++) {
        rb.term(u + w.indices[k], -1);
        c += b.lower[w.indices[k]];
      }
      rb.end(LE, c);
    }
    return rb.build();
  },

  interval(_l, win, b) {
    const w = need(win),
      n = w.indptr.length - 1;
    const lower = new Float64Array(n).fill(-Infinity),
      upper = new Float64Array(n).fill(-Infinity);
    for (let j = 0; j < n; j++) {
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
        lower[j] = Math.max(lower[j], b.lower[w.indices[k]]);
        upper[j] = Math.max(upper[j], b.upper[w.indices[k]]);
      }
    }
    return { lower, upper };
  },

  violated(l, win, u, choice, tol, out) {
    const w = need(win);
    for (let j = 0; j < choice.length; j++) {
      const best = u[choice[j]];
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
        const e = w.indices[k];
        if (e !== choice[j] && u[e] > best + tol)
          out.push({ layer: l.input, js: [choice[j], e], ws: [1, -1], lower: 0, upper: Infinity, amount: u[e] - best });
      }
    }
  },

  binding(l, win, u, choice, tol, out) {
    const w = need(win);
    for (let j = 0; j < choice.length; j++) {
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
        const e = w.indices[k];
        if (e !== choice[j] && Math.abs(u[e] - u[choice[j]]) <= tol)
          out.push({ layer: l.id, j, to: e, gap: Math.abs(u[e] - u[choice[j]]) });
      }
    }
  },

  linearRelaxable: true,

  // DeepPoly's: below, the element with the largest lower bound (v ≥ each element); above, that element
  // itself when it dominates the window by bounds, else the largest upper bound (a constant).
  linearRelaxation(_l, win, b) {
    const w = need(win),
      n = w.indptr.length - 1;
    const lowerSlope = new Float64Array(n).fill(1),
      upperSlope = new Float64Array(n),
      upperIntercept = new Float64Array(n);
    const lowerIndex = new Int32Array(n),
      upperIndex = new Int32Array(n).fill(-1);
    for (let j = 0; j < n; j++) {
      let best = w.indices[w.indptr[j]],
        hiMax = -Infinity;
      for (let k = w.indptr[j]; k < w.indptr[j + 1]; k++) {
        const e = w.indices[k];
        if (b.lower[e] > b.lower[best]) best = e;
        hiMax = Math.max(hiMax, b.upper[e]);
      }
      lowerIndex[j] = best;
      if (dominant(w, j, b) === best) {
        upperSlope[j] = 1;
        upperIndex[j] = best;
      } else upperIntercept[j] = hiMax;
    }
    return { lowerSlope, upperSlope, upperIntercept, lowerIndex, upperIndex };
  },
};
