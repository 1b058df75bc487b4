// MIPVerify's progressive LP tightening of interval bounds: layer by layer, each unstable ReLU's pre-activation
// is minimised and maximised over the triangle relaxation (relax.ts) of the layers before it, on the bounds
// proven so far; later layers are re-propagated by IBP. The LP's optimum is never used: every bound comes from
// the row duals by weak duality (dualBound), so it holds for every input of the box.

import type { LpModel } from "../backend/lp-model.js";
import type { Network } from "../ir/network.js";
import { intervalBounds, type LayerBounds } from "../analysis/bounds/interval.js";
import { compileNetwork } from "../passes/pipeline.js";

/** One LP, several objectives: minimise Σ vals·z[cols] and return the row duals (null: no answer). */
export interface LpSession {
  /** Row duals of min Σ vals·z[cols] (any quality: dualBound makes them sound); null when the solver gave none. */
  minimize(cols: Int32Array, vals: Float64Array): Promise<Float64Array | null>;
  /** The last minimisation's primal point (branch and bound's candidate), when the oracle keeps one. */
  primal?(): Float64Array | null;
  /** Whether the last minimisation ended with the solver's verdict "infeasible". */
  infeasible?(): boolean;
  close(): void;
}
/** Opens an LP session; `timeLimitPerLp` in seconds (the oracle's default when absent). */
export type OpenLp = (lp: LpModel, timeLimitPerLp?: number) => Promise<LpSession>;

export interface TightenOptions {
  /** The LP solver (runtime/solvers/highs.ts: openHighsLp). */
  readonly open: OpenLp;
  /** Seconds for the whole tightening; when spent, the remaining layers keep their IBP bounds (still sound). */
  readonly timeLimit?: number;
  /** Tighten at most this many unstable neurons per layer (those with the widest intervals first). */
  readonly maxNeurons?: number;
}

export interface TightenStats {
  readonly lps: number;
  readonly unstableBefore: number;
  readonly unstableAfter: number;
  readonly seconds: number;
}

/**
 * Soundness (the bounds feed big-M rows, so they must hold for every input in the box): the LP's optimum is
 * NOT used. A solver returns row duals y (any sign convention, any accuracy); for ANY y and every feasible z,
 *   c·z = y·(Az) + r·z with r = c − Aᵀy,   y_i·(Az)_i ≥ y_i·rowLower_i (y_i > 0) or y_i·rowUpper_i (y_i < 0),
 *   r_j·z_j ≥ min(r_j·colLower_j, r_j·colUpper_j),
 * so Σ_i (those row terms) + Σ_j min(r_j·l_j, r_j·u_j) ≤ min c·z (weak duality after repairing y's dual
 * infeasibility with the column bounds, which are finite: every variable has IBP bounds). We recompute r
 * ourselves in float64 and subtract PAD·(1 + Σ|terms|), far above the summation's rounding error.
 * Either sign convention for y gives a valid bound; dualBound takes the better.
 */
const PAD = 1e-9;

/** A sound lower bound on min_z c·z over the LP (rows and column bounds), from any dual vector y. */
export function dualBound(lp: LpModel, c: Float64Array, y: Float64Array): number {
  const n = lp.colLower.length;
  let best = -Infinity;
  for (const sign of [1, -1]) {
    const r = Float64Array.from(c);
    let acc = 0,
      mag = 0;
    for (let i = 0; i < y.length; i++) {
      const yi = sign * y[i];
      const b = yi > 0 ? lp.rowLower[i] : yi < 0 ? lp.rowUpper[i] : NaN;
      if (!Number.isFinite(b)) continue;
      acc += yi * b;
      mag += Math.abs(yi * b);
      for (let k = lp.indptr[i]; k < lp.indptr[i + 1]; k++) {
        const j = lp.indices[k],
          t = yi * lp.values[k];
        r[j] -= t;
        mag += Math.abs(t) * Math.max(Math.abs(lp.colLower[j]), Math.abs(lp.colUpper[j]));
      }
    }
    let ok = true;
    for (let j = 0; j < n && ok; j++) {
      if (r[j] === 0) continue;
      const b = r[j] > 0 ? lp.colLower[j] : lp.colUpper[j];
      if (!Number.isFinite(b)) {
        ok = false;
        break;
      }
      acc += r[j] * b;
      mag += Math.abs(r[j] * b);
    }
    if (ok) best = Math.max(best, acc - PAD * (1 + mag));
  }
  return best;
}

