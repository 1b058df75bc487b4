// Adversarial examples for fine-tuning (the paper's §5): per training point an LP or L-BFGS-B example with
// the confidence margin y_l ≥ y_l' + alpha, rounded to integer pixels and re-checked by onnxruntime (float32).
// Invariant: an example is kept only if its rounded image is still misclassified; it carries the ORIGINAL label.

import { argmax, type Evaluator } from "./evaluator/types.js";
import { type PointResult } from "./rho/result.js";

/**
 * Algorithms that take a confidence margin; the paper's defaults: alpha = 3.0 (its LP: the restriction to x*'s
 * region, or the bracket's example's region), 0.15 (L-BFGS-B).
 */
export const AUGMENT_ALGORITHMS = ["lp", "bracket", "lbfgsb"] as const;
export type AugmentAlgorithm = (typeof AUGMENT_ALGORITHMS)[number];
export const DEFAULT_MARGIN: Readonly<Record<AugmentAlgorithm, number>> = { lp: 3.0, bracket: 3.0, lbfgsb: 0.15 };

/** One found example after rounding: kept (still adversarial) or lost to rounding. */
export interface RoundedExample {
  readonly index: number;
  /** The original label (the data's label, or the predicted one for unlabelled data): the training label. */
  readonly label: number;
  readonly target: number;
  /** Integer pixels in [0, 255], the image's values in the data's layout. */
  readonly pixels: Uint8Array;
  /** L∞ distance in pixels of the found (float) example and of the rounded one from x*. */
  readonly rho: number;
  readonly roundedRho: number;
  /** onnxruntime's label for the rounded image and its logit margin y_target − max_{l ≠ target} y_l. */
  readonly roundedLabel: number;
  readonly roundedMargin: number;
  readonly kept: boolean;
}

export interface AugmentCounts {
  readonly tried: number;
  readonly misclassified: number;
  readonly found: number;
  readonly lostToRounding: number;
  readonly kept: number;
  readonly other: Readonly<Record<string, number>>;
}

/** Rounds a model-units example to integer pixels in [0, 255] (pixel = round(x · scale)). */
export function roundPixels(example: ArrayLike<number>, pixelScale: number): Uint8Array {
  const out = new Uint8Array(example.length);
  for (let i = 0; i < example.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(example[i] * pixelScale)));
  return out;
}

/** Model input of integer pixels, rounded to float32 as the ONNX model sees it (as session.modelInput does). */
export function pixelsToInput(px: ArrayLike<number>, pixelScale: number): Float64Array {
  const x = new Float64Array(px.length);
  for (let i = 0; i < px.length; i++) x[i] = Math.fround(px[i] / pixelScale);
  return x;
}

/**
 * Rounds every found example and re-runs it through onnxruntime: kept when the argmax is not the original label.
 * `seed(i)` gives x*'s pixels for the rounded distance.
 */
export async function roundAndCheck(
  points: readonly PointResult[],
  ort: Evaluator,
  pixelScale: number,
  seed: (index: number) => ArrayLike<number>,
): Promise<RoundedExample[]> {
  const found = points.filter((p) => p.status === "adversarial" && p.example && p.target !== null);
  if (found.length === 0) return [];
  const pixels = found.map((p) => roundPixels(p.example!, pixelScale));
  const logits = await ort.logits(pixels.map((px) => pixelsToInput(px, pixelScale)));
  return found.map((p, k) => {
    const y = logits[k],
      target = p.target!,
      label = p.label ?? p.predicted;
    const xs = seed(p.index);
    let roundedRho = 0;
    for (let i = 0; i < xs.length; i++) roundedRho = Math.max(roundedRho, Math.abs(pixels[k][i] - xs[i]));
    const others = Array.from(y).filter((_, i) => i !== target);
    const roundedLabel = argmax(y);
    return {
      index: p.index,
      label,
      target,
      pixels: pixels[k],
      rho: p.rho ?? Infinity,
      roundedRho,
      roundedLabel,
      roundedMargin: y[target] - Math.max(...others),
      kept: roundedLabel !== label,
    };
  });
}

export function countAugment(points: readonly PointResult[], rounded: readonly RoundedExample[]): AugmentCounts {
  const other: Record<string, number> = {};
  for (const p of points)
    if (p.status !== "adversarial" && p.status !== "misclassified") other[p.status] = (other[p.status] ?? 0) + 1;
  const kept = rounded.filter((r) => r.kept).length;
  return {
    tried: points.length,
    misclassified: points.filter((p) => p.status === "misclassified").length,
    found: rounded.length,
    lostToRounding: rounded.length - kept,
    kept,
    other,
  };
}

/**
 * manifest.json: what was run and what came out of it. `run`: the run's identity (run.json's, with the margin),
 * by which merge knows the shards of one run; `settings`: how it was spread (shard, queue, merged shards).
 */
export function manifest(
  req: {
    model: string;
    data: string;
    algorithm: AugmentAlgorithm;
    margin: number;
    jobs: number;
    seconds: number;
    run: Readonly<Record<string, unknown>>;
    settings?: Readonly<Record<string, unknown>>;
  },
  c: AugmentCounts,
  rounded: readonly Pick<RoundedExample, "kept" | "roundedRho">[],
): Record<string, unknown> {
  const kept = rounded.filter((r) => r.kept);
  const rhos = kept.map((r) => r.roundedRho).sort((a, b) => a - b);
  return {
    model: req.model,
    data: req.data,
    algorithm: req.algorithm,
    margin: req.margin,
    jobs: req.jobs,
    points_tried: c.tried,
    misclassified: c.misclassified,
    found: c.found,
    lost_to_rounding: c.lostToRounding,
    kept: c.kept,
    lost_share: c.found > 0 ? c.lostToRounding / c.found : null,
    other_statuses: c.other,
    kept_rho_median_px: rhos.length > 0 ? rhos[Math.floor(rhos.length / 2)] : null,
    seconds: Math.round(req.seconds * 1000) / 1000,
    ...req.settings,
    files: {
      images: "images.npy (uint8 N×C×H×W, integer pixels)",
      labels: "labels.npy (int64, the ORIGINAL labels)",
      index: "index.npy (int64, data indices)",
      points: "points.jsonl",
    },
    run: req.run,
  };
}

/** One line per found example (kept or not) for points.jsonl. */
export function roundedRecord(r: RoundedExample): Record<string, unknown> {
  return {
    index: r.index,
    label: r.label,
    target: r.target,
    rho: r.rho,
    rounded_rho: r.roundedRho,
    rounded_label: r.roundedLabel,
    rounded_margin: r.roundedMargin,
    kept: r.kept,
  };
}
