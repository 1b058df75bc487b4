// An evaluator of a model whose training normalised its inputs outside it: each input x (value / scale) goes
// in as (x − mean) / std, computed in float32 as torchvision's Normalize does, then through the wrapped
// evaluator (onnxruntime on the ONNX file). The Network IR gets the same map as its first layer.

import type { Evaluator } from "./types.js";

export class NormalisedEvaluator implements Evaluator {
  readonly name: Evaluator["name"];
  private readonly mean: Float32Array;
  private readonly std: Float32Array;

  /** `mean` and `std` per input element (runtime/data/input-map.ts normalisation). */
  constructor(
    private readonly inner: Evaluator,
    mean: Float64Array,
    std: Float64Array,
  ) {
    this.name = inner.name;
    this.mean = Float32Array.from(mean);
    this.std = Float32Array.from(std);
  }

  logits(inputs: readonly Float64Array[]): Promise<Float64Array[]> {
    return this.inner.logits(
      inputs.map((x) => {
        if (x.length !== this.mean.length)
          throw new Error(`internal: input of length ${x.length}, normalisation of ${this.mean.length}`);
        const y = new Float64Array(x.length);
        for (let i = 0; i < x.length; i++)
          y[i] = Math.fround(Math.fround(Math.fround(x[i]) - this.mean[i]) / this.std[i]);
        return y;
      }),
    );
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
