// Applies the Network IR's affine maps to Float64 vectors and expands them to CSR matrices.
// Invariant: apply(op, x) equals csr(op)·x + bias(op) exactly in the order of summation that matters
// only up to rounding (both sum in row-major kernel order).

import { match } from "ts-pattern";
import type { AffineOp, ConvGeometry } from "./network.js";

export interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

export function affineInSize(op: AffineOp): number {
  return match(op)
    .with({ kind: "matrix" }, (m) => m.cols)
    .with({ kind: "conv" }, { kind: "avgpool" }, (c) => c.geometry.inC * c.geometry.inH * c.geometry.inW)
    .with({ kind: "scale-shift" }, (s) => s.scale.length)
    .exhaustive();
}

export function affineOutSize(op: AffineOp): number {
  return match(op)
    .with({ kind: "matrix" }, (m) => m.rows)
    .with({ kind: "conv" }, { kind: "avgpool" }, (c) => c.geometry.outC * c.geometry.outH * c.geometry.outW)
    .with({ kind: "scale-shift" }, (s) => s.scale.length)
    .exhaustive();
}

/**
 * Visits the receptive field of output (oc, oy, ox) of a windowed op: calls f(inputIndex, ky, kx) for every
 * kernel tap that lands inside the input (taps in the padding are skipped), for input channel c.
 */
function forWindow(
  g: ConvGeometry,
  c: number,
  oy: number,
  ox: number,
  f: (inIndex: number, ky: number, kx: number) => void,
): void {
  const [kh, kw] = g.kernel;
  const y0 = oy * g.strides[0] - g.pads[0];
  const x0 = ox * g.strides[1] - g.pads[1];
  for (let ky = 0; ky < kh; ky++) {
    const y = y0 + ky * g.dilations[0];
    if (y < 0 || y >= g.inH) continue;
    for (let kx = 0; kx < kw; kx++) {
      const x = x0 + kx * g.dilations[1];
      if (x < 0 || x >= g.inW) continue;
      f((c * g.inH + y) * g.inW + x, ky, kx);
    }
  }
}

/**
 * Divisor of an average-pool window. ONNX: without count_include_pad only the input taps count; with it,
 * the taps inside the padded input count (taps past the explicit pads, which ceil_mode can create, do not).
 */
export function avgPoolDivisor(g: ConvGeometry, oy: number, ox: number, countIncludePad: boolean): number {
  const span = (o: number, axis: 0 | 1, size: number): number => {
    const k = g.kernel[axis],
      s = g.strides[axis],
      d = g.dilations[axis];
    const lo = countIncludePad ? -g.pads[axis] : 0;
    const hi = countIncludePad ? size + g.pads[axis + 2] : size;
    let n = 0;
    for (let t = 0; t < k; t++) {
      const p = o * s - g.pads[axis] + t * d;
      if (p >= lo && p < hi) n++;
    }
    return n;
  };
  return span(oy, 0, g.inH) * span(ox, 1, g.inW);
}

/** Expanded windowed ops (conv, avgpool): ops are immutable, and bounds ask for them on every box. */
const CSR_CACHE = new WeakMap<AffineOp, Csr>();

/** Expands any affine op to CSR (rows in output order, columns in row-major input order). */
export function affineToCsr(op: AffineOp): Csr {
  const hit = CSR_CACHE.get(op);
  if (hit) return hit;
  const csr = expandToCsr(op);
  if (op.kind === "conv" || op.kind === "avgpool") CSR_CACHE.set(op, csr);
  return csr;
}

function expandToCsr(op: AffineOp): Csr {
  return match(op)
    .with({ kind: "matrix" }, (m) => ({
      rows: m.rows,
      cols: m.cols,
      indptr: m.indptr,
      indices: m.indices,
      values: m.values,
    }))
    .with({ kind: "scale-shift" }, (s) => {
      const n = s.scale.length;
      const indptr = new Int32Array(n + 1);
      const indices = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        indptr[i + 1] = i + 1;
        indices[i] = i;
      }
      return { rows: n, cols: n, indptr, indices, values: Float64Array.from(s.scale) };
    })
    .with({ kind: "conv" }, { kind: "avgpool" }, (c) => windowedToCsr(c))
    .exhaustive();
}

function windowedToCsr(op: Extract<AffineOp, { kind: "conv" | "avgpool" }>): Csr {
  const g = op.geometry;
  const rows = g.outC * g.outH * g.outW;
  const cols = g.inC * g.inH * g.inW;
  const idx: number[] = [];
  const val: number[] = [];
  const indptr = new Int32Array(rows + 1);
  let r = 0;
  for (let oc = 0; oc < g.outC; oc++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        if (op.kind === "conv") {
          const cpg = g.inC / op.group;
          const c0 = Math.floor(oc / (g.outC / op.group)) * cpg;
          for (let ci = 0; ci < cpg; ci++) {
            forWindow(g, c0 + ci, oy, ox, (i, ky, kx) => {
              const w = op.weight[((oc * cpg + ci) * g.kernel[0] + ky) * g.kernel[1] + kx];
              if (w !== 0) {
                idx.push(i);
                val.push(w);
              }
            });
          }
        } else {
          const div = avgPoolDivisor(g, oy, ox, op.countIncludePad);
          forWindow(g, oc, oy, ox, (i) => {
            idx.push(i);
            val.push(1 / div);
          });
        }
        indptr[++r] = idx.length;
      }
    }
  }
  return { rows, cols, indptr, indices: Int32Array.from(idx), values: Float64Array.from(val) };
}

