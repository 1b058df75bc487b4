// Conv (2-D; strides, pads incl. auto_pad, dilations, group) with constant weights and bias:
// lowered to a `conv` affine map that the IR can apply directly or expand to CSR.

import type { OpLowering } from "../context.js";
import { unsupportedWindow, windowGeometry } from "./window.js";

const conv: OpLowering = (node, ctx) => {
  const x = ctx.get(node.inputs[0]),
    w = ctx.get(node.inputs[1]);
  const b = node.inputs[2] ? ctx.get(node.inputs[2]) : undefined;
  if (!x || !w || (node.inputs[2] && !b)) return;
  if (x.kind !== "var") {
    ctx.unsupported(node, "convolution of a constant input");
    return;
  }
  if (w.kind !== "const" || (b && b.kind !== "const")) {
    ctx.unsupported(node, "weights computed at run time");
    return;
  }
  const ws = w.tensor.shape;
  if (ws.length < 3) {
    ctx.error(node, `weight of shape [${ws}] is not a convolution weight (rank ${ws.length}, expected 4)`);
    return;
  }
  if (ws.length !== 4) {
    ctx.unsupported(node, `${ws.length - 2}-D convolution (only 2-D)`);
    return;
  }
  const why = unsupportedWindow(x.shape);
  if (why) {
    ctx.unsupported(node, why);
    return;
  }
  const group = node.int("group", 1);
  const [M, Cg, kH, kW] = ws;
  const C = x.shape[1];
  if (group < 1 || C % group !== 0 || M % group !== 0 || Cg * group !== C) {
    ctx.error(node, `weight [${ws}] with group ${group} does not match input channels ${C}`);
    return;
  }
  const kernel = node.ints("kernel_shape") ?? [kH, kW];
  if (kernel[0] !== kH || kernel[1] !== kW) {
    ctx.error(node, `kernel_shape [${kernel}] differs from weight [${ws}]`);
    return;
  }
  const g = windowGeometry(node, x.shape, kernel, M, false);
  if (typeof g === "string") {
    ctx.error(node, g);
    return;
  }
  const bias = b && b.kind === "const" ? b.tensor.data : new Float64Array(M);
  if (bias.length !== M) {
    ctx.error(node, `bias has ${bias.length} entries for ${M} output channels`);
    return;
  }
  ctx.addLayer(node, {
    kind: "affine",
    onnxOp: node.op,
    shape: [1, M, g.outH, g.outW],
    input: x.layer,
    op: { kind: "conv", geometry: g, group, weight: w.tensor.data, bias },
  });
};

export const convOps: Record<string, OpLowering> = { Conv: conv };
