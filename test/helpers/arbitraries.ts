// fast-check arbitraries that build random ONNX networks with the project's own writer: MLPs and small
// conv nets (conv, relu, maxpool, avgpool, batchnorm, flatten, residual add) with random shapes/weights.
// Structure comes from fast-check (so it shrinks); weights from a seeded PRNG (so big tensors stay cheap).

import fc from "fast-check";
import { OnnxBuilder } from "../../compiler/frontend/onnx/write.js";
import { prng } from "../../runtime/attacks/prng.js";
import { trace } from "../../compiler/analysis/trace.js";
import type { Network } from "../../compiler/ir/network.js";

export { prng };

export interface RandomNet {
  readonly bytes: Uint8Array;
  readonly inputShape: readonly number[];
  readonly description: string;
}

class Net {
  readonly b: OnnxBuilder;
  readonly rand: () => number;
  readonly steps: string[] = [];
  constructor(seed: number, opset: number) {
    this.b = new OnnxBuilder(opset);
    this.rand = prng(seed);
  }
  weights(n: number, scale: number): number[] {
    return Array.from({ length: n }, () => (this.rand() * 2 - 1) * scale);
  }
  init(prefix: string, dims: number[], scale: number): string {
    const name = this.b.fresh(prefix);
    return this.b.initializer({
      name,
      dims,
      data: this.weights(
        dims.reduce((a, c) => a * c, 1),
        scale,
      ),
      raw: this.rand() < 0.8,
    });
  }
  op(op: string, inputs: string[], attrs: Record<string, number | number[] | string | { float: number }> = {}): string {
    const out = this.b.fresh(op.toLowerCase());
    this.b.node(op, inputs, [out], attrs);
    return out;
  }
}

/**
 * The end of a random conv net (convArb, layerZooArb): an optional GlobalAveragePool, Flatten, a dense layer to the
 * logits (batch dimension symbolic when `dynamic`), and the net's bytes, input shape and description.
 */
function convHead(
  n: Net,
  x: string,
  o: {
    c: number;
    h: number;
    w: number;
    global: boolean;
    outN: number;
    dynamic: boolean;
    input: readonly [number, number, number];
    name: string;
  },
): RandomNet {
  let { h, w } = o;
  if (o.global) {
    x = n.op("GlobalAveragePool", [x]);
    h = 1;
    w = 1;
    n.steps.push("gap");
  }
  x = n.op("Flatten", [x], { axis: 1 });
  x = dense(n, x, o.c * h * w, o.outN, 0);
  n.b.node("Identity", [x], ["logits"]);
  n.b.output("logits", [o.dynamic ? "batch" : 1, o.outN]);
  const [C, H, W] = o.input;
  return {
    bytes: n.b.toBytes(),
    inputShape: [1, C, H, W],
    description: `${o.name} ${C}x${H}x${W} ${n.steps.join(", ")}`,
  };
}

/** A dense layer, as Gemm (transB 0 or 1) or MatMul + Add, the two forms exporters produce. */
function dense(n: Net, x: string, inN: number, outN: number, form: number): string {
  const scale = 1 / Math.sqrt(inN);
  n.steps.push(`dense ${inN}->${outN}`);
  if (form === 0) return n.op("Gemm", [x, n.init("W", [outN, inN], scale), n.init("b", [outN], 0.1)], { transB: 1 });
  if (form === 1)
    return n.op("Gemm", [x, n.init("W", [inN, outN], scale), n.init("b", [outN], 0.1)], {
      alpha: { float: 0.5 },
      beta: { float: 2 },
    });
  return n.op("Add", [n.op("MatMul", [x, n.init("W", [inN, outN], scale)]), n.init("b", [outN], 0.1)]);
}

export const mlpArb: fc.Arbitrary<RandomNet> = fc
  .record({
    seed: fc.integer(),
    inN: fc.integer({ min: 2, max: 16 }),
    hidden: fc.array(fc.integer({ min: 2, max: 24 }), { minLength: 0, maxLength: 3 }),
    outN: fc.integer({ min: 2, max: 10 }),
    forms: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }),
    dynamic: fc.boolean(),
    opset: fc.constantFrom(11, 13, 17),
  })
  .map(({ seed, inN, hidden, outN, forms, dynamic, opset }) => {
    const n = new Net(seed, opset);
    n.b.input("x", [dynamic ? "batch" : 1, inN]);
    let x = "x",
      width = inN;
    hidden.forEach((h, i) => {
      x = n.op("Relu", [dense(n, x, width, h, forms[i])]);
      n.steps.push("relu");
      width = h;
    });
    x = dense(n, x, width, outN, forms[3]);
    n.b.node("Identity", [x], ["logits"]);
    n.b.output("logits", [dynamic ? "batch" : 1, outN]);
    return { bytes: n.b.toBytes(), inputShape: [1, inN], description: `mlp opset${opset} ${n.steps.join(", ")}` };
  });

