// The constraint AST: kind-tagged formulas whose leaves are blocks of linear relations over variable blocks,
// stored as sparse typed arrays (one conv layer = one block), combined by `and` and lane-wise `or`.
// Invariant: a row reads Σ vals·v[cols] + constant (sense) 0, with sense per row (0 '=', 1 '>=', −1 '<=').

import { match } from "ts-pattern";

/** A block of variables v[offset .. offset+size) with per-variable bounds (±Infinity when free). */
export interface VarBlock {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  /** MILP work marks binaries/integers; the LP passes never set it. */
  readonly integer: boolean;
}

export const EQ = 0,
  GE = 1,
  LE = -1;
export type SenseCode = typeof EQ | typeof GE | typeof LE;

/** A block of linear relations. Inside an `or`, `lane` says which disjunction each row belongs to. */
export interface LinearBlock {
  readonly kind: "linear";
  /** Row r is named `${name}_${r}` in LP files (names derive from ONNX node names). */
  readonly name: string;
  readonly rows: number;
  readonly indptr: Int32Array;
  readonly cols: Int32Array;
  readonly vals: Float64Array;
  readonly constant: Float64Array;
  readonly sense: Int8Array;
  /** Lane of each row inside an `or` (null: row r is in lane r). Ignored outside an `or`. */
  readonly lane: Int32Array | null;
}

export interface And {
  readonly kind: "and";
  readonly items: readonly Formula[];
}

/**
 * A lane-wise disjunction: for every lane j < width, one item must hold on its rows of lane j
 * (∧_j ∨_i item_i|j). An item with no row in lane j is not a choice for lane j. Items are linear blocks or
 * `and`s of them (no nested `or`). A ReLU layer of n neurons is one `or` of width n with two items.
 */
export interface Or {
  readonly kind: "or";
  readonly name: string;
  readonly width: number;
  readonly items: readonly Formula[];
  /** The network layer whose nonlinearity this is (set by encode; absent in hand-written IR). */
  readonly layer?: number;
}

export type Formula = LinearBlock | And | Or;

export interface Objective {
  readonly sense: "min" | "max";
  readonly cols: Int32Array;
  readonly vals: Float64Array;
  readonly constant: number;
}

export interface Problem {
  readonly vars: readonly VarBlock[];
  readonly constraint: Formula;
  readonly objective: Objective | null;
}

export const varCount = (p: Problem): number => p.vars.reduce((a, b) => Math.max(a, b.offset + b.size), 0);

export function findVar(p: Problem, name: string): VarBlock {
  const v = p.vars.find((b) => b.name === name);
  if (!v) throw new Error(`internal: no variable block '${name}'`);
  return v;
}

/** Accumulates rows into a LinearBlock; terms of one row are added then closed with `end`. */
export class RowBuilder {
  private readonly indptr: number[] = [0];
  private readonly cols: number[] = [];
  private readonly vals: number[] = [];
  private readonly constant: number[] = [];
  private readonly sense: number[] = [];
  private readonly lane: number[] = [];
  constructor(readonly name: string) {}
  term(col: number, val: number): this {
    if (val !== 0) {
      this.cols.push(col);
      this.vals.push(val);
    }
    return this;
  }
  end(sense: SenseCode, constant = 0, lane = -1): this {
    this.constant.push(constant);
    this.sense.push(sense);
    this.lane.push(lane);
    this.indptr.push(this.cols.length);
    return this;
  }
  get rows(): number {
    return this.constant.length;
  }
  build(): LinearBlock {
    // Rows given no lane keep the default "row r is in lane r" even when others name theirs.
    const lanes = this.lane.some((l) => l >= 0) ? Int32Array.from(this.lane, (l, r) => (l >= 0 ? l : r)) : null;
    return {
      kind: "linear",
      name: this.name,
      rows: this.constant.length,
      indptr: Int32Array.from(this.indptr),
      cols: Int32Array.from(this.cols),
      vals: Float64Array.from(this.vals),
      constant: Float64Array.from(this.constant),
      sense: Int8Array.from(this.sense),
      lane: lanes,
    };
  }
}

export const and = (...items: Formula[]): And => ({ kind: "and", items });
export const or = (name: string, width: number, items: Formula[], layer?: number): Or => ({
  kind: "or",
  name,
  width,
  items,
  ...(layer !== undefined ? { layer } : {}),
});

/** Value of row r at v (Σ vals·v[cols] + constant). */
export function rowValue(b: LinearBlock, r: number, v: ArrayLike<number>): number {
  let s = b.constant[r];
  for (let k = b.indptr[r]; k < b.indptr[r + 1]; k++) s += b.vals[k] * v[b.cols[k]];
  return s;
}

/** Whether row r holds at v, with absolute tolerance tol (≥ 0). */
export function rowHolds(b: LinearBlock, r: number, v: ArrayLike<number>, tol: number): boolean {
  const s = rowValue(b, r, v);
  return b.sense[r] === EQ ? Math.abs(s) <= tol : b.sense[r] === GE ? s >= -tol : s <= tol;
}

export const laneOf = (b: LinearBlock, r: number): number => (b.lane ? b.lane[r] : r);

