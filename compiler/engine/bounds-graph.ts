// The bounds graph: sound lower bounds of output combinations G·y over B input boxes by CROWN back-substitution,
// in float64, as an ONNX model (opset GRAPH_OPSET) that onnxruntime runs. Consumes the Network IR; produces the
// model's bytes, or a diagnostic for a network it does not cover. Covered: chains of dense affine layers
// (matrix and scale-shift kinds: Gemm, MatMul, a separate Add/Sub/Mul/Div by constants), ReLU and reshapes
// without a gather source (flatten); any other layer kind (conv, average pool, max-pool, add, gather reshapes) is
// refused here and the engine computes bounds with the reference
// backend instead (runtime/engine/bounds.ts says which backend ran: Engine.boundsBackend).

import { diag, fail, ok, type Result } from "../diagnostics.js";
import { OnnxBuilder, type AttrValue } from "../frontend/onnx/write.js";
import { outputSize, sizeOf, type Layer, type Network } from "../ir/network.js";
import { GRAPH_OPSET, MAX_DENSE, neededLayers } from "./emit.js";
import { GRAPH_IO } from "./types.js";

/*
 * Design notes:
 * Inputs: `lower`, `upper` [B, n] (the boxes, row-major in the input shape), `rows` [B, R, K] (box b's R rows
 * over the K logits), and per ReLU layer `slopes_<id>` [B, n_id] (the lower-relaxation slopes; outside [0, 1]:
 * DeepPoly's choice). Outputs: `bound` [B, R] and per ReLU layer `pre_lower_<id>`, `pre_upper_<id>` [B, n]
 * (its pre-activation bounds). B and R are symbolic.
 *
 * What it computes, matching the reference (backsub.ts tightBounds with outputs = false, then backsub of the
 * rows, lower side only):
 *   layer bounds   in layer order, each affine layer's interval (IBP) from its input's bounds; an affine layer
 *                  that a ReLU reads and that is not an affine map of the input box alone (IBP is exact there)
 *                  is also back-substituted — rows [W; −W] down to the input — and its bounds are the
 *                  intersection of both (the reference also intersects with the first IBP pass over the box,
 *                  which the refined interval lies inside up to rounding pads)
 *   relaxation     per ReLU from its pre-activation bounds [l, h] (compiler/nonlinear/relu.ts): stable active
 *                  (l ≥ 0) exact, stable inactive (h ≤ 0) zero; unstable: upper line v ≤ s·u + t through (l, 0)
 *                  with s = h/(h − l) and t = −s·l, lower line v ≥ a·u with a the input slope where it lies in
 *                  [0, 1], else DeepPoly's choice (1 where h ≥ −l, else 0)
 *   back-substitution  Λ on a layer's value goes to its input: affine Λ·W (constant += Λ·b; a scale-shift:
 *                  Λ∘scale, constant += Λ·shift); ReLU Λ⁺·a + Λ⁻·s
 *                  (constant += Λ⁻·t); reshape nothing; at the input min over the box: Σ Λ⁺·lower + Λ⁻·upper.
 *
 * Soundness in float64 (issue 23's rule), the pad computed in the graph. Every sum the bound is made of is a
 * dot product of at most N terms (N below: all layer sizes on the chain plus the layer count plus 8, larger than
 * any sum's length plus the steps that add the constants up), so its rounding error is at most γ_N·Σ|terms|
 * (γ_N = N·u/(1 − N·u), u = 2^-53; any summation order, FMA or not). The coefficients Λ themselves need not be
 * exact: back-substitution is valid for whatever coefficients arrive at a layer, provided the value dropped by
 * rounding them is accounted for. Per row, a magnitude `mag` collects:
 *   affine step    |Λ|·(|W|·hmax + |b|) (scale-shift: |scale|, |shift|), hmax = max(|lower|, |upper|) of the layer's
 * input: bounds |E·h| where
 *                  E = fl(Λ·W) − Λ·W (|E| ≤ γ_N·|Λ|·|W|) and the rounding of Λ·b
 *   ReLU step      |Λ|·(2·zmax + t), zmax the pre-activation's max |value|: the rounding of each relaxed
 *                  coefficient (one product, relative u, slopes ≤ 1 + 2^-47) times |u| and of the sum Λ⁻·t
 *   input          |Λ|·3·xmax: the final sum's rounding (Λ·lower + min(Λ, 0)·(upper − lower), the width rounded)
 * and the bound is fl(c + lin) − (2·γ_N·mag + TINY). The factor 2 covers the rounding of mag itself (a sum of
 * non-negative terms, computed ≥ (1 − γ_N) of its value), of the additions of the constants and of the final
 * subtraction; TINY = 1e-290 covers underflow (each product loses at most 2^-1074). The interval (IBP) bounds
 * are padded the same way: ± (2·γ_N·(|W|·hmax + |b|) + TINY). The relaxation's own floats are rounded outward:
 * s and t are multiplied by 1 + 2^-48, which exceeds their rounding (three roundings of 2^-53), so the line
 * through (l, 0) with slope ≥ h/(h − l) stays above the ReLU on [l, h]; for h < 2^-900 (where h/(h − l) could
 * lose relative precision to underflow) s = 1, t = −l. Lower slopes in [0, 1] need no rounding (any is sound).
 * Hence the final lower bound never exceeds the exact-arithmetic minimum of G·y over the box of the network
 * with these float64 weights; the intermediate bounds likewise contain every exact value.
 */

