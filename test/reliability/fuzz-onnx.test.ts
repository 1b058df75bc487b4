// Fuzzing the ONNX loader (loadNetworkFromBytes): random bytes; valid models (the project's OnnxBuilder and
// examples/models/mnist_mlp.onnx) truncated, with bytes flipped, inserted or deleted; and decoded-but-odd
// graphs (any supported op with any inputs, attributes, shapes). Whatever the bytes, the loader returns a
// network or diagnostics, each one line naming the file; it never throws. Seeds are fixed (FUZZ_SEED and
// FUZZ_RUNS override them); the regression cases at the end are inputs these properties once found.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { loadNetworkFromBytes, SUPPORTED_OPS } from "../../compiler/frontend/onnx/lower.js";
import { onnx } from "../../compiler/frontend/onnx/load.js";
import { OnnxBuilder, tensorProto, type AttrValue } from "../../compiler/frontend/onnx/write.js";
import { convArb, mlpArb } from "../helpers/arbitraries.js";

const FILE = "fuzzed-model.onnx";
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20240611;
const RUNS = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : 1;
const runs = (n: number) => Math.round(n * RUNS);

/** The property: a network, or diagnostics that are one line each and name the file; never a throw. */
function loadsCleanly(bytes: Uint8Array): void {
  let r: ReturnType<typeof loadNetworkFromBytes>;
  try {
    r = loadNetworkFromBytes(bytes, FILE);
  } catch (e) {
    throw new Error(`the loader threw on ${bytes.length} bytes: ${(e as Error).stack ?? String(e)}`);
  }
  if (r.ok) return;
  assert.ok(r.diagnostics.length > 0, "a failed load without diagnostics");
  for (const d of r.diagnostics) {
    assert.ok(!/[\n\r]/.test(d.message), `a diagnostic of more than one line: ${JSON.stringify(d.message)}`);
    assert.ok(d.message.includes(FILE), `a diagnostic that does not name the file: ${d.message}`);
  }
}

/** A LeNet-like net with the exporter's reshape glue (Shape, Gather, Unsqueeze, Concat, Reshape). */
function lenetLike(): Uint8Array {
  const b = new OnnxBuilder(13).input("input", ["batch", 1, 8, 8]);
  b.initializer({ name: "K", dims: [3, 1, 3, 3], data: Array.from({ length: 27 }, (_, i) => Math.sin(i)) });
  b.initializer({ name: "kb", dims: [3], data: [0.1, -0.2, 0.3] });
  b.node("Conv", ["input", "K", "kb"], ["c"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, "conv1");
  b.node("Relu", ["c"], ["r"], {}, "relu1");
  b.node("MaxPool", ["r"], ["p"], { kernel_shape: [2, 2], strides: [2, 2] }, "pool1");
  b.initializer({ name: "zero", dims: [], data: [0], dtype: "int64" });
  b.initializer({ name: "minus1", dims: [1], data: [-1], dtype: "int64" });
  b.initializer({ name: "axes0", dims: [1], data: [0], dtype: "int64" });
  b.node("Shape", ["p"], ["s"], {}, "shape");
  b.node("Gather", ["s", "zero"], ["n"], { axis: 0 }, "gather");
  b.node("Unsqueeze", ["n", "axes0"], ["n1"], {}, "unsqueeze");
  b.node("Concat", ["n1", "minus1"], ["target"], { axis: 0 }, "concat");
  b.node("Reshape", ["p", "target"], ["flat"], {}, "reshape");
  b.initializer({ name: "W", dims: [10, 48], data: Array.from({ length: 480 }, (_, i) => Math.cos(i) / 7) });
  b.initializer({ name: "bias", dims: [10], data: Array.from({ length: 10 }, (_, i) => i / 10) });
  b.node("Gemm", ["flat", "W", "bias"], ["logits"], { transB: 1 }, "fc");
  b.output("logits", ["batch", 10]);
  return b.toBytes();
}

/** Pad, BatchNormalization, AveragePool, a residual Add, a Constant, Transpose, Slice and MatMul. */
function glueNet(): Uint8Array {
  const b = new OnnxBuilder(17).input("x", [1, 2, 6, 6]);
  b.initializer({ name: "pads", dims: [8], data: [0, 0, 1, 1, 0, 0, 1, 1], dtype: "int64" });
  b.node("Pad", ["x", "pads"], ["xp"], {}, "pad");
  for (const [n, v] of [
    ["g", [1, 2]],
    ["be", [0, 0.5]],
    ["mu", [0.1, 0.2]],
    ["var", [1, 4]],
  ] as const)
    b.initializer({ name: n, dims: [2], data: [...v] });
  b.node("BatchNormalization", ["xp", "g", "be", "mu", "var"], ["bn"], { epsilon: { float: 1e-5 } }, "bn");
  b.node("AveragePool", ["bn"], ["ap"], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 }, "avg");
  b.node("Add", ["ap", "bn"], ["res"], {}, "residual");
  b.node("Constant", [], ["half"], { value_float: { float: 0.5 } }, "half");
  b.node("Mul", ["res", "half"], ["m"], {}, "scale");
  b.node("Transpose", ["m"], ["t"], { perm: [0, 1, 3, 2] }, "transpose");
  b.initializer({ name: "st", dims: [2], data: [1, 1], dtype: "int64" });
  b.initializer({ name: "en", dims: [2], data: [7, 7], dtype: "int64" });
  b.initializer({ name: "ax", dims: [2], data: [2, 3], dtype: "int64" });
  b.node("Slice", ["t", "st", "en", "ax"], ["sl"], {}, "slice");
  b.node("Flatten", ["sl"], ["f"], { axis: 1 }, "flatten");
  b.initializer({ name: "M", dims: [72, 4], data: Array.from({ length: 288 }, (_, i) => Math.sin(i * 0.3)) });
  b.node("MatMul", ["f", "M"], ["y"], {}, "matmul");
  b.output("y", [1, 4]);
  return b.toBytes();
}

