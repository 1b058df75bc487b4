// Binds what every command needs: a lowered network, a dataset whose items fit its input, and how data values
// become model inputs (runtime/data/input-map.ts: the scale, the layout, a normalisation outside the model, put
// in front of the network). Invariant: a Session's items have the network's input size, in its layout, in
// [0, pixelScale]; its notes say every choice robustc made for the user.

import {
  diag,
  fail,
  inputSize,
  loadNetwork,
  ok,
  outputSize,
  prependScaleShift,
  type Network,
  type Result,
} from "../../compiler/index.js";
import { item, loadDataset, type Dataset } from "../data/index.js";
import {
  arrangeLayout,
  chwToHwc,
  normalisation,
  resolveScale,
  type InputOptions,
  type Layout,
} from "../data/input-map.js";
import { NormalisedEvaluator } from "../evaluator/normalised.js";
import { OnnxRuntimeEvaluator, type OrtOptions } from "../evaluator/onnxruntime.js";
import { ReferenceEvaluator } from "../evaluator/reference.js";
import type { Evaluator } from "../evaluator/types.js";
import type { EvaluatorName } from "../evaluator/index.js";

export interface DataOptions extends InputOptions {
  readonly data: string;
  readonly labels?: string;
}

export interface Session {
  readonly modelPath: string;
  /** The network as measured: with --mean/--std, the normalisation is its first layer. */
  readonly network: Network;
  readonly warnings: readonly string[];
  readonly dataset: Dataset;
  /** Model input = value / pixelScale (resolved: the user's, or 255, or 1 for data in [0, 1]). */
  readonly pixelScale: number;
  readonly layout: Layout | null;
  /** Per input element, when the model's inputs are normalised outside it; null otherwise. */
  readonly norm: { readonly mean: Float64Array; readonly std: Float64Array } | null;
  /** One line per choice made for the user (scale chosen, items transposed, ...): the commands print them. */
  readonly notes: readonly string[];
}

/** DataOptions from any record of them (a RunConfig, a run.json's identity), without the absent ones. */
export function toDataOptions(o: {
  readonly data: string;
  readonly labels?: string;
  readonly pixelScale: number;
  readonly layout?: Layout;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}): DataOptions {
  return {
    data: o.data,
    ...(o.labels !== undefined ? { labels: o.labels } : {}),
    pixelScale: o.pixelScale,
    ...(o.layout !== undefined ? { layout: o.layout } : {}),
    ...(o.mean !== undefined ? { mean: o.mean } : {}),
    ...(o.std !== undefined ? { std: o.std } : {}),
  };
}

export function openModel(modelPath: string): Result<{ network: Network; warnings: readonly string[] }> {
  const r = loadNetwork(modelPath);
  if (!r.ok) return r;
  if (outputSize(r.value.network) < 2) {
    return fail(
      diag(
        "onnx/output",
        `${modelPath}: output '${r.value.network.outputName}' has ${outputSize(r.value.network)} element(s); a classifier needs at least 2 logits`,
      ),
    );
  }
  return r;
}

export function openSession(modelPath: string, opts: DataOptions): Result<Session> {
  const m = openModel(modelPath);
  if (!m.ok) return m;
  const d = loadDataset(opts.data, opts.labels === undefined ? {} : { labels: opts.labels });
  if (!d.ok) return d;
  const net = m.value.network;
  const arranged = arrangeLayout(d.value, net.inputShape, opts.layout, modelPath, net.inputName);
  if (!arranged.ok) return arranged;
  const scale = resolveScale(arranged.value.dataset, opts.pixelScale);
  if (!scale.ok) return scale;
  const norm = normalisation(opts.mean, opts.std, net.inputShape);
  if (!norm.ok) return norm;
  if (inputSize(net) !== arranged.value.dataset.pixels.length / arranged.value.dataset.count)
    throw new Error("internal: arranged items do not fit");
  const notes = [...(d.value.notes ?? []), arranged.value.note, scale.value.note].filter(
    (x): x is string => x !== null,
  );
  let network = net;
  if (norm.value) {
    // The IR computes what the float32 evaluator does: (x - mean) / std with mean and std as float32 values.
    const { mean, std } = norm.value;
    const sc = new Float64Array(mean.length),
      sh = new Float64Array(mean.length);
    for (let i = 0; i < mean.length; i++) {
      sc[i] = 1 / Math.fround(std[i]);
      sh[i] = -Math.fround(mean[i]) / Math.fround(std[i]);
    }
    network = prependScaleShift(net, sc, sh, "normalise");
    notes.push(
      `the model's input is (value / ${scale.value.scale} - mean) / std (--mean ${opts.mean!.join(",")} --std ${opts.std!.join(",")}): measured as the model's first layer; rho and eps stay in the data's units`,
    );
  }
  return ok({
    modelPath,
    network,
    warnings: m.value.warnings,
    dataset: arranged.value.dataset,
    pixelScale: scale.value.scale,
    layout: opts.layout ?? null,
    norm: norm.value === null ? null : { mean: norm.value.mean, std: norm.value.std },
    notes,
  });
}

