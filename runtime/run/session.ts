// Binds what every command needs: a lowered network, a dataset whose items fit its input, and the pixel
// scale (model input = pixel / scale). Invariant: a Session's data items have exactly the network's input size.

import { diag, fail, inputSize, loadNetwork, ok, outputSize, type Network, type Result } from "../../compiler/index.js";
import { item, loadDataset, type Dataset } from "../data/index.js";

export interface DataOptions {
  readonly data: string;
  readonly labels?: string;
  /** Model input = pixel / pixelScale (default 255: the 0–255 pixel scale the paper reports rho on). */
  readonly pixelScale: number;
}

export interface Session {
  readonly modelPath: string;
  readonly network: Network;
  readonly warnings: readonly string[];
  readonly dataset: Dataset;
  readonly pixelScale: number;
}

export function openModel(modelPath: string): Result<{ network: Network; warnings: readonly string[] }> {
  const r = loadNetwork(modelPath);
  if (!r.ok) return r;
  if (outputSize(r.value.network) < 2) {
    return fail(diag("onnx/output", `${modelPath}: output '${r.value.network.outputName}' has ${outputSize(r.value.network)} element(s); a classifier needs at least 2 logits`));
  }
  return r;
}

export function openSession(modelPath: string, opts: DataOptions): Result<Session> {
  if (!(opts.pixelScale > 0) || !Number.isFinite(opts.pixelScale)) {
    return fail(diag("cli/pixel-scale", `--pixel-scale must be a positive number, got ${opts.pixelScale}`));
  }
  const m = openModel(modelPath);
  if (!m.ok) return m;
  const d = loadDataset(opts.data, opts.labels === undefined ? {} : { labels: opts.labels });
  if (!d.ok) return d;
  const need = inputSize(m.value.network);
  const have = d.value.itemShape.reduce((a, b) => a * b, 1);
  if (need !== have) {
    return fail(diag("data/model-mismatch", `${opts.data}: items of shape [${d.value.itemShape}] (${have} values) do not fit the input '${m.value.network.inputName}' of ${modelPath}, shape [${m.value.network.inputShape}] (${need} values)`));
  }
  return ok({ modelPath, network: m.value.network, warnings: m.value.warnings, dataset: d.value, pixelScale: opts.pixelScale });
}

/** The model input for data item i: pixel / scale, rounded to float32 as the ONNX model will see it. */
export function modelInput(s: Session, i: number): Float64Array {
  const px = item(s.dataset, i);
  const x = new Float64Array(px.length);
  for (let k = 0; k < px.length; k++) x[k] = Math.fround(px[k] / s.pixelScale);
  return x;
}

/** Parses --index / --limit against the dataset size; one-line errors for out-of-range values. */
export function selectIndices(count: number, index: number | undefined, limit: number | undefined, source: string): Result<number[]> {
  if (index !== undefined) {
    if (!Number.isInteger(index) || index < 0 || index >= count) return fail(diag("cli/index", `--index ${index} is out of range for ${source} (0..${count - 1})`));
    return ok([index]);
  }
  const n = limit === undefined ? count : limit;
  if (!Number.isInteger(n) || n <= 0) return fail(diag("cli/limit", `--limit must be a positive integer, got ${limit}`));
  return ok(Array.from({ length: Math.min(n, count) }, (_, i) => i));
}