const MLP = new Uint8Array(readFileSync("examples/models/mnist_mlp.onnx"));
const SEEDS: readonly Uint8Array[] = [
  MLP,
  lenetLike(),
  glueNet(),
  ...fc.sample(mlpArb, { numRuns: 3, seed: SEED }).map((n) => n.bytes),
  ...fc.sample(convArb, { numRuns: 3, seed: SEED + 1 }).map((n) => n.bytes),
];

/** A valid model and a position in it, uniform over its bytes (fast-check's doubles crowd the ends). */
const seedModel = fc.integer({ min: 0, max: SEEDS.length - 1 }).map((i) => SEEDS[i]);
const position = fc.integer({ min: 0, max: 2 ** 30 });
const at = (bytes: Uint8Array, p: number) => p % Math.max(1, bytes.length);

// ---- decoded-but-odd graphs: any supported op, any inputs, attributes and constant shapes ----

const ATTRIBUTES = [
  "axis",
  "axes",
  "perm",
  "kernel_shape",
  "strides",
  "pads",
  "dilations",
  "group",
  "transA",
  "transB",
  "alpha",
  "beta",
  "epsilon",
  "shape",
  "starts",
  "ends",
  "to",
  "mode",
  "auto_pad",
  "ceil_mode",
  "count_include_pad",
  "allowzero",
  "training_mode",
  "start",
  "end",
  "value_float",
  "value_floats",
  "value_int",
  "value_ints",
];
const attrValue: fc.Arbitrary<AttrValue> = fc.oneof(
  fc.integer({ min: -3, max: 6 }),
  fc.array(fc.integer({ min: -3, max: 6 }), { maxLength: 6 }),
  fc.constantFrom("NOTSET", "SAME_UPPER", "VALID", "constant", "reflect", "bogus"),
  fc.record({ float: fc.double() }),
  fc.record({ floats: fc.array(fc.double(), { maxLength: 4 }) }),
);
const tensorArb = fc.record({
  dims: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
  dtype: fc.constantFrom<"float32" | "int64" | "float64">("float32", "int64", "float64"),
  raw: fc.boolean(),
  salt: fc.integer({ min: -3, max: 5 }),
});
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;
type TensorArb = ValueOf<typeof tensorArb>;
const oddGraph = fc.record({
  opset: fc.constantFrom(7, 9, 11, 13, 17, 21),
  inShape: fc
    .tuple(
      fc.constantFrom<number | string>(1, "batch", 2),
      fc.array(
        fc.oneof(
          { weight: 40, arbitrary: fc.integer({ min: 1, max: 6 }) },
          { weight: 1, arbitrary: fc.constantFrom<number | string>(0, "h") },
        ),
        { maxLength: 4 },
      ),
    )
    .map(([n, rest]) => [n, ...rest]),
  inits: fc.array(tensorArb, { maxLength: 6 }),
  nodes: fc.array(
    fc.record({
      op: fc.oneof(
        { weight: 30, arbitrary: fc.constantFrom(...SUPPORTED_OPS) },
        { weight: 1, arbitrary: fc.constantFrom("Sigmoid", "Loop", "") },
      ),
      chain: fc.boolean(),
      inputs: fc.array(fc.integer({ min: -2, max: 20 }), { maxLength: 6 }),
      outputs: fc.oneof(
        { weight: 1, arbitrary: fc.constant(0) },
        { weight: 10, arbitrary: fc.constant(1) },
        { weight: 1, arbitrary: fc.constant(2) },
      ),
      attrs: fc.dictionary(fc.constantFrom(...ATTRIBUTES), attrValue, { maxKeys: 4 }),
      value: fc.option(tensorArb),
    }),
    { minLength: 1, maxLength: 8 },
  ),
  output: fc.integer({ min: -1, max: 20 }),
});

