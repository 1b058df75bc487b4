// The network's layers as ONNX nodes over a batch, shared by the forward and the gradient graph. Consumes the
// Network IR (never changes it); produces nodes and float32 initializers in an OnnxBuilder. Invariant: every
// layer's value is a [B, n] tensor (n = the layer's size, row-major in its IR shape), whatever the IR shape's
// rank: windowed ops reshape to [B, C, H, W] around themselves and flatten back, so a reshape layer without a
// source costs no node and every other layer kind is one op (two for a masked gather or a non-uniform average
// pool). B is the graph's symbolic first dimension.

import { diag, fail, ok, type Result } from "../diagnostics.js";
import { OnnxBuilder, type AttrValue } from "../frontend/onnx/write.js";
import { avgPoolDivisor } from "../ir/affine.js";
import { type AffineOp, type ConvGeometry, type Layer, type Network } from "../ir/network.js";
import { GRAPH_IO } from "./types.js";

/*
 * Design notes:
 * Per layer kind (the backward pass of each is in gradient-graph.ts):
 *   affine matrix   Gemm(h, W[rows, cols], bias, transB = 1), W the CSR matrix made dense (float32)
 *   affine scale-shift  Mul(h, scale[1, n]) then Add(·, shift[1, n]) (either left out when it is the identity)
 *   affine conv     Conv with the IR's weight, bias, strides, pads, dilations and group
 *   affine avgpool  a depthwise Conv (group = C) whose kernel is 1/divisor when every window has the same divisor,
 *                   else ones followed by Mul(·, 1/divisor per output); the end pads are widened where the IR's
 *                   geometry came from ceil_mode (the extra taps lie past the input, read 0 and count in no divisor)
 *   relu            Relu
 *   maxpool         MaxPool (ceil_mode where the IR's output size needs it), with its Indices output in the
 *                   gradient graph
 *   add             Add
 *   reshape         nothing (same order) or Gather(h, source, axis 1), times a 0/1 mask where source is -1 (Pad)
 */

/** ScatterElements' reduction attribute (the max-pool backward pass) needs opset 16. */
export const GRAPH_OPSET = 17;

/** The largest affine matrix made dense (elements): 2^26 floats are 256 MB of float32. */
export const MAX_DENSE = 2 ** 26;

/**
 * The shape of one input in the generated graphs (after B): the network's input shape without its batch
 * dimension of 1 (a [1, 1, 28, 28] input is fed as [B, 1, 28, 28]); a rank-1 input keeps its shape.
 */
export function engineExampleShape(net: Network): number[] {
  const s = net.inputShape;
  return s.length >= 2 && s[0] === 1 ? s.slice(1) : [...s];
}

/** Which layers the output depends on (the graphs compute nothing else). */
export function neededLayers(net: Network): boolean[] {
  const need = net.layers.map(() => false);
  need[net.output] = true;
  for (let id = net.output; id >= 0; id--) {
    if (!need[id]) continue;
    const l = net.layers[id];
    if (l.kind === "add") l.inputs.forEach((i) => (need[i] = true));
    else if (l.kind !== "input") need[l.input] = true;
  }
  return need;
}

const floorOut = (size: number, pb: number, pe: number, k: number, s: number, d: number) =>
  Math.floor((size + pb + pe - ((k - 1) * d + 1)) / s) + 1;

/**
 * A window op's output size in ceil_mode as onnxruntime computes it (PyTorch's rule: a last window that would
 * start past the input and the begin pad is dropped), as the front-end's window.ts does.
 */
function ceilOut(size: number, pb: number, pe: number, k: number, s: number, d: number): number {
  let o = Math.ceil((size + pb + pe - ((k - 1) * d + 1)) / s) + 1;
  if ((o - 1) * s >= size + pb) o--;
  return o;
}