type Block = "conv" | "relu" | "maxpool" | "avgpool" | "batchnorm" | "residual" | "pad";

export const convArb: fc.Arbitrary<RandomNet> = fc
  .record({
    seed: fc.integer(),
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 5, max: 10 }),
    W: fc.integer({ min: 5, max: 10 }),
    blocks: fc.array(
      fc.record({
        kind: fc.constantFrom<Block>("conv", "relu", "maxpool", "avgpool", "batchnorm", "residual", "pad"),
        k: fc.integer({ min: 1, max: 3 }),
        s: fc.integer({ min: 1, max: 2 }),
        p: fc.integer({ min: 0, max: 1 }),
        d: fc.integer({ min: 1, max: 2 }),
        m: fc.integer({ min: 1, max: 4 }),
        flag: fc.boolean(),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    global: fc.boolean(),
    outN: fc.integer({ min: 2, max: 10 }),
    dynamic: fc.boolean(),
    opset: fc.constantFrom(11, 13, 17),
  })
  .map(({ seed, C, H, W, blocks, global, outN, dynamic, opset }) => {
    const n = new Net(seed, opset);
    n.b.input("x", [dynamic ? "batch" : 1, C, H, W]);
    let x = "x",
      c = C,
      h = H,
      w = W;
    const out = (size: number, k: number, s: number, p: number, d: number) =>
      Math.floor((size + 2 * p - (d * (k - 1) + 1)) / s) + 1;
    for (const bl of blocks) {
      if (bl.kind === "conv") {
        const dk = bl.d * (bl.k - 1) + 1;
        if (h + 2 * bl.p < dk || w + 2 * bl.p < dk) continue;
        const group = bl.flag && c % 2 === 0 && bl.m % 2 === 0 ? 2 : 1;
        const m = bl.m * (group === 2 ? 1 : 1) + (group === 2 && bl.m % 2 ? 1 : 0);
        x = n.op(
          "Conv",
          [x, n.init("K", [m, c / group, bl.k, bl.k], 1 / Math.sqrt(c * bl.k * bl.k)), n.init("kb", [m], 0.1)],
          {
            kernel_shape: [bl.k, bl.k],
            strides: [bl.s, bl.s],
            pads: [bl.p, bl.p, bl.p, bl.p],
            dilations: [bl.d, bl.d],
            group,
          },
        );
        n.steps.push(`conv ${c}->${m} k${bl.k} s${bl.s} p${bl.p} d${bl.d} g${group}`);
        c = m;
        h = out(h, bl.k, bl.s, bl.p, bl.d);
        w = out(w, bl.k, bl.s, bl.p, bl.d);
      } else if (bl.kind === "relu") {
        x = n.op("Relu", [x]);
        n.steps.push("relu");
      } else if (bl.kind === "maxpool" || bl.kind === "avgpool") {
        const k = Math.max(2, bl.k),
          p = Math.min(bl.p, Math.floor(k / 2));
        if (h + 2 * p < k || w + 2 * p < k) continue;
        const attrs: Record<string, number | number[]> = {
          kernel_shape: [k, k],
          strides: [bl.s, bl.s],
          pads: [p, p, p, p],
        };
        if (bl.kind === "avgpool") attrs.count_include_pad = bl.flag ? 1 : 0;
        x = n.op(bl.kind === "maxpool" ? "MaxPool" : "AveragePool", [x], attrs);
        n.steps.push(`${bl.kind} k${k} s${bl.s} p${p}${bl.kind === "avgpool" ? ` cip${+bl.flag}` : ""}`);
        h = out(h, k, bl.s, p, 1);
        w = out(w, k, bl.s, p, 1);
      } else if (bl.kind === "batchnorm") {
        const varName = n.b.fresh("var");
        n.b.initializer({ name: varName, dims: [c], data: n.weights(c, 1).map((v) => v * v + 0.1) });
        x = n.op(
          "BatchNormalization",
          [x, n.init("gamma", [c], 1), n.init("beta", [c], 0.5), n.init("mean", [c], 0.5), varName],
          { epsilon: { float: 1e-5 } },
        );
        n.steps.push("batchnorm");
      } else if (bl.kind === "residual") {
        const y = n.op("Relu", [
          n.op("Conv", [x, n.init("K", [c, c, 3, 3], 1 / Math.sqrt(9 * c)), n.init("kb", [c], 0.1)], {
            kernel_shape: [3, 3],
            pads: [1, 1, 1, 1],
          }),
        ]);
        x = n.op("Add", [x, y]);
        n.steps.push("residual");
      } else {
        x =
          opset >= 11
            ? n.op("Pad", [
                x,
                n.b.initializer({
                  name: n.b.fresh("pads"),
                  dims: [8],
                  data: [0, 0, bl.p, 1, 0, 0, 1, bl.p],
                  dtype: "int64",
                }),
              ])
            : n.op("Pad", [x], { pads: [0, 0, bl.p, 1, 0, 0, 1, bl.p] });
        h += bl.p + 1;
        w += bl.p + 1;
        n.steps.push(`pad ${bl.p}`);
      }
    }
    return convHead(n, x, { c, h, w, global, outN, dynamic, input: [C, H, W], name: `conv opset${opset}` });
  });

export const networkArb: fc.Arbitrary<RandomNet> = fc.oneof(mlpArb, convArb);

/**
 * Networks whose nonlinearity is max-pool alone, or max-pool after a ReLU: conv → [ReLU] → max-pool (k 2–3, stride
 * 1–2) → [conv → max-pool] → dense. Branch and bound must split max-pool windows to decide them.
 */
export const poolArb: fc.Arbitrary<RandomNet> = fc
  .record({
    seed: fc.integer(),
    C: fc.integer({ min: 1, max: 2 }),
    H: fc.integer({ min: 5, max: 7 }),
    m: fc.integer({ min: 2, max: 3 }),
    k: fc.integer({ min: 2, max: 3 }),
    s: fc.integer({ min: 1, max: 2 }),
    relu: fc.boolean(),
    twice: fc.boolean(),
    outN: fc.integer({ min: 2, max: 4 }),
  })
  .map(({ seed, C, H, m, k, s, relu, twice, outN }) => {
    const n = new Net(seed, 13);
    n.b.input("x", [1, C, H, H]);
    let x = "x",
      c = C,
      h = H;
    const block = (withRelu: boolean) => {
      x = n.op("Conv", [x, n.init("K", [m, c, 2, 2], 1 / Math.sqrt(4 * c)), n.init("kb", [m], 0.1)], {
        kernel_shape: [2, 2],
      });
      n.steps.push(`conv ${c}->${m} k2`);
      c = m;
      h -= 1;
      if (withRelu) {
        x = n.op("Relu", [x]);
        n.steps.push("relu");
      }
      const kk = Math.min(k, h);
      x = n.op("MaxPool", [x], { kernel_shape: [kk, kk], strides: [s, s] });
      n.steps.push(`maxpool k${kk} s${s}`);
      h = Math.floor((h - kk) / s) + 1;
    };
    block(relu);
    if (twice && h >= 3) block(false);
    return convHead(n, x, { c, h, w: h, global: false, outN, dynamic: false, input: [C, H, H], name: "pool" });
  });

/** Random inputs in [0, 1] for a network, from a seed. */
export function randomInputs(shape: readonly number[], count: number, seed: number): Float64Array[] {
  const r = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => Float64Array.from({ length: n }, () => Math.fround(r())));
}

