// CPLEX-LP writer over the LpModel. Sections in file order: header comments, objective, constraints (a
// banner per block), bounds, generals, end. Every number goes through formatNumber. A ranged row (both
// sides finite and different) is written as two rows, `<name>_lo` and `<name>_hi`: LP has no range syntax
// every reader shares.

import { formatNumber } from "./numbers.js";
import type { LpModel } from "./lp-model.js";

const WRAP = 240;

function terms(
  out: string[],
  head: string,
  idx: ArrayLike<number>,
  val: ArrayLike<number>,
  from: number,
  to: number,
  names: readonly string[],
): string {
  let line = head;
  let n = 0;
  for (let k = from; k < to; k++) {
    const v = val[k];
    if (v === 0) continue;
    const name = names[idx[k]];
    const mag = Math.abs(v) === 1 ? "" : `${formatNumber(Math.abs(v))} `;
    const t = `${v < 0 ? "-" : n === 0 ? "" : "+"} ${mag}${name}`;
    const piece = n === 0 && v > 0 ? `${mag}${name}` : t;
    if (line.length + piece.length + 1 > WRAP) {
      out.push(line);
      line = " ";
    }
    line += ` ${piece}`;
    n++;
  }
  // LP rows must have a term: an empty row keeps one zero coefficient (readers drop it again).
  if (n === 0) line += ` 0 ${names[0]}`;
  return line;
}

export function writeCplexLp(m: LpModel): string {
  const out: string[] = [];
  out.push(`\\ ${m.name}: written by robustc (CPLEX LP format)`);
  for (const c of m.comments) out.push(`\\ ${c}`);
  out.push(`\\ ${m.colNames.length} columns, ${m.rowNames.length} rows, ${m.indptr[m.rowNames.length]} nonzeros`);
  out.push("", "\\ ---- objective ----", m.sense === "min" ? "Minimize" : "Maximize");
  const objIdx: number[] = [],
    objVal: number[] = [];
  m.objective.forEach((v, j) => {
    if (v !== 0) {
      objIdx.push(j);
      objVal.push(v);
    }
  });
  let obj = terms(out, " obj:", objIdx, objVal, 0, objIdx.length, m.colNames);
  if (m.objectiveConstant !== 0)
    obj += ` ${m.objectiveConstant < 0 ? "-" : "+"} ${formatNumber(Math.abs(m.objectiveConstant))}`;
  out.push(obj);
  out.push("", "\\ ---- constraints ----", "Subject To");
  const banner = new Map(m.rowGroups.map((g) => [g.start, g]));
  for (let r = 0; r < m.rowNames.length; r++) {
    const g = banner.get(r);
    if (g) out.push(`\\ block ${g.name}: ${g.count} rows`);
    const lo = m.rowLower[r],
      hi = m.rowUpper[r];
    const emit = (name: string, rel: string, rhs: number) =>
      out.push(
        `${terms(out, ` ${name}:`, m.indices, m.values, m.indptr[r], m.indptr[r + 1], m.colNames)} ${rel} ${formatNumber(rhs)}`,
      );
    if (lo === hi) emit(m.rowNames[r], "=", lo);
    else if (Number.isFinite(lo) && Number.isFinite(hi)) {
      emit(`${m.rowNames[r]}_lo`, ">=", lo);
      emit(`${m.rowNames[r]}_hi`, "<=", hi);
    } else if (Number.isFinite(lo)) emit(m.rowNames[r], ">=", lo);
    else if (Number.isFinite(hi)) emit(m.rowNames[r], "<=", hi);
    else emit(m.rowNames[r], ">=", -Infinity);
  }
  out.push("", "\\ ---- bounds ----", "Bounds");
  for (let j = 0; j < m.colNames.length; j++) {
    const lo = m.colLower[j],
      hi = m.colUpper[j],
      n = m.colNames[j];
    if (lo === -Infinity && hi === Infinity) out.push(` ${n} free`);
    else if (lo === hi) out.push(` ${n} = ${formatNumber(lo)}`);
    else out.push(` ${formatNumber(lo)} <= ${n} <= ${hi === Infinity ? "+inf" : formatNumber(hi)}`);
  }
  const ints = m.colNames.filter((_, j) => m.colInteger[j]);
  if (ints.length > 0) {
    out.push("", "\\ ---- integrality ----", "Generals");
    for (let i = 0; i < ints.length; i += 8) out.push(` ${ints.slice(i, i + 8).join(" ")}`);
  }
  out.push("", "End", "");
  return out.join("\n");
}
