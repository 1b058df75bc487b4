// A minimum-norm L∞ attack over every label: projected gradient ascent (Madry et al.'s PGD) on the margin
// max_{l ≠ l*} y_l − y_l* inside the ball ‖x − x*‖∞ ≤ r ∩ the input box, with a search over r — doubling
// from a first-order guess until PGD succeeds, then bisection between the last failure and the best
// success, each PGD warm-started from the best example scaled into the smaller ball, and each success shrunk
// along its ray from x* by batched onnxruntime forward passes (no gradients). Untargeted: whichever
// label is nearest wins, so its distance bounds rho (the minimum over labels) from above. Gradients come
// from the IR (attacks/gradient.ts: the linear region's backward pass). Every example it returns passed
// rho/types.ts checkExample (a strict win in onnxruntime's float32 pass and in the float64 reference).

import { rankLabels, trace, type Trace } from "../../compiler/index.js";
import { prng } from "./prng.js";
import { checkExample, fullRadius, logitScale, strictWinner, type Checked } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import type { Seed } from "../point/seed.js";
import { logitCombinationGradient } from "./gradient.js";
import { signDescent } from "./sign-descent.js";

export interface PgdOptions {
  /** Gradient steps per radius tried. */
  readonly steps: number;
  /** Random starts per radius after the warm (or signed-gradient) start fails. */
  readonly restarts: number;
  /** Bisection steps over the radius once an example is found. */
  readonly bisections: number;
  /** Bisection stops when (best − last failure) ≤ relTol · best. */
  readonly relTol: number;
  /** Scales per batch of the ray search (onnxruntime forward passes only). */
  readonly rayPoints: number;
  readonly timeLimit: number;
  readonly seed: number;
}

export const DEFAULT_PGD: PgdOptions = {
  steps: 10,
  restarts: 1,
  bisections: 5,
  relTol: 0.01,
  rayPoints: 16,
  timeLimit: 30,
  seed: 1,
};

export interface AttackResult {
  readonly best: Checked | null;
  readonly gradients: number;
  readonly radii: number;
  readonly seconds: number;
}

/** The nearest competitor of `predicted` at a trace: its label and margin y_j − y_l* (> 0: adversarial). */
function competitor(logits: Float64Array, predicted: number): { j: number; m: number } {
  let j = -1;
  for (let k = 0; k < logits.length; k++) if (k !== predicted && (j < 0 || logits[k] > logits[j])) j = k;
  return { j, m: logits[j] - logits[predicted] };
}