/** What a layer's backward pass reuses of its forward nodes. */
export type LayerConsts =
  | { readonly kind: "matrix"; readonly weight: string }
  | { readonly kind: "scale"; readonly scale: string | null }
  | { readonly kind: "window"; readonly weight: string; readonly attrs: Record<string, AttrValue> }
  | {
      readonly kind: "avgpool";
      readonly weight: string;
      readonly attrs: Record<string, AttrValue>;
      readonly inv: string | null;
    }
  | { readonly kind: "maxpool"; readonly indices: string }
  | { readonly kind: "gather"; readonly mask: string | null };

export class GraphEmitter {
  readonly b: OnnxBuilder;
  /** Layer id → the name of its [B, n] value (undefined: not needed by the output). */
  readonly value: (string | undefined)[];
  readonly consts = new Map<number, LayerConsts>();
  readonly needed: boolean[];
  private readonly shapes = new Map<string, string>();
  private readonly scalars = new Map<string, string>();

  constructor(
    readonly net: Network,
    /** Emit MaxPool's Indices output (the gradient graph's max-pool backward pass reads it). */
    private readonly withIndices: boolean,
    graphName: string,
  ) {
    this.b = new OnnxBuilder(GRAPH_OPSET, graphName);
    this.value = net.layers.map(() => undefined);
    this.needed = neededLayers(net);
  }

  /** One node with fresh outputs named after the layer; returns the output names. */
  node(l: Layer | string, op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outs = 1) {
    const base = typeof l === "string" ? l : `l${l.id}_${op.toLowerCase()}`;
    const outputs = Array.from({ length: outs }, () => this.b.fresh(base));
    this.b.node(op, inputs, outputs, attrs, this.b.fresh(typeof l === "string" ? op : `${l.name}/${op}`));
    return outputs;
  }

  one(l: Layer | string, op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    return this.node(l, op, inputs, attrs)[0];
  }

  floats(prefix: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.b.initializer({ name: this.b.fresh(prefix), dims, data: Float32Array.from(data) });
  }

  ints(prefix: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.b.initializer({ name: this.b.fresh(prefix), dims, data, dtype: "int64" });
  }

  /** An int64 shape constant (shared by every node that reshapes to it). */
  shape(dims: readonly number[]): string {
    const key = dims.join(",");
    let name = this.shapes.get(key);
    if (!name) {
      name = this.ints(`shape_${dims.map((d) => (d < 0 ? "B" : d)).join("x")}`, [dims.length], dims);
      this.shapes.set(key, name);
    }
    return name;
  }

  /** A float32 or int64 scalar constant (shared). */
  scalar(v: number, dtype: "float32" | "int64" = "float32"): string {
    const key = `${dtype}:${v}`;
    let name = this.scalars.get(key);
    if (!name) {
      name = this.b.initializer({
        name: this.b.fresh(`${dtype === "int64" ? "i" : "f"}${v}`),
        dims: [],
        data: [v],
        dtype,
      });
      this.scalars.set(key, name);
    }
    return name;
  }

  /** [B, C·H·W] → [B, C, H, W]. */
  to4d(l: Layer, h: string, c: number, hh: number, w: number): string {
    return this.one(l, "Reshape", [h, this.shape([-1, c, hh, w])]);
  }

  flatten(l: Layer, t: string): string {
    return this.one(l, "Flatten", [t], { axis: 1 });
  }

  /** Every needed layer's value; a Result: a layer the graphs cannot express is reported, not thrown. */
  forward(): Result<void> {
    for (const l of this.net.layers) {
      if (!this.needed[l.id]) continue;
      const r = this.layer(l);
      if (!r.ok) return r;
      this.value[l.id] = r.value;
    }
    return ok(undefined);
  }

  private in(id: number): string {
    const v = this.value[id];
    if (v === undefined) throw new Error(`internal: layer ${id} has no value in the graph`);
    return v;
  }

