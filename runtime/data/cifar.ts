// CIFAR-10 binary batches (data_batch_K.bin, test_batch.bin): records of 1 label byte + 3072 pixel bytes
// (3×32×32, channel-major) -> Dataset with itemShape [3,32,32]. Invariant: file size is a whole number of records.

import { basename } from "node:path";
import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset, makeDataset } from "./dataset.js";
import { readInput, writeOutput } from "./file.js";

export const CIFAR_ITEM_SHAPE: readonly number[] = [3, 32, 32];
const PIXELS = 3 * 32 * 32;
const RECORD = 1 + PIXELS;
const CLASSES = 10;

/** Is this the name of a CIFAR-10 binary batch (`data_batch_K.bin`, `test_batch.bin`)? */
export function isCifarPath(path: string): boolean {
  return /^(data_batch_\d+|test_batch)\.bin$/.test(basename(path));
}

/** Decode a CIFAR-10 binary batch; `name` is the file named in errors. */
export function decodeCifar(bytes: Uint8Array, name: string): Result<{ labels: Int32Array; pixels: Uint8Array }> {
  if (bytes.length % RECORD !== 0) {
    const n = Math.floor(bytes.length / RECORD);
    return fail(
      diag(
        "data/bad-cifar",
        `${name}: size ${bytes.length} bytes is not a multiple of the ${RECORD}-byte CIFAR-10 record ` +
          `(${n} whole records + ${bytes.length - n * RECORD} bytes; truncated?)`,
      ),
    );
  }
  const count = bytes.length / RECORD;
  const labels = new Int32Array(count);
  const pixels = new Uint8Array(count * PIXELS);
  for (let i = 0; i < count; i++) {
    const off = i * RECORD;
    const label = bytes[off];
    if (label >= CLASSES) {
      return fail(
        diag(
          "data/bad-cifar",
          `${name}: record ${i} has label ${label}, CIFAR-10 labels are 0..9 (not a CIFAR-10 batch?)`,
        ),
      );
    }
    labels[i] = label;
    pixels.set(bytes.subarray(off + 1, off + RECORD), i * PIXELS);
  }
  return ok({ labels, pixels });
}

/** Load a CIFAR-10 binary batch as a labelled Dataset (pixels 0..255). */
export function loadCifarDataset(path: string, source: string = path): Result<Dataset> {
  const bytes = readInput(path);
  if (!bytes.ok) return bytes;
  const dec = decodeCifar(bytes.value, path);
  if (!dec.ok) return dec;
  return makeDataset(source, CIFAR_ITEM_SHAPE, Float64Array.from(dec.value.pixels), dec.value.labels);
}

/** Encode records: labels[i] in 0..9, pixels count×3072 bytes, channel-major per record. */
export function encodeCifar(labels: ArrayLike<number>, pixels: ArrayLike<number>): Buffer {
  if (pixels.length !== labels.length * PIXELS) {
    throw new Error(`internal: ${pixels.length} pixels for ${labels.length} CIFAR records`);
  }
  const out = Buffer.alloc(labels.length * RECORD);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!Number.isInteger(l) || l < 0 || l >= CLASSES) throw new RangeError(`internal: CIFAR label ${l} at ${i}`);
    out[i * RECORD] = l;
    for (let j = 0; j < PIXELS; j++) {
      const v = pixels[i * PIXELS + j];
      if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`internal: CIFAR pixel ${v} at ${i}/${j}`);
      out[i * RECORD + 1 + j] = v;
    }
  }
  return out;
}

/** Write a CIFAR-10 binary batch. */
export function writeCifar(path: string, labels: ArrayLike<number>, pixels: ArrayLike<number>): Result<void> {
  return writeOutput(path, encodeCifar(labels, pixels));
}
