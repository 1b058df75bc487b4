// select-disjuncts: the convex restriction D(x*) of the paper's §4. In every lane of every `or`, keep the
// first item that the assignment at x* satisfies; the result is a conjunction of linear blocks (an LP).
// Conventions (they follow from "first"): a ReLU whose pre-activation at x* is exactly 0 is inactive
// (u ≤ 0, v = 0); a max-pool window with tied maxima keeps its first maximal element in row-major order.

import { match } from "ts-pattern";
import { and, firstHolding, laneOf, type Formula, type LinearBlock, type Or, type Problem } from "../ir/constraint.js";

export interface Selection {
  /** Per `or` (by name): the chosen item index in each lane. */
  readonly choices: ReadonlyMap<string, Int32Array>;
}

export function selectDisjuncts(p: Problem, assignment: Float64Array): { problem: Problem; selection: Selection } {
  const choices = new Map<string, Int32Array>();
  const walk = (f: Formula): Formula => match(f)
    .with({ kind: "linear" }, (b) => b)
    .with({ kind: "and" }, (a) => and(...a.items.map(walk)))
    .with({ kind: "or" }, (o) => {
      // Selection is exact (tolerance 0): the rows of an `or` are copies and differences of trace values.
      const choice = firstHolding(o, assignment, 0);
      const bad = choice.indexOf(-1);
      if (bad >= 0) throw new Error(`internal: no disjunct of ${o.name} holds at x* in lane ${bad}`);
      choices.set(o.name, choice);
      return restrictOr(o, choice);
    })
    .exhaustive();
  return { problem: { ...p, constraint: walk(p.constraint) }, selection: { choices } };
}

/** The rows the chosen items contribute, merged by block position (item i's p-th block → output block p). */
export function restrictOr(o: Or, choice: Int32Array): Formula {
  const itemBlocks = o.items.map((it) => blocksIn(it));
  const nBlocks = Math.max(...itemBlocks.map((b) => b.length));
  const out: LinearBlock[] = [];
  for (let p = 0; p < nBlocks; p++) {
    // Rows per lane in lane order, so row names read `<block>_<neuron>` where each lane has one row.
    const picked: [LinearBlock, number][] = [];
    const perLane: [LinearBlock, number][][] = Array.from({ length: o.width }, () => []);
    itemBlocks.forEach((blocks, i) => {
      const b = blocks[p];
      if (!b) return;
      for (let r = 0; r < b.rows; r++) {
        const j = laneOf(b, r);
        if (choice[j] === i) perLane[j].push([b, r]);
      }
    });
    for (const rows of perLane) picked.push(...rows);
    if (picked.length === 0) continue;
    out.push(gather(itemBlocks.find((bs) => bs[p])![p].name, picked));
  }
  return and(...out);
}

function blocksIn(f: Formula): LinearBlock[] {
  return match(f)
    .with({ kind: "linear" }, (b) => [b])
    .with({ kind: "and" }, (a) => a.items.flatMap(blocksIn))
    .with({ kind: "or" }, () => { throw new Error("internal: nested or"); })
    .exhaustive();
}

function gather(name: string, rows: readonly [LinearBlock, number][]): LinearBlock {
  let nnz = 0;
  for (const [b, r] of rows) nnz += b.indptr[r + 1] - b.indptr[r];
  const indptr = new Int32Array(rows.length + 1), cols = new Int32Array(nnz), vals = new Float64Array(nnz);
  const constant = new Float64Array(rows.length), sense = new Int8Array(rows.length);
  let k = 0;
  rows.forEach(([b, r], i) => {
    for (let q = b.indptr[r]; q < b.indptr[r + 1]; q++, k++) { cols[k] = b.cols[q]; vals[k] = b.vals[q]; }
    indptr[i + 1] = k;
    constant[i] = b.constant[r];
    sense[i] = b.sense[r];
  });
  return { kind: "linear", name, rows: rows.length, indptr, cols, vals, constant, sense, lane: null };
}
