// MNIST IDX files (optionally gzipped): idx3-ubyte images (N×H×W, magic 0x00000803) and idx1-ubyte labels
// (magic 0x00000801), big-endian dims, -> Dataset with itemShape [1,H,W]. Invariant: file size checked exactly.

import { existsSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset, makeDataset } from "./dataset.js";
import { readInput, writeOutput } from "./file.js";

const UBYTE = 0x08;
const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: "unsigned byte",
  0x09: "signed byte",
  0x0b: "int16",
  0x0c: "int32",
  0x0d: "float32",
  0x0e: "float64",
};

/** Does this path name an IDX images file (`*idx3-ubyte`, optionally `.gz`)? */
export function isIdxImagesPath(path: string): boolean {
  return /idx3-ubyte(\.gz)?$/i.test(path);
}

/** Does this path name an IDX labels file (`*idx1-ubyte`, optionally `.gz`)? */
export function isIdxLabelsPath(path: string): boolean {
  return /idx1-ubyte(\.gz)?$/i.test(path);
}

/** Decode IDX bytes of unsigned bytes with `rank` dimensions. */
export function decodeIdx(bytes: Uint8Array, name: string, rank: 1 | 3): Result<{ dims: number[]; data: Uint8Array }> {
  const what = rank === 3 ? "images (idx3-ubyte)" : "labels (idx1-ubyte)";
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    return fail(diag("data/bad-idx", `${name}: not an IDX file (bad magic number), expected ${what}`));
  }
  if (bytes[2] !== UBYTE) {
    const t = TYPE_NAMES[bytes[2]] ?? `unknown type 0x${bytes[2].toString(16)}`;
    return fail(diag("data/bad-idx", `${name}: IDX element type ${t} is not supported, expected unsigned byte`));
  }
  if (bytes[3] !== rank) {
    return fail(diag("data/bad-idx", `${name}: IDX file has ${bytes[3]} dimensions, expected ${rank} for ${what}`));
  }
  const headerLen = 4 + 4 * rank;
  if (bytes.length < headerLen) {
    return fail(
      diag("data/truncated", `${name}: truncated IDX header (expected ${headerLen} bytes, file has ${bytes.length})`),
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < rank; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const expected = headerLen + dims.reduce((a, b) => a * b, 1);
  if (bytes.length !== expected) {
    const why = bytes.length < expected ? "truncated" : "has trailing bytes";
    return fail(
      diag(
        "data/truncated",
        `${name}: IDX file ${why} (dims ${dims.join("×")}: expected ${expected} bytes, got ${bytes.length})`,
      ),
    );
  }
  return ok({ dims, data: bytes.subarray(headerLen) });
}

/** Read an IDX labels file (idx1-ubyte, optionally gzipped). */
export function readIdxLabels(path: string): Result<Int32Array> {
  const bytes = readInput(path, true);
  if (!bytes.ok) return bytes;
  const idx = decodeIdx(bytes.value, path, 1);
  return idx.ok ? ok(Int32Array.from(idx.value.data)) : idx;
}

/**
 * The labels file beside an images file named `X-images-idx3-ubyte(.gz)` or `X-images.idx3-ubyte(.gz)`:
 * `X-labels-idx1-ubyte(.gz)` / `X-labels.idx1-ubyte(.gz)`, same compression preferred; null if none exists.
 */
export function pairedLabelsPath(imagesPath: string): string | null {
  const m = /^(.*)-images([-.])idx3-ubyte(\.gz)?$/i.exec(basename(imagesPath));
  if (!m) return null;
  const stem = `${m[1]}-labels${m[2]}idx1-ubyte`;
  const candidates = m[3] ? [stem + m[3], stem] : [stem, `${stem}.gz`];
  for (const c of candidates) {
    const p = join(dirname(imagesPath), c);
    if (existsSync(p)) return p;
  }
  return null;
}

/**
 * Load an IDX images file as a Dataset (itemShape [1,H,W], pixels 0..255). With `autoPair`, labels come
 * from the matching labels file beside it when one exists (see pairedLabelsPath), else null.
 */
export function loadIdxDataset(path: string, source: string = path, autoPair = true): Result<Dataset> {
  const bytes = readInput(path, true);
  if (!bytes.ok) return bytes;
  const idx = decodeIdx(bytes.value, path, 3);
  if (!idx.ok) return idx;
  const [count, rows, cols] = idx.value.dims;
  let labels: Int32Array | null = null;
  const labelsPath = autoPair ? pairedLabelsPath(path) : null;
  if (labelsPath !== null) {
    const l = readIdxLabels(labelsPath);
    if (!l.ok) return l;
    if (l.value.length !== count) {
      return fail(
        diag(
          "data/label-count",
          `${path} has ${count} images but its labels file ${labelsPath} has ${l.value.length} labels`,
        ),
      );
    }
    labels = l.value;
  }
  return makeDataset(source, [1, rows, cols], Float64Array.from(idx.value.data), labels);
}

/** Encode unsigned bytes as IDX: shape [N] gives idx1 (labels), [N,H,W] gives idx3 (images). */
export function encodeIdx(shape: readonly number[], data: ArrayLike<number>): Buffer {
  if (shape.length < 1 || shape.length > 255 || shape.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) {
    throw new Error(`internal: bad IDX shape [${shape.join(",")}]`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`internal: ${data.length} values for IDX shape [${shape.join(",")}]`);
  const headerLen = 4 + 4 * shape.length;
  const out = Buffer.alloc(headerLen + count);
  out[2] = UBYTE;
  out[3] = shape.length;
  shape.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  for (let j = 0; j < count; j++) {
    const v = data[j];
    if (!Number.isInteger(v) || v < 0 || v > 255)
      throw new RangeError(`internal: IDX value ${v} at ${j} is not a byte`);
    out[headerLen + j] = v;
  }
  return out;
}

/** Write an IDX file (gzipped when the path ends in ".gz"). */
export function writeIdx(path: string, shape: readonly number[], data: ArrayLike<number>): Result<void> {
  return writeOutput(path, encodeIdx(shape, data));
}
