// eliminate: the `reduced` form. In the restricted (disjunction-free) problem every layer variable is
// defined by an equality in earlier variables; substitute them away so every remaining row is an affine
// function of the kept variables (x and t): the LP has n + 1 columns. `inverse` rebuilds all variables.

import { match } from "ts-pattern";
import { EQ, type Formula, type LinearBlock, type Problem, type VarBlock } from "../ir/constraint.js";

/** A sparse affine expression over the kept columns. */
interface Expr {
  readonly idx: Int32Array;
  readonly val: Float64Array;
  readonly c: number;
}

const ZERO: Expr = { idx: new Int32Array(0), val: new Float64Array(0), c: 0 };

export function conjunctionBlocks(f: Formula): LinearBlock[] {
  return match(f)
    .with({ kind: "linear" }, (b) => [b])
    .with({ kind: "and" }, (a) => a.items.flatMap(conjunctionBlocks))
    .with({ kind: "or" }, (o) => {
      throw new Error(`internal: disjunction ${o.name} left; run select-disjuncts first`);
    })
    .exhaustive();
}

export interface Eliminated {
  readonly problem: Problem;
  /** Maps a solution over the kept variables back to every variable of the input problem. */
  readonly inverse: (kept: Float64Array) => Float64Array;
}

export function eliminate(p: Problem, keep: readonly string[]): Eliminated {
  const nOld = p.vars.reduce((a, b) => Math.max(a, b.offset + b.size), 0);
  const newCol = new Int32Array(nOld).fill(-1);
  const vars: VarBlock[] = [];
  let n = 0;
  for (const name of keep) {
    const b = p.vars.find((v) => v.name === name);
    if (!b) throw new Error(`internal: no variable '${name}' to keep`);
    vars.push({ ...b, offset: n });
    for (let i = 0; i < b.size; i++) newCol[b.offset + i] = n + i;
    n += b.size;
  }
  const def: (Expr | null)[] = new Array(nOld).fill(null);
  for (let c = 0; c < nOld; c++)
    if (newCol[c] >= 0) def[c] = { idx: Int32Array.of(newCol[c]), val: Float64Array.of(1), c: 0 };

  const acc = new Float64Array(n);
  const mark = new Uint8Array(n);
  const touched: number[] = [];
  const addExpr = (e: Expr, a: number): number => {
    for (let k = 0; k < e.idx.length; k++) {
      const j = e.idx[k];
      if (!mark[j]) {
        mark[j] = 1;
        touched.push(j);
      }
      acc[j] += a * e.val[k];
    }
    return a * e.c;
  };
  const flush = (scale: number, c: number): Expr => {
    touched.sort((a, b) => a - b);
    const idx: number[] = [],
      val: number[] = [];
    for (const j of touched) {
      if (acc[j] !== 0) {
        idx.push(j);
        val.push(acc[j] * scale);
      }
      acc[j] = 0;
      mark[j] = 0;
    }
    touched.length = 0;
    return { idx: Int32Array.from(idx), val: Float64Array.from(val), c: c * scale };
  };

  const out: { name: string; rows: Expr[]; sense: number[] }[] = [];
  for (const b of conjunctionBlocks(p.constraint)) {
    const rows: Expr[] = [],
      sense: number[] = [];
    for (let r = 0; r < b.rows; r++) {
      let undef = -1,
        undefCoef = 0,
        nUndef = 0;
      for (let k = b.indptr[r]; k < b.indptr[r + 1]; k++) {
        if (def[b.cols[k]] === null) {
          nUndef++;
          undef = b.cols[k];
          undefCoef = b.vals[k];
        }
      }
      if (nUndef > 1 || (nUndef === 1 && b.sense[r] !== EQ)) {
        throw new Error(`internal: row ${b.name}_${r} cannot be eliminated (${nUndef} undefined variables)`);
      }
      const len = b.indptr[r + 1] - b.indptr[r];
      if (nUndef === 1 && len === 1 && b.constant[r] === 0) {
        def[undef] = ZERO;
        continue;
      } // v = 0
      if (nUndef === 1 && len === 2 && b.constant[r] === 0) {
        // v − u = 0 (ReLU active, max-pool winner, reshape): share u's expression.
        const k0 = b.indptr[r],
          other = b.cols[k0] === undef ? k0 + 1 : k0;
        if (b.vals[other] === -undefCoef) {
          def[undef] = def[b.cols[other]];
          continue;
        }
      }
      let c = b.constant[r];
      for (let k = b.indptr[r]; k < b.indptr[r + 1]; k++)
        if (b.cols[k] !== undef) c += addExpr(def[b.cols[k]]!, b.vals[k]);
      if (nUndef === 1) def[undef] = flush(-1 / undefCoef, c);
      else {
        rows.push(flush(1, c));
        sense.push(b.sense[r]);
      }
    }
    if (rows.length > 0) out.push({ name: b.name, rows, sense });
  }
  const blocks: LinearBlock[] = out.map(({ name, rows, sense }) => {
    const indptr = new Int32Array(rows.length + 1);
    rows.forEach((e, i) => {
      indptr[i + 1] = indptr[i] + e.idx.length;
    });
    const cols = new Int32Array(indptr[rows.length]),
      vals = new Float64Array(indptr[rows.length]);
    rows.forEach((e, i) => {
      cols.set(e.idx, indptr[i]);
      vals.set(e.val, indptr[i]);
    });
    return {
      kind: "linear",
      name,
      rows: rows.length,
      indptr,
      cols,
      vals,
      constant: Float64Array.from(rows, (e) => e.c),
      sense: Int8Array.from(sense),
      lane: null,
    };
  });
  const obj = p.objective;
  let objective = null;
  if (obj) {
    let c = obj.constant;
    for (let k = 0; k < obj.cols.length; k++) c += addExpr(def[obj.cols[k]] ?? ZERO, obj.vals[k]);
    const e = flush(1, c);
    objective = { sense: obj.sense, cols: e.idx, vals: e.val, constant: e.c };
  }
  const inverse = (kept: Float64Array): Float64Array => {
    const full = new Float64Array(nOld);
    for (let c = 0; c < nOld; c++) {
      const e = def[c];
      if (!e) continue;
      let s = e.c;
      for (let k = 0; k < e.idx.length; k++) s += e.val[k] * kept[e.idx[k]];
      full[c] = s;
    }
    return full;
  };
  return { problem: { vars, constraint: { kind: "and", items: blocks }, objective }, inverse };
}