/**
 * Items in the data's own layout, for the files robustc writes (adversarial.npy, augment's images.npy, rho
 * --examples): `values` holds `count` items in the model's layout; channels-last data (--layout nhwc) get theirs back.
 */
export function toDataLayout(
  s: Session,
  values: ArrayLike<number>,
  count: number,
): { shape: number[]; values: ArrayLike<number> } {
  const item = s.network.inputShape.slice(1);
  if (s.layout !== "nhwc" || item.length !== 3 || item[0] === 1) return { shape: [count, ...item], values };
  return { shape: [count, item[1], item[2], item[0]], values: chwToHwc(values, item, count) };
}

/** The model's warnings and the session's notes on stderr (the main thread of a command, once). */
export function printNotes(s: Session): void {
  for (const w of s.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
  for (const n of s.notes) process.stderr.write(`robustc: note: ${n}\n`);
}

/**
 * The evaluator of the model as measured: onnxruntime on the ONNX file (behind the float32 normalisation when
 * the session has one), or the float64 reference on the session's network.
 */
export async function openEvaluator(
  s: Session,
  name: EvaluatorName = "onnxruntime",
  options: OrtOptions = {},
): Promise<Evaluator> {
  if (name === "reference") return new ReferenceEvaluator(s.network);
  const ort = await OnnxRuntimeEvaluator.create(s.modelPath, s.network, options);
  return s.norm ? new NormalisedEvaluator(ort, s.norm.mean, s.norm.std) : ort;
}

/** The model input for data item i: pixel / scale, rounded to float32 as the ONNX model will see it. */
export function modelInput(s: Session, i: number): Float64Array {
  const px = item(s.dataset, i);
  const x = new Float64Array(px.length);
  for (let k = 0; k < px.length; k++) x[k] = Math.fround(px[k] / s.pixelScale);
  return x;
}

/**
 * Parses --index / --limit against the dataset size; one-line errors for out-of-range values and for both
 * given (one point or the first N: --limit would be ignored). A --limit beyond the data runs every point, as
 * `head -n` would, and says so through `warn` (stderr by default).
 */
export function selectIndices(
  count: number,
  index: number | undefined,
  limit: number | undefined,
  source: string,
  warn: (line: string) => void = (l) => process.stderr.write(`robustc: ${l}\n`),
): Result<number[]> {
  if (index !== undefined && limit !== undefined)
    return fail(
      diag(
        "cli/index",
        `--index ${index} and --limit ${limit}: give --index (one point) or --limit (the first N points), not both`,
      ),
    );
  if (index !== undefined) {
    if (!Number.isInteger(index) || index < 0 || index >= count)
      return fail(diag("cli/index", `--index ${index} is out of range for ${source} (0..${count - 1})`));
    return ok([index]);
  }
  const n = limit === undefined ? count : limit;
  if (!Number.isInteger(n) || n <= 0)
    return fail(diag("cli/limit", `--limit must be a positive integer, got ${limit}`));
  if (n > count) warn(`--limit ${n}: ${source} has only ${count} points; running ${count}`);
  return ok(Array.from({ length: Math.min(n, count) }, (_, i) => i));
}