function buildOdd(g: ValueOf<typeof oddGraph>): Uint8Array {
  const spec = (t: TensorArb, name: string) => {
    const n = t.dims.reduce((a, c) => a * c, 1);
    const data = Array.from({ length: n }, (_, i) =>
      t.dtype === "int64" ? ((i * 7 + t.salt) % 5) - 1 : Math.sin(i + t.salt),
    );
    return { name, dims: t.dims, dtype: t.dtype, raw: t.raw, data };
  };
  const b = new OnnxBuilder(g.opset).input("x", g.inShape);
  const names = ["x"];
  g.inits.forEach((t, i) => names.push(b.initializer(spec(t, `w${i}`))));
  const values: [number, TensorArb][] = [];
  g.nodes.forEach((n, j) => {
    // -2: an empty (omitted) input; -1: a name nothing defines; else a recent value.
    const inputs = n.inputs.map((k) =>
      k === -2 ? "" : k === -1 ? "undefined_value" : names[Math.max(0, names.length - 1 - (k % names.length))],
    );
    if (n.chain && j > 0 && inputs.length > 0) inputs[0] = names[names.length - 1];
    const outputs = Array.from({ length: n.outputs }, (_, k) => `v${j}_${k}`);
    b.node(n.op, inputs, outputs, n.attrs, `node${j}`);
    if (n.value) values.push([j, n.value]);
    names.push(...outputs);
  });
  b.output(g.output < 0 ? "undefined_value" : names[g.output % names.length], [1]);
  const m = b.model();
  for (const [j, t] of values) {
    m.graph!.node![j].attribute!.push(
      new onnx.AttributeProto({
        name: "value",
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: tensorProto(spec(t, `c${j}`)),
      }),
    );
  }
  return onnx.ModelProto.encode(m).finish();
}

