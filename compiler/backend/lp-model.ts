// LpModel: the flat, solver-neutral linear program every writer and solver sees (they never import the
// constraint AST). Rows are CSR with bounds lower ≤ a·x ≤ upper; columns have bounds and integrality.

export interface LpModel {
  readonly name: string;
  /** Comment lines for the file header (what the LP means, how to read its objective). */
  readonly comments: readonly string[];
  readonly sense: "min" | "max";
  readonly objective: Float64Array;
  readonly objectiveConstant: number;
  readonly colNames: readonly string[];
  readonly colLower: Float64Array;
  readonly colUpper: Float64Array;
  readonly colInteger: Uint8Array;
  readonly rowNames: readonly string[];
  /** Consecutive row ranges that came from one constraint block (for section banners); may be empty. */
  readonly rowGroups: readonly { readonly name: string; readonly start: number; readonly count: number }[];
  readonly rowLower: Float64Array;
  readonly rowUpper: Float64Array;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly values: Float64Array;
}

export const numCols = (m: LpModel): number => m.colNames.length;
export const numRows = (m: LpModel): number => m.rowNames.length;

/** Objective value of a column assignment. */
export function objectiveValue(m: LpModel, x: ArrayLike<number>): number {
  let s = m.objectiveConstant;
  for (let j = 0; j < m.objective.length; j++) if (m.objective[j] !== 0) s += m.objective[j] * x[j];
  return s;
}

/** Largest violation of any row or column bound by x (0 when feasible). */
export function maxViolation(m: LpModel, x: ArrayLike<number>): number {
  let worst = 0;
  for (let j = 0; j < m.colNames.length; j++) worst = Math.max(worst, m.colLower[j] - x[j], x[j] - m.colUpper[j]);
  for (let r = 0; r < m.rowNames.length; r++) {
    let s = 0;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) s += m.values[k] * x[m.indices[k]];
    worst = Math.max(worst, m.rowLower[r] - s, s - m.rowUpper[r]);
  }
  return worst;
}
