// The linear region of an activation pattern as an operator: the network with every nonlinear layer's
// piece fixed (compiler/nonlinear/) is an affine map of x. It evaluates that map at a candidate (the trace
// with a fixed pattern) and produces any row of the restricted LP's `reduced` form on demand (a sparse
// backward pass), so the lazy loop never builds the full matrix. Invariant: rowFor(...) equals the row
// `eliminate` would produce from select-disjuncts' rows for the same pattern.

import { match, P } from "ts-pattern";
import {
  choicesOf,
  semanticsOf,
  sizeOf,
  trace,
  type ActivationPattern,
  type Network,
  type NetworkMatrices,
  type Trace,
} from "../../compiler/index.js";

/** A sparse affine function a·x + c of the input. */
export interface InputRow {
  readonly idx: Int32Array;
  readonly val: Float64Array;
  readonly c: number;
}

export class Region {
  private readonly grad: Float64Array[];
  private readonly touched: Int32Array[];
  private readonly nTouched: Int32Array;
  private readonly mark: Uint8Array[];

  constructor(
    readonly net: Network,
    readonly m: NetworkMatrices,
    readonly pattern: ActivationPattern,
  ) {
    this.grad = net.layers.map((l) => new Float64Array(sizeOf(l.shape)));
    this.touched = net.layers.map((l) => new Int32Array(sizeOf(l.shape)));
    this.mark = net.layers.map((l) => new Uint8Array(sizeOf(l.shape)));
    this.nTouched = new Int32Array(net.layers.length);
  }

  /** Values of every layer at x with the pattern's pieces (the region's affine map). */
  forward(x: Float64Array): readonly Float64Array[] {
    return trace(this.net, x, { matrices: this.m, pattern: this.pattern }).values;
  }

  private add(layer: number, i: number, v: number): void {
    if (!this.mark[layer][i]) {
      this.mark[layer][i] = 1;
      this.touched[layer][this.nTouched[layer]++] = i;
    }
    this.grad[layer][i] += v;
  }

  /**
   * The affine function Σ_j w_j · value_j(x) of layer `layer`'s values, as a row over the input: a sparse
   * backward pass through the fixed region (only the receptive field is visited).
   */
  rowFor(layer: number, js: ArrayLike<number>, ws: ArrayLike<number>): InputRow {
    let c = 0;
    for (let k = 0; k < js.length; k++) this.add(layer, js[k], ws[k]);
    for (let id = layer; id > 0; id--) {
      const n = this.nTouched[id];
      if (n === 0) continue;
      const g = this.grad[id],
        t = this.touched[id];
      const l = this.net.layers[id];
      match(l)
        .with({ kind: "input" }, () => undefined)
        .with({ kind: "affine" }, (a) => {
          const A = this.m.csr[id]!,
            b = this.m.bias[id]!;
          for (let q = 0; q < n; q++) {
            const r = t[q],
              gr = g[r];
            if (gr === 0) continue;
            c += gr * b[r];
            for (let k = A.indptr[r]; k < A.indptr[r + 1]; k++) this.add(a.input, A.indices[k], gr * A.values[k]);
          }
        })
        .with({ kind: P.union("relu", "maxpool") }, (nl) => {
          const sem = semanticsOf(nl),
            choice = choicesOf(this.pattern, id);
          const add = (i: number, v: number) => this.add(nl.input, i, v);
          for (let q = 0; q < n; q++) if (g[t[q]] !== 0) sem.backward(nl, choice, t[q], g[t[q]], add);
        })
        .with({ kind: "add" }, (a) => {
          for (let q = 0; q < n; q++) {
            this.add(a.inputs[0], t[q], g[t[q]]);
            this.add(a.inputs[1], t[q], g[t[q]]);
          }
        })
        .with({ kind: "reshape" }, (r) => {
          for (let q = 0; q < n; q++) {
            const s = r.source ? r.source[t[q]] : t[q];
            if (s >= 0) this.add(r.input, s, g[t[q]]);
          }
        })
        .exhaustive();
      for (let q = 0; q < n; q++) {
        g[t[q]] = 0;
        this.mark[id][t[q]] = 0;
      }
      this.nTouched[id] = 0;
    }
    // Layer 0 is the input: its gradient is the row.
    const n0 = this.nTouched[0],
      t0 = this.touched[0],
      g0 = this.grad[0];
    const order = Array.from(t0.subarray(0, n0)).sort((a, b) => a - b);
    const idx: number[] = [],
      val: number[] = [];
    for (const i of order) {
      if (g0[i] !== 0) {
        idx.push(i);
        val.push(g0[i]);
      }
      g0[i] = 0;
      this.mark[0][i] = 0;
    }
    this.nTouched[0] = 0;
    return { idx: Int32Array.from(idx), val: Float64Array.from(val), c };
  }
}

/**
 * d(Σ_k w_k·y_k)/dx at x, dense over the input: the gradient of x's own linear region (the trace's pattern),
 * by the region's sparse backward pass. The float64 gradient under the engine's reference backend
 * (runtime/engine/reference.ts), the attacks' cross-entropy check in tests and verify's sat search.
 */
export function logitCombinationGradient(
  net: Network,
  m: NetworkMatrices,
  t: Trace,
  ws: ArrayLike<number>,
): Float64Array {
  const n = sizeOf(net.inputShape);
  const ks: number[] = [],
    vs: number[] = [];
  for (let k = 0; k < ws.length; k++)
    if (ws[k] !== 0) {
      ks.push(k);
      vs.push(ws[k]);
    }
  const row = new Region(net, m, t.pattern).rowFor(net.output, ks, vs);
  const g = new Float64Array(n);
  row.idx.forEach((i, k) => {
    g[i] = row.val[k];
  });
  return g;
}
