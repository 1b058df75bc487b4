// Gemm and MatMul with one constant operand: lowered to a sparse `matrix` affine map over the flattened
// computed operand (row-major), whichever side it is on. Two constants fold; two computed tensors are not linear.

import { sizeOf } from "../../../ir/network.js";
import { broadcastShape, broadcastTo, type OpLowering, type Value } from "../context.js";
import { MAX_ELEMENTS, type ConstTensor } from "../load.js";

/**
 * Y[b, m, n] = alpha · Σ_k L[b, m, k] R[b, k, n] + bias[b, m, n] where exactly one of L, R is computed.
 * lIdx/rIdx give the flat index of an element in its operand; the constant side is read from `data`.
 */
interface Product {
  readonly batch: number;
  readonly M: number;
  readonly K: number;
  readonly N: number;
  readonly lIdx: (b: number, m: number, k: number) => number;
  readonly rIdx: (b: number, k: number, n: number) => number;
  readonly varLeft: boolean;
  readonly constData: Float64Array;
  readonly alpha: number;
  readonly bias: Float64Array;
  readonly cols: number;
}

function productToMatrix(p: Product) {
  const rows = p.batch * p.M * p.N;
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [],
    val: number[] = [];
  let r = 0;
  for (let b = 0; b < p.batch; b++)
    for (let m = 0; m < p.M; m++)
      for (let n = 0; n < p.N; n++) {
        for (let k = 0; k < p.K; k++) {
          const li = p.lIdx(b, m, k),
            ri = p.rIdx(b, k, n);
          const w = p.alpha * p.constData[p.varLeft ? ri : li];
          if (w !== 0) {
            idx.push(p.varLeft ? li : ri);
            val.push(w);
          }
        }
        indptr[++r] = idx.length;
      }
  return {
    kind: "matrix" as const,
    rows,
    cols: p.cols,
    indptr,
    indices: Int32Array.from(idx),
    values: Float64Array.from(val),
    bias: p.bias,
  };
}

function constMatmul(
  a: ConstTensor,
  b: ConstTensor,
  M: number,
  K: number,
  N: number,
  aT: boolean,
  bT: boolean,
  alpha: number,
): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[aT ? k * M + m : m * K + k] * b.data[bT ? n * K + k : k * N + n];
      y[m * N + n] = alpha * s;
    }
  return y;
}

const shapeOf = (v: Value) => (v.kind === "const" ? v.tensor.shape : v.shape);

const gemm: OpLowering = (node, ctx) => {
  const a = ctx.get(node.inputs[0]),
    b = ctx.get(node.inputs[1]);
  const c = node.inputs[2] ? ctx.get(node.inputs[2]) : undefined;
  if (!a || !b || (node.inputs[2] && !c)) return;
  const transA = node.int("transA", 0) === 1,
    transB = node.int("transB", 0) === 1;
  const alpha = node.float("alpha", 1),
    beta = node.float("beta", 1);
  const as = shapeOf(a),
    bs = shapeOf(b);
  if (as.length !== 2 || bs.length !== 2) {
    ctx.error(node, `operands must be 2-D, got [${as}] and [${bs}]`);
    return;
  }
  const [M, K] = transA ? [as[1], as[0]] : [as[0], as[1]];
  const [K2, N] = transB ? [bs[1], bs[0]] : [bs[0], bs[1]];
  if (K !== K2) {
    ctx.error(node, `inner dimensions differ: [${as}] and [${bs}] (transA=${+transA}, transB=${+transB})`);
    return;
  }
  if (M * N > MAX_ELEMENTS) {
    ctx.error(node, `output [${M},${N}] is too large`);
    return;
  }
  if (c && c.kind !== "const") {
    ctx.unsupported(node, "a computed C operand");
    return;
  }
  let bias = new Float64Array(M * N);
  if (c && c.kind === "const") {
    const bc = broadcastTo(c.tensor, [M, N]);
    if (!bc) {
      ctx.error(node, `C of shape [${c.tensor.shape}] does not broadcast to [${M},${N}]`);
      return;
    }
    bias = bc.map((v) => beta * v);
  }
  if (a.kind === "const" && b.kind === "const") {
    const y = constMatmul(a.tensor, b.tensor, M, K, N, transA, transB, alpha).map((v, i) => Math.fround(v + bias[i]));
    ctx.setConst(node.outputs[0], { dtype: "float", shape: [M, N], data: y });
    return;
  }
  if (a.kind === "var" && b.kind === "var") {
    ctx.unsupported(node, "multiplying two computed tensors (not linear)");
    return;
  }
  const varLeft = a.kind === "var";
  const p = productToMatrix({
    batch: 1,
    M,
    K,
    N,
    varLeft,
    alpha,
    bias,
    lIdx: (_b, m, k) => (transA ? k * M + m : m * K + k),
    rIdx: (_b, k, n) => (transB ? n * K + k : k * N + n),
    constData: varLeft
      ? (b as Extract<Value, { kind: "const" }>).tensor.data
      : (a as Extract<Value, { kind: "const" }>).tensor.data,
    cols: varLeft ? M * K : K * N,
  });
  const v = (varLeft ? a : b) as Extract<Value, { kind: "var" }>;
  ctx.addLayer(node, { kind: "affine", onnxOp: node.op, shape: [M, N], input: v.layer, op: p });
};

