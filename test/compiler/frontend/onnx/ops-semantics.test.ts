// Op semantics the upstream node tests (libonnx-testdata 1.12) leave uncovered, checked against onnxruntime:
// MatMul with 1-D operands and broadcast batch dimensions, attribute-form Pad/Squeeze/Unsqueeze of older
// opsets, Pad axes, Reshape allowzero, Conv auto_pad/groups/dilations, pools with ceil_mode, count_include_pad
// and dilations. Also the valid-ONNX forms the IR cannot express, which must be "onnx/unsupported-op".

import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { loadNetworkFromBytes } from "../../../../compiler/frontend/onnx/lower.js";
import { OnnxBuilder, type AttrValue, type TensorSpec } from "../../../../compiler/frontend/onnx/write.js";
import { sizeOf } from "../../../../compiler/ir/network.js";
import { referenceLogits } from "../../../../runtime/evaluator/reference.js";

type NodeSpec = readonly [op: string, inputs: string[], attrs?: Record<string, AttrValue>];

interface Case {
  readonly name: string;
  readonly opset: number;
  readonly inShape: number[];
  readonly outShape: number[];
  readonly inits?: TensorSpec[];
  /** A chain: each node's output feeds the next through "h<i>"; the last one writes "y". */
  readonly nodes: NodeSpec[];
}

const w = (name: string, dims: number[]): TensorSpec => ({
  name,
  dims,
  data: Array.from({ length: sizeOf(dims) }, (_, i) => ((i * 7) % 11) / 4 - 1),
});
const ints = (name: string, data: number[], dims = [data.length]): TensorSpec => ({ name, dims, data, dtype: "int64" });

function build(c: Case): Uint8Array {
  const b = new OnnxBuilder(c.opset);
  b.input("x", c.inShape).output("y", c.outShape);
  for (const t of c.inits ?? []) b.initializer(t);
  c.nodes.forEach(([op, inputs, attrs], i) => {
    const ins = inputs.map((n) => (n === "$" ? (i === 0 ? "x" : `h${i - 1}`) : n));
    b.node(op, ins, [i === c.nodes.length - 1 ? "y" : `h${i}`], attrs ?? {});
  });
  return b.toBytes();
}

const mm = (name: string, xs: number[], ws: number[], out: number[], xLeft: boolean): Case => ({
  name,
  opset: 13,
  inShape: xs,
  outShape: out,
  inits: [w("W", ws)],
  nodes: [["MatMul", xLeft ? ["$", "W"] : ["W", "$"]]],
});
const conv = (name: string, xs: number[], ws: number[], out: number[], attrs: Record<string, AttrValue>): Case => ({
  name,
  opset: 13,
  inShape: xs,
  outShape: out,
  inits: [w("W", ws), w("B", [ws[0]])],
  nodes: [["Conv", ["$", "W", "B"], attrs]],
});
const pool = (
  name: string,
  op: string,
  opset: number,
  xs: number[],
  out: number[],
  attrs: Record<string, AttrValue>,
): Case => ({ name, opset, inShape: xs, outShape: out, nodes: [[op, ["$"], attrs]] });