/** The linear blocks of a formula, in order (an `or`'s items included). */
export function blocksOf(f: Formula): LinearBlock[] {
  return match(f)
    .with({ kind: "linear" }, (b) => [b])
    .with({ kind: "and" }, { kind: "or" }, (c) => c.items.flatMap(blocksOf))
    .exhaustive();
}

/** For each lane of an `or`: whether item i holds there (undefined when item i has no row in that lane). */
function itemLaneStatus(item: Formula, width: number, v: ArrayLike<number>, tol: number): Int8Array {
  // 0 = no row in lane, 1 = all rows hold, 2 = some row fails
  const st = new Int8Array(width);
  for (const b of blocksOf(item)) {
    for (let r = 0; r < b.rows; r++) {
      const j = laneOf(b, r);
      if (j < 0 || j >= width) throw new Error(`internal: lane ${j} outside width ${width} in block ${b.name}`);
      if (!rowHolds(b, r, v, tol)) st[j] = 2;
      else if (st[j] === 0) st[j] = 1;
    }
  }
  return st;
}

/**
 * For an `or`, the index of the first item that holds in each lane (−1 when none does). "First" makes ties
 * resolve as the restriction's conventions say: a ReLU's inactive item comes first (u = 0 is inactive), and a
 * max-pool's items follow the window's row-major order (the first maximal element wins).
 */
export function firstHolding(o: Or, v: ArrayLike<number>, tol: number): Int32Array {
  const choice = new Int32Array(o.width).fill(-1);
  o.items.forEach((item, i) => {
    const st = itemLaneStatus(item, o.width, v, tol);
    for (let j = 0; j < o.width; j++) if (choice[j] < 0 && st[j] === 1) choice[j] = i;
  });
  return choice;
}

/** Whether the assignment v satisfies the formula (absolute row tolerance tol). */
export function satisfies(f: Formula, v: ArrayLike<number>, tol: number): boolean {
  return match(f)
    .with({ kind: "linear" }, (b) => {
      for (let r = 0; r < b.rows; r++) if (!rowHolds(b, r, v, tol)) return false;
      return true;
    })
    .with({ kind: "and" }, (a) => a.items.every((i) => satisfies(i, v, tol)))
    .with({ kind: "or" }, (o) => firstHolding(o, v, tol).every((c) => c >= 0))
    .exhaustive();
}

/** Whether v is within the variable bounds (tolerance tol). */
export function withinBounds(p: Problem, v: ArrayLike<number>, tol: number): boolean {
  return p.vars.every((b) => {
    for (let i = 0; i < b.size; i++) {
      const x = v[b.offset + i];
      if (x < b.lower[i] - tol || x > b.upper[i] + tol) return false;
    }
    return true;
  });
}

export function freeBlock(name: string, offset: number, size: number): VarBlock {
  return {
    name,
    offset,
    size,
    lower: new Float64Array(size).fill(-Infinity),
    upper: new Float64Array(size).fill(Infinity),
    integer: false,
  };
}

/**
 * An `or` restricted to one item per lane (choice[j] = the item kept in lane j): the rows the chosen items
 * contribute, merged by block position (item i's p-th block → output block p, named as item 0's), rows in
 * lane order so names read `<block>_<neuron>` where each lane has one row. The one way a pattern becomes
 * rows (select-disjuncts, verify's restricted model); an item with no row in a lane contributes nothing there.
 */
export function restrictOr(o: Or, choice: Int32Array): Formula {
  const itemBlocks = o.items.map(blocksOf);
  const nBlocks = Math.max(...itemBlocks.map((b) => b.length));
  const out: LinearBlock[] = [];
  for (let p = 0; p < nBlocks; p++) {
    const perLane: [LinearBlock, number][][] = Array.from({ length: o.width }, () => []);
    itemBlocks.forEach((blocks, i) => {
      const b = blocks[p];
      if (!b) return;
      for (let r = 0; r < b.rows; r++) {
        const j = laneOf(b, r);
        if (choice[j] === i) perLane[j].push([b, r]);
      }
    });
    const picked = perLane.flat();
    if (picked.length === 0) continue;
    out.push(gatherRows(itemBlocks.find((bs) => bs[p])![p].name, picked));
  }
  return and(...out);
}

/** Rows of several blocks as one block (no lanes). */
function gatherRows(name: string, rows: readonly [LinearBlock, number][]): LinearBlock {
  let nnz = 0;
  for (const [b, r] of rows) nnz += b.indptr[r + 1] - b.indptr[r];
  const indptr = new Int32Array(rows.length + 1),
    cols = new Int32Array(nnz),
    vals = new Float64Array(nnz);
  const constant = new Float64Array(rows.length),
    sense = new Int8Array(rows.length);
  let k = 0;
  rows.forEach(([b, r], i) => {
    for (let q = b.indptr[r]; q < b.indptr[r + 1]; q++, k++) {
      cols[k] = b.cols[q];
      vals[k] = b.vals[q];
    }
    indptr[i + 1] = k;
    constant[i] = b.constant[r];
    sense[i] = b.sense[r];
  });
  return { kind: "linear", name, rows: rows.length, indptr, cols, vals, constant, sense, lane: null };
}
