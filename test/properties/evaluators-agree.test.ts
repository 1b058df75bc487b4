// Property: on random networks built by the project's ONNX writer, the Float64 reference evaluator agrees
// with onnxruntime-node (float32): same argmax where the top two logits are apart, and
// max |logit difference| <= 1e-4 · (1 + max |logit|).

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../compiler/frontend/onnx/lower.js";
import { OnnxRuntimeEvaluator } from "../../runtime/evaluator/onnxruntime.js";
import { referenceLogits } from "../../runtime/evaluator/reference.js";
import { argmax } from "../../runtime/evaluator/types.js";
import { convArb, mlpArb, randomInputs, type RandomNet } from "../helpers/arbitraries.js";

async function agree(net: RandomNet, seed: number): Promise<void> {
  const r = loadNetworkFromBytes(net.bytes, net.description);
  assert.ok(r.ok, `${net.description}: ${!r.ok ? r.diagnostics.map((d) => d.message).join("; ") : ""}`);
  const n = r.value.network;
  assert.deepEqual(n.inputShape, net.inputShape);
  const xs = randomInputs(n.inputShape, 3, seed);
  const ort = await OnnxRuntimeEvaluator.create(net.bytes, n, { provider: "cpu" });
  try {
    const got = await ort.logits(xs);
    xs.forEach((x, i) => {
      const ref = referenceLogits(n, x);
      assert.equal(ref.length, got[i].length, net.description);
      const scale = 1 + Math.max(...Array.from(ref, Math.abs));
      const diff = Math.max(...Array.from(ref, (v, j) => Math.abs(v - got[i][j])));
      assert.ok(diff <= 1e-4 * scale, `${net.description}: max |diff| ${diff} > ${1e-4 * scale}`);
      // argmax must match unless the top two logits are within the tolerance (a genuine float32 tie).
      const sorted = Array.from(ref).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] > 2e-4 * scale) assert.equal(argmax(ref), argmax(got[i]), net.description);
    });
  } finally {
    await ort.dispose();
  }
}

describe("properties: reference evaluator = onnxruntime-node", function () {
  this.timeout(300_000);
  it("on 200 random MLPs (Gemm, MatMul+Add, Relu; opsets 11-17; fixed and symbolic batch)", async () => {
    await fc.assert(fc.asyncProperty(mlpArb, fc.integer(), agree), { numRuns: 200, seed: 20161205 });
  });
  it("on 300 random conv nets (conv, relu, maxpool, avgpool, batchnorm, pad, residual add, flatten)", async () => {
    await fc.assert(fc.asyncProperty(convArb, fc.integer(), agree), { numRuns: 300, seed: 20161206 });
  });
});

describe("onnxruntime evaluator runs the model as written", () => {
  it("Pad(0) then MaxPool over negative values keeps the zeros (no Pad-into-MaxPool fusion)", async () => {
    const { OnnxBuilder } = await import("../../compiler/frontend/onnx/write.js");
    const b = new OnnxBuilder(13);
    b.input("x", [1, 1, 2, 2]);
    b.initializer({ name: "pads", dims: [8], data: [0, 0, 1, 1, 0, 0, 1, 1], dtype: "int64" });
    b.node("Pad", ["x", "pads"], ["p"]);
    b.node("MaxPool", ["p"], ["m"], { kernel_shape: [2, 2], strides: [2, 2] });
    b.node("Flatten", ["m"], ["y"]);
    b.output("y", [1, 4]);
    const bytes = b.toBytes();
    const r = loadNetworkFromBytes(bytes);
    assert.ok(r.ok);
    const x = Float64Array.from([-1, -2, -3, -4]);
    const ort = await OnnxRuntimeEvaluator.create(bytes, r.value.network, { provider: "cpu" });
    try {
      // Every 2x2 window of the padded 4x4 input holds one real (negative) value and three zeros.
      assert.deepEqual(Array.from((await ort.logits([x]))[0]), [0, 0, 0, 0]);
      assert.deepEqual(Array.from(referenceLogits(r.value.network, x)), [0, 0, 0, 0]);
    } finally {
      await ort.dispose();
    }
  });
});
