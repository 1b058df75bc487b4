// NumPy .npy (format v1.0/2.0/3.0) reader and writer: bytes <-> { shape, dtype, data: Float64Array }, and
// .npy image/label files -> Dataset. Invariant: the writer emits exactly np.save's bytes (64-byte aligned header).

import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset, makeDataset, toLabels } from "./dataset.js";
import { readInput, writeOutput } from "./file.js";

export type NpyDtype =
  "uint8" | "int8" | "uint16" | "int16" | "uint32" | "int32" | "uint64" | "int64" | "float32" | "float64";

export interface NpyArray {
  readonly shape: readonly number[];
  readonly dtype: NpyDtype;
  /** prod(shape) values, C order, converted exactly to float64. */
  readonly data: Float64Array;
}

interface DtypeInfo {
  readonly kind: "u" | "i" | "f";
  readonly size: number;
}

const DTYPES: Readonly<Record<NpyDtype, DtypeInfo>> = {
  uint8: { kind: "u", size: 1 },
  int8: { kind: "i", size: 1 },
  uint16: { kind: "u", size: 2 },
  int16: { kind: "i", size: 2 },
  uint32: { kind: "u", size: 4 },
  int32: { kind: "i", size: 4 },
  uint64: { kind: "u", size: 8 },
  int64: { kind: "i", size: 8 },
  float32: { kind: "f", size: 4 },
  float64: { kind: "f", size: 8 },
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ALIGN = 64;
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy pads the header so shape[0] can grow in place
const MAX_NESTING = 16; // header literals nest 2 deep; a bound keeps hostile headers off the stack

// ---- header: a Python dict literal ----

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** Parse the small Python-literal subset numpy headers use; returns an error string on bad syntax. */
function parsePyLiteral(text: string): PyValue | string {
  let pos = 0;
  const ws = () => {
    while (pos < text.length && /\s/.test(text[pos])) pos++;
  };
  let depth = 0;
  const value = (): PyValue => {
    ws();
    const c = text[pos];
    if ((c === "{" || c === "(" || c === "[") && ++depth > MAX_NESTING) throw new SyntaxError("nesting too deep");
    if (c === "{") {
      pos++;
      const m = new Map<string, PyValue>();
      for (;;) {
        ws();
        if (text[pos] === "}") {
          pos++;
          depth--;
          return m;
        }
        const k = value();
        if (typeof k !== "string") throw new SyntaxError(`dict key at offset ${pos} is not a string`);
        ws();
        if (text[pos++] !== ":") throw new SyntaxError(`expected ':' at offset ${pos - 1}`);
        m.set(k, value());
        ws();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== "}") throw new SyntaxError(`expected ',' or '}' at offset ${pos}`);
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      pos++;
      const items: PyValue[] = [];
      for (;;) {
        ws();
        if (text[pos] === close) {
          pos++;
          depth--;
          return items;
        }
        items.push(value());
        ws();
        if (text[pos] === ",") pos++;
        else if (text[pos] !== close) throw new SyntaxError(`expected ',' or '${close}' at offset ${pos}`);
      }
    }
    if (c === "'" || c === '"') {
      let s = "";
      pos++;
      while (pos < text.length && text[pos] !== c) {
        if (text[pos] === "\\") pos++;
        s += text[pos++] ?? "";
      }
      if (pos >= text.length) throw new SyntaxError("unterminated string");
      pos++;
      return s;
    }
    const intRe = /-?\d+[lL]?/y; // Python 2 numpy wrote shapes like (10L, 784L)
    intRe.lastIndex = pos;
    const num = intRe.exec(text);
    if (num) {
      pos += num[0].length;
      return Number(num[0].replace(/[lL]$/, ""));
    }
    for (const [word, v] of [
      ["True", true],
      ["False", false],
      ["None", null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    throw new SyntaxError(`unexpected ${c === undefined ? "end of header" : `'${c}'`} at offset ${pos}`);
  };
  try {
    const v = value();
    ws();
    return pos === text.length ? v : `trailing text at offset ${pos}`;
  } catch (e) {
    if (e instanceof SyntaxError) return e.message;
    throw e;
  }
}

function parseDescr(descr: string, name: string): Result<NpyDtype> {
  const m = /^([<>|=])([uif])(\d+)$/.exec(descr);
  const found =
    m && (Object.keys(DTYPES) as NpyDtype[]).find((k) => DTYPES[k].kind === m[2] && DTYPES[k].size === Number(m[3]));
  if (!m || !found) {
    return fail(
      diag(
        "data/bad-dtype",
        `${name}: unsupported dtype '${descr}' (supported: unsigned/signed ints, float32, float64)`,
      ),
    );
  }
  if (m[1] === ">" && DTYPES[found].size > 1) {
    return fail(
      diag(
        "data/bad-dtype",
        `${name}: big-endian dtype '${descr}' is not supported; save with arr.astype('<${m[2]}${m[3]}')`,
      ),
    );
  }
  return ok(found);
}

// ---- reading ----

/** Decode .npy bytes; `name` is the file named in error messages. */
export function decodeNpy(bytes: Uint8Array, name: string): Result<NpyArray> {
  const bad = (what: string) => fail<NpyArray>(diag("data/bad-npy", `${name}: ${what}`));
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    return bad("not a .npy file (missing \\x93NUMPY magic)");
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0) return bad(`unsupported .npy format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) return bad("truncated header");
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lenBytes;
  const dataStart = headerStart + headerLen;
  if (bytes.length < dataStart) {
    return fail(
      diag("data/truncated", `${name}: truncated header (expected ${dataStart} bytes, file has ${bytes.length})`),
    );
  }
  const headerText = Buffer.from(bytes.buffer, bytes.byteOffset + headerStart, headerLen).toString(
    major === 3 ? "utf8" : "latin1",
  );
  const header = parsePyLiteral(headerText);
  if (typeof header === "string") return bad(`malformed header (${header})`);
  if (!(header instanceof Map)) return bad("malformed header (not a dict)");
  const descr = header.get("descr");
  const fortran = header.get("fortran_order");
  const shapeV = header.get("shape");
  if (descr === undefined || fortran === undefined || shapeV === undefined) {
    return bad("header lacks one of 'descr', 'fortran_order', 'shape'");
  }
  if (typeof descr !== "string") return fail(diag("data/bad-dtype", `${name}: structured dtypes are not supported`));
  if (typeof fortran !== "boolean") return bad("'fortran_order' is not True/False");
  if (!Array.isArray(shapeV) || shapeV.some((d) => typeof d !== "number" || d < 0 || !Number.isSafeInteger(d))) {
    return bad("'shape' is not a tuple of non-negative integers");
  }
  const shape = shapeV as number[];
  if (fortran) {
    return fail(
      diag(
        "data/fortran-order",
        `${name}: Fortran-order arrays are not supported; save np.ascontiguousarray(arr) instead`,
      ),
    );
  }
  const dt = parseDescr(descr, name);
  if (!dt.ok) return dt;
  const { kind, size } = DTYPES[dt.value];
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * size;
  const have = bytes.length - dataStart;
  if (have < need) {
    return fail(
      diag("data/truncated", `${name}: truncated data (expected ${need} bytes after the header, found ${have})`),
    );
  }
  const data = new Float64Array(count);
  if (size === 1 && kind === "u") {
    data.set(bytes.subarray(dataStart, dataStart + count));
  } else {
    for (let j = 0, off = dataStart; j < count; j++, off += size) {
      let v: number;
      if (kind === "f") v = size === 4 ? view.getFloat32(off, true) : view.getFloat64(off, true);
      else if (size === 8) {
        const big = kind === "u" ? view.getBigUint64(off, true) : view.getBigInt64(off, true);
        v = Number(big);
        if (!Number.isSafeInteger(v)) return bad(`value ${big} at flat index ${j} is too large to represent exactly`);
      } else if (kind === "u")
        v = size === 1 ? view.getUint8(off) : size === 2 ? view.getUint16(off, true) : view.getUint32(off, true);
      else v = size === 1 ? view.getInt8(off) : size === 2 ? view.getInt16(off, true) : view.getInt32(off, true);
      data[j] = v;
    }
  }
  return ok({ shape, dtype: dt.value, data });
}

/** Read a .npy file. */
export function readNpy(path: string): Result<NpyArray> {
  const bytes = readInput(path);
  return bytes.ok ? decodeNpy(bytes.value, path) : bytes;
}

// ---- writing ----

function descrOf(dtype: NpyDtype): string {
  const { kind, size } = DTYPES[dtype];
  return `${size === 1 ? "|" : "<"}${kind}${size}`;
}

/** Encode an array as .npy bytes, byte-identical to np.save (format 1.0, or 2.0 for huge headers). */
export function encodeNpy(shape: readonly number[], dtype: NpyDtype, data: ArrayLike<number>): Buffer {
  if (!(dtype in DTYPES)) throw new Error(`internal: unknown dtype ${dtype}`);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new Error(`internal: bad shape [${shape.join(",")}]`);
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`internal: ${data.length} values for shape [${shape.join(",")}]`);
  const shapeRepr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descrOf(dtype)}', 'fortran_order': False, 'shape': ${shapeRepr}, }`;
  if (shape.length > 0) header += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const hlen = header.length + 1; // + final newline
  let major = 1;
  let padlen = ALIGN - ((MAGIC.length + 2 + 2 + hlen) % ALIGN);
  if (hlen + padlen > 0xffff) {
    major = 2;
    padlen = ALIGN - ((MAGIC.length + 2 + 4 + hlen) % ALIGN);
  }
  const lenBytes = major === 1 ? 2 : 4;
  const { kind, size } = DTYPES[dtype];
  const dataStart = MAGIC.length + 2 + lenBytes + hlen + padlen;
  const out = Buffer.alloc(dataStart + count * size);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  if (major === 1) out.writeUInt16LE(hlen + padlen, 8);
  else out.writeUInt32LE(hlen + padlen, 8);
  out.write(header + " ".repeat(padlen) + "\n", 8 + lenBytes, "latin1");
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let j = 0, off = dataStart; j < count; j++, off += size) {
    const v = data[j];
    if (kind === "f") {
      if (size === 4) view.setFloat32(off, v, true);
      else view.setFloat64(off, v, true);
      continue;
    }
    const lo = kind === "u" ? 0 : -(2 ** (size * 8 - 1));
    const hi = kind === "u" ? 2 ** (size * 8) - 1 : 2 ** (size * 8 - 1) - 1;
    if (!Number.isInteger(v) || v < lo || v > hi || (size === 8 && !Number.isSafeInteger(v))) {
      throw new RangeError(`internal: value ${v} at index ${j} does not fit ${dtype}`);
    }
    if (size === 1) view.setUint8(off, v & 0xff);
    else if (size === 2) view.setUint16(off, v & 0xffff, true);
    else if (size === 4) view.setUint32(off, v >>> 0, true);
    else view.setBigInt64(off, BigInt(v), true);
  }
  return out;
}

/** Write a .npy file; returns the bytes written. */
export function writeNpy(
  path: string,
  shape: readonly number[],
  dtype: NpyDtype,
  data: ArrayLike<number>,
): Result<Buffer> {
  const bytes = encodeNpy(shape, dtype, data);
  const w = writeOutput(path, bytes);
  return w.ok ? ok(bytes) : w;
}

// ---- datasets ----

const IMAGE_DTYPES: readonly NpyDtype[] = ["uint8", "float32", "float64"];

/** Per-item shape of an N×... image array: N×D -> [D], N×H×W -> [1,H,W], N×C×H×W -> [C,H,W]. */
export function itemShapeOf(shape: readonly number[], name: string): Result<number[]> {
  const [, ...rest] = shape;
  if (shape.length === 2 || shape.length === 4) return ok(rest);
  if (shape.length === 3) return ok([1, ...rest]);
  return fail(diag("data/bad-shape", `${name}: array shape (${shape.join(", ")}) is not N×D, N×H×W or N×C×H×W`));
}

/** Load a .npy image array (uint8/float32/float64) as a Dataset without labels. */
export function loadNpyDataset(path: string, source: string = path): Result<Dataset> {
  const arr = readNpy(path);
  return arr.ok ? npyImages(arr.value, path, null, source) : arr;
}

/** An image array (uint8/float32/float64, N×D, N×H×W or N×C×H×W) as a Dataset; `path` names it in errors. */
export function npyImages(
  arr: NpyArray,
  path: string,
  labels: Int32Array | null,
  source: string = path,
): Result<Dataset> {
  const { shape, dtype, data } = arr;
  if (!IMAGE_DTYPES.includes(dtype)) {
    return fail(
      diag("data/bad-dtype", `${path}: image dtype ${dtype} is not supported (use uint8, float32 or float64)`),
    );
  }
  const itemShape = itemShapeOf(shape, path);
  if (!itemShape.ok) return itemShape;
  return makeDataset(source, itemShape.value, data, labels);
}

/** Load a .npy of N integer labels (shape (N,) or (N, 1), any integer dtype). */
export function readNpyLabels(path: string): Result<Int32Array> {
  const arr = readNpy(path);
  return arr.ok ? npyLabels(arr.value, path) : arr;
}

/** An array of N integer labels (shape (N,) or (N, 1), any integer dtype); `path` names it in errors. */
export function npyLabels(arr: NpyArray, path: string): Result<Int32Array> {
  const { shape, dtype, data } = arr;
  if (DTYPES[dtype].kind === "f") {
    return fail(diag("data/bad-labels", `${path}: labels must have an integer dtype, found ${dtype}`));
  }
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    return fail(diag("data/bad-labels", `${path}: labels must have shape (N,), found (${shape.join(", ")})`));
  }
  return toLabels(data, path);
}
