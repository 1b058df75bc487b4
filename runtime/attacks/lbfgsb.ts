// The L-BFGS-B baseline of Szegedy et al.: minimise c·‖r‖₂² + loss(f(x* + r), l) over the box with L-BFGS-B,
// with a search over c that keeps the smallest distortion found. The penalty is the squared L2 norm: L-BFGS-B
// needs a smooth objective, and the L∞ norm the paper measures is not differentiable (its subgradient moves
// one pixel at a time); Szegedy et al. penalise |r| the same smooth way. The distortion we report is the L∞
// distance of the example, like rho. x* + r counts only if y_l ≥ y_l' + alpha for all l' ≠ l (alpha = 0.15,
// the paper's choice for this baseline) — the caller then checks it with onnxruntime.

import { trace, type Network, type NetworkMatrices } from "../../compiler/index.js";
import { crossEntropyGradient } from "./gradient.js";
import { minimizeLbfgsb } from "./lbfgsb-optimizer.js";
import { linf } from "../point/check.js";

export interface LbfgsbAttackOptions {
  /** Confidence margin the example must have in the float64 evaluation. */
  readonly alpha: number;
  /** c values tried from the largest down (geometric), then bisection between the last failure and success. */
  readonly cStart: number;
  readonly cSteps: number;
  readonly bisections: number;
  readonly maxIterations: number;
}

export const DEFAULT_LBFGSB: LbfgsbAttackOptions = {
  alpha: 0.15,
  cStart: 10,
  cSteps: 8,
  bisections: 3,
  maxIterations: 100,
};

export interface LbfgsbAttackResult {
  /** The successful example with the smallest L∞ distortion, or null. */
  readonly example: Float64Array | null;
  readonly linf: number | null;
  readonly evaluations: number;
  readonly tried: number;
}

export function lbfgsbAttack(
  net: Network,
  m: NetworkMatrices,
  xStar: Float64Array,
  target: number,
  lower: number,
  upper: number,
  opts: LbfgsbAttackOptions = DEFAULT_LBFGSB,
): LbfgsbAttackResult {
  const n = xStar.length;
  const lo = new Float64Array(n).fill(lower),
    hi = new Float64Array(n).fill(upper);
  let best: Float64Array | null = null,
    bestD = Infinity,
    evaluations = 0,
    tried = 0;
  const succeeds = (x: Float64Array) => {
    const y = trace(net, x, { matrices: m }).logits;
    return y.every((v, k) => k === target || y[target] >= v + opts.alpha);
  };
  const attempt = (c: number): boolean => {
    tried++;
    const r = minimizeLbfgsb(
      (x, g) => {
        const { loss, grad } = crossEntropyGradient(net, m, x, target);
        let pen = 0;
        for (let i = 0; i < n; i++) {
          const d = x[i] - xStar[i];
          pen += d * d;
          g[i] = grad[i] + 2 * c * d;
        }
        return c * pen + loss;
      },
      Float64Array.from(xStar),
      lo,
      hi,
      { maxIterations: opts.maxIterations },
    );
    evaluations += r.evaluations;
    if (!succeeds(r.x)) return false;
    const d = linf(r.x, xStar);
    if (d < bestD) {
      bestD = d;
      best = r.x;
    }
    return true;
  };
  // Large c first (small distortion, may fail), shrinking tenfold until an attempt succeeds; then bisect
  // (geometrically) between the last failing and the first succeeding c: Szegedy et al.'s line search on c.
  let cFail: number | null = null,
    cOk: number | null = null;
  let c = opts.cStart;
  for (let s = 0; s < opts.cSteps; s++, c /= 10) {
    if (attempt(c)) {
      cOk = c;
      break;
    }
    cFail = c;
  }
  if (cOk !== null && cFail !== null) {
    for (let b = 0; b < opts.bisections; b++) {
      const mid = Math.sqrt(cOk * cFail);
      if (attempt(mid)) cOk = mid;
      else cFail = mid;
    }
  }
  return { example: best, linf: best ? bestD : null, evaluations, tried };
}
