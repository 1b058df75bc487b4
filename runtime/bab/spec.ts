// A VNN-LIB case (box + unsafe DNF) in the form the verification engine computes with: every atom as
// g(x, y) = Σ yw·y + Σ xw·x + c ≤ 0, and a float32-exact placement of points inside the box.

import type { Atom, VnnlibCase } from "../../grammar/vnnlib/parse.js";

/** Σ yw[k]·y[ys[k]] + Σ xw[k]·x[xs[k]] + c ≤ 0. */
export interface LeAtom {
  readonly ys: Int32Array;
  readonly yw: Float64Array;
  readonly xs: Int32Array;
  readonly xw: Float64Array;
  readonly c: number;
}

/** A conjunction of atoms; the case is unsafe (sat) when some disjunct holds somewhere in the box. */
export type Disjunct = readonly LeAtom[];

export interface Spec {
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly disjuncts: readonly Disjunct[];
}

/** `term <= 0` stays, `term >= 0` becomes `-term <= 0` (negation is exact). */
export function leAtom(a: Atom): LeAtom {
  const s = a.op === "<=" ? 1 : -1;
  const ys = [...a.term.y.keys()],
    xs = [...a.term.x.keys()];
  return {
    ys: Int32Array.from(ys),
    yw: Float64Array.from(ys, (j) => s * a.term.y.get(j)!),
    xs: Int32Array.from(xs),
    xw: Float64Array.from(xs, (i) => s * a.term.x.get(i)!),
    c: s * a.term.c + 0,
  };
}

export const specOf = (c: VnnlibCase): Spec => ({
  lower: c.inputLower,
  upper: c.inputUpper,
  disjuncts: c.unsafe.map((d) => d.map(leAtom)),
});

export function atomValue(a: LeAtom, x: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = a.c;
  for (let k = 0; k < a.ys.length; k++) s += a.yw[k] * y[a.ys[k]];
  for (let k = 0; k < a.xs.length; k++) s += a.xw[k] * x[a.xs[k]];
  return s;
}

/** max over the disjunct's atoms of g (≤ 0 iff the disjunct holds); −Infinity for an empty conjunction. */
export function disjunctValue(
  d: Disjunct,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
): { value: number; atom: number } {
  let value = -Infinity,
    atom = -1;
  d.forEach((a, k) => {
    const v = atomValue(a, x, y);
    if (v > value) {
      value = v;
      atom = k;
    }
  });
  return { value, atom };
}

/** min over disjuncts of disjunctValue: ≤ 0 iff the point is a counterexample; `values` gets every disjunct's. */
export function unsafeValue(
  s: Spec,
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  values?: Float64Array,
): { value: number; disjunct: number; atom: number } {
  let best = { value: Infinity, disjunct: -1, atom: -1 };
  s.disjuncts.forEach((d, i) => {
    const v = disjunctValue(d, x, y);
    if (values) values[i] = v.value;
    if (v.value < best.value) best = { value: v.value, disjunct: i, atom: v.atom };
  });
  return best;
}

const f32 = new Float32Array(1),
  u32 = new Uint32Array(f32.buffer);

/** The adjacent float32 towards +∞ (dir 1) or −∞ (dir −1) of a finite float32 value. */
export function stepFloat32(v: number, dir: 1 | -1): number {
  if (v === 0) return dir * 1.401298464324817e-45;
  f32[0] = v;
  u32[0] += v > 0 === dir > 0 ? 1 : -1;
  return f32[0];
}

/**
 * x clipped to the box and rounded to float32 values that lie inside the box themselves (the model sees
 * float32; a rounded value just outside a bound is moved one ulp in). Null when some box is narrower than
 * one float32 step and contains no float32 value.
 */
export function toBoxFloat32(x: ArrayLike<number>, lower: Float64Array, upper: Float64Array): Float64Array | null {
  const out = new Float64Array(lower.length);
  for (let i = 0; i < out.length; i++) {
    let f = Math.fround(Math.min(upper[i], Math.max(lower[i], x[i])));
    if (f > upper[i]) f = stepFloat32(f, -1);
    if (f < lower[i]) f = stepFloat32(f, 1);
    if (!(f >= lower[i] && f <= upper[i])) return null;
    out[i] = f;
  }
  return out;
}

/** The box centre, the point every cheap search starts from. */
export const centre = (s: Spec): Float64Array => s.lower.map((l, i) => l + (s.upper[i] - l) / 2);
