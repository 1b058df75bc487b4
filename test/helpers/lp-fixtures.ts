// Small LPs with known optima for the solver conformance set, a seeded random feasible bounded LP, and
// a builder from a readable row/column spec to an LpModel.

import type { LpModel } from "../../compiler/backend/lp-model.js";
import { prng } from "./arbitraries.js";

type ColSpec = readonly [name: string, lower: number, upper: number, cost: number, integer?: boolean];
type RowSpec = readonly [name: string, lower: number, upper: number, coefs: Readonly<Record<string, number>>];

export function buildModel(
  name: string,
  sense: "min" | "max",
  cols: readonly ColSpec[],
  rows: readonly RowSpec[],
  constant = 0,
): LpModel {
  const index = new Map(cols.map(([n], j) => [n, j]));
  const indptr = new Int32Array(rows.length + 1),
    indices: number[] = [],
    values: number[] = [];
  rows.forEach(([, , , coefs], r) => {
    for (const [c, v] of Object.entries(coefs)) {
      const j = index.get(c);
      if (j === undefined) throw new Error(`fixture ${name}: unknown column ${c}`);
      indices.push(j);
      values.push(v);
    }
    indptr[r + 1] = indices.length;
  });
  return {
    name,
    comments: [],
    sense,
    objective: Float64Array.from(cols, (c) => c[3]),
    objectiveConstant: constant,
    colNames: cols.map((c) => c[0]),
    colLower: Float64Array.from(cols, (c) => c[1]),
    colUpper: Float64Array.from(cols, (c) => c[2]),
    colInteger: Uint8Array.from(cols, (c) => (c[4] ? 1 : 0)),
    rowNames: rows.map((r) => r[0]),
    rowGroups: [],
    rowLower: Float64Array.from(rows, (r) => r[1]),
    rowUpper: Float64Array.from(rows, (r) => r[2]),
    indptr,
    indices: Int32Array.from(indices),
    values: Float64Array.from(values),
  };
}

export interface Fixture {
  readonly what: string;
  readonly model: LpModel;
  readonly expect: { status: "optimal"; objective: number } | { status: "infeasible" | "unbounded" };
  readonly integer?: boolean;
}

const inf = Infinity;

