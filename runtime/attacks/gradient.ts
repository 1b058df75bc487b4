// The cross-entropy loss and its input gradient. Through the engine (runtime/engine/: the logits, then one
// vector–Jacobian product with the softmax weights) for the attacks; in float64 from the Network IR (the trace
// and the region's backward pass, runtime/lazy/region.ts) for tests and callers without an engine.

import { trace, type EngineCore, type Network, type NetworkMatrices } from "../../compiler/index.js";
import { logitCombinationGradient } from "../lazy/region.js";

export function softmax(y: ArrayLike<number>): Float64Array {
  const mx = Math.max(...Array.from(y));
  const e = Float64Array.from(y, (v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/**
 * Cross-entropy −log softmax(y)_label at logits y, and the weights w_k = p_k − [k = label] of its gradient Σ_k w_k
 * ∇y_k.
 */
export function crossEntropyWeights(y: ArrayLike<number>, label: number): { loss: number; weights: Float64Array } {
  const p = softmax(y);
  const mx = Math.max(...Array.from(y));
  const lse = mx + Math.log(Array.from(y).reduce((a, v) => a + Math.exp(v - mx), 0));
  return { loss: lse - y[label], weights: p.map((v, k) => v - (k === label ? 1 : 0)) };
}

/** Cross-entropy −log softmax(y)_label and its input gradient Σ_k (p_k − [k = label]) ∇y_k (float64, from the IR). */
export function crossEntropyGradient(
  net: Network,
  m: NetworkMatrices,
  x: Float64Array,
  label: number,
): { loss: number; grad: Float64Array; logits: Float64Array } {
  const t = trace(net, x, { matrices: m });
  const { loss, weights } = crossEntropyWeights(t.logits, label);
  return { loss, grad: logitCombinationGradient(net, m, t, weights), logits: t.logits };
}

/**
 * The same through the engine: its logits at x, then one vector–Jacobian product with the softmax weights
 * (under the reference backend, exactly crossEntropyGradient's numbers).
 */
export async function engineCrossEntropy(
  engine: EngineCore,
  x: Float64Array,
  label: number,
): Promise<{ loss: number; grad: Float64Array; logits: Float64Array }> {
  const logits = await engine.forward(x, 1);
  const { loss, weights } = crossEntropyWeights(logits, label);
  const { gradient } = await engine.vjp(x, weights, 1);
  return { loss, grad: gradient, logits };
}
