// The gradient graph: forward and backward in one ONNX model. Inputs `x` [B, ...engineExampleShape(net)] and
// `weights` [B, K]; outputs `logits` [B, K] and `gradient` (x's shape): per input b, ∇_x Σ_k W[b,k]·y_k at x_b,
// the gradient of x_b's own linear region (float32; B symbolic). Consumes the Network IR; produces the model's
// bytes, or a diagnostic for a layer the graphs cannot express.

import { diag, fail, ok, type Result } from "../diagnostics.js";
import { outputSize, type Layer, type Network } from "../ir/network.js";
import { engineExampleShape, GraphEmitter, type LayerConsts } from "./emit.js";
import { GRAPH_IO } from "./types.js";

/*
 * Design notes:
 * The backward pass, per layer kind (g: the gradient reaching the layer's value, [B, n]; a layer read by
 * several layers sums what each passes back):
 *   affine matrix   MatMul(g, W) with the forward Gemm's W
 *   scale-shift     Mul(g, scale)
 *   conv            ConvTranspose with the forward Conv's weight, strides, pads, dilations and group;
 *                   output_padding restores the input rows and columns no window reached (their gradient is 0)
 *   avgpool         Mul(g, 1/divisor) when the divisors differ, then ConvTranspose with the forward kernel
 *   relu            Where(u > 0, g, 0), u the pre-activation: a pre-activation of exactly 0 is inactive (the
 *                   IR's convention, compiler/nonlinear/relu.ts)
 *   maxpool         ScatterElements(zeros, Indices mod C·H·W, g, axis 1, reduction add): each window's gradient
 *                   goes to the one element MaxPool's Indices output names — on a tie the first maximal element
 *                   in row-major order, the IR's convention (compiler/nonlinear/maxpool.ts). Never an equality
 *                   mask: on MNIST's blank background a window's maxima tie, and a mask would pass its gradient
 *                   to every tied element. Indices count from the start of the whole [B, C, H, W] tensor, hence
 *                   the mod; overlapping windows may name one element twice, hence the add.
 *   add             g to both inputs
 *   reshape         nothing (same order); a gather whose source names every input element at most once (Pad,
 *                   Slice, Transpose) goes back by the inverse gather (times a 0/1 mask of the elements no
 *                   output reads); any other by ScatterElements with reduction add
 */

export function gradientGraph(net: Network): Result<Uint8Array> {
  const e = new GraphEmitter(net, true, "robustc_gradient");
  const r = e.forward();
  if (!r.ok) return r;
  const B = GRAPH_IO.batch;
  const example = engineExampleShape(net);
  e.b.input(GRAPH_IO.x, [B, ...example]);
  e.b.input(GRAPH_IO.weights, [B, outputSize(net)]);
  e.b.node("Identity", [e.value[net.output]!], [GRAPH_IO.logits], {}, "logits");
  e.b.output(GRAPH_IO.logits, [B, outputSize(net)]);

  const parts = new Map<number, string[]>();
  const pass = (id: number, g: string) => {
    const p = parts.get(id);
    if (p) p.push(g);
    else parts.set(id, [g]);
  };
  const sum = (l: Layer | string, gs: readonly string[]) =>
    gs.slice(1).reduce((acc, g) => e.one(l, "Add", [acc, g]), gs[0]);
  pass(net.output, GRAPH_IO.weights);
  for (let id = net.output; id > 0; id--) {
    const gs = parts.get(id);
    if (!gs) continue;
    const l = net.layers[id];
    const r = backward(e, l, sum(l, gs));
    if (!r.ok) return r;
    for (const [to, g] of r.value) pass(to, g);
  }
  const g0 = parts.get(0);
  if (!g0) e.b.node("ConstantOfShape", [e.one("zeros", "Shape", [GRAPH_IO.x])], [GRAPH_IO.gradient], {}, "gradient");
  else if (example.length === 1) e.b.node("Identity", [sum("input", g0)], [GRAPH_IO.gradient], {}, "gradient");
  else e.b.node("Reshape", [sum("input", g0), e.shape([-1, ...example])], [GRAPH_IO.gradient], {}, "gradient");
  e.b.output(GRAPH_IO.gradient, [B, ...example]);
  return ok(e.b.toBytes());
}

function need<K extends LayerConsts["kind"]>(e: GraphEmitter, l: Layer, kind: K): Extract<LayerConsts, { kind: K }> {
  const c = e.consts.get(l.id);
  if (!c || c.kind !== kind) throw new Error(`internal: layer ${l.id} has no ${kind} constants in the graph`);
  return c as Extract<LayerConsts, { kind: K }>;
}