/** The bounds graph's input and output names. */
export const BOUNDS_IO = {
  lower: "lower",
  upper: "upper",
  rows: "rows",
  rowCount: "R",
  bound: "bound",
  slopes: (id: number) => `slopes_${id}`,
  preLower: (id: number) => `pre_lower_${id}`,
  preUpper: (id: number) => `pre_upper_${id}`,
} as const;

const U = 2 ** -53;
const gamma = (n: number) => (n * U) / (1 - n * U);
/** The absolute part of every pad: covers underflow (see the header). */
export const BOUNDS_TINY = 1e-290;
/** s and t of an unstable ReLU's upper line are multiplied by this (outward, above their rounding). */
const OUTWARD = 1 + 2 ** -48;
/** Below this upper bound an unstable ReLU's upper line is v ≤ u − l (slope 1), never rounding-fragile. */
const SMALL_UPPER = 2 ** -900;

/** The ReLU layers of a network (layer order): the slopes the bounds take, one input per layer. */
export const reluLayers = (net: Network): number[] =>
  net.layers.filter((l, i) => l.kind === "relu" && neededLayers(net)[i]).map((l) => l.id);

/** Why the bounds graph does not cover a network (a layer kind it has no rule for), or null. */
export function boundsGraphRefusal(net: Network): string | null {
  const need = neededLayers(net);
  for (const l of net.layers) {
    if (!need[l.id]) continue;
    if (l.kind === "input" || l.kind === "relu") continue;
    if (l.kind === "reshape" && !l.source) continue;
    if (l.kind === "affine" && l.op.kind === "scale-shift") continue;
    if (l.kind === "affine" && l.op.kind === "matrix") {
      if (l.op.rows * l.op.cols > MAX_DENSE)
        return `layer '${l.name}': its ${l.op.rows}×${l.op.cols} matrix is too large to make dense`;
      continue;
    }
    const what = l.kind === "affine" ? `affine ${l.op.kind}` : l.kind === "reshape" ? "reshape with a gather" : l.kind;
    return `layer '${l.name}' (${l.onnxOp}): the bounds graph covers dense affine layers (matrix, scale-shift), ReLU and flatten only, not ${what}`;
  }
  return null;
}

interface Relaxation {
  readonly alpha: string;
  readonly s: string;
  readonly t: string;
  /** 2·zmax + t: the ReLU step's magnitude per neuron. */
  readonly mag: string;
}