/** The constant term of an affine op, one entry per output. */
export function affineBias(op: AffineOp): Float64Array {
  return match(op)
    .with({ kind: "matrix" }, (m) => m.bias)
    .with({ kind: "scale-shift" }, (s) => s.shift)
    .with({ kind: "avgpool" }, (a) => new Float64Array(affineOutSize(a)))
    .with({ kind: "conv" }, (c) => {
      const g = c.geometry;
      const hw = g.outH * g.outW;
      const b = new Float64Array(g.outC * hw);
      for (let oc = 0; oc < g.outC; oc++) b.fill(c.bias[oc], oc * hw, (oc + 1) * hw);
      return b;
    })
    .exhaustive();
}

/** y = A·u + b for a CSR matrix (the hot loop of every forward pass over expanded layers). */
export function applyCsr(A: Csr, b: Float64Array, u: Float64Array): Float64Array {
  const y = new Float64Array(A.rows);
  for (let r = 0; r < A.rows; r++) {
    let s = b[r];
    for (let k = A.indptr[r]; k < A.indptr[r + 1]; k++) s += A.values[k] * u[A.indices[k]];
    y[r] = s;
  }
  return y;
}

/** y = op(x), in Float64. */
export function applyAffine(op: AffineOp, x: Float64Array): Float64Array {
  return match(op)
    .with({ kind: "matrix" }, (m) => applyCsr(m, m.bias, x))
    .with({ kind: "scale-shift" }, (s) => {
      const y = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = s.scale[i] * x[i] + s.shift[i];
      return y;
    })
    .with({ kind: "conv" }, (c) => applyConv(c, x))
    .with({ kind: "avgpool" }, (a) => {
      const g = a.geometry;
      const y = new Float64Array(g.outC * g.outH * g.outW);
      let o = 0;
      for (let c = 0; c < g.outC; c++)
        for (let oy = 0; oy < g.outH; oy++)
          for (let ox = 0; ox < g.outW; ox++) {
            let s = 0;
            forWindow(g, c, oy, ox, (i) => {
              s += x[i];
            });
            y[o++] = s / avgPoolDivisor(g, oy, ox, a.countIncludePad);
          }
      return y;
    })
    .exhaustive();
}

/**
 * Convolution in Float64 as a product with the patch matrix (im2col): per group, a column per output
 * position holding its input taps (0 in the padding), then y[oc, ·] = bias + Σ_k W[oc, k]·cols[k, ·] with
 * the inner loop along the contiguous output positions. Each output sums bias, then input channels, kernel
 * rows and kernel columns in that order — the same float64 value as a sum per output in that order (a tap
 * in the padding adds w·0 = ±0, which changes no sum).
 */
function applyConv(c: Extract<AffineOp, { kind: "conv" }>, x: Float64Array): Float64Array {
  const g = c.geometry;
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides,
    [dh, dw] = g.dilations,
    [ph, pw] = [g.pads[0], g.pads[1]];
  const cpg = g.inC / c.group,
    mpg = g.outC / c.group;
  const { outH, outW, inH, inW } = g;
  const P = outH * outW,
    K = cpg * kh * kw;
  const y = new Float64Array(g.outC * P);
  const cols = new Float64Array(K * P);
  for (let grp = 0; grp < c.group; grp++) {
    cols.fill(0);
    for (let ci = 0; ci < cpg; ci++) {
      const xPlane = (grp * cpg + ci) * inH;
      for (let ky = 0; ky < kh; ky++)
        for (let kx = 0; kx < kw; kx++) {
          const row = ((ci * kh + ky) * kw + kx) * P;
          for (let oy = 0; oy < outH; oy++) {
            const yy = oy * sh - ph + ky * dh;
            if (yy < 0 || yy >= inH) continue;
            const xRow = (xPlane + yy) * inW;
            for (let ox = 0; ox < outW; ox++) {
              const xx = ox * sw - pw + kx * dw;
              if (xx >= 0 && xx < inW) cols[row + oy * outW + ox] = x[xRow + xx];
            }
          }
        }
    }
    for (let m = 0; m < mpg; m++) {
      const oc = grp * mpg + m,
        yo = oc * P,
        wo = oc * K;
      y.fill(c.bias[oc], yo, yo + P);
      for (let k = 0; k < K; k++) {
        const w = c.weight[wo + k],
          co = k * P;
        if (w === 0) continue;
        for (let p = 0; p < P; p++) y[yo + p] += w * cols[co + p];
      }
    }
  }
  return y;
}

/** Every window of a windowed op, output j (row-major over [C, OH, OW]) → its input indices. */
export function poolWindows(g: ConvGeometry): number[][] {
  const out: number[][] = [];
  for (let c = 0; c < g.outC; c++)
    for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++) out.push(poolWindow(g, c, oy, ox));
  return out;
}

/** The input indices of one max-pool window (taps in the padding excluded), in row-major order. */
export function poolWindow(g: ConvGeometry, c: number, oy: number, ox: number): number[] {
  const out: number[] = [];
  forWindow(g, c, oy, ox, (i) => out.push(i));
  return out;
}