/**
 * rho of a 2-input network at x by brute force: the smallest L∞ distance from x of a point of the
 * (H+1)×(H+1) grid over [0, 1]² whose float64 label differs from x's (∞ when none does). The true rho lies
 * within 1/H of it (below it always: a grid point of another label is an example).
 */
export function gridRho(net: Network, x: Float64Array, H: number): number {
  const label = (z: Float64Array) => {
    const y = trace(net, z).logits;
    let b = 0;
    for (let i = 1; i < y.length; i++) if (y[i] > y[b]) b = i;
    return b;
  };
  const l0 = label(x);
  let grid = Infinity;
  for (let a = 0; a <= H; a++)
    for (let c = 0; c <= H; c++) {
      const z = Float64Array.of(a / H, c / H);
      const d = Math.max(Math.abs(z[0] - x[0]), Math.abs(z[1] - x[1]));
      if (d < grid && label(z) !== l0) grid = d;
    }
  return grid;
}

type ZooBlock =
  | "conv"
  | "relu"
  | "maxpool"
  | "avgpool"
  | "batchnorm"
  | "residual"
  | "sub"
  | "neg"
  | "pad"
  | "transpose"
  | "slice"
  | "repeat";

/**
 * Conv nets over every layer kind the IR has and every form the engine's graphs treat apart (added for the
 * engine's tests; mlpArb and convArb are unchanged): grouped and dilated convs, max pools with dilations and
 * ceil_mode, average pools with ceil_mode and count_include_pad, batch norm, residual add, the difference of
 * two computed tensors (Sub), Neg, and reshapes of every sort — Pad (a gather with zeros), Transpose (a
 * permutation), Slice (a crop) and a Gather that repeats columns (a source that names an element twice).
 */
