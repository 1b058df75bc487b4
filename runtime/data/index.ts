// loadDataset: a user's data spec ("mnist:test", "x.npy", "x.npz[:NAME]", "x.csv", "*-images-idx3-ubyte(.gz)",
// CIFAR-10 "*.bin") plus an optional labels file -> Result<Dataset>. Invariant: every bad input is a one-line
// data/* diagnostic.

import { existsSync } from "node:fs";
import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { loadCifarDataset, isCifarPath } from "./cifar.js";
import { isCsvPath, loadCsvDataset, readCsvLabels } from "./csv.js";
import { type Dataset } from "./dataset.js";
import { isIdxImagesPath, isIdxLabelsPath, loadIdxDataset, readIdxLabels } from "./idx.js";
import { loadMnist } from "./mnist.js";
import { loadNpyDataset, readNpyLabels } from "./npy.js";
import { isNpzSpec, loadNpzDataset, readNpzLabels } from "./npz.js";

export { type Dataset, item } from "./dataset.js";

export interface LoadOptions {
  /**
   * A labels file: a .npy of N integers, an array of a .npz (x.npz:NAME), a .csv, or IDX idx1-ubyte (optionally .gz).
   */
  readonly labels?: string;
}

export const FORMATS =
  "mnist:test, mnist:train, *.npy, *.npz[:ARRAY], *.csv, *-images-idx3-ubyte(.gz), *.idx3-ubyte(.gz), data_batch_K.bin, test_batch.bin, cifar:<path>";

function readLabels(path: string): Result<Int32Array> {
  if (/\.npy$/i.test(path)) return readNpyLabels(path);
  if (isNpzSpec(path)) return readNpzLabels(path);
  if (isCsvPath(path)) return readCsvLabels(path);
  if (isIdxLabelsPath(path)) return readIdxLabels(path);
  if (!existsSync(path)) return fail(diag("data/missing-file", `no such labels file: ${path}`));
  return fail(
    diag(
      "data/unknown-format",
      `labels file ${path}: unrecognized format (expected *.npy, *.npz[:ARRAY], *.csv or *idx1-ubyte(.gz))`,
    ),
  );
}

function loadImages(spec: string, autoPairLabels: boolean): Result<Dataset> {
  if (spec.startsWith("mnist:")) return loadMnist(spec.slice("mnist:".length), spec);
  if (spec.startsWith("cifar:")) {
    const path = spec.slice("cifar:".length);
    if (path === "")
      return fail(diag("data/unknown-format", `${spec}: expected cifar:<path to a CIFAR-10 .bin batch>`));
    return loadCifarDataset(path, spec);
  }
  if (/\.npy$/i.test(spec)) return loadNpyDataset(spec, spec);
  if (isNpzSpec(spec)) return loadNpzDataset(spec, autoPairLabels);
  if (isCsvPath(spec)) return loadCsvDataset(spec, spec);
  if (isIdxImagesPath(spec)) return loadIdxDataset(spec, spec, autoPairLabels);
  if (isCifarPath(spec)) return loadCifarDataset(spec, spec);
  if (!existsSync(spec))
    return fail(diag("data/missing-file", `no such file: ${spec} (known data formats: ${FORMATS})`));
  if (isIdxLabelsPath(spec)) {
    return fail(
      diag("data/unknown-format", `${spec} is an IDX labels file; name the images file and pass labels separately`),
    );
  }
  const hint = /\.bin$/i.test(spec)
    ? "; for a CIFAR-10 batch with another name use cifar:" + spec
    : /\.(pt|pth|pkl|pickle|h5|hdf5|mat|json|parquet|tfrecords?)$/i.test(spec)
      ? "; convert it with numpy: np.savez('data.npz', x_test=images, y_test=labels), or np.save('x.npy', images)"
      : "";
  return fail(diag("data/unknown-format", `${spec}: unrecognized data format (known: ${FORMATS})${hint}`));
}

/** Load the dataset a spec names; `options.labels` supplies labels for sources that carry none. */
export function loadDataset(spec: string, options: LoadOptions = {}): Result<Dataset> {
  const labelsPath = options.labels;
  const ds = loadImages(spec, labelsPath === undefined);
  if (!ds.ok || labelsPath === undefined) return ds;
  if (ds.value.labels !== null) {
    return fail(
      diag("data/labels-conflict", `${spec} already carries labels; do not also pass a labels file (${labelsPath})`),
    );
  }
  const labels = readLabels(labelsPath);
  if (!labels.ok) return labels;
  if (labels.value.length !== ds.value.count) {
    return fail(
      diag(
        "data/label-count",
        `${spec} has ${ds.value.count} items but labels file ${labelsPath} has ${labels.value.length} labels`,
      ),
    );
  }
  return ok({ ...ds.value, labels: labels.value });
}
