// Gather and Slice with constant indices (index movements, on computed or constant tensors), and the
// constant-only glue PyTorch's exporter emits around reshapes: Constant, Shape, Size, Concat, Cast,
// ConstantOfShape. Folding them leaves static shapes for Reshape.

import { sizeOf } from "../../../ir/network.js";
import { MAX_ELEMENTS } from "../load.js";
import { normAxis, type LowerContext, type OpLowering, type Value } from "../context.js";
import type { Node } from "../graph.js";
import { intsOperand, moving, strides, unsupported } from "./shape.js";

const shapeOfValue = (v: Value): readonly number[] => (v.kind === "const" ? v.tensor.shape : v.shape);

const gather = moving((node, ctx, shape) => {
  const iv = ctx.get(node.inputs[1]);
  if (!iv || iv.kind !== "const") return unsupported("indices computed at run time");
  const axis = normAxis(node.int("axis", 0), shape.length);
  if (axis === null) return `axis ${node.int("axis", 0)} out of range for rank ${shape.length}`;
  const ind = Array.from(iv.tensor.data, (i) => (i < 0 ? i + shape[axis] : i));
  if (ind.some((i) => i < 0 || i >= shape[axis])) return `index out of range for axis ${axis} of size ${shape[axis]}`;
  if (ind.some((i) => !Number.isInteger(i))) return "indices are not integers";
  const out = [...shape.slice(0, axis), ...iv.tensor.shape, ...shape.slice(axis + 1)];
  if (sizeOf(out) > MAX_ELEMENTS) return `output shape [${out.join(",")}] is too large`;
  const inStride = strides(shape);
  const outer = sizeOf(shape.slice(0, axis));
  const inner = sizeOf(shape.slice(axis + 1));
  const source = new Int32Array(sizeOf(out));
  let k = 0;
  for (let o = 0; o < outer; o++)
    for (const i of ind)
      for (let t = 0; t < inner; t++) source[k++] = o * (axis > 0 ? inStride[axis - 1] : 0) + i * inner + t;
  return { shape: out, source, fill: 0 };
});

const slice = moving((node, ctx, shape) => {
  const r = shape.length;
  let starts: number[] | null | "dynamic", ends: number[] | null | "dynamic";
  let axes: number[] | null | "dynamic" = null,
    steps: number[] | null | "dynamic" = null;
  if (ctx.opset >= 10) {
    starts = intsOperand(node, ctx, 1, "");
    ends = intsOperand(node, ctx, 2, "");
    if (node.inputs[3]) axes = intsOperand(node, ctx, 3, "");
    if (node.inputs[4]) steps = intsOperand(node, ctx, 4, "");
  } else {
    starts = node.ints("starts");
    ends = node.ints("ends");
    axes = node.ints("axes");
  }
  if (starts === "dynamic" || ends === "dynamic" || axes === "dynamic" || steps === "dynamic")
    return unsupported("starts/ends/axes/steps computed at run time");
  if (!starts || !ends) return "starts or ends missing";
  const ax = (axes ?? starts.map((_, i) => i)).map((a) => normAxis(a, r));
  if (ax.some((a) => a === null)) return `axes out of range for rank ${r}`;
  const begin = shape.map(() => 0),
    step = shape.map(() => 1),
    count = [...shape];
  for (let j = 0; j < ax.length; j++) {
    const a = ax[j] as number,
      d = shape[a],
      s = steps ? steps[j] : 1;
    if (s === 0) return "a step of 0";
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let b = starts[j] < 0 ? starts[j] + d : starts[j];
    let e = ends[j] < 0 ? ends[j] + d : ends[j];
    if (s > 0) {
      b = clamp(b, 0, d);
      e = clamp(e, 0, d);
      count[a] = Math.max(0, Math.ceil((e - b) / s));
    } else {
      b = clamp(b, 0, d - 1);
      e = clamp(e, -1, d - 1);
      count[a] = Math.max(0, Math.ceil((e - b) / s));
    }
    begin[a] = b;
    step[a] = s;
  }
  const inStride = strides(shape);
  const n = sizeOf(count);
  const source = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let k = 0; k < n; k++) {
    let o = 0;
    for (let i = 0; i < r; i++) o += (begin[i] + idx[i] * step[i]) * inStride[i];
    source[k] = o;
    for (let i = r - 1; i >= 0; i--) {
      if (++idx[i] < count[i]) break;
      idx[i] = 0;
    }
  }
  return { shape: count, source, fill: 0 };
});

const constant: OpLowering = (node, ctx) => {
  const t =
    node.tensor("value") ??
    node.tensor("value_float") ??
    node.tensor("value_floats") ??
    node.tensor("value_int") ??
    node.tensor("value_ints");
  if (!t) {
    ctx.unsupported(node, `attribute ${node.attributeNames().join(", ") || "(none)"} (sparse or string constants)`);
    return;
  }
  // A TENSOR value's diagnostics name the node but not the file (graph.ts converts it): add the file.
  if (!t.ok) {
    ctx.diagnostics.push(...t.diagnostics.map((d) => ({ ...d, message: `${ctx.file}: ${d.message}` })));
    return;
  }
  const i = t.value.dtype === "float" ? t.value.data.findIndex((v) => !Number.isFinite(v)) : -1;
  if (i >= 0) {
    ctx.error(node, `value contains ${t.value.data[i]} at flat index ${i} (weights must be finite)`);
    return;
  }
  ctx.setConst(node.outputs[0], t.value);
};

