// The ONNX front-end: what lowers to which layers, the glue it folds, and the one-line diagnostics for
// everything it cannot take (all unsupported ops reported together, each with node name and op type).

import assert from "node:assert/strict";
import { loadNetworkFromBytes, lowerModel } from "../../../../compiler/frontend/onnx/lower.js";
import { decodeModel, onnx } from "../../../../compiler/frontend/onnx/load.js";
import { OnnxBuilder } from "../../../../compiler/frontend/onnx/write.js";
import { referenceLogits } from "../../../../runtime/evaluator/reference.js";

const messages = (r: ReturnType<typeof loadNetworkFromBytes>) => (r.ok ? [] : r.diagnostics.map((d) => d.message));

function lenetLike(): OnnxBuilder {
  const b = new OnnxBuilder(13);
  b.input("input", ["batch", 1, 4, 4]);
  b.initializer({ name: "K", dims: [2, 1, 3, 3], data: Array.from({ length: 18 }, (_, i) => (i % 5) - 2) });
  b.node("Conv", ["input", "K"], ["c"], { kernel_shape: [3, 3] }, "conv1");
  b.node("Relu", ["c"], ["r"], {}, "relu1");
  // PyTorch's x.view(x.size(0), -1): Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape.
  b.initializer({ name: "zero", dims: [], data: [0], dtype: "int64" });
  b.initializer({ name: "minus1", dims: [1], data: [-1], dtype: "int64" });
  b.initializer({ name: "axes0", dims: [1], data: [0], dtype: "int64" });
  b.node("Shape", ["r"], ["s"], {}, "shape");
  b.node("Gather", ["s", "zero"], ["n"], { axis: 0 }, "gather");
  b.node("Unsqueeze", ["n", "axes0"], ["n1"], {}, "unsqueeze");
  b.node("Concat", ["n1", "minus1"], ["target"], { axis: 0 }, "concat");
  b.node("Reshape", ["r", "target"], ["flat"], {}, "reshape");
  b.initializer({ name: "W", dims: [3, 8], data: Array.from({ length: 24 }, (_, i) => Math.sin(i)) });
  b.node("MatMul", ["flat", "W_t"], ["y0"], {}, "fc");
  b.node("Transpose", ["W"], ["W_t"], { perm: [1, 0] }, "wt");
  b.output("y0", ["batch", 3]);
  return b;
}

