// bounds: interval bound propagation over the Network IR for an input box. Every layer gets [lower, upper]
// that contains its value for every input in the box. Sound under floating point: each affine output's
// interval is widened by PAD·(1 + Σ|w|·max(|l|,|u|) + |b|), well above the rounding error of the sums
// (n·2^-53 relative), so big-M rows built from these bounds never cut off a real point.

import { match } from "ts-pattern";
import { affineBias, affineToCsr, poolWindow as windowOf } from "../ir/affine.js";
import type { Network } from "../ir/network.js";

export interface LayerBounds { readonly lower: Float64Array; readonly upper: Float64Array }

const PAD = 1e-9;

export function intervalBounds(net: Network, inLower: Float64Array, inUpper: Float64Array): LayerBounds[] {
  const out: LayerBounds[] = [];
  for (const l of net.layers) {
    out.push(match(l)
      .with({ kind: "input" }, () => ({ lower: Float64Array.from(inLower), upper: Float64Array.from(inUpper) }))
      .with({ kind: "affine" }, (a) => {
        const A = affineToCsr(a.op), b = affineBias(a.op), inp = out[a.input];
        const lower = new Float64Array(A.rows), upper = new Float64Array(A.rows);
        for (let r = 0; r < A.rows; r++) {
          let lo = b[r], hi = b[r], mag = Math.abs(b[r]);
          for (let k = A.indptr[r]; k < A.indptr[r + 1]; k++) {
            const w = A.values[k], j = A.indices[k];
            const xl = inp.lower[j], xu = inp.upper[j];
            if (w >= 0) { lo += w * xl; hi += w * xu; } else { lo += w * xu; hi += w * xl; }
            mag += Math.abs(w) * Math.max(Math.abs(xl), Math.abs(xu));
          }
          const pad = PAD * (1 + mag);
          lower[r] = lo - pad; upper[r] = hi + pad;
        }
        return { lower, upper };
      })
      .with({ kind: "relu" }, (r) => ({ lower: out[r.input].lower.map((v) => Math.max(0, v)), upper: out[r.input].upper.map((v) => Math.max(0, v)) }))
      .with({ kind: "maxpool" }, (p) => {
        const g = p.geometry, inp = out[p.input];
        const n = g.outC * g.outH * g.outW;
        const lower = new Float64Array(n).fill(-Infinity), upper = new Float64Array(n).fill(-Infinity);
        let o = 0;
        for (let c = 0; c < g.outC; c++) for (let oy = 0; oy < g.outH; oy++) for (let ox = 0; ox < g.outW; ox++, o++) {
          for (const i of windowOf(g, c, oy, ox)) { lower[o] = Math.max(lower[o], inp.lower[i]); upper[o] = Math.max(upper[o], inp.upper[i]); }
        }
        return { lower, upper };
      })
      .with({ kind: "add" }, (a) => {
        const p = out[a.inputs[0]], q = out[a.inputs[1]];
        // Two roundings' worth of padding: the sum of two bounded values.
        return { lower: p.lower.map((v, i) => v + q.lower[i] - PAD * (1 + Math.abs(v) + Math.abs(q.lower[i]))),
          upper: p.upper.map((v, i) => v + q.upper[i] + PAD * (1 + Math.abs(v) + Math.abs(q.upper[i]))) };
      })
      .with({ kind: "reshape" }, (r) => {
        const inp = out[r.input];
        if (!r.source) return inp;
        return { lower: Float64Array.from(r.source, (s) => (s < 0 ? 0 : inp.lower[s])), upper: Float64Array.from(r.source, (s) => (s < 0 ? 0 : inp.upper[s])) };
      })
      .exhaustive());
  }
  return out;
}