/** Zeros of the shape of layer `id`'s value ([B, n]). */
const zerosLike = (e: GraphEmitter, l: Layer, id: number) =>
  e.one(l, "ConstantOfShape", [e.one(l, "Shape", [e.value[id]!])]);

/** The gradients layer `l` passes to the layers it reads, given g at its value. */
function backward(e: GraphEmitter, l: Layer, g: string): Result<[number, string][]> {
  switch (l.kind) {
    case "input":
      return ok([]);
    case "relu": {
      const active = e.one(l, "Greater", [e.value[l.input]!, e.scalar(0)]);
      return ok([[l.input, e.one(l, "Where", [active, g, e.scalar(0)])]]);
    }
    case "maxpool": {
      const { indices } = need(e, l, "maxpool");
      const gm = l.geometry;
      const local = e.one(l, "Mod", [
        e.one(l, "Flatten", [indices], { axis: 1 }),
        e.scalar(gm.inC * gm.inH * gm.inW, "int64"),
      ]);
      return ok([
        [l.input, e.one(l, "ScatterElements", [zerosLike(e, l, l.input), local, g], { axis: 1, reduction: "add" })],
      ]);
    }
    case "add":
      return ok([
        [l.inputs[0], g],
        [l.inputs[1], g],
      ]);
    case "reshape": {
      if (!l.source) return ok([[l.input, g]]);
      const n = e.net.layers[l.input].shape.reduce((a, b) => a * b, 1);
      const seen = new Int32Array(n).fill(-1);
      let injective = true;
      l.source.forEach((s, j) => {
        if (s < 0) return;
        if (seen[s] >= 0) injective = false;
        seen[s] = j;
      });
      if (injective) {
        const inv = e.ints(
          `l${l.id}_inverse`,
          [n],
          Array.from(seen, (j) => Math.max(j, 0)),
        );
        const y = e.one(l, "Gather", [g, inv], { axis: 1 });
        if (seen.every((j) => j >= 0)) return ok([[l.input, y]]);
        const mask = e.floats(
          `l${l.id}_read`,
          [1, n],
          Array.from(seen, (j) => +(j >= 0)),
        );
        return ok([[l.input, e.one(l, "Mul", [y, mask])]]);
      }
      const { mask } = need(e, l, "gather");
      const index = e.ints(
        `l${l.id}_source2d`,
        [1, l.source.length],
        Array.from(l.source, (s) => Math.max(s, 0)),
      );
      const gm = mask ? e.one(l, "Mul", [g, mask]) : g;
      const idx = e.one(l, "Expand", [index, e.one(l, "Shape", [g])]);
      return ok([
        [l.input, e.one(l, "ScatterElements", [zerosLike(e, l, l.input), idx, gm], { axis: 1, reduction: "add" })],
      ]);
    }
    case "affine": {
      const op = l.op;
      switch (op.kind) {
        case "matrix":
          return ok([[l.input, e.one(l, "MatMul", [g, need(e, l, "matrix").weight])]]);
        case "scale-shift": {
          const { scale } = need(e, l, "scale");
          return ok([[l.input, scale ? e.one(l, "Mul", [g, scale]) : g]]);
        }
        case "conv":
        case "avgpool": {
          const c = op.kind === "conv" ? need(e, l, "window") : need(e, l, "avgpool");
          const gm = op.geometry;
          const gi = c.kind === "avgpool" && c.inv ? e.one(l, "Mul", [g, c.inv]) : g;
          const pads = c.attrs.pads as number[];
          const outputPadding = [0, 1].map(
            (i) =>
              [gm.inH, gm.inW][i] -
              (([gm.outH, gm.outW][i] - 1) * gm.strides[i] +
                (gm.kernel[i] - 1) * gm.dilations[i] +
                1 -
                pads[i] -
                pads[i + 2]),
          );
          if (outputPadding.some((p, i) => p < 0 || p >= Math.max(gm.strides[i], gm.dilations[i])))
            return fail(
              diag(
                "engine/unsupported",
                `layer '${l.name}' (${l.onnxOp}): no ConvTranspose output padding restores its input (${outputPadding})`,
              ),
            );
          const t = e.one(l, "ConvTranspose", [e.to4d(l, gi, gm.outC, gm.outH, gm.outW), c.weight], {
            ...c.attrs,
            output_padding: outputPadding,
          });
          return ok([[l.input, e.flatten(l, t)]]);
        }
      }
    }
  }
}
