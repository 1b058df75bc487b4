// Input gradients of the logits and of the cross-entropy loss, from the Network IR. For a ReLU network the
// gradient at x is the linear map of x's own linear region: a forward pass that records x's ReLU phases and
// max-pool winners, then the region's sparse backward pass (runtime/lazy/region.ts) from the output.

import { sizeOf, trace, type Network, type NetworkMatrices, type Trace } from "../../compiler/index.js";
import { Region } from "../lazy/region.js";

/** d(Σ_k w_k·y_k)/dx at x, dense over the input. */
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

export function softmax(y: ArrayLike<number>): Float64Array {
  const mx = Math.max(...Array.from(y));
  const e = Float64Array.from(y, (v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Cross-entropy −log softmax(y)_label and its input gradient Σ_k (p_k − [k = label]) ∇y_k. */
export function crossEntropyGradient(
  net: Network,
  m: NetworkMatrices,
  x: Float64Array,
  label: number,
): { loss: number; grad: Float64Array; logits: Float64Array } {
  const t = trace(net, x, { matrices: m });
  const p = softmax(t.logits);
  const mx = Math.max(...Array.from(t.logits));
  const lse = mx + Math.log(Array.from(t.logits).reduce((a, v) => a + Math.exp(v - mx), 0));
  const w = p.map((v, k) => v - (k === label ? 1 : 0));
  return { loss: lse - t.logits[label], grad: logitCombinationGradient(net, m, t, w), logits: t.logits };
}