/**
 * Interval bounds on the box, then LP-tightened pre-activation bounds of every ReLU layer (in order). The
 * result is sound whatever the solver answers (see the header); a failed LP keeps the IBP bound.
 */
export async function tightenBounds(
  net: Network,
  box: { readonly lower: Float64Array; readonly upper: Float64Array },
  opts: TightenOptions,
): Promise<{ bounds: LayerBounds[]; stats: TightenStats }> {
  const t0 = performance.now();
  const known = new Map<number, LayerBounds>();
  let bounds = intervalBounds(net, box.lower, box.upper);
  const unstable = (b: LayerBounds) => b.lower.reduce((a, lo, j) => a + (lo < 0 && b.upper[j] > 0 ? 1 : 0), 0);
  const reluInputs = net.layers.filter((l) => l.kind === "relu").map((l) => (l as { input: number }).input);
  const unstableBefore = reluInputs.reduce((a, k) => a + unstable(bounds[k]), 0);
  let lps = 0;
  for (const k of reluInputs) {
    const layer = net.layers[k];
    // An affine map of the input box: IBP is already exact (up to its padding).
    if (layer.kind === "affine" && net.layers[layer.input].kind === "input") continue;
    if (opts.timeLimit !== undefined && (performance.now() - t0) / 1000 > opts.timeLimit) break;
    const b = bounds[k];
    let js = Array.from(b.lower.keys()).filter((j) => b.lower[j] < 0 && b.upper[j] > 0);
    if (js.length === 0) continue;
    if (opts.maxNeurons !== undefined)
      js = js.sort((p, q) => b.upper[q] - b.lower[q] - (b.upper[p] - b.lower[p])).slice(0, opts.maxNeurons);
    const { lp, encoding: enc } = compileNetwork(net, {
      mode: "relax",
      bounds,
      upTo: k,
      inputLower: -Infinity,
      inputUpper: Infinity,
      name: "tighten",
    });
    const col0 = enc.problem.vars[enc.layerVar[k]].offset;
    const lower = Float64Array.from(b.lower),
      upper = Float64Array.from(b.upper);
    const session = await opts.open(lp);
    try {
      const c = new Float64Array(lp.colLower.length);
      for (const j of js) {
        if (opts.timeLimit !== undefined && (performance.now() - t0) / 1000 > opts.timeLimit) break;
        for (const s of [1, -1]) {
          const y = await session.minimize(Int32Array.of(col0 + j), Float64Array.of(s));
          lps++;
          if (!y) continue;
          c[col0 + j] = s;
          const v = dualBound(lp, c, y);
          c[col0 + j] = 0;
          if (s === 1) lower[j] = Math.max(lower[j], v);
          else upper[j] = Math.min(upper[j], -v);
        }
        // An empty interval would mean the box is empty for this relaxation: keep the IBP one (never happens
        // on a non-empty box, since every bound is valid).
        if (lower[j] > upper[j]) {
          lower[j] = b.lower[j];
          upper[j] = b.upper[j];
        }
      }
    } finally {
      session.close();
    }
    known.set(k, { lower, upper });
    bounds = intervalBounds(net, box.lower, box.upper, known);
  }
  const unstableAfter = reluInputs.reduce((a, k) => a + unstable(bounds[k]), 0);
  return { bounds, stats: { lps, unstableBefore, unstableAfter, seconds: (performance.now() - t0) / 1000 } };
}