const AGREE: Case[] = [
  mm("MatMul x[3] · W[3,4]", [3], [3, 4], [4], true),
  mm("MatMul W[4,3] · x[3]", [3], [4, 3], [4], false),
  mm("MatMul W[2,3,4] · x[4]", [4], [2, 3, 4], [2, 3], false),
  mm("MatMul x[3] · W[2,3,4]", [3], [2, 3, 4], [2, 4], true),
  mm("MatMul x[2,3,4] · W[4]", [2, 3, 4], [4], [2, 3], true),
  mm("MatMul x[2,3,4] · W[1,4,5]", [2, 3, 4], [1, 4, 5], [2, 3, 5], true),
  mm("MatMul x[1,3,4] · W[2,4,5]", [1, 3, 4], [2, 4, 5], [2, 3, 5], true),
  mm("MatMul W[2,1,3,4] · x[5,4,6]", [5, 4, 6], [2, 1, 3, 4], [2, 5, 3, 6], false),
  {
    name: "Gemm transA, computed B, C [M,1]",
    opset: 13,
    inShape: [3, 4],
    outShape: [2, 4],
    inits: [w("A", [3, 2]), w("C", [2, 1])],
    nodes: [["Gemm", ["A", "$", "C"], { transA: 1, alpha: { float: 0.5 }, beta: { float: 2 } }]],
  },
  {
    name: "Pad opset 10 (pads attribute)",
    opset: 10,
    inShape: [1, 2, 3, 3],
    outShape: [1, 2, 6, 4],
    nodes: [["Pad", ["$"], { pads: [0, 0, 1, 0, 0, 0, 2, 1] }]],
  },
  {
    name: "Pad opset 13, negative pads crop",
    opset: 13,
    inShape: [1, 2, 3, 3],
    outShape: [1, 2, 4, 2],
    inits: [ints("p", [0, 0, 1, -1, 0, 0, 0, 0])],
    nodes: [["Pad", ["$", "p"]]],
  },
  {
    name: "Pad opset 18 with axes",
    opset: 18,
    inShape: [1, 2, 3, 3],
    outShape: [1, 2, 3, 6],
    inits: [ints("p", [1, 2]), ints("ax", [-1])],
    nodes: [["Pad", ["$", "p", "", "ax"]]],
  },
  {
    name: "Squeeze opset 11 (axes attribute)",
    opset: 11,
    inShape: [1, 3, 1, 2],
    outShape: [3, 2],
    nodes: [["Squeeze", ["$"], { axes: [0, -2] }]],
  },
  {
    name: "Unsqueeze opset 11 (axes attribute)",
    opset: 11,
    inShape: [3, 2],
    outShape: [1, 3, 2, 1],
    nodes: [["Unsqueeze", ["$"], { axes: [0, -1] }]],
  },
  {
    name: "Reshape 0 copies a dimension",
    opset: 14,
    inShape: [2, 3, 4],
    outShape: [2, 12],
    inits: [ints("s", [0, -1])],
    nodes: [["Reshape", ["$", "s"]]],
  },
  {
    name: "Reshape allowzero without zeros",
    opset: 14,
    inShape: [2, 3, 4],
    outShape: [4, 6],
    inits: [ints("s", [4, -1])],
    nodes: [["Reshape", ["$", "s"], { allowzero: 1 }]],
  },
  {
    name: "BatchNormalization batch 2 then Flatten axis -2",
    opset: 15,
    inShape: [2, 3, 2, 2],
    outShape: [6, 4],
    inits: [w("s", [3]), w("b", [3]), w("m", [3]), { name: "v", dims: [3], data: [1, 2, 0.5] }],
    nodes: [
      ["BatchNormalization", ["$", "s", "b", "m", "v"]],
      ["Flatten", ["$"], { axis: -2 }],
    ],
  },
  {
    name: "Slice opset 9 (attributes)",
    opset: 9,
    inShape: [4, 5],
    outShape: [2, 3],
    nodes: [["Slice", ["$"], { starts: [1, -3], ends: [3, 1000], axes: [0, 1] }]],
  },
  {
    name: "Slice negative steps, clamped ends",
    opset: 13,
    inShape: [4, 5],
    outShape: [4, 3],
    inits: [ints("s", [-1, 1000]), ints("e", [-1000, -1000]), ints("a", [1, 0]), ints("st", [-2, -1])],
    nodes: [["Slice", ["$", "s", "e", "a", "st"]]],
  },
  {
    name: "Gather scalar negative index, axis -1",
    opset: 13,
    inShape: [2, 3, 4],
    outShape: [2, 3],
    inits: [ints("i", [-2], [])],
    nodes: [["Gather", ["$", "i"], { axis: -1 }]],
  },
  conv("Conv SAME_UPPER stride 2", [1, 2, 7, 8], [4, 2, 2, 3], [1, 4, 4, 4], {
    auto_pad: "SAME_UPPER",
    strides: [2, 2],
  }),
  conv("Conv SAME_LOWER even kernel", [1, 2, 6, 6], [4, 2, 2, 2], [1, 4, 6, 6], { auto_pad: "SAME_LOWER" }),
  conv("Conv groups, asymmetric pads", [1, 4, 5, 6], [6, 2, 3, 2], [1, 6, 6, 5], { group: 2, pads: [1, 0, 2, 0] }),
  conv("Conv depthwise, dilations, strides", [1, 3, 9, 9], [3, 1, 3, 3], [1, 3, 5, 3], {
    group: 3,
    dilations: [2, 3],
    strides: [1, 2],
  }),
  ...["MaxPool", "AveragePool"].flatMap((op) => [
    pool(`${op} ceil_mode, pads, last window dropped`, op, 13, [1, 1, 5, 5], [1, 1, 3, 3], {
      kernel_shape: [2, 2],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceil_mode: 1,
    }),
    pool(`${op} ceil_mode, asymmetric pads`, op, 13, [1, 2, 6, 7], [1, 2, 4, 4], {
      kernel_shape: [3, 2],
      strides: [2, 2],
      pads: [0, 1, 2, 0],
      ceil_mode: 1,
    }),
    pool(`${op} SAME_LOWER stride 2`, op, 13, [1, 2, 7, 6], [1, 2, 4, 3], {
      kernel_shape: [3, 2],
      strides: [2, 2],
      auto_pad: "SAME_LOWER",
    }),
    pool(`${op} dilations, ceil_mode, pads`, op, 19, [1, 2, 8, 8], [1, 2, 5, 4], {
      kernel_shape: [2, 3],
      dilations: [2, 2],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceil_mode: 1,
    }),
  ]),
  ...[0, 1].flatMap((cip) => [
    pool(`AveragePool count_include_pad=${cip}, ceil_mode, pads`, "AveragePool", 13, [1, 1, 6, 6], [1, 1, 4, 4], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      pads: [1, 1, 1, 1],
      ceil_mode: 1,
      count_include_pad: cip,
    }),
    pool(`AveragePool count_include_pad=${cip}, SAME_UPPER`, "AveragePool", 13, [1, 1, 6, 6], [1, 1, 3, 3], {
      kernel_shape: [3, 3],
      strides: [2, 2],
      auto_pad: "SAME_UPPER",
      count_include_pad: cip,
    }),
    pool(`AveragePool count_include_pad=${cip}, dilations, pads`, "AveragePool", 19, [1, 1, 7, 7], [1, 1, 5, 5], {
      kernel_shape: [2, 2],
      dilations: [2, 2],
      pads: [1, 1, 1, 1],
      count_include_pad: cip,
    }),
  ]),
];

