// The reference evaluator: the compiler's float64 forward pass (compiler/analysis/trace.ts) behind the
// Evaluator interface, so that tests and `predict --evaluator reference` compare it with onnxruntime.

import { trace, type Network } from "../../compiler/index.js";
import type { Evaluator } from "./types.js";

export function referenceLogits(net: Network, x: Float64Array): Float64Array {
  return trace(net, x).logits;
}

export class ReferenceEvaluator implements Evaluator {
  readonly name = "reference" as const;
  constructor(private readonly net: Network) {}
  async logits(inputs: readonly Float64Array[]): Promise<Float64Array[]> {
    return inputs.map((x) => referenceLogits(this.net, x));
  }
  async dispose(): Promise<void> {}
}
