// to-lp-model: a disjunction-free problem → the flat LpModel. Columns follow the variable blocks (names
// `<block>_<i>`, or the block's name when it has one variable); rows follow the linear blocks (`<block>_<r>`).
// A row Σ a·v + c (sense) 0 becomes −c ≤ a·v, a·v ≤ −c or a·v = −c.

import { EQ, GE, type Problem } from "../ir/constraint.js";
import type { LpModel } from "../backend/lp-model.js";
import { conjunctionBlocks } from "./eliminate.js";

export function toLpModel(p: Problem, name: string, comments: readonly string[]): LpModel {
  const n = p.vars.reduce((a, b) => Math.max(a, b.offset + b.size), 0);
  const colNames = new Array<string>(n);
  const colLower = new Float64Array(n),
    colUpper = new Float64Array(n),
    colInteger = new Uint8Array(n);
  for (const b of p.vars) {
    for (let i = 0; i < b.size; i++) {
      colNames[b.offset + i] = b.size === 1 ? b.name : `${b.name}_${i}`;
      colLower[b.offset + i] = b.lower[i];
      colUpper[b.offset + i] = b.upper[i];
      colInteger[b.offset + i] = b.integer ? 1 : 0;
    }
  }
  const blocks = conjunctionBlocks(p.constraint);
  const m = blocks.reduce((a, b) => a + b.rows, 0);
  const nnz = blocks.reduce((a, b) => a + b.indptr[b.rows], 0);
  const rowNames = new Array<string>(m);
  const rowLower = new Float64Array(m),
    rowUpper = new Float64Array(m);
  const indptr = new Int32Array(m + 1),
    indices = new Int32Array(nnz),
    values = new Float64Array(nnz);
  let r0 = 0,
    k0 = 0;
  const rowGroups: { name: string; start: number; count: number }[] = [];
  for (const b of blocks) {
    if (b.rows > 0) rowGroups.push({ name: b.name, start: r0, count: b.rows });
    for (let r = 0; r < b.rows; r++) {
      const rhs = b.constant[r] === 0 ? 0 : -b.constant[r];
      rowNames[r0] = `${b.name}_${r}`;
      rowLower[r0] = b.sense[r] === EQ || b.sense[r] === GE ? rhs : -Infinity;
      rowUpper[r0] = b.sense[r] === GE ? Infinity : rhs;
      for (let k = b.indptr[r]; k < b.indptr[r + 1]; k++, k0++) {
        indices[k0] = b.cols[k];
        values[k0] = b.vals[k];
      }
      indptr[++r0] = k0;
    }
  }
  const objective = new Float64Array(n);
  if (p.objective)
    p.objective.cols.forEach((c, i) => {
      objective[c] += p.objective!.vals[i];
    });
  return {
    name,
    comments,
    sense: p.objective?.sense ?? "min",
    objective,
    objectiveConstant: p.objective?.constant ?? 0,
    colNames,
    colLower,
    colUpper,
    colInteger,
    rowNames,
    rowGroups,
    rowLower,
    rowUpper,
    indptr,
    indices,
    values,
  };
}
