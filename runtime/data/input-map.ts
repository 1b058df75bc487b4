// How data values become model inputs: the scale (model input = value / scale, in [0, 1]), the data's layout
// (channels first or last) and a normalisation that training applied outside the model ((x − mean) / std).
// Consumes a Dataset and the model's input shape; produces the dataset in the model's layout, the resolved
// scale, and one line for every choice robustc made for the user. Invariant: every value lies in [0, scale].

import { diag, fail, ok, sizeOf, type Result } from "../../compiler/index.js";
import type { Dataset } from "./dataset.js";

export const LAYOUTS = ["nchw", "nhwc"] as const;
export type Layout = (typeof LAYOUTS)[number];

/** The paper's eps: 20 on the 0–255 scale. */
export const PAPER_EPS_255 = 20;

/**
 * What the user said about the data (CLI --pixel-scale, --layout, --mean, --std); absent: robustc decides and says so.
 */
export interface InputOptions {
  /** Model input = value / pixelScale. Absent: 255, or 1 for data whose values all lie in [0, 1]. */
  readonly pixelScale?: number;
  /** The data's layout. Absent: as stored (items whose shape is the model's channels-last are refused). */
  readonly layout?: Layout;
  /** Per channel (or one value for all), on the [0, 1] model input (value / scale), as torchvision's Normalize. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
}

const fmt = (v: number) => String(Number(v.toPrecision(6)));

/** "pixels" on the 0–255 scale (the paper's unit), else the data's own units with their scale. */
export function unitsOf(scale: number): string {
  return scale === 255 ? "pixels (0-255 scale)" : `data units (0-${fmt(scale)} scale)`;
}

/** The short unit after a number in a table. */
export function unitShort(scale: number): string {
  return scale === 255 ? "pixels" : "data units";
}

/** Decimals for a distance on this scale: `base` on 0-255, more on smaller scales (0.0784 on 0-1 is 20 px). */
export function distDigits(scale: number, base = 3): number {
  return base + Math.max(0, Math.round(Math.log10(255 / scale)));
}

/** eps or any value in a label: 6 significant digits at most (0.0784314, not 0.0784313725490196). */
export const fmtValue = (v: number): string => String(Number(v.toPrecision(6)));

/** The paper's eps (20 of 255) on this scale. */
export function defaultEps(scale: number): number {
  return (PAPER_EPS_255 * scale) / 255;
}

/**
 * A warning for an eps that is surely a unit mistake: below one grey level of the 8-bit scale (0.08 on 0–255 is
 * eps = 20 meant on a 0–1 scale), or one that covers the whole input range (every input is within eps).
 */
export function epsWarning(eps: number, scale: number, option = "--eps"): string | null {
  if (eps >= scale)
    return `${option} ${fmt(eps)} covers the whole input range 0-${fmt(scale)}: every input is within eps of x* (the paper's eps is ${fmt(defaultEps(scale))} on this scale)`;
  if (eps < scale / 255) {
    return `${option} ${fmt(eps)} is less than one grey level of the 0-${fmt(scale)} scale (${fmt(scale / 255)}); ${scale === 255 ? `if it was meant on a 0-1 scale, that is ${option} ${fmt(eps * 255)}` : "is that the intended unit?"}`;
  }
  return null;
}

export function dataRange(ds: Dataset): { min: number; max: number; integers: boolean } {
  let min = Infinity,
    max = -Infinity,
    integers = true;
  for (const v of ds.pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
    if (integers && !Number.isInteger(v)) integers = false;
  }
  return { min, max, integers };
}

/**
 * The scale: the user's, checked against the data's range, or chosen from it (255, or 1 for values in [0, 1]).
 * Refused: negative values (data normalised already), values above the scale, and a scale of 255 on data in
 * [0, 1] (it would be divided by 255 twice).
 */
export function resolveScale(
  ds: Dataset,
  requested: number | undefined,
): Result<{ scale: number; note: string | null }> {
  if (requested !== undefined && !(requested > 0 && Number.isFinite(requested))) {
    return fail(diag("cli/pixel-scale", `--pixel-scale must be a positive number, got ${requested}`));
  }
  const { min, max, integers } = dataRange(ds);
  const range = `[${fmt(min)}, ${fmt(max)}]`;
  if (min < 0) {
    return fail(
      diag(
        "data/range",
        `${ds.source}: values down to ${fmt(min)} (range ${range}): the data looks normalised already; give the raw images (0-255, or floats in [0, 1]) and the normalisation as --mean/--std, which robustc applies inside the measured model so that rho stays in the raw images' units`,
      ),
    );
  }
  const unitRange = max <= 1 && max > 0;
  if (requested === undefined) {
    if (unitRange)
      return ok({
        scale: 1,
        note: `${ds.source}: values lie in ${range}${integers ? "" : " (floats)"}: using --pixel-scale 1 (model input = value); rho and eps are in these units (pass --pixel-scale to override)`,
      });
    if (max <= 255) return ok({ scale: 255, note: null });
    return fail(
      diag(
        "data/range",
        `${ds.source}: values up to ${fmt(max)} exceed the 0-255 scale: pass --pixel-scale with the data's full-scale value (model input = value / scale must lie in [0, 1])`,
      ),
    );
  }
  if (max > requested * (1 + 1e-9)) {
    return fail(
      diag(
        "data/range",
        `${ds.source}: values up to ${fmt(max)} exceed --pixel-scale ${fmt(requested)} (model input = value / scale must lie in [0, 1]): pass the data's full-scale value${max <= 255 ? " (255 for 8-bit images)" : ""}`,
      ),
    );
  }
  if (unitRange && requested >= 2 && !integers) {
    return fail(
      diag(
        "data/range",
        `${ds.source}: float values in ${range} with --pixel-scale ${fmt(requested)}: the model would see them divided by ${fmt(requested)} (nearly black images); drop --pixel-scale (robustc then uses 1) or pass --pixel-scale 1`,
      ),
    );
  }
  return ok({ scale: requested, note: null });
}

/** [C, H, W] of a model input [1, C, H, W]; null for inputs without a channel dimension. */
function chw(modelShape: readonly number[]): [number, number, number] | null {
  const s = modelShape.slice(1);
  return s.length === 3 ? [s[0], s[1], s[2]] : null;
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const show = (s: readonly number[]) => `[${s.join(",")}]`;

/** Items [H, W, C] row-major → [C, H, W] row-major. */
function hwcToChw(ds: Dataset, [C, H, W]: [number, number, number]): Dataset {
  const n = C * H * W,
    out = new Float64Array(ds.pixels.length);
  for (let it = 0; it < ds.count; it++) {
    const o = it * n;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) {
          out[o + (c * H + h) * W + w] = ds.pixels[o + (h * W + w) * C + c];
        }
  }
  return { ...ds, itemShape: [C, H, W], pixels: out };
}

/**
 * Items [C, H, W] row-major → [H, W, C] row-major (the inverse of hwcToChw): outputs in a channels-last data's layout.
 */
export function chwToHwc(values: ArrayLike<number>, [C, H, W]: readonly number[], count: number): Float64Array {
  const n = C * H * W,
    out = new Float64Array(count * n);
  for (let it = 0; it < count; it++) {
    const o = it * n;
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out[o + (h * W + w) * C + c] = values[o + (c * H + h) * W + w];
  }
  return out;
}

/**
 * The dataset in the model's layout. Channels-last items for a channels-first model are transposed with
 * --layout nhwc, and refused without it when the shapes reveal them (items [H, W, C] for a model [C, H, W],
 * C > 1); flat items of a multi-channel model are read channels-first, with a word.
 */
export function arrangeLayout(
  ds: Dataset,
  modelShape: readonly number[],
  layout: Layout | undefined,
  model: string,
  inputName = "input",
): Result<{ dataset: Dataset; note: string | null }> {
  const m = chw(modelShape);
  const item = ds.itemShape;
  if (sizeOf(item) !== sizeOf(modelShape)) {
    return fail(
      diag(
        "data/model-mismatch",
        `${ds.source}: items of shape ${show(item)} (${sizeOf(item)} values) do not fit the input '${inputName}' of ${model}, shape ${show(modelShape)} (${sizeOf(modelShape)} values)`,
      ),
    );
  }
  if (layout === "nhwc") {
    if (m === null)
      return fail(
        diag(
          "cli/layout",
          `--layout nhwc: the input of ${model}, shape ${show(modelShape)}, has no channel dimension to move (the option is for N×C×H×W models)`,
        ),
      );
    const [C, H, W] = m;
    // One channel: channels last and first are the same order in memory.
    if (!same(item, [H, W, C]) && item.length !== 1 && C !== 1) {
      return fail(
        diag(
          "cli/layout",
          `--layout nhwc: items of ${ds.source} have shape ${show(item)}, not [H,W,C] = ${show([H, W, C])} of the model's ${show(modelShape)}`,
        ),
      );
    }
    return ok({
      dataset: C === 1 ? { ...ds, itemShape: [C, H, W] } : hwcToChw(ds, m),
      note:
        C === 1
          ? null
          : `${ds.source}: items transposed from H×W×C ${show([H, W, C])} to the model's C×H×W ${show([C, H, W])} (--layout nhwc)`,
    });
  }
  if (m !== null && m[0] > 1) {
    const [C, H, W] = m;
    if (same(item, [H, W, C]) && !same(item, [C, H, W])) {
      return fail(
        diag(
          "data/layout",
          `${ds.source}: items have shape ${show(item)}, channels last (N×H×W×C), but ${model} takes ${show(modelShape)}, channels first: pass --layout nhwc to transpose them`,
        ),
      );
    }
    if (item.length === 1 && layout === undefined) {
      return ok({
        dataset: ds,
        note: `${ds.source}: flat items of ${item[0]} values are read channels-first as ${show([C, H, W])}; pass --layout nhwc if each row is H×W×C`,
      });
    }
  }
  return ok({ dataset: ds, note: null });
}

/**
 * --mean/--std → the scale-shift (1/std, −mean/std per input element) that goes in front of the network, and
 * the per-element mean and std the float32 evaluator applies. One value, or one per channel of an N×C×H×W input.
 */
export function normalisation(
  mean: readonly number[] | undefined,
  std: readonly number[] | undefined,
  modelShape: readonly number[],
): Result<{ mean: Float64Array; std: Float64Array; channels: number } | null> {
  if (mean === undefined && std === undefined) return ok(null);
  if (mean === undefined || std === undefined)
    return fail(
      diag(
        "cli/normalise",
        `--mean and --std go together (the model's input is (x - mean) / std): ${mean === undefined ? "--mean" : "--std"} is missing (use --mean 0 or --std 1 for a missing half)`,
      ),
    );
  const m = chw(modelShape);
  const C = m === null ? 1 : m[0];
  for (const [name, v] of [
    ["--mean", mean],
    ["--std", std],
  ] as const) {
    if (v.length !== 1 && v.length !== C)
      return fail(
        diag(
          "cli/normalise",
          `${name} has ${v.length} values; the input ${show(modelShape)} has ${C} channel${C === 1 ? "" : "s"}: give one value or ${C}`,
        ),
      );
  }
  if (mean.some((v) => !(v >= 0 && v <= 1)) || std.some((v) => !(v > 0 && v <= 1))) {
    return fail(
      diag(
        "cli/normalise",
        `--mean ${mean.join(",")} --std ${std.join(",")}: mean must lie in [0, 1] and std in (0, 1]: they apply to the model input value / scale in [0, 1], as torchvision's Normalize after ToTensor (for 0-255 values divide them by 255)`,
      ),
    );
  }
  const n = sizeOf(modelShape),
    inner = n / C;
  const M = new Float64Array(n),
    S = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner);
    M[i] = mean.length === 1 ? mean[0] : mean[c];
    S[i] = std.length === 1 ? std[0] : std[c];
  }
  return ok({ mean: M, std: S, channels: C });
}

/** Parses "0.1307" or "0.485,0.456,0.406" (the CLI's --mean and --std). */
export function parseList(option: string, text: string): Result<number[]> {
  const parts = text.split(",").map((s) => s.trim());
  const v = parts.map(Number);
  if (parts.some((s) => s === "") || v.some((x) => !Number.isFinite(x)))
    return fail(diag("cli/normalise", `${option} must be a number or comma-separated numbers, got '${text}'`));
  return ok(v);
}
