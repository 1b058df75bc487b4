// The reference evaluator's trace: ReLU phases (a pre-activation of exactly 0 is inactive) and max-pool
// argmax (ties keep the first maximal element in row-major order), the conventions the restriction uses.

import assert from "node:assert/strict";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { trace } from "../../../compiler/analysis/trace.js";

function net(build: (b: OnnxBuilder) => void) {
  const b = new OnnxBuilder(13);
  build(b);
  const r = loadNetworkFromBytes(b.toBytes());
  assert.ok(r.ok, r.ok ? "" : r.diagnostics.map((d) => d.message).join());
  return r.value.network;
}

describe("runtime/evaluator/reference: trace", () => {
  it("records ReLU phases with 0 counted inactive, and the pre-activations", () => {
    const n = net((b) => {
      b.input("x", [1, 4]);
      b.initializer({ name: "c", dims: [4], data: [0, -1, 1, 0] });
      b.node("Add", ["x", "c"], ["u"]).node("Relu", ["u"], ["y"]).output("y", [1, 4]);
    });
    const t = trace(n, Float64Array.from([0, 2, -3, 1e-300]));
    assert.deepEqual(Array.from(t.values[1]), [0, 1, -2, 1e-300]);
    assert.deepEqual(Array.from(t.pattern.layers.get(2)!), [0, 1, 0, 1]);
    assert.deepEqual(Array.from(t.logits), [0, 1, 0, 1e-300]);
  });

  it("records max-pool argmax as the first maximal element in row-major order", () => {
    const n = net((b) => {
      b.input("x", [1, 1, 2, 4]);
      b.node("MaxPool", ["x"], ["m"], { kernel_shape: [2, 2], strides: [2, 2] })
        .node("Flatten", ["m"], ["y"])
        .output("y", [1, 2]);
    });
    // window 0 = {0,1,4,5} all equal (blank background): index 0 wins; window 1 = {2,3,6,7}: tie of 3 and 7.
    const t = trace(n, Float64Array.from([0, 0, 1, 5, 0, 0, 2, 5]));
    assert.deepEqual(Array.from(t.pattern.layers.get(1)!), [0, 3]);
    assert.deepEqual(Array.from(t.logits), [0, 5]);
  });
});
