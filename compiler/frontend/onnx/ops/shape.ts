// Ops that only move indices: Identity, Dropout (inference), Flatten, Reshape, Squeeze, Unsqueeze, Transpose,
// Pad (zero fill). One index map serves both a computed tensor (a `reshape` layer) and a constant (folded).

import type { Node } from "../graph.js";
import { normAxis, type LowerContext, type OpLowering, type Value } from "../context.js";
import { sizeOf } from "../../../ir/network.js";
import { MAX_ELEMENTS } from "../load.js";

/** out[i] = in[source[i]], or the fill value where source[i] = -1; source null = identity order. */
export interface Movement {
  readonly shape: number[];
  readonly source: Int32Array | null;
  readonly fill: number;
}

/**
 * Valid ONNX that the IR cannot express (an operand computed at run time, ...): reported as unsupported, not as an
 * error.
 */
export interface Unsupported {
  readonly unsupported: string;
}
export const unsupported = (why: string): Unsupported => ({ unsupported: why });

const plain = (shape: number[]): Movement => ({ shape, source: null, fill: 0 });

/** Binds node.outputs[0] to `m` applied to `v`. */
function bindMovement(node: Node, ctx: LowerContext, v: Value, m: Movement): void {
  if (v.kind === "const") {
    const src = v.tensor.data;
    const data = m.source ? Float64Array.from(m.source, (s) => (s < 0 ? m.fill : src[s])) : Float64Array.from(src);
    ctx.setConst(node.outputs[0], { dtype: v.tensor.dtype, shape: m.shape, data });
    return;
  }
  if (m.source === null && sameShape(m.shape, v.shape)) {
    ctx.alias(node.outputs[0], v);
    return;
  }
  if (m.fill !== 0 && m.source && m.source.some((s) => s < 0)) {
    ctx.unsupported(
      node,
      `padding a computed tensor with the nonzero constant ${m.fill} (only zero pads are linear-free)`,
    );
    return;
  }
  ctx.addLayer(node, { kind: "reshape", onnxOp: node.op, shape: m.shape, input: v.layer, source: m.source });
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((d, i) => d === b[i]);

const shapeOfValue = (v: Value): readonly number[] => (v.kind === "const" ? v.tensor.shape : v.shape);

/** Reads an int-list operand from an input (opset >= `since`) or an attribute (older opsets). */
export function intsOperand(
  node: Node,
  ctx: LowerContext,
  inputIndex: number,
  attr: string,
): number[] | null | "dynamic" {
  const name = node.inputs[inputIndex];
  if (name) {
    const v = ctx.get(name);
    if (!v || v.kind !== "const") return "dynamic";
    return Array.from(v.tensor.data);
  }
  return node.ints(attr);
}

/** Lowers an index movement; `compute` returns the movement, an Unsupported, or an error message. */
export function moving(
  compute: (node: Node, ctx: LowerContext, shape: readonly number[]) => Movement | Unsupported | string,
): OpLowering {
  return (node, ctx) => {
    const v = ctx.get(node.inputs[0]);
    if (!v) return;
    const m = compute(node, ctx, shapeOfValue(v));
    if (typeof m === "string") {
      ctx.error(node, m);
      return;
    }
    if ("unsupported" in m) {
      ctx.unsupported(node, m.unsupported);
      return;
    }
    bindMovement(node, ctx, v, m);
  };
}

const identity: OpLowering = (node, ctx) => {
  const v = ctx.get(node.inputs[0]);
  if (!v) return;
  if (node.op === "Dropout" && node.inputs[2]) {
    // Opset 12+: a training_mode input that is true (or computed) makes Dropout random, except that
    // ratio 0 keeps every element and scales by 1/(1 − 0) = 1. The ratio input defaults to 0.5.
    const t = ctx.get(node.inputs[2]),
      r = node.inputs[1] ? ctx.get(node.inputs[1]) : undefined;
    const training = !t || t.kind !== "const" || t.tensor.data.some((b) => b !== 0);
    const ratio = !node.inputs[1] ? 0.5 : r && r.kind === "const" ? r.tensor.data[0] : NaN;
    if (training && ratio !== 0) {
      ctx.unsupported(node, "training-mode Dropout (random; export the model in eval mode)");
      return;
    }
  }
  if (node.op === "Dropout" && node.outputs[1] && node.outputs[1] !== "") {
    // The mask output is all ones in inference; bind it as a constant so nothing downstream breaks.
    const shape = [...shapeOfValue(v)];
    ctx.setConst(node.outputs[1], { dtype: "int", shape, data: new Float64Array(sizeOf(shape)).fill(1) });
  }
  ctx.alias(node.outputs[0], v);
};

const flatten = moving((node, _ctx, shape) => {
  // axis is in [-r, r] and a negative one counts from r (not from r + 1, as normAxis over r + 1 would).
  const raw = node.int("axis", 1),
    r = shape.length;
  const axis = raw < 0 ? raw + r : raw;
  if (axis < 0 || axis > r) return `axis ${raw} out of range for rank ${r}`;
  return plain([sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))]);
});