/** Shape of a computed tensor is static here (the batch dimension is fixed to 1), so it folds. */
const shapeOp: OpLowering = (node, ctx) => {
  const v = ctx.get(node.inputs[0]);
  if (!v) return;
  const s = shapeOfValue(v);
  const r = s.length;
  let start = node.int("start", 0),
    end = node.int("end", r);
  start = Math.min(Math.max(start < 0 ? start + r : start, 0), r);
  end = Math.min(Math.max(end < 0 ? end + r : end, 0), r);
  const dims = s.slice(start, Math.max(start, end));
  ctx.setConst(node.outputs[0], { dtype: "int", shape: [dims.length], data: Float64Array.from(dims) });
};

const size: OpLowering = (node, ctx) => {
  const v = ctx.get(node.inputs[0]);
  if (!v) return;
  ctx.setConst(node.outputs[0], { dtype: "int", shape: [], data: Float64Array.of(sizeOf(shapeOfValue(v))) });
};

function constInputs(node: Node, ctx: LowerContext): Value[] | null {
  const vs = node.inputs.filter((n) => n !== "").map((n) => ctx.get(n));
  if (vs.some((v) => v === undefined)) return null;
  if (vs.some((v) => v!.kind !== "const")) {
    ctx.unsupported(node, "on computed tensors (only constant inputs fold)");
    return null;
  }
  return vs as Value[];
}

const concat: OpLowering = (node, ctx) => {
  const vs = constInputs(node, ctx);
  if (!vs) return;
  const ts = vs.map((v) => (v.kind === "const" ? v.tensor : null)!);
  const r = ts[0].shape.length;
  const axis = normAxis(node.int("axis", 0), r);
  if (axis === null) {
    ctx.error(node, `axis out of range for rank ${r}`);
    return;
  }
  if (ts.some((t) => t.shape.length !== r || t.shape.some((d, i) => i !== axis && d !== ts[0].shape[i]))) {
    ctx.error(node, `inputs of shapes ${ts.map((t) => `[${t.shape}]`).join(", ")} do not concatenate on axis ${axis}`);
    return;
  }
  const outer = sizeOf(ts[0].shape.slice(0, axis));
  const out = [...ts[0].shape];
  out[axis] = ts.reduce((a, t) => a + t.shape[axis], 0);
  const data = new Float64Array(sizeOf(out));
  let k = 0;
  for (let o = 0; o < outer; o++)
    for (const t of ts) {
      const chunk = sizeOf(t.shape.slice(axis));
      data.set(t.data.subarray(o * chunk, (o + 1) * chunk), k);
      k += chunk;
    }
  ctx.setConst(node.outputs[0], { dtype: ts[0].dtype, shape: out, data });
};

const cast: OpLowering = (node, ctx) => {
  const v = ctx.get(node.inputs[0]);
  if (!v) return;
  const to = node.int("to", 1);
  const isFloat = to === 1 || to === 11 || to === 10;
  if (v.kind === "var") {
    if (isFloat) ctx.alias(node.outputs[0], v);
    else ctx.unsupported(node, "casting a computed tensor to a non-float type");
    return;
  }
  const data = isFloat
    ? to === 1
      ? v.tensor.data.map(Math.fround)
      : Float64Array.from(v.tensor.data)
    : v.tensor.data.map(Math.trunc);
  ctx.setConst(node.outputs[0], { dtype: isFloat ? "float" : "int", shape: v.tensor.shape, data });
};

const constantOfShape: OpLowering = (node, ctx) => {
  const vs = constInputs(node, ctx);
  if (!vs) return;
  const dims = Array.from((vs[0] as Extract<Value, { kind: "const" }>).tensor.data);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0) || sizeOf(dims) > MAX_ELEMENTS) {
    ctx.error(node, `shape [${dims.join(",")}] is not a valid shape of at most ${MAX_ELEMENTS} elements`);
    return;
  }
  const t = node.tensor("value");
  if (t && !t.ok) {
    ctx.diagnostics.push(...t.diagnostics.map((d) => ({ ...d, message: `${ctx.file}: ${d.message}` })));
    return;
  }
  const fill = t ? t.value : { dtype: "float" as const, data: Float64Array.of(0) };
  ctx.setConst(node.outputs[0], {
    dtype: fill.dtype,
    shape: dims,
    data: new Float64Array(sizeOf(dims)).fill(fill.data[0] ?? 0),
  });
};

export const indexingOps: Record<string, OpLowering> = {
  Gather: gather,
  Slice: slice,
  Constant: constant,
  Shape: shapeOp,
  Size: size,
  Concat: concat,
  Cast: cast,
  ConstantOfShape: constantOfShape,
};
