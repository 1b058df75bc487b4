// interval bounds: interval bound propagation over the Network IR for an input box. Every layer gets [lower, upper]
// that contains its value for every input in the box. Sound under floating point: each affine output's
// interval is widened by PAD·(1 + Σ|w|·max(|l|,|u|) + |b|), well above the rounding error of the sums
// (n·2^-53 relative), so big-M rows built from these bounds never cut off a real point.

import { match, P } from "ts-pattern";
import { affineBias, affineToCsr } from "../../ir/affine.js";
import type { LayerBounds } from "../../ir/bounds.js";
import type { Layer, Network } from "../../ir/network.js";
import { semanticsOf, windowsOf } from "../../nonlinear/index.js";

export type { LayerBounds };

const PAD = 1e-9;

/**
 * `known`: bounds already proven for some layers (compiler/lp-bounds/tighten.ts); each layer's interval is intersected
 * with them.
 */
export function intervalBounds(
  net: Network,
  inLower: Float64Array,
  inUpper: Float64Array,
  known?: ReadonlyMap<number, LayerBounds>,
): LayerBounds[] {
  const out: LayerBounds[] = [];
  for (const l of net.layers) {
    out.push(
      intersect(
        known?.get(l.id),
        l.kind === "input"
          ? { lower: Float64Array.from(inLower), upper: Float64Array.from(inUpper) }
          : layerInterval(l, out),
      ),
    );
  }
  return out;
}

/** One layer's interval from its inputs' (`out` holds every earlier layer's bounds; not the input layer). */
export function layerInterval(l: Layer, out: readonly LayerBounds[]): LayerBounds {
  return match(l)
    .with({ kind: "input" }, () => {
      throw new Error("internal: the input layer's interval is the box");
    })
    .with({ kind: "affine" }, (a) => {
      const A = affineToCsr(a.op),
        b = affineBias(a.op),
        inp = out[a.input];
      const lower = new Float64Array(A.rows),
        upper = new Float64Array(A.rows);
      for (let r = 0; r < A.rows; r++) {
        let lo = b[r],
          hi = b[r],
          mag = Math.abs(b[r]);
        for (let k = A.indptr[r]; k < A.indptr[r + 1]; k++) {
          const w = A.values[k],
            j = A.indices[k];
          const xl = inp.lower[j],
            xu = inp.upper[j];
          if (w >= 0) {
            lo += w * xl;
            hi += w * xu;
          } else {
            lo += w * xu;
            hi += w * xl;
          }
          mag += Math.abs(w) * Math.max(Math.abs(xl), Math.abs(xu));
        }
        const pad = PAD * (1 + mag);
        lower[r] = lo - pad;
        upper[r] = hi + pad;
      }
      return { lower, upper };
    })
    .with({ kind: P.union("relu", "maxpool") }, (n) => semanticsOf(n).interval(n, windowsOf(n), out[n.input]))
    .with({ kind: "add" }, (a) => {
      const p = out[a.inputs[0]],
        q = out[a.inputs[1]];
      // Two roundings' worth of padding: the sum of two bounded values.
      return {
        lower: p.lower.map((v, i) => v + q.lower[i] - PAD * (1 + Math.abs(v) + Math.abs(q.lower[i]))),
        upper: p.upper.map((v, i) => v + q.upper[i] + PAD * (1 + Math.abs(v) + Math.abs(q.upper[i]))),
      };
    })
    .with({ kind: "reshape" }, (r) => {
      const inp = out[r.input];
      if (!r.source) return inp;
      return {
        lower: Float64Array.from(r.source, (s) => (s < 0 ? 0 : inp.lower[s])),
        upper: Float64Array.from(r.source, (s) => (s < 0 ? 0 : inp.upper[s])),
      };
    })
    .exhaustive();
}

export function intersect(k: LayerBounds | undefined, b: LayerBounds): LayerBounds {
  if (!k) return b;
  return {
    lower: b.lower.map((v, i) => Math.max(v, k.lower[i])),
    upper: b.upper.map((v, i) => Math.min(v, k.upper[i])),
  };
}