  private layer(l: Layer): Result<string> {
    switch (l.kind) {
      case "input":
        // x is [B, ...example shape]; a rank-1 example is already [B, n].
        return ok(engineExampleShape(this.net).length === 1 ? GRAPH_IO.x : this.flatten(l, GRAPH_IO.x));
      case "affine":
        return this.affine(l, l.op, this.in(l.input));
      case "relu":
        return ok(this.one(l, "Relu", [this.in(l.input)]));
      case "maxpool":
        return this.maxpool(l, l.geometry, this.in(l.input));
      case "add":
        return ok(this.one(l, "Add", [this.in(l.inputs[0]), this.in(l.inputs[1])]));
      case "reshape": {
        const h = this.in(l.input);
        if (!l.source) return ok(h);
        const index = this.ints(
          `l${l.id}_source`,
          [l.source.length],
          Array.from(l.source, (s) => Math.max(s, 0)),
        );
        const padded = l.source.some((s) => s < 0);
        const mask = padded
          ? this.floats(
              `l${l.id}_mask`,
              [1, l.source.length],
              Array.from(l.source, (s) => +(s >= 0)),
            )
          : null;
        this.consts.set(l.id, { kind: "gather", mask });
        const y = this.one(l, "Gather", [h, index], { axis: 1 });
        return ok(mask ? this.one(l, "Mul", [y, mask]) : y);
      }
    }
  }

  private affine(l: Layer, op: AffineOp, h: string): Result<string> {
    switch (op.kind) {
      case "matrix": {
        if (op.rows * op.cols > MAX_DENSE)
          return fail(
            diag(
              "engine/unsupported",
              `layer '${l.name}' (${l.onnxOp}): its ${op.rows}×${op.cols} matrix is too large to make dense (more than ${MAX_DENSE} elements)`,
            ),
          );
        const dense = new Float32Array(op.rows * op.cols);
        for (let r = 0; r < op.rows; r++)
          for (let k = op.indptr[r]; k < op.indptr[r + 1]; k++) dense[r * op.cols + op.indices[k]] += op.values[k];
        const weight = this.floats(`l${l.id}_W`, [op.rows, op.cols], dense);
        this.consts.set(l.id, { kind: "matrix", weight });
        const bias = this.floats(`l${l.id}_bias`, [op.rows], op.bias);
        return ok(this.one(l, "Gemm", [h, weight, bias], { transB: 1 }));
      }
      case "scale-shift": {
        const identityScale = op.scale.every((v) => v === 1);
        const noShift = op.shift.every((v) => v === 0);
        const n = op.scale.length;
        const scale = identityScale ? null : this.floats(`l${l.id}_scale`, [1, n], op.scale);
        this.consts.set(l.id, { kind: "scale", scale });
        let y = scale ? this.one(l, "Mul", [h, scale]) : h;
        if (!noShift) y = this.one(l, "Add", [y, this.floats(`l${l.id}_shift`, [1, n], op.shift)]);
        // A layer that is the identity still gets its own value name (a graph output must be produced by a node).
        return ok(y === h ? this.one(l, "Identity", [h]) : y);
      }
      case "conv": {
        const g = op.geometry;
        const why = floorMismatch(g);
        if (why) return fail(diag("engine/unsupported", `layer '${l.name}' (Conv): ${why}`));
        const weight = this.floats(`l${l.id}_K`, [g.outC, g.inC / op.group, g.kernel[0], g.kernel[1]], op.weight);
        const attrs = { ...windowAttrs(g, g.pads), group: op.group };
        this.consts.set(l.id, { kind: "window", weight, attrs });
        const bias = this.floats(`l${l.id}_kb`, [g.outC], op.bias);
        return ok(this.flatten(l, this.one(l, "Conv", [this.to4d(l, h, g.inC, g.inH, g.inW), weight, bias], attrs)));
      }
      case "avgpool": {
        const g = op.geometry;
        const pads = widenedPads(g);
        const why = floorMismatch({ ...g, pads });
        if (why) return fail(diag("engine/unsupported", `layer '${l.name}' (${l.onnxOp}): ${why}`));
        const divisors: number[] = [];
        for (let oy = 0; oy < g.outH; oy++)
          for (let ox = 0; ox < g.outW; ox++) divisors.push(avgPoolDivisor(g, oy, ox, op.countIncludePad));
        const uniform = divisors.every((d) => d === divisors[0]);
        const taps = g.kernel[0] * g.kernel[1];
        const weight = this.floats(
          `l${l.id}_avg`,
          [g.outC, 1, g.kernel[0], g.kernel[1]],
          new Float32Array(g.outC * taps).fill(uniform ? 1 / divisors[0] : 1),
        );
        const inv = uniform
          ? null
          : this.floats(
              `l${l.id}_invdiv`,
              [1, g.outC * divisors.length],
              Array.from({ length: g.outC * divisors.length }, (_, i) => 1 / divisors[i % divisors.length]),
            );
        const attrs = { ...windowAttrs(g, pads), group: g.outC };
        this.consts.set(l.id, { kind: "avgpool", weight, attrs, inv });
        const y = this.flatten(l, this.one(l, "Conv", [this.to4d(l, h, g.inC, g.inH, g.inW), weight], attrs));
        return ok(inv ? this.one(l, "Mul", [y, inv]) : y);
      }
    }
  }