export const layerZooArb: fc.Arbitrary<RandomNet> = fc
  .record({
    seed: fc.integer(),
    C: fc.integer({ min: 1, max: 3 }),
    H: fc.integer({ min: 4, max: 9 }),
    W: fc.integer({ min: 4, max: 9 }),
    blocks: fc.array(
      fc.record({
        kind: fc.constantFrom<ZooBlock>(
          "conv",
          "relu",
          "maxpool",
          "avgpool",
          "batchnorm",
          "residual",
          "sub",
          "neg",
          "pad",
          "transpose",
          "slice",
          "repeat",
        ),
        k: fc.integer({ min: 1, max: 3 }),
        s: fc.integer({ min: 1, max: 3 }),
        p: fc.integer({ min: 0, max: 1 }),
        d: fc.integer({ min: 1, max: 2 }),
        m: fc.integer({ min: 1, max: 4 }),
        flag: fc.boolean(),
        ceil: fc.boolean(),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    global: fc.boolean(),
    outN: fc.integer({ min: 2, max: 6 }),
    dynamic: fc.boolean(),
    opset: fc.constantFrom(13, 17),
  })
  .map(({ seed, C, H, W, blocks, global, outN, dynamic, opset }) => {
    const n = new Net(seed, opset);
    n.b.input("x", [dynamic ? "batch" : 1, C, H, W]);
    let x = "x",
      c = C,
      h = H,
      w = W;
    const ints = (data: number[]) =>
      n.b.initializer({ name: n.b.fresh("i"), dims: [data.length], data, dtype: "int64" });
    /** Output size of a window (PyTorch's ceil_mode rule: a last window starting past input + begin pad is dropped). */
    const out = (size: number, k: number, s: number, p: number, d: number, ceil: boolean) => {
      const span = size + 2 * p - (d * (k - 1) + 1);
      let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
      if (ceil && (o - 1) * s >= size + p) o--;
      return o;
    };
    for (const bl of blocks) {
      if (bl.kind === "conv") {
        const dk = bl.d * (bl.k - 1) + 1;
        if (h + 2 * bl.p < dk || w + 2 * bl.p < dk) continue;
        const group = bl.flag && c % 2 === 0 ? 2 : 1;
        const m = group === 2 ? 2 * bl.m : bl.m;
        const s = Math.min(bl.s, 2);
        x = n.op(
          "Conv",
          [x, n.init("K", [m, c / group, bl.k, bl.k], 1 / Math.sqrt(c * bl.k * bl.k)), n.init("kb", [m], 0.1)],
          {
            kernel_shape: [bl.k, bl.k],
            strides: [s, s],
            pads: [bl.p, bl.p, bl.p, bl.p],
            dilations: [bl.d, bl.d],
            group,
          },
        );
        n.steps.push(`conv ${c}->${m} k${bl.k} s${s} p${bl.p} d${bl.d} g${group}`);
        c = m;
        h = out(h, bl.k, s, bl.p, bl.d, false);
        w = out(w, bl.k, s, bl.p, bl.d, false);
      } else if (bl.kind === "relu") {
        x = n.op("Relu", [x]);
        n.steps.push("relu");
      } else if (bl.kind === "maxpool" || bl.kind === "avgpool") {
        const k = Math.max(2, bl.k),
          p = Math.min(bl.p, Math.floor(k / 2)),
          d = bl.kind === "maxpool" ? bl.d : 1;
        const dk = d * (k - 1) + 1;
        if (h + 2 * p < dk || w + 2 * p < dk) continue;
        // A max-pool window with every tap in the padding is refused by the front-end (dilated pools can make one).
        const reaches = (size: number) =>
          Array.from({ length: out(size, k, bl.s, p, d, bl.ceil) }, (_, r) =>
            Array.from({ length: k }, (_, t) => r * bl.s - p + t * d).some((q) => q >= 0 && q < size),
          ).every(Boolean);
        if (bl.kind === "maxpool" && (!reaches(h) || !reaches(w))) continue;
        const attrs: Record<string, number | number[]> = {
          kernel_shape: [k, k],
          strides: [bl.s, bl.s],
          pads: [p, p, p, p],
          ceil_mode: bl.ceil ? 1 : 0,
        };
        if (bl.kind === "maxpool") attrs.dilations = [d, d];
        else attrs.count_include_pad = bl.flag ? 1 : 0;
        x = n.op(bl.kind === "maxpool" ? "MaxPool" : "AveragePool", [x], attrs);
        n.steps.push(
          `${bl.kind} k${k} s${bl.s} p${p} d${d} ceil${+bl.ceil}${bl.kind === "avgpool" ? ` cip${+bl.flag}` : ""}`,
        );
        h = out(h, k, bl.s, p, d, bl.ceil);
        w = out(w, k, bl.s, p, d, bl.ceil);
      } else if (bl.kind === "batchnorm") {
        const varName = n.b.fresh("var");
        n.b.initializer({ name: varName, dims: [c], data: n.weights(c, 1).map((v) => v * v + 0.1) });
        x = n.op(
          "BatchNormalization",
          [x, n.init("gamma", [c], 1), n.init("beta", [c], 0.5), n.init("mean", [c], 0.5), varName],
          { epsilon: { float: 1e-5 } },
        );
        n.steps.push("batchnorm");
      } else if (bl.kind === "residual" || bl.kind === "sub") {
        const y = n.op("Relu", [
          n.op("Conv", [x, n.init("K", [c, c, 3, 3], 1 / Math.sqrt(9 * c)), n.init("kb", [c], 0.1)], {
            kernel_shape: [3, 3],
            pads: [1, 1, 1, 1],
          }),
        ]);
        x = bl.kind === "residual" ? n.op("Add", [x, y]) : n.op("Sub", [y, x]);
        n.steps.push(bl.kind);
      } else if (bl.kind === "neg") {
        x = n.op("Neg", [x]);
        n.steps.push("neg");
      } else if (bl.kind === "pad") {
        x = n.op("Pad", [x, ints([0, 0, bl.p, 1, 0, 0, 1, bl.p])]);
        h += bl.p + 1;
        w += bl.p + 1;
        n.steps.push(`pad ${bl.p}`);
      } else if (bl.kind === "transpose") {
        x = n.op("Transpose", [x], { perm: [0, 1, 3, 2] });
        [h, w] = [w, h];
        n.steps.push("transpose");
      } else if (bl.kind === "slice") {
        if (h < 3 || w < 3) continue;
        x = n.op("Slice", [x, ints([1, 0]), ints([h, w - 1]), ints([2, 3])]);
        h -= 1;
        w -= 1;
        n.steps.push("slice");
      } else {
        // Columns 0, w-1, 0 (and the rest): a gather that reads column 0 twice.
        const cols = [0, w - 1, 0, ...Array.from({ length: w - 2 }, (_, i) => i + 1)];
        x = n.op("Gather", [x, ints(cols)], { axis: 3 });
        w = cols.length;
        n.steps.push("repeat");
      }
    }
    return convHead(n, x, { c, h, w, global, outN, dynamic, input: [C, H, W], name: `zoo opset${opset}` });
  });

/**
 * The three families the bounds properties run on (dense, conv, the layer zoo), each with its name for a describe
 * title and the runs a test gives it.
 */
export function netFamilies(runs: { readonly dense: number; readonly conv: number; readonly zoo: number }) {
  return [
    { name: "dense ReLU networks", arb: mlpArb, runs: runs.dense },
    {
      name: "conv networks (conv, ReLU, max-pool, average pool, batch norm, residual add, pad)",
      arb: convArb,
      runs: runs.conv,
    },
    { name: "the layer zoo (grouped and dilated convs, ceil-mode pools, gathers)", arb: layerZooArb, runs: runs.zoo },
  ] as const;
}
