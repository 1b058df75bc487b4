// Elementwise arithmetic: Add (bias or residual), Sub, Mul and Div by constants, Neg, Relu, and
// BatchNormalization in inference form. Affine cases become `scale-shift` layers; constants fold.

import { MAX_ELEMENTS, type ConstTensor } from "../load.js";
import { broadcastShape, broadcastTo, type LowerContext, type OpLowering, type Value } from "../context.js";
import type { Node } from "../graph.js";
import { sizeOf } from "../../../ir/network.js";

type Var = Extract<Value, { kind: "var" }>;

function foldBinary(
  node: Node,
  ctx: LowerContext,
  a: ConstTensor,
  b: ConstTensor,
  f: (x: number, y: number) => number,
): void {
  const shape = broadcastShape(a.shape, b.shape);
  if (!shape) {
    ctx.error(node, `shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    return;
  }
  if (sizeOf(shape) > MAX_ELEMENTS) {
    ctx.error(node, `broadcast shape [${shape}] is too large`);
    return;
  }
  const x = broadcastTo(a, shape),
    y = broadcastTo(b, shape);
  if (!x || !y) {
    ctx.error(node, `shapes [${a.shape}] and [${b.shape}] do not broadcast`);
    return;
  }
  const isInt = a.dtype === "int" && b.dtype === "int";
  const data = x.map((v, i) => {
    const r = f(v, y[i]);
    // Integer Div truncates toward zero in ONNX (C semantics); float32 results round to float32.
    return isInt ? Math.trunc(r) : Math.fround(r);
  });
  ctx.setConst(node.outputs[0], { dtype: isInt ? "int" : "float", shape, data });
}

/** y = scale ⊙ x + shift with constants broadcast to x's shape; reports when they would widen x. */
function scaleShift(
  node: Node,
  ctx: LowerContext,
  x: Var,
  scale: ConstTensor | number,
  shift: ConstTensor | number,
): void {
  const n = sizeOf(x.shape);
  const expand = (c: ConstTensor | number): Float64Array | null => {
    if (typeof c === "number") return new Float64Array(n).fill(c);
    const out = broadcastShape(x.shape, c.shape);
    if (!out || sizeOf(out) !== n || out.length !== x.shape.length) return null;
    return broadcastTo(c, x.shape);
  };
  const s = expand(scale),
    t = expand(shift);
  if (!s || !t) {
    ctx.unsupported(node, `broadcasting the computed tensor [${x.shape}] to a larger shape`);
    return;
  }
  ctx.addLayer(node, {
    kind: "affine",
    onnxOp: node.op,
    shape: x.shape,
    input: x.layer,
    op: { kind: "scale-shift", scale: s, shift: t },
  });
}

const map = (t: ConstTensor, f: (v: number) => number): ConstTensor => ({ ...t, data: t.data.map(f) });

function binary(
  fold: (x: number, y: number) => number,
  affine: (node: Node, ctx: LowerContext, a: Value, b: Value) => void,
): OpLowering {
  return (node, ctx) => {
    const a = ctx.get(node.inputs[0]),
      b = ctx.get(node.inputs[1]);
    if (!a || !b) return;
    if (a.kind === "const" && b.kind === "const") foldBinary(node, ctx, a.tensor, b.tensor, fold);
    else affine(node, ctx, a, b);
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

const add = binary(
  (x, y) => x + y,
  (node, ctx, a, b) => {
    if (a.kind === "var" && b.kind === "var") {
      if (!sameShape(a.shape, b.shape)) {
        ctx.unsupported(node, `adding computed tensors of different shapes [${a.shape}] and [${b.shape}]`);
        return;
      }
      ctx.addLayer(node, { kind: "add", onnxOp: node.op, shape: a.shape, inputs: [a.layer, b.layer] });
    } else if (a.kind === "var" && b.kind === "const") scaleShift(node, ctx, a, 1, b.tensor);
    else if (a.kind === "const" && b.kind === "var") scaleShift(node, ctx, b, 1, a.tensor);
  },
);

const sub = binary(
  (x, y) => x - y,
  (node, ctx, a, b) => {
    if (a.kind === "var" && b.kind === "var") {
      if (!sameShape(a.shape, b.shape)) {
        ctx.unsupported(node, `subtracting computed tensors of different shapes [${a.shape}] and [${b.shape}]`);
        return;
      }
      // a − b = a + (−1·b): a negation layer, then a residual add.
      const neg = ctx.addLayer(
        `${node.name}_neg`,
        {
          kind: "affine",
          onnxOp: "Neg",
          shape: b.shape,
          input: b.layer,
          op: {
            kind: "scale-shift",
            scale: new Float64Array(sizeOf(b.shape)).fill(-1),
            shift: new Float64Array(sizeOf(b.shape)),
          },
        },
        "",
      );
      ctx.addLayer(node, { kind: "add", onnxOp: node.op, shape: a.shape, inputs: [a.layer, neg] });
    } else if (a.kind === "var" && b.kind === "const")
      scaleShift(
        node,
        ctx,
        a,
        1,
        map(b.tensor, (v) => -v),
      );
    else if (a.kind === "const" && b.kind === "var") scaleShift(node, ctx, b, -1, a.tensor);
  },
);

const mul = binary(
  (x, y) => x * y,
  (node, ctx, a, b) => {
    if (a.kind === "var" && b.kind === "const") scaleShift(node, ctx, a, b.tensor, 0);
    else if (a.kind === "const" && b.kind === "var") scaleShift(node, ctx, b, a.tensor, 0);
    else ctx.unsupported(node, "multiplying two computed tensors (not linear)");
  },
);

const div = binary(
  (x, y) => x / y,
  (node, ctx, a, b) => {
    // x / c is computed as x · (1/c): exact in Float64 to within one rounding of onnxruntime's float32 divide.
    if (a.kind === "var" && b.kind === "const")
      scaleShift(
        node,
        ctx,
        a,
        map(b.tensor, (v) => 1 / v),
        0,
      );
    else ctx.unsupported(node, "dividing by a computed tensor (not linear)");
  },
);

const neg: OpLowering = (node, ctx) => {
  const x = ctx.get(node.inputs[0]);
  if (!x) return;
  if (x.kind === "const")
    ctx.setConst(
      node.outputs[0],
      map(x.tensor, (v) => -v),
    );
  else scaleShift(node, ctx, x, -1, 0);
};

const relu: OpLowering = (node, ctx) => {
  const x = ctx.get(node.inputs[0]);
  if (!x) return;
  if (x.kind === "const")
    ctx.setConst(
      node.outputs[0],
      map(x.tensor, (v) => Math.max(v, 0)),
    );
  else ctx.addLayer(node, { kind: "relu", onnxOp: node.op, shape: x.shape, input: x.layer });
};

/** Inference BatchNormalization: y = scale·(x − mean)/sqrt(var + epsilon) + B, per channel (axis 1). */
const batchNorm: OpLowering = (node, ctx) => {
  const [x, ...params] = node.inputs.slice(0, 5).map((n) => ctx.get(n));
  if (!x || params.length < 4 || params.some((p) => !p)) return;
  if (node.int("training_mode", 0) === 1 || node.outputs.slice(1).some((o) => o !== "")) {
    ctx.unsupported(node, "training-mode BatchNormalization (export the model in eval mode)");
    return;
  }
  if (x.kind !== "var" || params.some((p) => p!.kind !== "const")) {
    ctx.unsupported(node, "statistics computed at run time");
    return;
  }
  const [gamma, beta, mean, variance] = params.map((p) => (p as Extract<Value, { kind: "const" }>).tensor.data);
  const eps = node.float("epsilon", 1e-5);
  if (x.shape.length < 2) {
    ctx.error(node, `input [${x.shape}] has no channel dimension (rank < 2)`);
    return;
  }
  const C = x.shape[1];
  if ([gamma, beta, mean, variance].some((p) => p.length !== C)) {
    ctx.error(node, `parameters do not match the ${C} channels of input [${x.shape}]`);
    return;
  }
  const inner = sizeOf(x.shape.slice(2));
  const n = sizeOf(x.shape);
  const scale = new Float64Array(n),
    shift = new Float64Array(n);
  for (let c = 0; c < C; c++) {
    const s = gamma[c] / Math.sqrt(variance[c] + Math.fround(eps));
    // A static batch dimension (N > 1) repeats the channel pattern every C·inner elements.
    for (let o = c * inner; o < n; o += C * inner) {
      scale.fill(s, o, o + inner);
      shift.fill(beta[c] - s * mean[c], o, o + inner);
    }
  }
  ctx.addLayer(node, {
    kind: "affine",
    onnxOp: node.op,
    shape: x.shape,
    input: x.layer,
    op: { kind: "scale-shift", scale, shift },
  });
};

export const elementwiseOps: Record<string, OpLowering> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Neg: neg,
  Relu: relu,
  BatchNormalization: batchNorm,
};
