// fast-check arbitrary for LpModels as our writers see them (names like the compiler's, bounds with
// ±inf, fixed and free columns, =/>=/<=/ranged/free rows, integer columns), and a by-name canonical form.

import fc from "fast-check";
import type { LpModel } from "../../compiler/backend/lp-model.js";

const COL_STEMS = [
  "x",
  "t",
  "aff_conv1_Conv_3",
  "relu_relu_Relu_phase",
  "Gemm_out",
  "e",
  "E1x",
  "inf_col",
  "free_x",
  "st",
  "bounds_y",
  "n0",
];
const ROW_STEMS = ["relu_relu_Relu_phase", "aff_fc1_Gemm", "c", "margin", "linf_lo", "R", "end_row", "min"];

const noNegZero = (v: number) => (v === 0 ? 0 : v);
/** Finite numbers: integers, awkward decimals, tiny and huge magnitudes (ranges stay below overflow). */
const num = fc
  .oneof(
    fc.integer({ min: -1000, max: 1000 }),
    fc.double({ min: -1e300, max: 1e300, noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0.1, 1 / 3, 1e-12, 123456.789, 5e-324, -2.5e-300, 0.30000000000000004),
  )
  .map(noNegZero);
const nonzero = num.filter((v) => v !== 0);

const boundArb: fc.Arbitrary<[number, number]> = fc.oneof(
  fc.constant<[number, number]>([0, Infinity]),
  fc.constant<[number, number]>([-Infinity, Infinity]),
  num.map((a): [number, number] => [a, Infinity]),
  num.map((b): [number, number] => [-Infinity, b]),
  num.map((b): [number, number] => [0, Math.abs(b) + 1]),
  fc
    .tuple(num, num)
    .filter(([a, b]) => a !== b)
    .map(([a, b]): [number, number] => [Math.min(a, b), Math.max(a, b)]),
  num.map((a): [number, number] => [a, a]),
);

const rowKindArb = fc.constantFrom("le", "ge", "eq", "range", "free");

export const modelArb: fc.Arbitrary<LpModel> = fc
  .record({
    nc: fc.integer({ min: 1, max: 10 }),
    nr: fc.integer({ min: 0, max: 10 }),
  })
  .chain(({ nc, nr }) =>
    fc.record({
      name: fc.constantFrom("p", "net_1", "mnist_mlp"),
      sense: fc.constantFrom<"min" | "max">("min", "max"),
      constant: fc.oneof(fc.constant(0), num),
      colStems: fc.array(fc.constantFrom(...COL_STEMS), { minLength: nc, maxLength: nc }),
      bounds: fc.array(boundArb, { minLength: nc, maxLength: nc }),
      integer: fc.array(fc.boolean(), { minLength: nc, maxLength: nc }),
      objective: fc.array(fc.option(nonzero, { nil: 0 }), { minLength: nc, maxLength: nc }),
      rows: fc.array(
        fc.record({
          stem: fc.constantFrom(...ROW_STEMS),
          kind: rowKindArb,
          a: num,
          b: num,
          // Column subset (unique indices) with values; a zero value is kept in the CSR (readers drop it).
          entries: fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: nc - 1 }), fc.oneof(nonzero, fc.constant(0))), {
            selector: ([j]) => j,
            maxLength: nc,
          }),
        }),
        { minLength: nr, maxLength: nr },
      ),
    }),
  )
  .map((g): LpModel => {
    const rowBounds = g.rows.map(({ kind, a, b }): [number, number] => {
      switch (kind) {
        case "le":
          return [-Infinity, b];
        case "ge":
          return [a, Infinity];
        case "eq":
          return [a, a];
        case "free":
          return [-Infinity, Infinity];
        default:
          return a === b ? [a, a] : [Math.min(a, b), Math.max(a, b)];
      }
    });
    const indptr = new Int32Array(g.rows.length + 1);
    const indices: number[] = [],
      values: number[] = [];
    g.rows.forEach((r, i) => {
      for (const [j, v] of r.entries) {
        indices.push(j);
        values.push(v);
      }
      indptr[i + 1] = indices.length;
    });
    return {
      name: g.name,
      comments: ["a random model", "for the round-trip test"],
      sense: g.sense,
      objective: Float64Array.from(g.objective),
      objectiveConstant: g.constant,
      colNames: g.colStems.map((s, j) => `${s}_${j}`),
      colLower: Float64Array.from(g.bounds, ([lo]) => lo),
      colUpper: Float64Array.from(g.bounds, ([, hi]) => hi),
      colInteger: Uint8Array.from(g.integer, (b) => (b ? 1 : 0)),
      rowNames: g.rows.map((r, i) => `${r.stem}_${i}`),
      rowGroups: g.rows.length > 0 ? [{ name: "block", start: 0, count: g.rows.length }] : [],
      rowLower: Float64Array.from(rowBounds, ([lo]) => lo),
      rowUpper: Float64Array.from(rowBounds, ([, hi]) => hi),
      indptr,
      indices: Int32Array.from(indices),
      values: Float64Array.from(values),
    };
  });

export interface Canonical {
  readonly sense: "min" | "max";
  readonly objectiveConstant: number;
  readonly cols: Record<string, { lower: number; upper: number; integer: boolean; cost: number }>;
  readonly rows: { name: string; lower: number; upper: number; coefs: Record<string, number> }[];
}

/** A model keyed by column name (rows stay in order; zero coefficients dropped). */
export function canonical(m: LpModel): Canonical {
  const cols: Canonical["cols"] = {};
  for (const j of [...m.colNames.keys()].sort((a, b) => (m.colNames[a] < m.colNames[b] ? -1 : 1))) {
    cols[m.colNames[j]] = {
      lower: m.colLower[j],
      upper: m.colUpper[j],
      integer: m.colInteger[j] !== 0,
      cost: m.objective[j],
    };
  }
  const rows = m.rowNames.map((name, r) => {
    const entries: [string, number][] = [];
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++)
      if (m.values[k] !== 0) entries.push([m.colNames[m.indices[k]], m.values[k]]);
    entries.sort(([a], [b]) => (a < b ? -1 : 1));
    return { name, lower: m.rowLower[r], upper: m.rowUpper[r], coefs: Object.fromEntries(entries) };
  });
  return { sense: m.sense, objectiveConstant: m.objectiveConstant, cols, rows };
}