class BoundsEmitter {
  readonly b = new OnnxBuilder(GRAPH_OPSET, "robustc_bounds");
  readonly lo: (string | undefined)[];
  readonly hi: (string | undefined)[];
  private readonly absMax = new Map<number, string>();
  /** Affine layer id → |W|·hmax + |b| per box ([B, m]). */
  private readonly affineMag = new Map<number, string>();
  private readonly weights = new Map<
    number,
    | { kind: "matrix"; W: string; bias: string; WtPos: string; WtNeg: string; absWt: string; absB: string }
    | { kind: "diagonal"; scale: string; shift: string }
  >();
  private readonly relax = new Map<number, Relaxation>();
  private readonly consts = new Map<string, string>();
  readonly padCoef: number;

  constructor(readonly net: Network) {
    this.lo = net.layers.map(() => undefined);
    this.hi = net.layers.map(() => undefined);
    const need = neededLayers(net);
    const chain = net.layers.filter((l) => need[l.id]);
    this.padCoef = 2 * gamma(chain.reduce((a, l) => a + sizeOf(l.shape), 0) + chain.length + 8);
  }

  op(op: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, prefix = op.toLowerCase()): string {
    const out = this.b.fresh(prefix);
    this.b.node(op, inputs, [out], attrs, this.b.fresh(op));
    return out;
  }

  f64(prefix: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.b.initializer({ name: this.b.fresh(prefix), dims, data, dtype: "float64" });
  }

  scalar(v: number): string {
    const key = `f${v}`;
    let n = this.consts.get(key);
    if (!n) this.consts.set(key, (n = this.f64(`c${v}`, [], [v])));
    return n;
  }

  ints(values: readonly number[]): string {
    const key = `i${values.join(",")}`;
    let n = this.consts.get(key);
    if (!n) {
      n = this.b.initializer({ name: this.b.fresh("axes"), dims: [values.length], data: values, dtype: "int64" });
      this.consts.set(key, n);
    }
    return n;
  }

  /** Σ over the last axis ([.., R, n] → [.., R]). */
  sumLast(x: string): string {
    return this.op("ReduceSum", [x, this.ints([-1])], { keepdims: 0 });
  }

  /** [B, n] → [B, 1, n] (broadcast against Λ [B or 1, R, n]). */
  mid(x: string): string {
    return this.op("Unsqueeze", [x, this.ints([1])]);
  }

  add(a: string | null, x: string): string {
    return a === null ? x : this.op("Add", [a, x]);
  }

  /** The pad of a magnitude: 2·γ_N·mag + TINY. */
  pad(mag: string): string {
    return this.op("Add", [this.op("Mul", [mag, this.scalar(this.padCoef)]), this.scalar(BOUNDS_TINY)]);
  }

  maxAbs(id: number): string {
    let n = this.absMax.get(id);
    if (!n) {
      n = this.op("Max", [this.op("Abs", [this.lo[id]!]), this.op("Abs", [this.hi[id]!])]);
      this.absMax.set(id, n);
    }
    return n;
  }

