// The reference backend of the engine: today's float64 loops, one input at a time — the trace (compiler/analysis/
// trace.ts: one forward pass, the IR's tie rules) and the linear region's sparse backward pass
// (runtime/lazy/region.ts logitCombinationGradient). The oracle of the tests.

import {
  inputSize,
  outputSize,
  trace,
  type BatchData,
  type EngineCore,
  type EngineGradient,
  type Network,
  type NetworkMatrices,
} from "../../compiler/index.js";
import { logitCombinationGradient } from "../lazy/region.js";

export class ReferenceEngine implements EngineCore {
  readonly backend = "reference" as const;
  readonly dtype = "float64" as const;
  readonly inputSize: number;
  readonly outputSize: number;

  constructor(
    readonly net: Network,
    readonly matrices: NetworkMatrices,
  ) {
    this.inputSize = inputSize(net);
    this.outputSize = outputSize(net);
  }

  private row(data: BatchData, b: number, width: number): Float64Array {
    return Float64Array.from(data.subarray(b * width, (b + 1) * width));
  }

  private check(data: BatchData, batch: number, width: number, what: string): void {
    if (!Number.isInteger(batch) || batch < 1 || data.length !== batch * width)
      throw new Error(`internal: ${what} of ${data.length} values for a batch of ${batch} × ${width}`);
  }

  async forward(x: BatchData, batch: number): Promise<Float64Array> {
    this.check(x, batch, this.inputSize, "input");
    const K = this.outputSize;
    const y = new Float64Array(batch * K);
    for (let b = 0; b < batch; b++)
      y.set(trace(this.net, this.row(x, b, this.inputSize), { matrices: this.matrices }).logits, b * K);
    return y;
  }

  async vjp(x: BatchData, weights: BatchData, batch: number): Promise<EngineGradient> {
    this.check(x, batch, this.inputSize, "input");
    this.check(weights, batch, this.outputSize, "weights");
    const [n, K] = [this.inputSize, this.outputSize];
    const logits = new Float64Array(batch * K),
      gradient = new Float64Array(batch * n);
    for (let b = 0; b < batch; b++) {
      const t = trace(this.net, this.row(x, b, n), { matrices: this.matrices });
      logits.set(t.logits, b * K);
      gradient.set(logitCombinationGradient(this.net, this.matrices, t, weights.subarray(b * K, (b + 1) * K)), b * n);
    }
    return { logits, gradient };
  }

  async dispose(): Promise<void> {}
}
