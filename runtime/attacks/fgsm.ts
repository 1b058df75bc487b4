// The signed gradient baseline (Goodfellow et al.'s fast gradient sign method): x* + eps·sign(∇ loss(x*, l*)),
// clipped to the box, for the predicted label l* (untargeted). It answers "adversarial at eps or not"; the
// distance of its example is at most eps, not a rho estimate, so it supports the frequency only. The gradient
// comes from the engine (--backend: the softmax weights of the logits, then one vector–Jacobian product).

import type { EngineCore } from "../../compiler/index.js";
import { engineCrossEntropy } from "./gradient.js";

export async function fgsmExample(
  engine: EngineCore,
  xStar: Float64Array,
  label: number,
  eps: number,
  lower: number,
  upper: number,
): Promise<Float64Array> {
  const { grad } = await engineCrossEntropy(engine, xStar, label);
  return Float64Array.from(xStar, (v, i) => Math.min(upper, Math.max(lower, v + eps * Math.sign(grad[i]))));
}
