// The VnnlibProperty model, and how parsed asserts (one top-level conjunction) become one: bounds on a
// single X_i form the input box, the rest becomes a DNF of at most `maxDisjuncts` disjuncts.

import { diag, fail, ok, type Result } from "../../compiler/diagnostics.js";

/** Σ a_i X_i + Σ b_j Y_j + c; no zero coefficients are stored. */
export interface LinearTerm {
  readonly x: ReadonlyMap<number, number>;
  readonly y: ReadonlyMap<number, number>;
  readonly c: number;
}
/** term op 0, i.e. lhs − rhs op 0. */
export interface Atom {
  readonly term: LinearTerm;
  readonly op: "<=" | ">=";
}
export type Formula =
  { kind: "atom"; atom: Atom } | { kind: "and"; items: Formula[] } | { kind: "or"; items: Formula[] };

/** One input box with the unsafe set to check in it. */
export interface VnnlibCase {
  readonly inputLower: Float64Array;
  readonly inputUpper: Float64Array;
  readonly unsafe: readonly (readonly Atom[])[];
}

export interface VnnlibProperty {
  /** From the declarations: max index + 1 (gaps are an error). */
  readonly numInputs: number;
  readonly numOutputs: number;
  /**
   * Input box: the asserts that bound a single X_i by a constant (coefficient ±1), conjoined at top level
   * (VNN-COMP's convention). −Infinity / +Infinity where missing. Bounds that sit inside every disjunct
   * alike (e.g. `(assert (or (and (>= X_0 -1) (<= X_0 1) (>= Y_0 100))))`) are folded in too. When
   * `cases` is present, this is cases[0]'s box.
   */
  readonly inputLower: Float64Array;
  readonly inputUpper: Float64Array;
  /** Input constraints that are not simple bounds (rare), as formulas over X; they hold in every case. */
  readonly inputConstraints: readonly Formula[];
  /**
   * The output property as a DNF: disjuncts, each a conjunction of atoms over Y (and possibly X). The
   * file describes the UNSAFE set: `sat` means an input in the box (and the inputConstraints) whose
   * outputs satisfy some disjunct. `[[]]` (one empty conjunction) when nothing is asserted on Y; `[]`
   * when the disjunction is empty (false). When `cases` is present, this is cases[0]'s.
   */
  readonly unsafe: readonly (readonly Atom[])[];
  /**
   * Present only when the input box differs between disjuncts, i.e. the file has the shape
   * `(assert (or (and <bounds on X> <constraints on Y>) ...))` with different bounds per disjunct: one
   * case per distinct box, in order of first appearance. The property is sat iff some case is. A consumer
   * that reads only the top-level box and `unsafe` checks only the first case.
   */
  readonly cases?: readonly VnnlibCase[];
}

/** A parsed formula with its source position (the exported Formula has none). */
export type Node =
  | { readonly kind: "atom"; readonly atom: Atom; readonly line: number; readonly col: number }
  | { readonly kind: "and" | "or"; readonly items: readonly Node[]; readonly line: number; readonly col: number };

export const MAX_DISJUNCTS = 100_000;
/** Atoms summed over all disjuncts; bounds memory when each disjunct carries a whole input box. */
const MAX_DNF_ATOMS = 20_000_000;

interface Bound {
  readonly index: number;
  readonly lower: boolean;
  readonly value: number;
}

/**
 * `±X_i + c op 0` as a bound on X_i. Only coefficients ±1 count, so the bound is exactly the constant
 * of the file (negation is exact; a division would round); other single-variable atoms are constraints.
 */
function asBound(a: Atom): Bound | null {
  const t = a.term;
  if (t.y.size !== 0 || t.x.size !== 1) return null;
  const [[index, coef]] = t.x;
  if (coef !== 1 && coef !== -1) return null;
  const upper = (a.op === "<=") === (coef === 1); // X + c <= 0 or −X + c >= 0
  return { index, lower: !upper, value: coef === 1 ? 0 - t.c : t.c + 0 }; // `0 -` and `+ 0`: no −0
}

const mentionsY = (n: Node): boolean => (n.kind === "atom" ? n.atom.term.y.size > 0 : n.items.some(mentionsY));
const hasBound = (n: Node): boolean => (n.kind === "atom" ? asBound(n.atom) !== null : n.items.some(hasBound));

export function toFormula(n: Node): Formula {
  return n.kind === "atom" ? { kind: "atom", atom: n.atom } : { kind: n.kind, items: n.items.map(toFormula) };
}

/** Thrown inside the DNF expansion only, caught in buildProperty; `at` is the item that overflowed. */
class TooLarge {
  constructor(
    readonly at: Node,
    readonly what: string,
  ) {}
}

