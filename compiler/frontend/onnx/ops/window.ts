// Window geometry shared by Conv, MaxPool and AveragePool: kernel, strides, dilations, explicit pads or
// auto_pad, ceil_mode, and the output size ONNX defines for them (2-D, NCHW with N = 1).

import type { ConvGeometry } from "../../../ir/network.js";
import type { Node } from "../graph.js";
import { MAX_ELEMENTS } from "../load.js";

/**
 * Why a windowed op over input `inShape` is outside what the IR represents (1-D or 3-D windows, a static
 * batch N > 1), or null. These are valid ONNX, so callers report them as unsupported, not as errors.
 */
export function unsupportedWindow(inShape: readonly number[]): string | null {
  if (inShape.length !== 4) return `${inShape.length - 2}-D windows over input [${inShape}] (only 2-D, NCHW)`;
  if (inShape[0] !== 1) return `a batch of ${inShape[0]} in input [${inShape}] (only batch 1)`;
  return null;
}

/** Computes the geometry of a 2-D windowed op over input [1, C, H, W]; a string is the error. */
export function windowGeometry(
  node: Node,
  inShape: readonly number[],
  kernel: readonly number[],
  outC: number,
  allowCeil: boolean,
): ConvGeometry | string {
  if (inShape.length !== 4 || inShape[0] !== 1)
    return `input [${inShape}] is not 4-D NCHW (only 2-D windows are supported)`;
  if (kernel.length !== 2) return `kernel_shape [${kernel}] is not 2-D`;
  if (kernel.some((k) => !Number.isSafeInteger(k) || k < 1)) return `kernel_shape [${kernel}] invalid`;
  const [, C, H, W] = inShape;
  const strides = node.ints("strides") ?? [1, 1];
  const dil = node.ints("dilations") ?? [1, 1];
  if (strides.length !== 2 || dil.length !== 2 || strides.some((s) => s < 1) || dil.some((d) => d < 1))
    return `strides [${strides}] / dilations [${dil}] invalid`;
  const ceil = allowCeil && node.int("ceil_mode", 0) === 1;
  const autoPad = node.string("auto_pad", "NOTSET");
  const dk = [0, 1].map((i) => (kernel[i] - 1) * dil[i] + 1);
  const size = [H, W];
  let pads: number[];
  let out: number[];
  if (autoPad === "NOTSET") {
    pads = node.ints("pads") ?? [0, 0, 0, 0];
    if (pads.length !== 4 || pads.some((p) => p < 0)) return `pads [${pads}] invalid`;
    out = [0, 1].map((i) => {
      const span = size[i] + pads[i] + pads[i + 2] - dk[i];
      if (span < 0) return 0;
      let o = (ceil ? Math.ceil(span / strides[i]) : Math.floor(span / strides[i])) + 1;
      // With ceil_mode, a last window that would start past the input and the begin pad is dropped
      // (PyTorch's rule, which onnxruntime follows).
      if (ceil && (o - 1) * strides[i] >= size[i] + pads[i]) o--;
      return o;
    });
  } else if (autoPad === "VALID") {
    pads = [0, 0, 0, 0];
    out = [0, 1].map((i) => Math.max(0, Math.floor((size[i] - dk[i]) / strides[i]) + 1));
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    out = [0, 1].map((i) => Math.ceil(size[i] / strides[i]));
    const total = [0, 1].map((i) => Math.max(0, (out[i] - 1) * strides[i] + dk[i] - size[i]));
    const begin = total.map((t) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : Math.ceil(t / 2)));
    pads = [begin[0], begin[1], total[0] - begin[0], total[1] - begin[1]];
  } else return `auto_pad '${autoPad}' unknown`;
  if (out.some((o) => o <= 0)) return `window [${kernel}] does not fit input [${inShape}]`;
  // Corrupt pads or strides must not make an output (or the padding scan over it) of billions of elements.
  if (
    out.some((o, i) => !Number.isSafeInteger(o) || o * kernel[i] > MAX_ELEMENTS) ||
    outC * out[0] * out[1] > MAX_ELEMENTS
  ) {
    return `output [${outC},${out}] of window [${kernel}] over input [${inShape}] is too large (pads [${pads}], strides [${strides}])`;
  }
  return {
    inC: C,
    inH: H,
    inW: W,
    outC,
    outH: out[0],
    outW: out[1],
    kernel: [kernel[0], kernel[1]],
    strides: [strides[0], strides[1]],
    pads: [pads[0], pads[1], pads[2], pads[3]],
    dilations: [dil[0], dil[1]],
  };
}

/**
 * Why some window of a pool covers no input element, or null. Pads as wide as the kernel, or dilated taps
 * that step over a small input, leave windows made only of padding: MaxPool would output -inf and an
 * AveragePool without count_include_pad 0/0, which nothing downstream can represent (onnxruntime refuses
 * pads >= kernel outright).
 */
export function emptyWindow(g: ConvGeometry): string | null {
  const axis = (i: 0 | 1, size: number, out: number): number => {
    for (let o = 0; o < out; o++) {
      let taps = 0;
      for (let t = 0; t < g.kernel[i]; t++) {
        const p = o * g.strides[i] - g.pads[i] + t * g.dilations[i];
        if (p >= 0 && p < size) taps++;
      }
      if (taps === 0) return o;
    }
    return -1;
  };
  const oy = axis(0, g.inH, g.outH),
    ox = axis(1, g.inW, g.outW);
  if (oy < 0 && ox < 0) return null;
  return `window ${oy >= 0 ? `row ${oy}` : `column ${ox}`} lies entirely in the padding (pads [${g.pads}], kernel [${g.kernel}], dilations [${g.dilations}])`;
}