/** MatMul with numpy semantics: 1-D operands and broadcast batch dimensions on either side. */
const matmul: OpLowering = (node, ctx) => {
  const a = ctx.get(node.inputs[0]),
    b = ctx.get(node.inputs[1]);
  if (!a || !b) return;
  if (a.kind === "var" && b.kind === "var") {
    ctx.unsupported(node, "multiplying two computed tensors (not linear)");
    return;
  }
  let as = [...shapeOf(a)],
    bs = [...shapeOf(b)];
  if (as.length === 0 || bs.length === 0) {
    ctx.error(node, `operands must have rank >= 1, got [${as}] and [${bs}]`);
    return;
  }
  const aVec = as.length === 1,
    bVec = bs.length === 1;
  if (aVec) as = [1, as[0]];
  if (bVec) bs = [bs[0], 1];
  const M = as[as.length - 2],
    K = as[as.length - 1],
    K2 = bs[bs.length - 2],
    N = bs[bs.length - 1];
  if (K !== K2) {
    ctx.error(node, `inner dimensions differ: [${shapeOf(a)}] and [${shapeOf(b)}]`);
    return;
  }
  const aBatch = as.slice(0, -2),
    bBatch = bs.slice(0, -2);
  const batchDims = broadcastShape(aBatch, bBatch);
  if (!batchDims) {
    ctx.error(node, `batch dimensions [${aBatch}] and [${bBatch}] do not broadcast`);
    return;
  }
  const batch = sizeOf(batchDims);
  if (batch * M * N > MAX_ELEMENTS) {
    ctx.error(node, `output [${[...batchDims, M, N]}] is too large`);
    return;
  }
  // Numpy broadcasting of the batch dimensions: the offset of each output batch in either operand.
  const offsets = (opBatch: readonly number[], size: number): Int32Array => {
    const r = batchDims.length,
      src = [...new Array<number>(r - opBatch.length).fill(1), ...opBatch];
    const off = new Int32Array(batch),
      idx = new Array<number>(r).fill(0);
    for (let bb = 0; bb < batch; bb++) {
      let o = 0;
      for (let i = 0; i < r; i++) o = o * src[i] + (src[i] === 1 ? 0 : idx[i]);
      off[bb] = o * size;
      for (let i = r - 1; i >= 0; i--) {
        if (++idx[i] < batchDims[i]) break;
        idx[i] = 0;
      }
    }
    return off;
  };
  const aOff = offsets(aBatch, M * K),
    bOff = offsets(bBatch, K * N);
  const outShape = [...batchDims, ...(aVec ? [] : [M]), ...(bVec ? [] : [N])];
  const lIdx = (bb: number, m: number, k: number) => aOff[bb] + m * K + k;
  const rIdx = (bb: number, k: number, n: number) => bOff[bb] + k * N + n;
  if (a.kind === "const" && b.kind === "const") {
    const y = new Float64Array(batch * M * N);
    for (let bb = 0; bb < batch; bb++)
      for (let m = 0; m < M; m++)
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += a.tensor.data[lIdx(bb, m, k)] * b.tensor.data[rIdx(bb, k, n)];
          y[(bb * M + m) * N + n] = Math.fround(s);
        }
    ctx.setConst(node.outputs[0], { dtype: "float", shape: outShape, data: y });
    return;
  }
  const varLeft = a.kind === "var";
  const v = (varLeft ? a : b) as Extract<Value, { kind: "var" }>;
  const k = (varLeft ? b : a) as Extract<Value, { kind: "const" }>;
  const p = productToMatrix({
    batch,
    M,
    K,
    N,
    lIdx,
    rIdx,
    varLeft,
    alpha: 1,
    constData: k.tensor.data,
    bias: new Float64Array(batch * M * N),
    cols: sizeOf(v.shape),
  });
  ctx.addLayer(node, { kind: "affine", onnxOp: node.op, shape: outShape, input: v.layer, op: p });
};

export const linearOps: Record<string, OpLowering> = { Gemm: gemm, MatMul: matmul };