describe("compiler/frontend/onnx: lowering", () => {
  it("folds the Shape/Gather/Unsqueeze/Concat glue into a static Reshape and constant Transposes", () => {
    const r = loadNetworkFromBytes(lenetLike().toBytes());
    assert.ok(r.ok, messages(r).join("\n"));
    const net = r.value.network;
    assert.deepEqual(
      net.layers.map((l) => `${l.kind}:${l.onnxOp}:[${l.shape}]`),
      [
        "input:Input:[1,1,4,4]",
        "affine:Conv:[1,2,2,2]",
        "relu:Relu:[1,2,2,2]",
        "reshape:Reshape:[1,8]",
        "affine:MatMul:[1,3]",
      ],
    );
    assert.equal(net.dynamicBatch, true);
    assert.equal(net.layers[1].name, "conv1");
  });

  it("computes the same function as a hand evaluation (conv, relu, flatten, matmul)", () => {
    const r = loadNetworkFromBytes(lenetLike().toBytes());
    assert.ok(r.ok);
    const x = Float64Array.from({ length: 16 }, (_, i) => i / 16);
    const K = Array.from({ length: 18 }, (_, i) => (i % 5) - 2);
    const flat: number[] = [];
    for (let m = 0; m < 2; m++)
      for (let oy = 0; oy < 2; oy++)
        for (let ox = 0; ox < 2; ox++) {
          let s = 0;
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++) s += K[m * 9 + ky * 3 + kx] * x[(oy + ky) * 4 + ox + kx];
          flat.push(Math.max(0, s));
        }
    const W = Array.from({ length: 24 }, (_, i) => Math.fround(Math.sin(i)));
    const expected = [0, 1, 2].map((j) => flat.reduce((a, v, k) => a + v * W[j * 8 + k], 0));
    const got = referenceLogits(r.value.network, x);
    expected.forEach((e, j) => assert.ok(Math.abs(e - got[j]) < 1e-12, `${e} vs ${got[j]}`));
  });

  it("reports every unsupported op at once, each with node name and op type", () => {
    const b = new OnnxBuilder(13);
    b.input("x", [1, 4]);
    b.node("Sigmoid", ["x"], ["a"], {}, "act_sigmoid");
    b.node("Tanh", ["a"], ["b"], {}, "act_tanh");
    b.node("Softsign", ["b"], ["c"], {}, "head"); // not Softmax: a final Softmax is left out (softmax.test.ts)
    b.output("c", [1, 4]);
    const msgs = messages(loadNetworkFromBytes(b.toBytes(), "three.onnx"));
    assert.deepEqual(msgs, [
      "three.onnx: unsupported op Sigmoid at node 'act_sigmoid'",
      "three.onnx: unsupported op Tanh at node 'act_tanh'",
      "three.onnx: unsupported op Softsign at node 'head'",
    ]);
  });

  it("rejects nonlinear uses of linear ops with the reason", () => {
    const b = new OnnxBuilder(13);
    b.input("x", [1, 4]);
    b.node("Mul", ["x", "x"], ["y"], {}, "square");
    b.output("y", [1, 4]);
    assert.deepEqual(messages(loadNetworkFromBytes(b.toBytes(), "sq.onnx")), [
      "sq.onnx: unsupported op Mul at node 'square': multiplying two computed tensors (not linear)",
    ]);
  });

  it("rejects a corrupt file, a non-ONNX file and an empty file with one line each", () => {
    const good = lenetLike().toBytes();
    const cut = messages(loadNetworkFromBytes(good.subarray(0, good.length - 7), "cut.onnx"));
    assert.equal(cut.length, 1);
    assert.match(cut[0], /^cut\.onnx: not an ONNX model/);
    const text = messages(loadNetworkFromBytes(new TextEncoder().encode('{"hello": "world"}\n'), "x.json"));
    assert.equal(text.length, 1);
    assert.match(text[0], /^x\.json: not an ONNX model/);
    assert.deepEqual(messages(loadNetworkFromBytes(new Uint8Array(0), "e.onnx")), [
      "e.onnx: empty file, not an ONNX model",
    ]);
  });

  it("rejects several inputs, a dynamic non-batch dimension and external data", () => {
    const two = new OnnxBuilder(13)
      .input("a", [1, 2])
      .input("b", [1, 2])
      .node("Add", ["a", "b"], ["y"])
      .output("y", [1, 2]);
    assert.match(messages(loadNetworkFromBytes(two.toBytes(), "two.onnx"))[0], /2 non-constant inputs \(a, b\)/);
    const dyn = new OnnxBuilder(13).input("a", [1, "width"]).node("Relu", ["a"], ["y"]).output("y", [1, "width"]);
    assert.match(messages(loadNetworkFromBytes(dyn.toBytes(), "dyn.onnx"))[0], /dimension 1 \('width'\) is dynamic/);
    const ext = new OnnxBuilder(13).input("a", [1, 2]);
    ext.initializer({ name: "w", dims: [2], data: [1, 2] });
    ext.node("Add", ["a", "w"], ["y"]).output("y", [1, 2]);
    const model = ext.model();
    model.graph!.initializer![0].dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    model.graph!.initializer![0].externalData = [new onnx.StringStringEntryProto({ key: "location", value: "w.bin" })];
    const m = decodeModel(onnx.ModelProto.encode(model).finish(), "ext.onnx");
    assert.ok(m.ok);
    const r = lowerModel(m.value, "ext.onnx");
    assert.ok(!r.ok);
    assert.match(r.diagnostics[0].message, /tensor 'w' uses external data/);
  });

  it("reads initializers from raw_data and from typed fields identically (float32, float64, int64)", () => {
    const build = (raw: boolean) => {
      const b = new OnnxBuilder(13).input("x", [1, 3]);
      b.initializer({ name: "c32", dims: [3], data: [0.1, -2.5, 3], raw });
      b.initializer({ name: "c64", dims: [3], data: [0.1, 1e-9, 7], dtype: "float64", raw });
      b.initializer({ name: "shape", dims: [2], data: [3, 1], dtype: "int64", raw });
      b.node("Add", ["x", "c32"], ["a"])
        .node("Mul", ["a", "c64"], ["m"])
        .node("Reshape", ["m", "shape"], ["y"])
        .output("y", [3, 1]);
      const r = loadNetworkFromBytes(b.toBytes());
      assert.ok(r.ok, messages(r).join());
      return Array.from(referenceLogits(r.value.network, Float64Array.from([1, 2, 3])));
    };
    const a = build(true),
      b = build(false);
    assert.deepEqual(a, b);
    // c32 is rounded to float32, c64 is kept in double.
    assert.deepEqual(a, [(1 + Math.fround(0.1)) * 0.1, (2 - 2.5) * 1e-9, (3 + 3) * 7]);
  });

  it("lowers BatchNormalization, AveragePool and residual Add to affine and add layers", () => {
    const b = new OnnxBuilder(13).input("x", [1, 2, 2, 2]);
    b.initializer({ name: "g", dims: [2], data: [2, 0.5] });
    b.initializer({ name: "be", dims: [2], data: [1, -1] });
    b.initializer({ name: "mu", dims: [2], data: [0.5, 0] });
    b.initializer({ name: "var", dims: [2], data: [4 - 1e-5, 1 - 1e-5] });
    b.node("BatchNormalization", ["x", "g", "be", "mu", "var"], ["bn"], { epsilon: { float: 1e-5 } });
    b.node("Add", ["bn", "x"], ["res"]);
    b.node("GlobalAveragePool", ["res"], ["gap"]);
    b.node("Flatten", ["gap"], ["y"]);
    b.output("y", [1, 2]);
    const r = loadNetworkFromBytes(b.toBytes());
    assert.ok(r.ok, messages(r).join());
    assert.deepEqual(
      r.value.network.layers.map((l) => l.kind),
      ["input", "affine", "add", "affine", "reshape"],
    );
    const x = Float64Array.from([1, 2, 3, 4, 1, 1, 1, 1]);
    const y = referenceLogits(r.value.network, x);
    // channel 0: 2(x-0.5)/2+1 + x = 2x + 0.5 → mean 5.5; channel 1: 0.5x/1 - 1 + x = 1.5x - 1 → 0.5
    assert.ok(Math.abs(y[0] - 5.5) < 1e-6 && Math.abs(y[1] - 0.5) < 1e-6, `${Array.from(y)}`);
  });
});
