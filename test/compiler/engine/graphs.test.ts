// The engine's generated graphs (compiler/engine/): on every example model both graphs are well-formed ONNX
// with a symbolic batch dimension; the forward graph, lowered back by the project's own front-end, is the
// same network (same float64 logits up to its float32 weights); the gradient graph uses the ops the design
// names (MaxPool's Indices with ScatterElements — never an equality mask —, ConvTranspose, Where on u > 0);
// a layer the graphs cannot express is a diagnostic, not a crash.

import assert from "node:assert/strict";
import { trace } from "../../../compiler/analysis/trace.js";
import { engineExampleShape, GRAPH_OPSET, MAX_DENSE } from "../../../compiler/engine/emit.js";
import { forwardGraph } from "../../../compiler/engine/forward-graph.js";
import { gradientGraph } from "../../../compiler/engine/gradient-graph.js";
import { boundsGraph } from "../../../compiler/engine/bounds-graph.js";
import { GRAPH_IO } from "../../../compiler/engine/types.js";
import { decodeModel, toNumber, type ModelProto } from "../../../compiler/frontend/onnx/load.js";
import { loadNetwork, loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import type { Network } from "../../../compiler/ir/network.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";

const MODELS = ["mnist_mlp", "mnist_lenet", "mnist_lenet_caffe", "mnist_cnn_bn", "mnist_nin"];

function load(name: string): Network {
  const r = loadNetwork(`examples/models/${name}.onnx`);
  assert.ok(r.ok);
  return r.value.network;
}

function decoded(bytes: Uint8Array): ModelProto {
  const m = decodeModel(bytes, "graph");
  assert.ok(m.ok);
  return m.value;
}

/** A value's shape as written: numbers, or the symbolic dimension's name. */
function shapeOf(m: ModelProto, name: string, io: "input" | "output"): (number | string)[] {
  const v = (io === "input" ? m.graph!.input! : m.graph!.output!).find((i) => i.name === name);
  assert.ok(v, `no graph ${io} '${name}'`);
  return v.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue)));
}

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("compiler/engine: the generated graphs", function () {
  this.timeout(60_000);

  for (const name of MODELS) {
    it(`${name}: the forward graph lowers back to a network with the same logits`, () => {
      const net = load(name);
      const g = forwardGraph(net);
      assert.ok(g.ok);
      const m = decoded(g.value);
      assert.equal(toNumber(m.opsetImport![0].version), GRAPH_OPSET);
      assert.deepEqual(shapeOf(m, GRAPH_IO.x, "input"), [GRAPH_IO.batch, 1, 28, 28]);
      assert.deepEqual(shapeOf(m, GRAPH_IO.logits, "output"), [GRAPH_IO.batch, 10]);
      const back = loadNetworkFromBytes(g.value, `${name} forward graph`);
      assert.ok(back.ok, !back.ok ? back.diagnostics[0].message : "");
      assert.equal(back.value.network.dynamicBatch, true);
      assert.deepEqual(back.value.network.inputShape, net.inputShape);
      const s = openSession(`examples/models/${name}.onnx`, { data: "mnist:test", pixelScale: 255 });
      assert.ok(s.ok);
      for (const i of [0, 1, 2]) {
        const x = modelInput(s.value, i);
        const a = trace(net, x).logits,
          b = trace(back.value.network, x).logits;
        const diff = Math.max(...Array.from(a, (v, k) => Math.abs(v - b[k])));
        assert.ok(diff <= 1e-5 * (1 + maxAbs(a)), `${name} digit ${i}: ${diff}`);
      }
    });

    it(`${name}: the gradient graph is well-formed ONNX with x, weights -> logits, gradient`, () => {
      const net = load(name);
      const g = gradientGraph(net);
      assert.ok(g.ok);
      const m = decoded(g.value);
      assert.deepEqual(shapeOf(m, GRAPH_IO.x, "input"), [GRAPH_IO.batch, 1, 28, 28]);
      assert.deepEqual(shapeOf(m, GRAPH_IO.weights, "input"), [GRAPH_IO.batch, 10]);
      assert.deepEqual(shapeOf(m, GRAPH_IO.logits, "output"), [GRAPH_IO.batch, 10]);
      assert.deepEqual(shapeOf(m, GRAPH_IO.gradient, "output"), [GRAPH_IO.batch, 1, 28, 28]);
      // The front-end reads the file and refuses it for what it is (two inputs: a network has one), not as corrupt.
      const back = loadNetworkFromBytes(g.value, "gradient graph");
      assert.ok(!back.ok);
      assert.deepEqual(
        back.diagnostics.map((d) => d.code),
        ["onnx/inputs"],
      );
    });
  }

  it("mnist_lenet's gradient graph: max-pool backward through MaxPool's Indices, never an equality mask", () => {
    const g = gradientGraph(load("mnist_lenet"));
    assert.ok(g.ok);
    const m = decoded(g.value);
    const nodes = m.graph!.node!;
    const ops = nodes.map((n) => n.opType);
    const pools = nodes.filter((n) => n.opType === "MaxPool");
    assert.equal(pools.length, 2);
    for (const p of pools) {
      assert.equal(p.output!.length, 2, "MaxPool with its Indices output");
      const indices = p.output![1];
      // Indices → Flatten → Mod → ScatterElements(reduction add)
      const flat = nodes.find((n) => n.opType === "Flatten" && n.input![0] === indices)!;
      const mod = nodes.find((n) => n.opType === "Mod" && n.input![0] === flat.output![0])!;
      const scatter = nodes.find((n) => n.opType === "ScatterElements" && n.input![1] === mod.output![0])!;
      assert.ok(scatter, "the Indices feed a ScatterElements");
      const red = scatter.attribute!.find((a) => a.name === "reduction");
      assert.equal(new TextDecoder().decode(red!.s!), "add");
    }
    assert.ok(!ops.includes("Equal"), "no equality mask");
    assert.equal(ops.filter((o) => o === "ConvTranspose").length, 2, "one ConvTranspose per Conv");
    assert.equal(ops.filter((o) => o === "Greater").length, 3, "one ReLU mask (u > 0) per ReLU");
    assert.equal(ops.filter((o) => o === "Where").length, 3);
    assert.ok(!ops.includes("GreaterOrEqual"), "a pre-activation of 0 is inactive");
  });

  it("the example shape drops the batch dimension of 1 and keeps a rank-1 input", () => {
    const base = load("mnist_mlp");
    assert.deepEqual(engineExampleShape(base), [1, 28, 28]);
    assert.deepEqual(engineExampleShape({ ...base, inputShape: [1, 784] }), [784]);
    assert.deepEqual(engineExampleShape({ ...base, inputShape: [784] }), [784]);
  });

  it("a matrix too large to make dense is a diagnostic naming the layer", () => {
    const base = load("mnist_mlp");
    const rows = 2 ** 13,
      cols = MAX_DENSE / rows + 1;
    const net: Network = {
      ...base,
      inputShape: [1, cols],
      layers: [
        { kind: "input", id: 0, name: "x", onnxOp: "Input", shape: [1, cols] },
        {
          kind: "affine",
          id: 1,
          name: "huge",
          onnxOp: "MatMul",
          shape: [1, rows],
          input: 0,
          op: {
            kind: "matrix",
            rows,
            cols,
            indptr: new Int32Array(rows + 1),
            indices: new Int32Array(0),
            values: new Float64Array(0),
            bias: new Float64Array(rows),
          },
        },
      ],
      output: 1,
    };
    for (const g of [forwardGraph(net), gradientGraph(net), boundsGraph(net)]) {
      assert.ok(!g.ok);
      assert.equal(g.diagnostics[0].code, "engine/unsupported");
      assert.match(
        g.diagnostics[0].message,
        /layer 'huge' \(MatMul\): its 8192×8193 matrix is too large to make dense/,
      );
    }
  });
});