const UNSUPPORTED: Case[] = [
  pool("MaxPool window made only of padding", "MaxPool", 13, [1, 1, 3, 3], [1, 1, 7, 7], {
    kernel_shape: [1, 1],
    pads: [2, 2, 2, 2],
  }),
  pool("AveragePool window skipping the input (dilations)", "AveragePool", 19, [1, 1, 1, 4], [1, 1, 1, 4], {
    kernel_shape: [2, 1],
    dilations: [2, 1],
    pads: [1, 0, 1, 0],
  }),
  pool("MaxPool 1-D", "MaxPool", 13, [1, 2, 8], [1, 2, 4], { kernel_shape: [2], strides: [2] }),
  conv("Conv over a batch of 2", [2, 2, 5, 5], [3, 2, 3, 3], [2, 3, 3, 3], {}),
  {
    name: "Pad mode edge",
    opset: 13,
    inShape: [1, 2, 3, 3],
    outShape: [1, 2, 5, 3],
    inits: [ints("p", [0, 0, 1, 0, 0, 0, 1, 0])],
    nodes: [["Pad", ["$", "p"], { mode: "edge" }]],
  },
  {
    name: "Dropout in training mode",
    opset: 13,
    inShape: [2, 3],
    outShape: [2, 3],
    inits: [
      { name: "r", dims: [], data: [0.25] },
      { name: "t", dims: [], data: [1], dtype: "int64" },
    ],
    nodes: [["Dropout", ["$", "r", "t"]]],
  },
];

describe("compiler/frontend/onnx: op semantics against onnxruntime", () => {
  for (const c of AGREE) {
    it(c.name, async () => {
      const bytes = build(c);
      const r = loadNetworkFromBytes(bytes, c.name);
      assert.ok(r.ok, r.ok ? "" : r.diagnostics.map((d) => d.message).join("\n"));
      const net = r.value.network;
      const x = Float64Array.from({ length: sizeOf(c.inShape) }, (_, i) => Math.fround(Math.sin(i * 1.7) * 3));
      const session = await ort.InferenceSession.create(bytes, {
        logSeverityLevel: 3,
        graphOptimizationLevel: "disabled",
      });
      try {
        const out = (await session.run({ x: new ort.Tensor("float32", Float32Array.from(x), c.inShape) })).y;
        assert.deepEqual(net.layers[net.output].shape, [...out.dims]);
        const got = referenceLogits(net, x),
          want = out.data as Float32Array;
        for (let i = 0; i < want.length; i++) {
          assert.ok(
            Math.abs(got[i] - want[i]) <= 1e-5 + 1e-4 * Math.abs(want[i]),
            `element ${i}: ${got[i]}, onnxruntime ${want[i]}`,
          );
        }
      } finally {
        await session.release();
      }
    });
  }
  for (const c of UNSUPPORTED) {
    it(`reports as unsupported: ${c.name}`, () => {
      const r = loadNetworkFromBytes(build(c), c.name);
      assert.ok(!r.ok, "lowered");
      assert.deepEqual(
        r.diagnostics.map((d) => d.code),
        ["onnx/unsupported-op"],
        r.diagnostics.map((d) => d.message).join("\n"),
      );
    });
  }
});