function dnf(n: Node, maxDisjuncts: number): Atom[][] {
  if (n.kind === "atom") return [[n.atom]];
  if (n.kind === "or") {
    const out: Atom[][] = [];
    for (const item of n.items) {
      for (const d of dnf(item, maxDisjuncts)) out.push(d);
      if (out.length > maxDisjuncts) throw new TooLarge(item, `${maxDisjuncts} disjuncts`);
    }
    return out;
  }
  let acc: Atom[][] = [[]];
  let accAtoms = 0;
  for (const item of n.items) {
    const d = dnf(item, maxDisjuncts);
    if (acc.length * d.length > maxDisjuncts) throw new TooLarge(item, `${maxDisjuncts} disjuncts`);
    const dAtoms = d.reduce((s, c) => s + c.length, 0);
    const atoms = d.length * accAtoms + acc.length * dAtoms;
    if (atoms > MAX_DNF_ATOMS) throw new TooLarge(item, `${MAX_DNF_ATOMS} atoms`);
    if (d.length === 1)
      for (const c of acc) c.push(...d[0]); // the common case: no copy
    else acc = acc.flatMap((a) => d.map((b) => [...a, ...b]));
    accAtoms = atoms;
  }
  return acc;
}

/** Flattens top-level `and`s: each assert, and each conjunct of an asserted `and`, is one conjunct. */
function conjuncts(ns: readonly Node[], out: Node[]): Node[] {
  for (const n of ns)
    if (n.kind === "and") conjuncts(n.items, out);
    else out.push(n);
  return out;
}

/**
 * Splits the asserts into the box, the input constraints and the unsafe DNF. A Y-free `or` goes to the
 * DNF (not to inputConstraints) when some branch bounds an X_i: that is a union of input boxes (cases).
 */
export function buildProperty(
  asserts: readonly Node[],
  numInputs: number,
  numOutputs: number,
  file: string,
  maxDisjuncts = MAX_DISJUNCTS,
): Result<VnnlibProperty> {
  const lower = new Float64Array(numInputs).fill(-Infinity);
  const upper = new Float64Array(numInputs).fill(Infinity);
  const inputConstraints: Formula[] = [];
  const rest: Node[] = [];
  for (const n of conjuncts(asserts, [])) {
    const b = n.kind === "atom" ? asBound(n.atom) : null;
    if (b) {
      if (b.lower) lower[b.index] = Math.max(lower[b.index], b.value);
      else upper[b.index] = Math.min(upper[b.index], b.value);
    } else if (!mentionsY(n) && !(n.kind === "or" && hasBound(n))) inputConstraints.push(toFormula(n));
    else rest.push(n);
  }

  let disjuncts: Atom[][];
  try {
    disjuncts =
      rest.length === 0 ? [[]] : dnf({ kind: "and", items: rest, line: rest[0].line, col: rest[0].col }, maxDisjuncts);
  } catch (e) {
    if (!(e instanceof TooLarge)) throw e;
    return fail(
      diag(
        "vnnlib/too-large",
        `${file}:${e.at.line}:${e.at.col}: with this formula the unsafe set's disjunctive normal form exceeds ${e.what} (a limit that bounds memory)`,
      ),
    );
  }

  // Group disjuncts by the box their own bounds carve out of the top-level box. The key lists only the
  // bounds that change it, so a disjunct without bounds (the usual shape) lands in the top-level group.
  interface Group {
    readonly key: string;
    readonly changes: Map<number, [number, number]>;
    readonly unsafe: Atom[][];
  }
  const groups = new Map<string, Group>();
  for (const d of disjuncts) {
    const others: Atom[] = [];
    const box = new Map<number, [number, number]>();
    for (const a of d) {
      const b = asBound(a);
      if (!b) {
        others.push(a);
        continue;
      }
      const cur = box.get(b.index) ?? [lower[b.index], upper[b.index]];
      if (b.lower) cur[0] = Math.max(cur[0], b.value);
      else cur[1] = Math.min(cur[1], b.value);
      box.set(b.index, cur);
    }
    const changes = new Map(
      [...box].filter(([i, [lo, hi]]) => lo !== lower[i] || hi !== upper[i]).sort((p, q) => p[0] - q[0]),
    );
    const key = [...changes].map(([i, [lo, hi]]) => `${i}:${lo}:${hi}`).join(",");
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { key, changes, unsafe: [] }));
    g.unsafe.push(others);
  }

  const caseOf = (g: Group): VnnlibCase => {
    const lo = lower.slice(),
      hi = upper.slice();
    for (const [i, [l, h]] of g.changes) {
      lo[i] = l;
      hi[i] = h;
    }
    return { inputLower: lo, inputUpper: hi, unsafe: g.unsafe };
  };
  const base = { numInputs, numOutputs, inputConstraints };
  if (groups.size === 0) return ok({ ...base, inputLower: lower, inputUpper: upper, unsafe: [] });
  const cases = [...groups.values()].map(caseOf);
  if (cases.length === 1) return ok({ ...base, ...cases[0] });
  return ok({ ...base, ...cases[0], cases });
}
