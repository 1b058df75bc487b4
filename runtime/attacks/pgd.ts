// A minimum-norm L∞ attack over every label: projected gradient ascent (PGD, Madry et al.'s signed step) on the
// margin max_{l ≠ l*} y_l − y_l* inside the ball ‖x − x*‖∞ ≤ r ∩ the input box, with a search over r (doubling
// from a first-order guess, then bisection; each success shrunk along its ray from x* by batched forward
// passes). Untargeted, so its distance bounds rho from above. Every example passes point/check.ts.

import { rankLabels } from "../../compiler/index.js";
import { prng } from "./prng.js";
import { checkExample, fullRadius, logitScale, strictWinner, type Checked } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import type { Seed } from "../point/seed.js";
import { signDescent, type Look } from "./sign-descent.js";

/*
 * Design notes:
 * Logits and gradients come from the point context's engine (runtime/engine/, --backend): one vector–Jacobian
 * product per step gives an iterate's logits (the margin test: when to stop and try the check) and the
 * gradient of its margin, the starts of one radius (the signed-gradient start and the random restarts) in one
 * batch on the onnxruntime backend. float32 may steer; the check decides. Under the reference backend the
 * steps are the float64 trace's and the region's backward pass, one start at a time: today's answers exactly.
 */

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
    K = star.logits.length,
    lo = ctx.pixelMin / ctx.pixelScale,
    hi = ctx.pixelMax / ctx.pixelScale;
  const engine = ctx.engine;
  const rand = prng(opts.seed);
  // The margin a candidate needs on the engine's logits before it is worth checking: a hair above 0, so that
  // float32 rounding in onnxruntime rarely reverses it (the check decides).
  const kappa = 1e-6 * logitScale(star.logits);
  const full = fullRadius(xStar, lo, hi);
  // The starts of one radius run as one batch on a float32 engine (a session.run costs about the same for a
  // few inputs as for one); the reference backend takes them one at a time (no start's work is wasted).
  const width = engine.backend === "reference" ? 1 : Math.max(1, opts.restarts + 1);
  let gradients = 0,
    radii = 0;

  /** The margin weights of competitor j: e_j − e_l*. */
  const marginWeights = (w: Float64Array, at: number, j: number) => {
    w.fill(0, at, at + K);
    w[at + j] = 1;
    w[at + predicted] = -1;
  };
  const project = (x: Float64Array, r: number) => {
    for (let i = 0; i < n; i++) x[i] = Math.min(hi, Math.max(lo, Math.min(xStar[i] + r, Math.max(xStar[i] - r, x[i]))));
    return x;
  };

  /**
   * PGD at radius r from B starts in lockstep (attacks/sign-descent.ts): per start the first iterate whose margin
   * on the engine's logits is > kappa, or null. One vjp per step over the starts still running, with the weights of
   * each start's previous competitor; a start whose competitor changed gets its gradient from a second vjp (the
   * gradient is always its iterate's own margin's).
   */
  const run = (r: number, starts: readonly Float64Array[]): Promise<(Float64Array | null)[]> => {
    const guess = starts.map(() => competitor(star.logits, predicted).j);
    // The loop hands look the running starts in order; `ids` maps them back to their guesses.
    let ids = starts.map((_, s) => s);
    return signDescent<Float64Array>(starts, {
      steps: opts.steps,
      look: async (xs, k) => {
        const B = xs.length;
        const X = new Float64Array(B * n),
          W = new Float64Array(B * K);
        xs.forEach((x, b) => {
          X.set(x, b * n);
          marginWeights(W, b * K, guess[ids[b]]);
        });
        const { logits, gradient } = await engine.vjp(X, W, B);
        const last = k === opts.steps || left() <= 0;
        const seen: Look<Float64Array>[] = [];
        const redo: number[] = [];
        xs.forEach((x, b) => {
          const c = competitor(logits.subarray(b * K, (b + 1) * K), predicted);
          if (c.m > kappa) seen.push({ stop: x });
          else if (last) seen.push(null);
          else if (c.j === guess[ids[b]]) seen.push({ dir: gradient.subarray(b * n, (b + 1) * n) });
          else {
            guess[ids[b]] = c.j;
            redo.push(b);
            seen.push(null);
          }
        });
        if (redo.length > 0) {
          const X2 = new Float64Array(redo.length * n),
            W2 = new Float64Array(redo.length * K);
          redo.forEach((b, q) => {
            X2.set(xs[b], q * n);
            marginWeights(W2, q * K, guess[ids[b]]);
          });
          const g2 = (await engine.vjp(X2, W2, redo.length)).gradient;
          redo.forEach((b, q) => (seen[b] = { dir: g2.subarray(q * n, (q + 1) * n) }));
        }
        gradients += seen.filter((v) => v !== null && "dir" in v).length;
        ids = ids.filter((_, b) => seen[b] !== null && "dir" in seen[b]!);
        return seen;
      },
      // Step from r/2 down to r/20: large early moves, fine ones near the end.
      stepLength: (k) => r * (0.5 - 0.45 * (k / opts.steps)),
      project: (x) => project(x, r),
    });
  };

  const w0 = new Float64Array(K);
  marginWeights(w0, 0, competitor(star.logits, predicted).j);
  const g0 = (await engine.vjp(xStar, w0, 1)).gradient;
  gradients++;
  const signed = Float64Array.from(xStar, (v, i) => v + Math.sign(g0[i]) * full);
  /**
   * A checked example within radius r: warm-started from `warm` scaled into the ball (the bisection: one
   * start, failures there are the common case and cost a whole run each), else from the signed gradient,
   * then from random points of the ball; the first start (in this order) whose iterate passes the check.
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
    for (let from = 0; from < starts.length; from += width) {
      if (left() <= 0) return null;
      for (const x of await run(r, starts.slice(from, from + width))) {
        if (!x) continue;
        const c = await checkExample(ctx, Float32Array.from(x), xStar, predicted);
        if (c) return c;
      }
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
