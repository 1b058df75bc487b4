// The signed gradient baseline (Goodfellow et al.'s fast gradient sign method): x* + eps·sign(∇ loss(x*, l*)),
// clipped to the box, for the predicted label l* (untargeted). It answers "adversarial at eps or not"; the
// distance of its example is at most eps, not a rho estimate, so it supports the frequency only.

import type { Network, NetworkMatrices } from "../../compiler/index.js";
import { crossEntropyGradient } from "./gradient.js";

export function fgsmExample(
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  label: number,
  eps: number,
  lower: number,
  upper: number,
): Float64Array {
  const { grad } = crossEntropyGradient(net, m, xStar, label);
  return Float64Array.from(xStar, (v, i) => Math.min(upper, Math.max(lower, v + eps * Math.sign(grad[i]))));
}
