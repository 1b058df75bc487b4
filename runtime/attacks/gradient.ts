// Input gradients of the logits and of the cross-entropy loss, from the Network IR. For a ReLU network the
// gradient at x is the linear map of x's own linear region: a forward pass that records x's ReLU phases and
// max-pool winners, then the region's sparse backward pass (runtime/region.ts) from the output.

import { match } from "ts-pattern";
import { applyCsr } from "../../compiler/ir/affine.js";
import { sizeOf, type Network } from "../../compiler/ir/network.js";
import type { Trace } from "../evaluator/reference.js";
import { Region, type NetworkMatrices } from "../region.js";

/** A forward pass over the CSR matrices (faster than the reference's conv loops) with the trace it implies. */
export function fastTrace(net: Network, m: NetworkMatrices, x: Float64Array): Trace {
  const values: Float64Array[] = [];
  const phases = new Map<number, Uint8Array>();
  const argmax = new Map<number, Int32Array>();
  for (const l of net.layers) {
    values.push(match(l)
      .with({ kind: "input" }, () => x)
      .with({ kind: "affine" }, (a) => applyCsr(m.csr[a.id]!, m.bias[a.id]!, values[a.input]))
      .with({ kind: "relu" }, (r) => {
        const u = values[r.input];
        const ph = new Uint8Array(u.length);
        const y = new Float64Array(u.length);
        for (let j = 0; j < u.length; j++) if (u[j] > 0) { ph[j] = 1; y[j] = u[j]; }
        phases.set(r.id, ph);
        return y;
      })
      .with({ kind: "maxpool" }, (p) => {
        const u = values[p.input], w = m.windows[p.id]!;
        const n = w.indptr.length - 1;
        const y = new Float64Array(n), am = new Int32Array(n);
        for (let j = 0; j < n; j++) {
          let best = w.indices[w.indptr[j]];
          // Strict '>' keeps the first maximal element (the restriction's convention).
          for (let k = w.indptr[j] + 1; k < w.indptr[j + 1]; k++) if (u[w.indices[k]] > u[best]) best = w.indices[k];
          am[j] = best; y[j] = u[best];
        }
        argmax.set(p.id, am);
        return y;
      })
      .with({ kind: "add" }, (a) => values[a.inputs[0]].map((v, i) => v + values[a.inputs[1]][i]))
      .with({ kind: "reshape" }, (r) => {
        const u = values[r.input];
        return r.source ? Float64Array.from(r.source, (s) => (s < 0 ? 0 : u[s])) : u;
      })
      .exhaustive());
  }
  return { values, phases, argmax, logits: values[net.output] };
}

/** d(Σ_k w_k·y_k)/dx at x, dense over the input. */
export function logitCombinationGradient(net: Network, m: NetworkMatrices, t: Trace, ws: ArrayLike<number>): Float64Array {
  const n = sizeOf(net.inputShape);
  const ks: number[] = [], vs: number[] = [];
  for (let k = 0; k < ws.length; k++) if (ws[k] !== 0) { ks.push(k); vs.push(ws[k]); }
  const row = new Region(net, m, t).rowFor(net.output, ks, vs);
  const g = new Float64Array(n);
  row.idx.forEach((i, k) => { g[i] = row.val[k]; });
  return g;
}

export function softmax(y: ArrayLike<number>): Float64Array {
  const mx = Math.max(...Array.from(y));
  const e = Float64Array.from(y, (v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Cross-entropy −log softmax(y)_label and its input gradient Σ_k (p_k − [k = label]) ∇y_k. */
export function crossEntropyGradient(net: Network, m: NetworkMatrices, x: Float64Array, label: number): { loss: number; grad: Float64Array; logits: Float64Array } {
  const t = fastTrace(net, m, x);
  const p = softmax(t.logits);
  const mx = Math.max(...Array.from(t.logits));
  const lse = mx + Math.log(Array.from(t.logits).reduce((a, v) => a + Math.exp(v - mx), 0));
  const w = p.map((v, k) => v - (k === label ? 1 : 0));
  return { loss: lse - t.logits[label], grad: logitCombinationGradient(net, m, t, w), logits: t.logits };
}