describe("reliability: fuzzing the ONNX loader", function () {
  this.timeout(120_000);

  it("the seed models load", () => {
    for (const b of SEEDS) {
      const r = loadNetworkFromBytes(b, FILE);
      assert.ok(r.ok, r.ok ? "" : r.diagnostics.map((d) => d.message).join("\n"));
    }
  });

  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), loadsCleanly), { numRuns: runs(500), seed: SEED });
  });

  it("valid models truncated at a random point", () => {
    fc.assert(
      fc.property(seedModel, position, (b, p) => loadsCleanly(b.subarray(0, at(b, p)))),
      { numRuns: runs(400), seed: SEED + 1 },
    );
  });

  it("valid models with random bytes flipped", () => {
    const flips = fc.array(fc.tuple(position, fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(seedModel, flips, (b, fl) => {
        const c = Uint8Array.from(b);
        for (const [p, x] of fl) c[at(c, p)] ^= x;
        loadsCleanly(c);
      }),
      { numRuns: runs(1000), seed: SEED + 2 },
    );
  });

  it("valid models with bytes inserted and deleted", () => {
    const edits = fc.array(fc.tuple(fc.boolean(), position, fc.uint8Array({ minLength: 1, maxLength: 6 })), {
      minLength: 1,
      maxLength: 4,
    });
    fc.assert(
      fc.property(seedModel, edits, (b, es) => {
        let c = b;
        for (const [insert, p, bytes] of es) {
          const i = at(c, p);
          c = new Uint8Array(
            Buffer.concat(
              insert
                ? [c.subarray(0, i), bytes, c.subarray(i)]
                : [c.subarray(0, i), c.subarray(Math.min(c.length, i + bytes.length))],
            ),
          );
        }
        loadsCleanly(c);
      }),
      { numRuns: runs(600), seed: SEED + 3 },
    );
  });

  it("decoded-but-odd graphs: any supported op with any inputs, attributes and shapes", () => {
    fc.assert(
      fc.property(oddGraph, (g) => loadsCleanly(buildOdd(g))),
      { numRuns: runs(1000), seed: SEED + 4 },
    );
  });

  describe("inputs the fuzzers found (each once threw or printed several lines)", () => {
    const load = (b: OnnxBuilder | Uint8Array) => {
      const r = loadNetworkFromBytes(b instanceof Uint8Array ? b : b.toBytes(), FILE);
      assert.ok(!r.ok, "expected diagnostics");
      for (const d of r.diagnostics) assert.ok(!d.message.includes("\n") && d.message.includes(FILE), d.message);
      return r.diagnostics.map((d) => d.message);
    };

    it("a Pad whose pads would make billions of elements (was a RangeError)", () => {
      const b = new OnnxBuilder(13).input("x", [1, 2, 4, 4]);
      b.initializer({
        name: "pads",
        dims: [8],
        data: [0, 0, 2 ** 20, 2 ** 20, 0, 0, 2 ** 20, 2 ** 20],
        dtype: "int64",
      });
      assert.match(
        load(b.node("Pad", ["x", "pads"], ["y"], {}, "pad").output("y", [1])).join(),
        /node 'pad' \(Pad\): pads .* too large/,
      );
    });

    it("a node without its inputs (was 'internal: lowering bound no output')", () => {
      assert.match(
        load(new OnnxBuilder(13).input("x", [1, 4]).node("Relu", [], ["y"], {}, "r").output("y", [1])).join(),
        /node 'r' \(Relu\): input 0 is missing/,
      );
      assert.match(
        load(new OnnxBuilder(13).input("x", [1, 4]).node("Add", ["x"], ["y"], {}, "a").output("y", [1])).join(),
        /node 'a' \(Add\): input 1 is missing/,
      );
    });

    it("a Concat of constants of different ranks (was a RangeError)", () => {
      const b = new OnnxBuilder(7).input("x", [1, 4]);
      b.initializer({ name: "s", dims: [], data: [1] });
      b.initializer({ name: "e", dims: [0], data: [] });
      assert.match(
        load(
          b.node("Concat", ["e", "s"], ["c"], { axis: 0 }, "cat").node("Add", ["x", "c"], ["y"]).output("y", [1]),
        ).join(),
        /node 'cat' \(Concat\): inputs of shapes \[0\], \[\] do not concatenate/,
      );
    });

    it("a MatMul of scalars (was a TypeError in the folded Add after it)", () => {
      const b = new OnnxBuilder(13).input("x", [1, 4]);
      b.initializer({ name: "s", dims: [], data: [2] });
      b.node("MatMul", ["s", "s"], ["m"], {}, "mm").node("Add", ["m", "m"], ["k"]).node("Add", ["x", "k"], ["y"]);
      assert.match(load(b.output("y", [1])).join(), /node 'mm' \(MatMul\): operands must have rank >= 1/);
    });

    it("a Conv with a 1-D weight and a Gemm with a 4-D operand", () => {
      const c = new OnnxBuilder(13).input("x", [1, 1, 4, 4]);
      c.initializer({ name: "w", dims: [3], data: [1, 2, 3] });
      assert.match(
        load(c.node("Conv", ["x", "w"], ["y"], {}, "conv").output("y", [1])).join(),
        /node 'conv' \(Conv\): weight of shape \[3\] is not a convolution weight/,
      );
      const g = new OnnxBuilder(13).input("x", [1, 1, 4, 4]);
      g.initializer({ name: "w", dims: [4, 2], data: [1, 2, 3, 4, 5, 6, 7, 8] });
      assert.match(
        load(g.node("Gemm", ["x", "w"], ["y"], {}, "gemm").output("y", [1])).join(),
        /node 'gemm' \(Gemm\): operands must be 2-D/,
      );
    });

    it("names holding newlines (a flipped length byte) stay on one line", () => {
      const msgs = load(
        new OnnxBuilder(13).input("x", [1, 4]).node("Relu", ['x\nrelu_5"Add'], ["y"], {}, "r\n1").output("y", [1]),
      );
      assert.deepEqual(msgs, [
        `${FILE}: node 'r\\u000a1' (Relu): input 'x\\u000arelu_5"Add' is not defined in the graph`,
      ]);
    });

    it("an initializer with a negative or absurd dimension", () => {
      const m = onnx.ModelProto.decode(MLP);
      m.graph!.initializer![1].dims = [-100];
      assert.match(
        load(onnx.ModelProto.encode(m).finish()).join(),
        /initializer: tensor 'net\.1\.bias' has an invalid shape \[-100\]/,
      );
      m.graph!.initializer![1].dims = [2 ** 40, 2 ** 12];
      assert.match(
        load(onnx.ModelProto.encode(m).finish()).join(),
        /tensor 'net\.1\.bias' has 400 bytes of raw data, expected \d+ for shape/,
      );
    });
  });
});
