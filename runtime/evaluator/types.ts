// The one interface both evaluators implement: a batch of model inputs (Float64, row-major, the ONNX
// input shape) in, one logit vector per input out.

export interface Evaluator {
  readonly name: "reference" | "onnxruntime";
  /** Logits for each input; inputs are in model units (pixel / pixel scale). */
  logits(inputs: readonly Float64Array[]): Promise<Float64Array[]>;
  dispose(): Promise<void>;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