export const FIXTURES: readonly Fixture[] = [
  {
    what: "textbook 2-variable LP (Wyndor glass: max 3x + 5y → 36 at (2, 6))",
    model: buildModel(
      "wyndor",
      "max",
      [
        ["x", 0, inf, 3],
        ["y", 0, inf, 5],
      ],
      [
        ["plant1", -inf, 4, { x: 1 }],
        ["plant2", -inf, 12, { y: 2 }],
        ["plant3", -inf, 18, { x: 3, y: 2 }],
      ],
    ),
    expect: { status: "optimal", objective: 36 },
  },
  {
    what: "free, boxed, half-bounded and fixed columns, an empty row, an objective constant (→ -7)",
    // min −x − 2y + z − w + 5 (+0·f, f fixed at 3): x = 3 − y, y = 2, z = −3, w = 4 → −1 − 4 − 3 − 4 + 5 = −7.
    model: buildModel(
      "bounds",
      "min",
      [
        ["x", -inf, inf, -1],
        ["y", -1, 2, -2],
        ["z", -3, inf, 1],
        ["w", -inf, 4, -1],
        ["f", 3, 3, 0],
        ["unused_col", 0, 1, 0],
      ],
      [
        ["sum", -inf, 3, { x: 1, y: 1 }],
        ["diff", -2, inf, { x: 1, y: -1 }],
        ["empty_row", -inf, inf, {}],
      ],
      5,
    ),
    expect: { status: "optimal", objective: -7 },
  },
  {
    what: "equality rows (min 2a + 3b + c, a + b + c = 10, a − b = 2, c ≤ 3 → 19.5)",
    model: buildModel(
      "equalities",
      "min",
      [
        ["a", 0, inf, 2],
        ["b", 0, inf, 3],
        ["c", 0, 3, 1],
      ],
      [
        ["total", 10, 10, { a: 1, b: 1, c: 1 }],
        ["gap", 2, 2, { a: 1, b: -1 }],
      ],
    ),
    expect: { status: "optimal", objective: 19.5 },
  },
  {
    what: "a max problem with a ranged row (max x + y, 1 ≤ x + 2y ≤ 4, x ≤ 3 → 3.5)",
    model: buildModel(
      "ranged_max",
      "max",
      [
        ["x", 0, 3, 1],
        ["y", 0, inf, 1],
      ],
      [["band", 1, 4, { x: 1, y: 2 }]],
    ),
    expect: { status: "optimal", objective: 3.5 },
  },
  {
    what: "infeasible LP (x + y ≤ 1 and x + y ≥ 2)",
    model: buildModel(
      "infeasible",
      "min",
      [
        ["x", 0, inf, 1],
        ["y", 0, inf, 1],
      ],
      [
        ["upper", -inf, 1, { x: 1, y: 1 }],
        ["lower", 2, inf, { x: 1, y: 1 }],
      ],
    ),
    expect: { status: "infeasible" },
  },
  {
    what: "unbounded LP (max x + y, x − y ≤ 1)",
    model: buildModel(
      "unbounded",
      "max",
      [
        ["x", 0, inf, 1],
        ["y", 0, inf, 1],
      ],
      [["r", -inf, 1, { x: 1, y: -1 }]],
    ),
    expect: { status: "unbounded" },
  },
  {
    what: "degenerate LP (Beale's cycling example: max 10x1 − 57x2 − 9x3 − 24x4 → 1)",
    model: buildModel(
      "degenerate",
      "max",
      [
        ["x1", 0, inf, 10],
        ["x2", 0, inf, -57],
        ["x3", 0, inf, -9],
        ["x4", 0, inf, -24],
      ],
      [
        ["r1", -inf, 0, { x1: 0.5, x2: -5.5, x3: -2.5, x4: 9 }],
        ["r2", -inf, 0, { x1: 0.5, x2: -1.5, x3: -0.5, x4: 1 }],
        ["r3", -inf, 1, { x1: 1 }],
      ],
    ),
    expect: { status: "optimal", objective: 1 },
  },
  {
    what: "a small MIP (max 30c + 50t, c + 2t ≤ 40.5, 2c + t ≤ 50, integers → 1100)",
    model: buildModel(
      "mip",
      "max",
      [
        ["chairs", 0, inf, 30, true],
        ["tables", 0, inf, 50, true],
      ],
      [
        ["carpentry", -inf, 40.5, { chairs: 1, tables: 2 }],
        ["finishing", -inf, 50, { chairs: 2, tables: 1 }],
      ],
    ),
    expect: { status: "optimal", objective: 1100 },
    integer: true,
  },
];

/**
 * A random feasible, bounded LP: columns in random boxes, rows a·x {≤, ≥, =} a·x0 (± slack) around a point
 * x0 inside the boxes, so x0 is feasible; names like the compiler's. `density` is the share of nonzeros.
 */
export function randomFeasibleLp(seed: number, nCols: number, nRows: number, density: number): LpModel {
  const rand = prng(seed);
  const cols: ColSpec[] = [],
    rows: RowSpec[] = [];
  const x0: number[] = [];
  for (let j = 0; j < nCols; j++) {
    const lo = -1 - rand() * 2,
      hi = 1 + rand() * 2;
    cols.push([`aff_conv1_Conv_${j}`, lo, hi, rand() * 2 - 1]);
    x0.push(lo + (hi - lo) * rand());
  }
  for (let r = 0; r < nRows; r++) {
    const coefs: Record<string, number> = {};
    let ax = 0;
    for (let j = 0; j < nCols; j++) {
      if (rand() >= density) continue;
      const v = Math.round((rand() * 2 - 1) * 1e6) / 1e6;
      if (v === 0) continue;
      coefs[cols[j][0]] = v;
      ax += v * x0[j];
    }
    const kind = rand();
    const slack = rand();
    if (kind < 0.1) rows.push([`eq_${r}`, ax, ax, coefs]);
    else if (kind < 0.55) rows.push([`relu_relu_Relu_phase_${r}`, -Infinity, ax + slack, coefs]);
    else rows.push([`margin_${r}`, ax - slack, Infinity, coefs]);
  }
  return buildModel(`random_${seed}`, "min", cols, rows, 0.25);
}