  run(): Result<void> {
    const need = neededLayers(this.net);
    const K = outputSize(this.net);
    const B = GRAPH_IO.batch,
      R = BOUNDS_IO.rowCount;
    for (const l of this.net.layers) {
      if (!need[l.id]) continue;
      switch (l.kind) {
        case "input": {
          const n = sizeOf(l.shape);
          this.b.input(BOUNDS_IO.lower, [B, n], "float64");
          this.b.input(BOUNDS_IO.upper, [B, n], "float64");
          this.lo[l.id] = BOUNDS_IO.lower;
          this.hi[l.id] = BOUNDS_IO.upper;
          break;
        }
        case "reshape":
          this.lo[l.id] = this.lo[l.input];
          this.hi[l.id] = this.hi[l.input];
          break;
        case "relu":
          this.relu(l);
          break;
        case "affine":
          this.affine(l);
          break;
        default:
          return fail(diag("engine/unsupported", boundsGraphRefusal(this.net) ?? `layer '${l.name}'`));
      }
    }
    this.b.input(BOUNDS_IO.rows, [B, R, K], "float64");
    const bound = this.backward(this.net.output, BOUNDS_IO.rows);
    this.b.node("Identity", [bound], [BOUNDS_IO.bound], {}, "bound");
    this.b.output(BOUNDS_IO.bound, [B, R], "float64");
    for (const id of reluLayers(this.net)) {
      const inp = (this.net.layers[id] as Extract<Layer, { kind: "relu" }>).input;
      const n = sizeOf(this.net.layers[inp].shape);
      this.b.node("Identity", [this.lo[inp]!], [BOUNDS_IO.preLower(id)], {}, `pre_lower_${id}`);
      this.b.node("Identity", [this.hi[inp]!], [BOUNDS_IO.preUpper(id)], {}, `pre_upper_${id}`);
      this.b.output(BOUNDS_IO.preLower(id), [B, n], "float64");
      this.b.output(BOUNDS_IO.preUpper(id), [B, n], "float64");
    }
    return ok(undefined);
  }

  private relu(l: Extract<Layer, { kind: "relu" }>): void {
    const n = sizeOf(l.shape);
    const lo = this.lo[l.input]!,
      hi = this.hi[l.input]!;
    const zero = this.scalar(0);
    this.b.input(BOUNDS_IO.slopes(l.id), [GRAPH_IO.batch, n], "float64");
    const unstable = this.op("And", [this.op("Less", [lo, zero]), this.op("Greater", [hi, zero])]);
    const active = this.op("Cast", [this.op("GreaterOrEqual", [lo, zero])], { to: 11 });
    // s = h/(h − l)·(1 + 2^-48) and t = (−l·s)·(1 + 2^-48), rounded outward (header); slope 1 for a tiny h.
    const chord = this.op("Mul", [this.op("Div", [hi, this.op("Sub", [hi, lo])]), this.scalar(OUTWARD)]);
    const sU = this.op("Where", [this.op("Greater", [hi, this.scalar(SMALL_UPPER)]), chord, this.scalar(1)]);
    const tU = this.op("Mul", [this.op("Mul", [this.op("Neg", [lo]), sU]), this.scalar(OUTWARD)]);
    const s = this.op("Where", [unstable, sU, active]);
    const t = this.op("Where", [unstable, tU, zero]);
    const deepPoly = this.op("Cast", [this.op("GreaterOrEqual", [hi, this.op("Neg", [lo])])], { to: 11 });
    const given = BOUNDS_IO.slopes(l.id);
    const valid = this.op("And", [
      this.op("GreaterOrEqual", [given, zero]),
      this.op("LessOrEqual", [given, this.scalar(1)]),
    ]);
    const alpha = this.op("Where", [unstable, this.op("Where", [valid, given, deepPoly]), active]);
    const zmax = this.maxAbs(l.input);
    this.relax.set(l.id, { alpha, s, t, mag: this.op("Add", [this.op("Add", [zmax, zmax]), t]) });
    this.lo[l.id] = this.op("Relu", [lo]);
    this.hi[l.id] = this.op("Relu", [hi]);
    this.absMax.set(l.id, this.hi[l.id]!);
  }

