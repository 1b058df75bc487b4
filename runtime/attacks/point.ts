// The baselines as point runners with the LP's result shape: L-BFGS-B (Szegedy et al.) and the signed
// gradient (FGSM). Every example is checked by onnxruntime-node (float32) before it counts.

import { rankLabels, trace } from "../../compiler/index.js";
import { argmax } from "../evaluator/types.js";
import { fgsmExample } from "./fgsm.js";
import { DEFAULT_LBFGSB, lbfgsbAttack } from "./lbfgsb.js";
import { linf, type PointResult, type RhoContext } from "../rho/types.js";

export type Algorithm = "lp" | "lbfgsb" | "fgsm";
export const ALGORITHMS: readonly Algorithm[] = ["lp", "lbfgsb", "fgsm"];

export async function attackPoint(ctx: RhoContext, algorithm: "lbfgsb" | "fgsm", eps: number, index: number, xStar: Float64Array,
  label: number | null): Promise<PointResult> {
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  const [yStar] = await ctx.ort.logits([xStar]);
  const predicted = argmax(yStar);
  const base = { index, label, predicted, lpObjective: null, checkMargin: null, alpha: 0, iterations: 0, rows: 0, rowsAdded: 0, primalInfeasibility: null, solverSeconds: 0 };
  if (label !== null && predicted !== label) return { ...base, target: null, rho: null, status: "misclassified", seconds: elapsed() };
  const lower = ctx.pixelMin / ctx.pixelScale, upper = ctx.pixelMax / ctx.pixelScale;
  const ranked = rankLabels(trace(ctx.net, xStar, { matrices: ctx.matrices }).logits);
  // FGSM is untargeted (any label but l* counts); L-BFGS-B aims at the LP's target, the second most probable.
  const target = algorithm === "fgsm" ? null : ranked[1];
  let example: Float64Array | null;
  let alpha = 0, iterations = 0;
  if (algorithm === "fgsm") {
    // The step is eps·(1 − 1e-5): float32 rounding of x* + eps can land a hair beyond eps (20.0000005 px),
    // which would make an example found "at eps" miss the frequency's rho ≤ eps.
    example = fgsmExample(ctx.net, ctx.matrices, xStar, predicted, (eps * (1 - 1e-5)) / ctx.pixelScale, lower, upper);
  } else {
    alpha = ctx.margin ?? DEFAULT_LBFGSB.alpha;
    const r = lbfgsbAttack(ctx.net, ctx.matrices, xStar, target!, lower, upper, { ...DEFAULT_LBFGSB, alpha });
    example = r.example; iterations = r.evaluations;
  }
  if (!example) return { ...base, target, alpha, iterations, rho: Infinity, status: "not-found", seconds: elapsed() };
  const ex32 = Float32Array.from(example);
  const [y] = await ctx.ort.logits([Float64Array.from(ex32)]);
  const got = argmax(y);
  const ok = target === null ? got !== predicted : got === target;
  const want = target ?? got;
  const checkMargin = y[want] - Math.max(...Array.from(y).filter((_, i) => i !== want));
  if (!ok) return { ...base, target, alpha, iterations, checkMargin, rho: Infinity, status: "not-found", seconds: elapsed(), message: `onnxruntime label ${got} at the candidate` };
  const dist = linf(ex32, xStar) * ctx.pixelScale;
  return { ...base, target: target ?? got, alpha, iterations, checkMargin, rho: dist, status: "adversarial", seconds: elapsed(), example: ex32 };
}
