// MaxPool (a `maxpool` layer: one disjunction per output later), AveragePool (count_include_pad) and
// GlobalAveragePool (affine `avgpool` maps), GlobalMaxPool. 2-D, NCHW, batch 1.

import type { OpLowering } from "../context.js";
import { emptyWindow, unsupportedWindow, windowGeometry } from "./window.js";

const maxPool: OpLowering = (node, ctx) => {
  const x = ctx.get(node.inputs[0]);
  if (!x) return;
  if (x.kind !== "var") {
    ctx.unsupported(node, "pooling a constant");
    return;
  }
  const why = unsupportedWindow(x.shape);
  if (why) {
    ctx.unsupported(node, why);
    return;
  }
  if (node.outputs[1]) {
    ctx.unsupported(node, "the Indices output of MaxPool");
    return;
  }
  const global = node.op === "GlobalMaxPool";
  const kernel = global ? x.shape.slice(2) : node.ints("kernel_shape");
  if (!kernel) {
    ctx.error(node, "kernel_shape missing");
    return;
  }
  const g = windowGeometry(node, x.shape, kernel, x.shape[1], !global);
  if (typeof g === "string") {
    ctx.error(node, g);
    return;
  }
  const empty = emptyWindow(g);
  if (empty) {
    ctx.unsupported(node, empty);
    return;
  }
  ctx.addLayer(node, {
    kind: "maxpool",
    onnxOp: node.op,
    shape: [1, g.outC, g.outH, g.outW],
    input: x.layer,
    geometry: g,
  });
};

const avgPool: OpLowering = (node, ctx) => {
  const x = ctx.get(node.inputs[0]);
  if (!x) return;
  if (x.kind !== "var") {
    ctx.unsupported(node, "pooling a constant");
    return;
  }
  const why = unsupportedWindow(x.shape);
  if (why) {
    ctx.unsupported(node, why);
    return;
  }
  const global = node.op === "GlobalAveragePool";
  const kernel = global ? x.shape.slice(2) : node.ints("kernel_shape");
  if (!kernel) {
    ctx.error(node, "kernel_shape missing");
    return;
  }
  const g = windowGeometry(node, x.shape, kernel, x.shape[1], !global);
  if (typeof g === "string") {
    ctx.error(node, g);
    return;
  }
  const countIncludePad = !global && node.int("count_include_pad", 0) === 1;
  // With count_include_pad an all-padding window is a well-defined 0; without it, it would be 0/0.
  const empty = countIncludePad ? null : emptyWindow(g);
  if (empty) {
    ctx.unsupported(node, empty);
    return;
  }
  ctx.addLayer(node, {
    kind: "affine",
    onnxOp: node.op,
    shape: [1, g.outC, g.outH, g.outW],
    input: x.layer,
    op: { kind: "avgpool", geometry: g, countIncludePad },
  });
};

export const poolOps: Record<string, OpLowering> = {
  MaxPool: maxPool,
  GlobalMaxPool: maxPool,
  AveragePool: avgPool,
  GlobalAveragePool: avgPool,
};