  private affine(l: Extract<Layer, { kind: "affine" }>): void {
    const op = l.op;
    const lo = this.lo[l.input]!,
      hi = this.hi[l.input]!;
    let ibpLo: string, ibpHi: string, m: number;
    if (op.kind === "scale-shift") {
      // y = scale ∘ h + shift (one product and one sum per value): the interval of each product is [min, max]
      // of its two ends; the magnitude |scale|·hmax + |shift|.
      m = op.scale.length;
      const scale = this.f64(`l${l.id}_scale`, [m], op.scale),
        shift = this.f64(`l${l.id}_shift`, [m], op.shift);
      this.weights.set(l.id, { kind: "diagonal", scale, shift });
      const mag = this.op("Add", [
        this.op("Mul", [this.maxAbs(l.input), this.f64(`l${l.id}_absScale`, [m], op.scale.map(Math.abs))]),
        this.f64(`l${l.id}_absShift`, [m], op.shift.map(Math.abs)),
      ]);
      this.affineMag.set(l.id, mag);
      const pad = this.pad(mag);
      const [p, q] = [this.op("Mul", [lo, scale]), this.op("Mul", [hi, scale])];
      ibpLo = this.op("Sub", [this.op("Add", [this.op("Min", [p, q]), shift]), pad]);
      ibpHi = this.op("Add", [this.op("Add", [this.op("Max", [p, q]), shift]), pad]);
    } else {
      if (op.kind !== "matrix")
        throw new Error("internal: the bounds graph's plan admits matrix and scale-shift layers only");
      const n = op.cols;
      m = op.rows;
      const W = new Float64Array(m * n);
      for (let r = 0; r < m; r++)
        for (let k = op.indptr[r]; k < op.indptr[r + 1]; k++) W[r * n + op.indices[k]] += op.values[k];
      const Wt = (f: (v: number) => number) => {
        const t = new Float64Array(n * m);
        for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) t[c * m + r] = f(W[r * n + c]);
        return t;
      };
      const bias = Float64Array.from(op.bias);
      const w = {
        kind: "matrix" as const,
        W: this.f64(`l${l.id}_W`, [m, n], W),
        bias: this.f64(`l${l.id}_b`, [m], bias),
        WtPos: this.f64(
          `l${l.id}_WtPos`,
          [n, m],
          Wt((v) => Math.max(v, 0)),
        ),
        WtNeg: this.f64(
          `l${l.id}_WtNeg`,
          [n, m],
          Wt((v) => Math.min(v, 0)),
        ),
        absWt: this.f64(`l${l.id}_absWt`, [n, m], Wt(Math.abs)),
        absB: this.f64(`l${l.id}_absb`, [m], bias.map(Math.abs)),
      };
      this.weights.set(l.id, w);
      // IBP: W⁺·lower + W⁻·upper + b, padded by 2·γ_N·(|W|·hmax + |b|) + TINY (header).
      const mag = this.op("Add", [this.op("MatMul", [this.maxAbs(l.input), w.absWt]), w.absB]);
      this.affineMag.set(l.id, mag);
      const pad = this.pad(mag);
      ibpLo = this.op("Sub", [
        this.op("Add", [this.op("Add", [this.op("MatMul", [lo, w.WtPos]), this.op("MatMul", [hi, w.WtNeg])]), w.bias]),
        pad,
      ]);
      ibpHi = this.op("Add", [
        this.op("Add", [this.op("Add", [this.op("MatMul", [hi, w.WtPos]), this.op("MatMul", [lo, w.WtNeg])]), w.bias]),
        pad,
      ]);
    }
    if (!this.backsubstituted(l)) {
      this.lo[l.id] = ibpLo;
      this.hi[l.id] = ibpHi;
      return;
    }
    // Back-substitution of rows [I; −I] (lower bounds of u and of −u), intersected with IBP.
    const stack = new Float64Array(2 * m * m);
    for (let i = 0; i < m; i++) {
      stack[i * m + i] = 1;
      stack[(m + i) * m + i] = -1;
    }
    const r = this.backward(l.id, this.f64(`l${l.id}_pm`, [2 * m, m], stack));
    const lowC = this.op("Slice", [r, this.ints([0]), this.ints([m]), this.ints([1])]);
    const upC = this.op("Neg", [this.op("Slice", [r, this.ints([m]), this.ints([2 * m]), this.ints([1])])]);
    this.lo[l.id] = this.op("Max", [ibpLo, lowC]);
    this.hi[l.id] = this.op("Min", [ibpHi, upC]);
  }

  /**
   * Back-substituted: an affine layer read by a ReLU (through flattens) whose own input is not the input box
   * through flattens alone (there IBP is already exact) — backsub.ts's refineBounds rule for dense chains.
   */
  private backsubstituted(l: Extract<Layer, { kind: "affine" }>): boolean {
    const net = this.net,
      need = neededLayers(net);
    const readByRelu = net.layers.some((r) => {
      if (!need[r.id] || r.kind !== "relu") return false;
      let id = r.input;
      while (net.layers[id].kind === "reshape") id = (net.layers[id] as Extract<Layer, { kind: "reshape" }>).input;
      return id === l.id;
    });
    if (!readByRelu) return false;
    let id = l.input;
    while (net.layers[id].kind === "reshape") id = (net.layers[id] as Extract<Layer, { kind: "reshape" }>).input;
    return net.layers[id].kind !== "input";
  }

  /** Lower bounds [B, R] of Λ·(layer `start`'s value) over each box, Λ [B or none, R, n_start]. */
  private backward(start: number, lambda: string): string {
    let L = lambda,
      c: string | null = null,
      mag: string | null = null;
    let id = start;
    for (;;) {
      const l = this.net.layers[id];
      if (l.kind === "input") {
        // min over the box of Λ·x = Λ·lower + min(Λ, 0)·(upper − lower), as batched matrix–vector products (no
        // [B, R, n] temporaries beyond min(Λ, 0) and |Λ|); its terms are at most |Λ|·3·xmax (mag, header).
        const col = (v: string) => this.op("Unsqueeze", [v, this.ints([-1])]);
        const mv = (A: string, v: string) => this.op("Squeeze", [this.op("MatMul", [A, col(v)]), this.ints([-1])]);
        const lo = this.lo[id]!,
          width = this.op("Sub", [this.hi[id]!, lo]);
        const lin = this.op("Add", [mv(L, lo), mv(this.op("Min", [L, this.scalar(0)]), width)]);
        const xmax3 = this.op("Mul", [this.maxAbs(id), this.scalar(3)]);
        mag = this.add(mag, mv(this.op("Abs", [L]), xmax3));
        return this.op("Sub", [c === null ? lin : this.op("Add", [c, lin]), this.pad(mag)]);
      }
      if (l.kind === "reshape") {
        id = l.input;
        continue;
      }
      if (l.kind === "affine") {
        const w = this.weights.get(l.id)!;
        c = this.add(c, this.op("MatMul", [L, w.kind === "matrix" ? w.bias : w.shift]));
        mag = this.add(mag, this.sumLast(this.op("Mul", [this.op("Abs", [L]), this.mid(this.affineMag.get(l.id)!)])));
        L = this.op(w.kind === "matrix" ? "MatMul" : "Mul", [L, w.kind === "matrix" ? w.W : w.scale]);
        id = l.input;
        continue;
      }
      if (l.kind === "relu") {
        const rx = this.relax.get(l.id)!;
        const neg = this.op("Min", [L, this.scalar(0)]);
        mag = this.add(mag, this.sumLast(this.op("Mul", [this.op("Abs", [L]), this.mid(rx.mag)])));
        c = this.add(c, this.sumLast(this.op("Mul", [neg, this.mid(rx.t)])));
        L = this.op("Add", [
          this.op("Mul", [this.op("Relu", [L]), this.mid(rx.alpha)]),
          this.op("Mul", [neg, this.mid(rx.s)]),
        ]);
        id = l.input;
        continue;
      }
      throw new Error(`internal: the bounds graph reached a ${l.kind} layer`);
    }
  }
}

/** The bounds graph of a network (or why it does not cover the network: the engine then uses the reference). */
export function boundsGraph(net: Network): Result<Uint8Array> {
  const why = boundsGraphRefusal(net);
  if (why) return fail(diag("engine/unsupported", why));
  const e = new BoundsEmitter(net);
  const r = e.run();
  if (!r.ok) return r;
  return ok(e.b.toBytes());
}
