// Decodes ONNX bytes (ModelProto, via onnx-proto/protobufjs) and converts TensorProtos to constant tensors.
// Produces diagnostics, never throws, for anything a user's file can get wrong.

import { readFileSync } from "node:fs";
import onnxProto from "onnx-proto";
import { diag, fail, ok, type Diagnostic, type Result } from "../../diagnostics.js";

// onnx-proto is CommonJS: under ES modules the named import fails at run time.
export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** A constant tensor: int64/int32/bool values are stored exactly in the Float64Array (|v| < 2^53). */
export interface ConstTensor {
  readonly dtype: "float" | "int";
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

const T = onnx.TensorProto.DataType;

export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}

/**
 * The most elements one tensor of a model may have (input, layer or folded constant): 2^24 (16.7 M), far
 * above any network robustc can measure, low enough that a corrupt dimension, pad or shape constant cannot
 * make the loader allocate gigabytes or loop for minutes.
 */
export const MAX_ELEMENTS = 2 ** 24;

export function readModelFile(path: string): Result<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EISDIR") return fail(diag("onnx/read", `${path}: is a directory, not an ONNX model file (EISDIR)`));
    return fail(diag("onnx/read", `${path}: cannot read the model file (${code ?? String(e)})`));
  }
  return decodeModel(bytes, path);
}

export function decodeModel(bytes: Uint8Array, file: string): Result<ModelProto> {
  if (bytes.length === 0) return fail(diag("onnx/empty", `${file}: empty file, not an ONNX model`));
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return fail(
      diag("onnx/decode", `${file}: not an ONNX model or corrupt/truncated (protobuf decode failed: ${why})`),
    );
  }
  // Random bytes can decode as a protobuf message with no graph; an ONNX model always has one.
  const g = model.graph;
  if (!g || (g.node ?? []).length === 0 || (g.output ?? []).length === 0 || toNumber(model.irVersion) <= 0) {
    return fail(diag("onnx/not-a-model", `${file}: not an ONNX model (no ir_version, graph, nodes or outputs)`));
  }
  return ok(model);
}

/** Converts an initializer / Constant value to a ConstTensor (raw_data little-endian or typed fields). */
export function tensorFromProto(t: TensorProto, what: string): Result<ConstTensor> {
  const shape = (t.dims ?? []).map(toNumber);
  const n = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    return fail(
      diag(
        "onnx/tensor",
        `${what}: tensor '${t.name ?? ""}' has an invalid shape [${shape.join(",")}] (dimensions must be non-negative integers)`,
      ),
    );
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData ?? []).length > 0) {
    return fail(
      diag(
        "onnx/external-data",
        `${what}: tensor '${t.name ?? ""}' uses external data, which is not supported (save the model with all tensors inside the file)`,
      ),
    );
  }
  const dt = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const bad = (msg: string): Result<ConstTensor> =>
    fail(diag("onnx/tensor", `${what}: tensor '${t.name ?? ""}' ${msg}`));
  const width: Record<number, number> = {
    [T.FLOAT]: 4,
    [T.DOUBLE]: 8,
    [T.INT64]: 8,
    [T.INT32]: 4,
    [T.INT8]: 1,
    [T.UINT8]: 1,
    [T.BOOL]: 1,
    [T.INT16]: 2,
    [T.UINT16]: 2,
  };
  const w = width[dt];
  if (w === undefined)
    return bad(
      `has data type ${T[dt] ?? dt}, which is not supported (float32, float64, int64, int32, int8, uint8, bool)`,
    );
  // Allocated only once the data's length matches the shape: a corrupt dimension must not allocate.
  let data: Float64Array;
  if (raw) {
    if (raw.length !== n * w)
      return bad(`has ${raw.length} bytes of raw data, expected ${n * w} for shape [${shape.join(",")}]`);
    data = new Float64Array(n);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < n; i++) {
      const o = i * w;
      data[i] =
        dt === T.FLOAT
          ? dv.getFloat32(o, true)
          : dt === T.DOUBLE
            ? dv.getFloat64(o, true)
            : dt === T.INT64
              ? Number(dv.getBigInt64(o, true))
              : dt === T.INT32
                ? dv.getInt32(o, true)
                : dt === T.INT16
                  ? dv.getInt16(o, true)
                  : dt === T.UINT16
                    ? dv.getUint16(o, true)
                    : dt === T.INT8
                      ? dv.getInt8(o)
                      : dv.getUint8(o);
    }
  } else {
    const src: ArrayLike<number | { toNumber(): number }> =
      dt === T.FLOAT
        ? (t.floatData ?? [])
        : dt === T.DOUBLE
          ? (t.doubleData ?? [])
          : dt === T.INT64
            ? (t.int64Data ?? [])
            : (t.int32Data ?? []); // int32, int16, int8, uint8, uint16 and bool live in int32_data
    if (src.length !== n) return bad(`has ${src.length} values, expected ${n} for shape [${shape.join(",")}]`);
    data = new Float64Array(n);
    for (let i = 0; i < n; i++) data[i] = toNumber(src[i]);
    // float_data holds float32 values: round through Float32 so both paths give identical constants.
    if (dt === T.FLOAT) for (let i = 0; i < n; i++) data[i] = Math.fround(data[i]);
  }
  const dtype = dt === T.FLOAT || dt === T.DOUBLE ? "float" : "int";
  if (dtype === "float") {
    // A NaN or infinite weight makes every output NaN/inf: no LP, no robustness to measure.
    const i = data.findIndex((v) => !Number.isFinite(v));
    if (i >= 0) return bad(`contains ${data[i]} at flat index ${i} (weights must be finite)`);
  }
  return ok({ dtype, shape, data });
}

export function collect(results: Result<unknown>[]): Diagnostic[] {
  return results.flatMap((r) => (r.ok ? [] : r.diagnostics));
}
