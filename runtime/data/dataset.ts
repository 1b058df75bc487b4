// The in-memory dataset every reader produces: `count` items of shape `itemShape`, pixels row-major on the
// data's own scale. Invariant (kept by makeDataset): count > 0, every pixel finite, labels null or `count` long.

import { type Result, diag, fail, ok } from "../../compiler/index.js";

export interface Dataset {
  /** What the user named: "mnist:test", "/path/x.npy", ... */
  readonly source: string;
  readonly count: number;
  /** Per item, [C,H,W] (e.g. [1,28,28]); N×D files give [D], N×H×W gives [1,H,W], N×C×H×W stays [C,H,W]. */
  readonly itemShape: readonly number[];
  /** count × prod(itemShape), row-major, on the data's own pixel scale (uint8 sources: integers 0..255). */
  readonly pixels: Float64Array;
  /** count labels, or null when the source has none. */
  readonly labels: Int32Array | null;
  /** What the reader chose for the user (which .npz arrays, which CSV column): one line each, for stderr. */
  readonly notes?: readonly string[];
}

/** Number of values in one item of the given shape. */
export function itemSize(itemShape: readonly number[]): number {
  return itemShape.reduce((a, b) => a * b, 1);
}

/** A subarray view (no copy) of item i. */
export function item(ds: Dataset, i: number): Float64Array {
  if (!Number.isInteger(i) || i < 0 || i >= ds.count) {
    throw new RangeError(`item index ${i} out of range for ${ds.source} (count ${ds.count})`);
  }
  const size = itemSize(ds.itemShape);
  return ds.pixels.subarray(i * size, (i + 1) * size);
}

/**
 * Build a Dataset, checking the user-facing invariants (non-empty, finite pixels). A pixel/label length
 * that disagrees with the shape is a reader bug and throws.
 */
export function makeDataset(
  source: string,
  itemShape: readonly number[],
  pixels: Float64Array,
  labels: Int32Array | null,
): Result<Dataset> {
  if (itemShape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`internal: bad item shape [${itemShape.join(",")}] for ${source}`);
  }
  const size = itemSize(itemShape);
  if (size === 0) {
    return fail(diag("data/empty", `${source}: items have zero size (item shape [${itemShape.join(",")}])`));
  }
  if (pixels.length % size !== 0) {
    throw new Error(`internal: ${pixels.length} pixels is not a multiple of item size ${size} for ${source}`);
  }
  const count = pixels.length / size;
  if (count === 0) return fail(diag("data/empty", `${source}: the dataset contains no items`));
  if (labels !== null && labels.length !== count) {
    throw new Error(`internal: ${labels.length} labels for ${count} items in ${source}`);
  }
  for (let j = 0; j < pixels.length; j++) {
    if (!Number.isFinite(pixels[j])) {
      const it = Math.floor(j / size);
      return fail(
        diag(
          "data/non-finite",
          `${source}: non-finite value ${pixels[j]} at flat index ${j} (item ${it}, element ${j - it * size})`,
        ),
      );
    }
  }
  return ok({ source, count, itemShape: [...itemShape], pixels, labels });
}

/**
 * Convert label values to Int32Array: each must be an integer in [0, 2^31). `what` names the labels'
 * file in the error.
 */
export function toLabels(values: ArrayLike<number>, what: string): Result<Int32Array> {
  const out = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
      return fail(diag("data/bad-labels", `${what}: label ${i} is ${v}, expected a non-negative integer class index`));
    }
    out[i] = v;
  }
  return ok(out);
}
