// `robustc predict`: a predict request (model, data, points, evaluator) → logits, predicted label and
// accuracy over a dataset with either evaluator.

import { unwrap } from "../../compiler/index.js";
import type { EvaluatorName } from "../evaluator/index.js";
import { argmax } from "../evaluator/types.js";
import {
  modelInput,
  openEvaluator,
  openSession,
  printNotes,
  selectIndices,
  type DataOptions,
  type Session,
} from "../run/session.js";

export interface PredictRequest extends DataOptions {
  readonly index?: number;
  readonly limit?: number;
  readonly evaluator: EvaluatorName;
  /** One JSON object per point on stdout, nothing else. */
  readonly json?: boolean;
  /** Only the accuracy line. */
  readonly summary?: boolean;
}

export async function predictCommand(model: string, r: PredictRequest, out: (line: string) => void): Promise<void> {
  const s = unwrap(openSession(model, r));
  const indices = unwrap(selectIndices(s.dataset.count, r.index, r.limit, r.data));
  // On stderr, with --json too: the scale chosen or a removed Softmax changes what the logits mean.
  printNotes(s);
  const res = await predict(s, indices, r.evaluator);
  if (r.json) {
    for (const p of res.predictions) out(JSON.stringify(p));
    return;
  }
  if (!r.summary) {
    out(`${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  logits`);
    for (const p of res.predictions) out(formatPrediction(p));
  }
  out(formatAccuracy(res, r.data));
}

export interface Prediction {
  readonly index: number;
  readonly label: number | null;
  readonly predicted: number;
  readonly logits: readonly number[];
}

export interface PredictResult {
  readonly predictions: readonly Prediction[];
  readonly correct: number;
  readonly labelled: number;
  readonly evaluator: EvaluatorName;
  readonly seconds: number;
}

export async function predict(
  s: Session,
  indices: readonly number[],
  evaluator: EvaluatorName,
): Promise<PredictResult> {
  const t0 = performance.now();
  const ev = await openEvaluator(s, evaluator);
  try {
    const logits = await ev.logits(indices.map((i) => modelInput(s, i)));
    const predictions = indices.map((index, k) => ({
      index,
      label: s.dataset.labels ? s.dataset.labels[index] : null,
      predicted: argmax(logits[k]),
      logits: Array.from(logits[k], (v) => Math.fround(v)),
    }));
    const labelled = predictions.filter((p) => p.label !== null);
    return {
      predictions,
      evaluator,
      labelled: labelled.length,
      correct: labelled.filter((p) => p.label === p.predicted).length,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await ev.dispose();
  }
}

export function formatPrediction(p: Prediction): string {
  const lg = p.logits.map((v) => v.toFixed(3).padStart(8)).join(" ");
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${lg}`;
}

export function formatAccuracy(r: PredictResult, source: string): string {
  if (r.labelled === 0)
    return `${r.predictions.length} points predicted on ${source} (no labels: accuracy unknown) with ${r.evaluator} in ${r.seconds.toFixed(2)} s`;
  return `accuracy ${((100 * r.correct) / r.labelled).toFixed(2)}% (${r.correct}/${r.labelled}) on ${source} with ${r.evaluator} in ${r.seconds.toFixed(2)} s`;
}