export async function minNormAttack(
  ctx: PointContext,
  seed: Pick<Seed, "xStar" | "predicted" | "star">,
  opts: PgdOptions = DEFAULT_PGD,
): Promise<AttackResult> {
  const { xStar, predicted, star } = seed;
  const t0 = performance.now();
  const left = () => opts.timeLimit - (performance.now() - t0) / 1000;
  const n = xStar.length,
    lo = ctx.pixelMin / ctx.pixelScale,
    hi = ctx.pixelMax / ctx.pixelScale;
  const rand = prng(opts.seed);
  // The float64 margin a candidate needs before it is worth checking: a hair above 0, so that float32
  // rounding in onnxruntime rarely reverses it (the check decides).
  const kappa = 1e-6 * logitScale(star.logits);
  const full = fullRadius(xStar, lo, hi);
  let gradients = 0,
    radii = 0;

  const gradient = (t: Trace): Float64Array => {
    const { j } = competitor(t.logits, predicted);
    const w = new Float64Array(t.logits.length);
    w[j] = 1;
    w[predicted] = -1;
    gradients++;
    return logitCombinationGradient(ctx.net, ctx.matrices, t, w);
  };
  const project = (x: Float64Array, r: number) => {
    for (let i = 0; i < n; i++) x[i] = Math.min(hi, Math.max(lo, Math.min(xStar[i] + r, Math.max(xStar[i] - r, x[i]))));
    return x;
  };

  /**
   * PGD at radius r from one start (attacks/sign-descent.ts): the first iterate with float64 margin > kappa, or null.
   */
  const run = (r: number, start: Float64Array): Promise<Float64Array | null> =>
    signDescent<Float64Array>(start, {
      steps: opts.steps,
      look: (x, k) => {
        const t = trace(ctx.net, x, { matrices: ctx.matrices });
        if (competitor(t.logits, predicted).m > kappa) return { stop: x };
        if (k === opts.steps || left() <= 0) return null;
        return { dir: gradient(t) };
      },
      // Step from r/2 down to r/20: large early moves, fine ones near the end.
      stepLength: (k) => r * (0.5 - 0.45 * (k / opts.steps)),
      project: (x) => project(x, r),
    });

  const g0 = gradient(star);
  const signed = Float64Array.from(xStar, (v, i) => v + Math.sign(g0[i]) * full);
  /**
   * A checked example within radius r: warm-started from `warm` scaled into the ball (the bisection: one
   * start, failures there are the common case and cost a whole run each), else from the signed gradient,
   * then from random points of the ball.
   */
  const attempt = async (r: number, warm: Checked | null): Promise<Checked | null> => {
    radii++;
    const starts: Float64Array[] = [];
    if (warm)
      starts.push(Float64Array.from(warm.example, (v, i) => xStar[i] + (v - xStar[i]) * Math.min(1, r / warm.dist)));
    else {
      starts.push(signed);
      for (let s = 0; s < opts.restarts; s++) starts.push(Float64Array.from(xStar, (v) => v + (2 * rand() - 1) * r));
    }
    for (const s of starts) {
      if (left() <= 0) return null;
      const x = await run(r, s);
      if (!x) continue;
      const c = await checkExample(ctx, Float32Array.from(x), xStar, predicted);
      if (c) return c;
    }
    return null;
  };

  /**
   * The ray from x* through a checked example: the smallest scale s ∈ (0, 1] of its perturbation at which
   * some label still wins strictly, by onnxruntime forward passes in batches (no gradients); the example at
   * that scale if it passes the check. Two rounds of `rayPoints` scales narrow s to ~1/rayPoints².
   */
  const alongRay = async (c: Checked): Promise<Checked> => {
    let sLo = 0,
      sHi = 1,
      best = c;
    const d = Float64Array.from(c.example, (v, i) => v - xStar[i]);
    for (let round = 0; round < 2 && left() > 0; round++) {
      const ss = Array.from({ length: opts.rayPoints }, (_, k) => sLo + ((sHi - sLo) * (k + 1)) / (opts.rayPoints + 1));
      const xs = ss.map((s) => Float64Array.from(Float32Array.from(xStar, (v, i) => v + s * d[i])));
      const ys = await ctx.evaluator.logits(xs);
      const k = ys.findIndex((y) => {
        const w = strictWinner(y);
        return w !== null && w.label !== predicted;
      });
      if (k < 0) {
        sLo = ss[ss.length - 1];
        continue;
      }
      const ck = await checkExample(ctx, Float32Array.from(xs[k]), xStar, predicted);
      if (!ck) break;
      if (ck.dist < best.dist) best = ck;
      sHi = ss[k];
      sLo = k > 0 ? ss[k - 1] : sLo;
    }
    return best;
  };

  // A first-order guess of the distance to the nearest competitor: margin / ‖∇margin‖₁ (the L∞ distance to
  // the linearised boundary), then doubling until an example is found.
  const ranked = rankLabels(star.logits);
  const l1 = g0.reduce((a, v) => a + Math.abs(v), 0);
  let r = Math.min(
    full,
    Math.max(1e-4, l1 > 0 ? (1.25 * (star.logits[ranked[0]] - star.logits[ranked[1]])) / l1 : full),
  );
  let best: Checked | null = null,
    failed = 0;
  while (!best && left() > 0) {
    best = await attempt(r, null);
    if (best || r >= full) break;
    failed = r;
    r = Math.min(full, 2 * r);
  }
  if (best) best = await alongRay(best);
  for (let b = 0; best && b < opts.bisections && left() > 0 && best.dist - failed > opts.relTol * best.dist; b++) {
    const mid = (failed + best.dist) / 2;
    const c = await attempt(mid, best);
    if (c && c.dist < best.dist) best = await alongRay(c);
    else failed = mid;
  }
  return { best, gradients, radii, seconds: (performance.now() - t0) / 1000 };
}
