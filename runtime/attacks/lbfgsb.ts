// The L-BFGS-B baseline of Szegedy et al.: minimise c·‖r‖₂² + loss(f(x* + r), l) over the box, with a search
// over c keeping the smallest distortion. The penalty is L2 squared because L-BFGS-B needs a smooth objective;
// the distortion reported is the example's L∞ distance, like rho. x* + r counts only if y_l ≥ y_l' + alpha
// (0.15, the paper's choice for this baseline); the caller then checks it (point/check.ts). The loss, its
// gradient and the success test come from the engine (--backend: its logits, then one vector–Jacobian product
// with the softmax weights).

import type { EngineCore } from "../../compiler/index.js";
import { engineCrossEntropy } from "./gradient.js";
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

export async function lbfgsbAttack(
  engine: EngineCore,
  xStar: Float64Array,
  target: number,
  lower: number,
  upper: number,
  opts: LbfgsbAttackOptions = DEFAULT_LBFGSB,
): Promise<LbfgsbAttackResult> {
  const n = xStar.length;
  const lo = new Float64Array(n).fill(lower),
    hi = new Float64Array(n).fill(upper);
  let best: Float64Array | null = null,
    bestD = Infinity,
    evaluations = 0,
    tried = 0;
  const succeeds = async (x: Float64Array) => {
    const y = await engine.forward(x, 1);
    return y.every((v, k) => k === target || y[target] >= v + opts.alpha);
  };
  const attempt = async (c: number): Promise<boolean> => {
    tried++;
    const r = await minimizeLbfgsb(
      async (x, g) => {
        const { loss, grad } = await engineCrossEntropy(engine, x, target);
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
    if (!(await succeeds(r.x))) return false;
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
    if (await attempt(c)) {
      cOk = c;
      break;
    }
    cFail = c;
  }
  if (cOk !== null && cFail !== null) {
    for (let b = 0; b < opts.bisections; b++) {
      const mid = Math.sqrt(cOk * cFail);
      if (await attempt(mid)) cOk = mid;
      else cFail = mid;
    }
  }
  return { example: best, linf: best ? bestD : null, evaluations, tried };
}
