// Free-MPS writer over the LpModel. Sections in file order: NAME (with FREE: Clp and CBC need it to read
// free format), header comments, ROWS, COLUMNS (integer columns between MARKER lines), RHS, RANGES, BOUNDS,
// ENDATA. Every number goes through formatNumber; infinite bounds are written as bound types (FR, MI, PL).

import { formatNumber } from "./numbers.js";
import type { LpModel } from "./lp-model.js";

export function writeMps(m: LpModel): string {
  const out: string[] = [];
  const nr = m.rowNames.length,
    nc = m.colNames.length;
  out.push(`NAME ${m.name} FREE`);
  out.push(`* written by robustc (free MPS)`);
  for (const c of m.comments) out.push(`* ${c}`);
  out.push(`* ${nc} columns, ${nr} rows, ${m.indptr[nr]} nonzeros`);
  if (m.sense === "max") out.push("OBJSENSE", "    MAX");
  out.push("ROWS", " N obj");
  const banner = new Map(m.rowGroups.map((g) => [g.start, g]));
  const type = (r: number) => {
    const lo = m.rowLower[r],
      hi = m.rowUpper[r];
    return lo === hi ? "E" : Number.isFinite(lo) ? "G" : Number.isFinite(hi) ? "L" : "N";
  };
  for (let r = 0; r < nr; r++) {
    const g = banner.get(r);
    if (g) out.push(`* block ${g.name}: ${g.count} rows`);
    out.push(` ${type(r)} ${m.rowNames[r]}`);
  }
  // CSR → CSC for the column-wise section.
  const colCount = new Int32Array(nc + 1);
  for (let k = 0; k < m.indptr[nr]; k++) colCount[m.indices[k] + 1]++;
  for (let j = 0; j < nc; j++) colCount[j + 1] += colCount[j];
  const fill = colCount.slice(0, nc);
  const rowOf = new Int32Array(m.indptr[nr]),
    valOf = new Float64Array(m.indptr[nr]);
  for (let r = 0; r < nr; r++)
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      const p = fill[m.indices[k]]++;
      rowOf[p] = r;
      valOf[p] = m.values[k];
    }
  out.push("COLUMNS");
  let inInt = false;
  for (let j = 0; j < nc; j++) {
    if (!!m.colInteger[j] !== inInt) {
      out.push(inInt ? " MARKER 'MARKER' 'INTEND'" : " MARKER 'MARKER' 'INTORG'");
      inInt = !inInt;
    }
    const name = m.colNames[j];
    let wrote = false;
    if (m.objective[j] !== 0) {
      out.push(` ${name} obj ${formatNumber(m.objective[j])}`);
      wrote = true;
    }
    for (let p = colCount[j]; p < colCount[j + 1]; p++) {
      if (valOf[p] === 0) continue;
      out.push(` ${name} ${m.rowNames[rowOf[p]]} ${formatNumber(valOf[p])}`);
      wrote = true;
    }
    // A column in no row and not in the objective must still be declared.
    if (!wrote) out.push(` ${name} obj 0`);
  }
  if (inInt) out.push(" MARKER 'MARKER' 'INTEND'");
  out.push("RHS");
  if (m.objectiveConstant !== 0) out.push(` RHS obj ${formatNumber(-m.objectiveConstant)}`);
  for (let r = 0; r < nr; r++) {
    const t = type(r);
    const rhs = t === "E" || t === "G" ? m.rowLower[r] : t === "L" ? m.rowUpper[r] : 0;
    if (rhs !== 0) out.push(` RHS ${m.rowNames[r]} ${formatNumber(rhs)}`);
  }
  const ranged: number[] = [];
  for (let r = 0; r < nr; r++) if (type(r) === "G" && Number.isFinite(m.rowUpper[r])) ranged.push(r);
  if (ranged.length > 0) {
    out.push("RANGES");
    for (const r of ranged) out.push(` RNG ${m.rowNames[r]} ${formatNumber(m.rowUpper[r] - m.rowLower[r])}`);
  }
  out.push("BOUNDS");
  for (let j = 0; j < nc; j++) {
    const lo = m.colLower[j],
      hi = m.colUpper[j],
      n = m.colNames[j];
    if (lo === hi) {
      out.push(` FX BND ${n} ${formatNumber(lo)}`);
      continue;
    }
    if (lo === -Infinity && hi === Infinity) {
      out.push(` FR BND ${n}`);
      continue;
    }
    if (lo === -Infinity) out.push(` MI BND ${n}`);
    else if (lo !== 0) out.push(` LO BND ${n} ${formatNumber(lo)}`);
    if (hi !== Infinity) out.push(` UP BND ${n} ${formatNumber(hi)}`);
    else if (m.colInteger[j]) out.push(` PL BND ${n}`); // integers: some readers default their upper bound to 1
  }
  out.push("ENDATA", "");
  return out.join("\n");
}