const reshape = moving((node, ctx, shape) => {
  const target = node.inputs.length > 1 ? intsOperand(node, ctx, 1, "shape") : node.ints("shape");
  if (target === "dynamic")
    return unsupported("the target shape is computed at run time (only constant or foldable shapes are supported)");
  if (!target) return "no target shape";
  const allowZero = node.int("allowzero", 0) === 1;
  const out = target.map((d, i) => (d === 0 && !allowZero ? shape[i] : d));
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) return `target shape [${target.join(",")}] has more than one -1`;
  const known = out.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const total = sizeOf(shape);
  if (minus === 1) {
    if (known === 0 || total % known !== 0) return `cannot reshape [${shape.join(",")}] to [${target.join(",")}]`;
    out[out.indexOf(-1)] = total / known;
  }
  if (sizeOf(out) !== total || out.some((d) => d === undefined || d < 0))
    return `cannot reshape [${shape.join(",")}] to [${target.join(",")}]`;
  return plain(out);
});

const squeeze = moving((node, ctx, shape) => {
  const axes = intsOperand(node, ctx, 1, "axes");
  if (axes === "dynamic") return unsupported("axes computed at run time");
  const norm = (axes ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) =>
    normAxis(a, shape.length),
  );
  if (norm.some((a) => a === null)) return `axes [${axes}] out of range for rank ${shape.length}`;
  if (norm.some((a) => shape[a as number] !== 1)) return `cannot squeeze axes [${axes}] of shape [${shape.join(",")}]`;
  return plain(shape.filter((_, i) => !norm.includes(i)));
});

const unsqueeze = moving((node, ctx, shape) => {
  const axes = intsOperand(node, ctx, 1, "axes");
  if (axes === "dynamic") return unsupported("axes computed at run time");
  if (!axes) return "axes missing";
  const rank = shape.length + axes.length;
  const norm = axes.map((a) => normAxis(a, rank));
  if (norm.some((a) => a === null) || new Set(norm).size !== norm.length)
    return `axes [${axes}] invalid for output rank ${rank}`;
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.includes(i) ? 1 : shape[k++]);
  return plain(out);
});

const transpose = moving((node, _ctx, shape) => {
  const r = shape.length;
  const perm = node.ints("perm") ?? shape.map((_, i) => r - 1 - i);
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => p < 0 || p >= r))
    return `perm [${perm}] invalid for rank ${r}`;
  const out = perm.map((p) => shape[p]);
  const inStride = strides(shape);
  const n = sizeOf(shape);
  const source = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let o = 0;
    for (let i = 0; i < r; i++) o += idx[i] * inStride[perm[i]];
    source[k] = o;
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  return { shape: out, source, fill: 0 };
});

const pad = moving((node, ctx, shape) => {
  const r = shape.length;
  const mode = node.string("mode", "constant");
  if (mode !== "constant") return unsupported(`mode '${mode}' (only constant zero pads)`);
  let pads: number[] | null | "dynamic";
  let fill = 0;
  if (ctx.opset >= 11) {
    pads = intsOperand(node, ctx, 1, "pads");
    const cv = node.inputs[2] ? ctx.get(node.inputs[2]) : undefined;
    if (node.inputs[2] && (!cv || cv.kind !== "const")) return unsupported("constant_value computed at run time");
    if (cv && cv.kind === "const") fill = cv.tensor.data[0] ?? 0;
  } else {
    pads = node.ints("pads");
    fill = node.float("value", 0);
  }
  if (pads === "dynamic") return unsupported("pads computed at run time");
  if (!pads) return "pads missing";
  let axes = Array.from({ length: r }, (_, i) => i);
  const ax = node.inputs[3] ? intsOperand(node, ctx, 3, "") : null;
  if (ax === "dynamic") return unsupported("axes computed at run time");
  if (ax) axes = ax.map((a) => normAxis(a, r) ?? -1);
  if (pads.length !== 2 * axes.length || axes.some((a) => a < 0)) return `pads [${pads}] do not match rank ${r}`;
  const begin = new Array<number>(r).fill(0),
    end = new Array<number>(r).fill(0);
  axes.forEach((a, i) => {
    begin[a] = pads[i];
    end[a] = pads[i + axes.length];
  });
  const out = shape.map((d, i) => d + begin[i] + end[i]);
  if (out.some((d) => d <= 0)) return `pads [${pads}] crop shape [${shape.join(",")}] to nothing`;
  if (out.some((d) => !Number.isSafeInteger(d)) || sizeOf(out) > MAX_ELEMENTS)
    return `pads [${pads}] make shape [${shape.join(",")}] too large ([${out.join(",")}])`;
  const inStride = strides(shape);
  const n = sizeOf(out);
  const source = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let o = 0;
    for (let i = 0; i < r; i++) {
      const j = idx[i] - begin[i];
      if (j < 0 || j >= shape[i]) {
        o = -1;
        break;
      }
      o += j * inStride[i];
    }
    source[k] = o;
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < out[i]) break;
      idx[i] = 0;
    }
  }
  return { shape: out, source, fill };
});

export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export const shapeOps: Record<string, OpLowering> = {
  Identity: identity,
  Dropout: identity,
  Flatten: flatten,
  Reshape: reshape,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Transpose: transpose,
  Pad: pad,
};