  private maxpool(l: Layer, g: ConvGeometry, h: string): Result<string> {
    const attrs: Record<string, AttrValue> = { ...windowAttrs(g, g.pads) };
    const axes = [0, 1] as const;
    const size = [g.inH, g.inW],
      out = [g.outH, g.outW];
    const floor = axes.every(
      (i) => floorOut(size[i], g.pads[i], g.pads[i + 2], g.kernel[i], g.strides[i], g.dilations[i]) === out[i],
    );
    if (!floor) {
      const ceil = axes.every(
        (i) => ceilOut(size[i], g.pads[i], g.pads[i + 2], g.kernel[i], g.strides[i], g.dilations[i]) === out[i],
      );
      if (!ceil)
        return fail(
          diag(
            "engine/unsupported",
            `layer '${l.name}' (${l.onnxOp}): output ${g.outH}×${g.outW} matches neither floor nor ceil mode`,
          ),
        );
      attrs.ceil_mode = 1;
    }
    const x4 = this.to4d(l, h, g.inC, g.inH, g.inW);
    const outs = this.node(l, "MaxPool", [x4], attrs, this.withIndices ? 2 : 1);
    if (this.withIndices) this.consts.set(l.id, { kind: "maxpool", indices: outs[1] });
    return ok(this.flatten(l, outs[0]));
  }
}

/** Why a Conv with the geometry's explicit pads would not produce its output size (floor mode), or null. */
export function floorMismatch(g: ConvGeometry): string | null {
  const h = floorOut(g.inH, g.pads[0], g.pads[2], g.kernel[0], g.strides[0], g.dilations[0]);
  const w = floorOut(g.inW, g.pads[1], g.pads[3], g.kernel[1], g.strides[1], g.dilations[1]);
  return h === g.outH && w === g.outW ? null : `output ${g.outH}×${g.outW} differs from the window's ${h}×${w}`;
}

/** End pads widened so that floor mode gives the geometry's output size (ceil_mode average pools). */
export function widenedPads(g: ConvGeometry): [number, number, number, number] {
  const need = (i: 0 | 1, size: number, out: number) =>
    Math.max(g.pads[i + 2], (out - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - size - g.pads[i]);
  return [g.pads[0], g.pads[1], need(0, g.inH, g.outH), need(1, g.inW, g.outW)];
}

/** Conv/ConvTranspose/MaxPool attributes of a geometry (pads in ONNX's [top, left, bottom, right] order). */
export function windowAttrs(g: ConvGeometry, pads: readonly number[]): Record<string, AttrValue> {
  return {
    kernel_shape: [...g.kernel],
    strides: [...g.strides],
    pads: [...pads],
    dilations: [...g.dilations],
  };
}
