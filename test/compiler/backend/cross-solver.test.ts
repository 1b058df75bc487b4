// Cross-solver acceptance on real compiled LPs: for seed points of the example models, the .lp and .mps
// files our writers produce (1) read back through our own readers as exactly the LpModel that was written
// (by column name; numbers are written shortest-round-trip, so equality is exact), and (2) give the same
// status, and when optimal the same optimum to relative 1e-6, in the npm HiGHS (in process on the LpModel,
// and through its own LP and MPS parsers on the files), GLPK (glpsol, both files) and Clp (both files:
// Clp reads CPLEX-LP files as well as MPS, choosing the reader by the file's extension).
//
// Sizes and times (2-core machine): a mnist_mlp point is 785 columns, 1,777 rows, 167 k nonzeros, and all
// seven solves take ~4 s; a mnist_lenet point is 785 columns, 27,837 rows, 1.78 M nonzeros (a 52 MB .lp
// and a 100 MB .mps), in-process HiGHS ~15 s and Clp ~17 s per file, glpsol minutes per file: LeNet gets
// one point here, its files read back; that same LP (point 0, reduced form, second label) is solved in
// process and by Clp on the .mps, and their statuses compared with the lazy loop's, in
// test/runtime/lazy/lazy-loop.test.ts (not twice in one run); GLPK (and CBC) on LeNet are in bench/cross-solver.ts.
// Every LeNet LP seen so far is infeasible (x* meets every row but C_out: the target label is out of reach
// inside the linear region Z(x*)).

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeCplexLp } from "../../../compiler/backend/cplex-lp.js";
import type { LpModel } from "../../../compiler/backend/lp-model.js";
import { writeMps } from "../../../compiler/backend/mps.js";
import type { Result } from "../../../compiler/diagnostics.js";
import { compileOptions, type CompileOptions } from "../../../compiler/passes/options.js";
import { readCplexLp } from "../../../grammar/lp/read.js";
import { readMps } from "../../../grammar/mps/read.js";
import { compileSeed } from "../../../runtime/commands/compile.js";
import { openSession, type Session } from "../../../runtime/run/session.js";
import { getSolver, solveFile } from "../../../runtime/solvers/registry.js";
import type { FileSolution, SolveStatus, SolverName } from "../../../runtime/solvers/types.js";

const REL = 1e-6;
// Ten points (of which mnist_mlp's LPs are mostly feasible) compare optima; bench/cross-solver.ts runs more.
const MLP_POINTS = 10;
const LENET_POINTS = 1;

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(r.diagnostics.map((d) => d.message).join("; "));
  return r.value;
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-9);

/**
 * The first difference between `back` (read from a file) and the model `m` that was written, comparing
 * columns by name (bounds, objective, integrality) and rows in order (name, bounds, coefficients by column
 * name); null when they are the same model. Explicit zeros in `m` are ignored: the writers drop them.
 */
function modelDifference(m: LpModel, back: LpModel): string | null {
  if (back.sense !== m.sense) return `sense ${back.sense}, written ${m.sense}`;
  if (back.objectiveConstant !== m.objectiveConstant)
    return `objective constant ${back.objectiveConstant}, written ${m.objectiveConstant}`;
  const nc = m.colNames.length,
    nr = m.rowNames.length;
  if (back.colNames.length !== nc) return `${back.colNames.length} columns, written ${nc}`;
  if (back.rowNames.length !== nr) return `${back.rowNames.length} rows, written ${nr}`;
  const colOf = new Map(m.colNames.map((n, j) => [n, j]));
  if (colOf.size !== nc) return "the written model has duplicate column names";
  // map[j]: the written column of the read column j.
  const map = new Int32Array(nc);
  const seen = new Uint8Array(nc);
  for (let j = 0; j < nc; j++) {
    const name = back.colNames[j];
    const k = colOf.get(name);
    if (k === undefined) return `column '${name}' was not written`;
    if (seen[k]) return `column '${name}' read twice`;
    seen[k] = 1;
    map[j] = k;
    if (back.colLower[j] !== m.colLower[k] || back.colUpper[j] !== m.colUpper[k]) {
      return `column '${name}': bounds [${back.colLower[j]}, ${back.colUpper[j]}], written [${m.colLower[k]}, ${m.colUpper[k]}]`;
    }
    if (back.objective[j] !== m.objective[k])
      return `column '${name}': objective ${back.objective[j]}, written ${m.objective[k]}`;
    if (back.colInteger[j] !== m.colInteger[k])
      return `column '${name}': integrality ${back.colInteger[j]}, written ${m.colInteger[k]}`;
  }
  // Rows: scatter the written row into a dense scratch vector, then check the read row against it.
  const dense = new Float64Array(nc);
  for (let r = 0; r < nr; r++) {
    const name = m.rowNames[r];
    if (back.rowNames[r] !== name) return `row ${r}: '${back.rowNames[r]}', written '${name}'`;
    if (back.rowLower[r] !== m.rowLower[r] || back.rowUpper[r] !== m.rowUpper[r]) {
      return `row '${name}': bounds [${back.rowLower[r]}, ${back.rowUpper[r]}], written [${m.rowLower[r]}, ${m.rowUpper[r]}]`;
    }
    let written = 0;
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) {
      if (m.values[k] === 0) continue;
      dense[m.indices[k]] = m.values[k];
      written++;
    }
    let diff: string | null = null;
    const read = back.indptr[r + 1] - back.indptr[r];
    if (read !== written) diff = `row '${name}': ${read} coefficients, written ${written}`;
    for (let k = back.indptr[r]; k < back.indptr[r + 1] && diff === null; k++) {
      const j = map[back.indices[k]];
      if (back.values[k] !== dense[j])
        diff = `row '${name}', column '${m.colNames[j]}': coefficient ${back.values[k]}, written ${dense[j]}`;
    }
    for (let k = m.indptr[r]; k < m.indptr[r + 1]; k++) dense[m.indices[k]] = 0;
    if (diff !== null) return diff;
  }
  return null;
}

/** Writes both files of `m` under `dir` and checks that our readers give `m` back. */
function writeAndRoundTrip(m: LpModel, dir: string, stem: string): { lp: string; mps: string } {
  const lp = join(dir, `${stem}.lp`),
    mps = join(dir, `${stem}.mps`);
  const lpText = writeCplexLp(m);
  writeFileSync(lp, lpText);
  const fromLp = modelDifference(m, value(readCplexLp(lpText, lp)));
  assert.equal(fromLp, null, `${lp} read back differs: ${fromLp}`);
  const mpsText = writeMps(m);
  writeFileSync(mps, mpsText);
  const fromMps = modelDifference(m, value(readMps(mpsText, mps)));
  assert.equal(fromMps, null, `${mps} read back differs: ${fromMps}`);
  return { lp, mps };
}

interface Outcome {
  readonly label: string;
  readonly status: SolveStatus;
  readonly objective: number | null;
  readonly message?: string;
}

/** The objective of reported column values, by name (the model has no objective constant here). */
function objectiveOf(m: LpModel, values: ReadonlyMap<string, number>): number {
  let s = m.objectiveConstant;
  for (let j = 0; j < m.colNames.length; j++) {
    if (m.objective[j] === 0) continue;
    const v = values.get(m.colNames[j]);
    if (v === undefined) return NaN;
    s += m.objective[j] * v;
  }
  return s;
}

/**
 * Solves `m` in process and each (solver, file) given; the outcomes, the reference (in-process) first.
 * The external solvers are processes: they are started first, so that they run on another core while
 * HiGHS (WebAssembly, synchronous on this thread) solves; the short pause lets them be spawned before
 * HiGHS blocks the event loop (only a matter of time: without it they would just run after HiGHS).
 */
async function solveAll(
  m: LpModel,
  files: { lp: string; mps: string },
  runs: readonly (readonly [SolverName, "lp" | "mps"])[],
): Promise<Outcome[]> {
  const started = runs.map(([solver, format]) => (solver === "highs" ? null : solveFile(files[format], solver)));
  await new Promise((r) => setTimeout(r, 100));
  const h = await getSolver("highs").solve(m);
  const solutions: FileSolution[] = [];
  for (const [i, [solver, format]] of runs.entries())
    if (started[i] === null) solutions[i] = await solveFile(files[format], solver);
  for (const [i, p] of started.entries()) if (p !== null) solutions[i] = await p;
  const out: Outcome[] = [
    {
      label: "highs (LpModel)",
      status: h.status,
      objective: h.objective,
      ...(h.message ? { message: h.message } : {}),
    },
  ];
  for (const [i, [solver, format]] of runs.entries()) {
    const label = `${solver} (.${format})`,
      s = solutions[i];
    out.push({ label, status: s.status, objective: s.objective, ...(s.message ? { message: s.message } : {}) });
    if (s.status === "optimal") {
      // The reported values must carry the reported objective: the name → column map is right.
      assert.ok(
        s.values !== null && s.values.size === m.colNames.length,
        `${label}: values for ${s.values?.size} of ${m.colNames.length} columns`,
      );
      const fromValues = objectiveOf(m, s.values);
      assert.ok(
        s.objective !== null && relDiff(fromValues, s.objective) <= REL,
        `${label}: objective ${s.objective}, of its values ${fromValues}`,
      );
    }
  }
  return out;
}

/** Asserts that the outcomes agree; returns the largest relative objective difference to the reference. */
function assertAgree(what: string, outcomes: readonly Outcome[]): number {
  const show = () =>
    outcomes
      .map(
        (o) =>
          `${o.label}: ${o.status}${o.objective !== null ? ` ${o.objective}` : ""}${o.message ? ` (${o.message})` : ""}`,
      )
      .join("; ");
  const ref = outcomes[0];
  assert.ok(
    ref.status === "optimal" || ref.status === "infeasible" || ref.status === "unbounded",
    `${what}: ${show()}`,
  );
  for (const o of outcomes) assert.equal(o.status, ref.status, `${what}: statuses differ: ${show()}`);
  if (ref.status !== "optimal") return 0;
  let worst = 0;
  for (const o of outcomes) {
    assert.ok(o.objective !== null && Number.isFinite(o.objective), `${what}: ${o.label} optimal without an objective`);
    const d = relDiff(o.objective, ref.objective!);
    assert.ok(d <= REL, `${what}: objectives differ by ${d.toExponential(1)} relative: ${show()}`);
    worst = Math.max(worst, d);
  }
  return worst;
}

interface Tally {
  points: number;
  optimal: number;
  infeasible: number;
  other: number;
  worst: number;
}

function summary(model: string, t: Tally, solvers: string, seconds: number): string {
  const statuses = [
    `${t.optimal} optimal`,
    ...(t.infeasible ? [`${t.infeasible} infeasible`] : []),
    ...(t.other ? [`${t.other} other`] : []),
  ].join(", ");
  return (
    `${model}: ${t.points} point${t.points === 1 ? "" : "s"}, ${statuses}; ${solvers} agree (max rel diff ${t.worst.toExponential(1)}); ` +
    `.lp and .mps read back exactly; ${seconds.toFixed(0)} s`
  );
}

function setUp(model: string): { session: () => Session; options: CompileOptions; dir: () => string } {
  let session: Session | null = null;
  let dir: string | null = null;
  before(() => {
    session = value(openSession(`examples/models/${model}.onnx`, { data: "mnist:test", pixelScale: 255 }));
    dir = mkdtempSync(join(tmpdir(), `robustc-cross-${model}-`));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    session: () => session!,
    options: value(compileOptions({ form: "reduced", target: "second", pixelScale: 255 })),
    dir: () => dir!,
  };
}

function tally(t: Tally, outcomes: readonly Outcome[], worst: number): void {
  t.points++;
  const s = outcomes[0].status;
  if (s === "optimal") t.optimal++;
  else if (s === "infeasible") t.infeasible++;
  else t.other++;
  t.worst = Math.max(t.worst, worst);
}

describe("cross-solver: the external solvers are installed", () => {
  for (const name of ["glpk", "clp"] as const) {
    it(`${name} is available`, async () => {
      const v = await getSolver(name).available();
      assert.ok(v.ok, v.ok ? "" : v.diagnostics[0].message);
    });
  }
});

describe(`cross-solver: mnist_mlp, the first ${MLP_POINTS} mnist:test points (reduced form, second label)`, function () {
  this.timeout(120_000);
  const { session, options, dir } = setUp("mnist_mlp");
  const RUNS = [
    ["highs", "lp"],
    ["highs", "mps"],
    ["glpk", "lp"],
    ["glpk", "mps"],
    ["clp", "lp"],
    ["clp", "mps"],
  ] as const;
  const t: Tally = { points: 0, optimal: 0, infeasible: 0, other: 0, worst: 0 };
  let t0 = 0;
  before(() => {
    t0 = performance.now();
  });

  for (let i = 0; i < MLP_POINTS; i++) {
    it(`point ${i}: both files read back exactly; HiGHS, GLPK and Clp agree`, async () => {
      const c = compileSeed(session(), i, options);
      assert.equal(c.targets.length, 1);
      const m = c.targets[0].lp;
      const files = writeAndRoundTrip(m, dir(), `p${i}`);
      const outcomes = await solveAll(m, files, RUNS);
      tally(t, outcomes, assertAgree(`point ${i}`, outcomes));
      rmSync(files.lp);
      rmSync(files.mps);
    });
  }

  it("summary", () => {
    assert.equal(t.points, MLP_POINTS, `${MLP_POINTS - t.points} point(s) failed above`);
    // Guard against a vacuous comparison: the MLP's LPs are mostly feasible.
    assert.ok(t.optimal > 0, "no point was optimal: the objectives were never compared");
    console.log(
      `      ${summary("mnist_mlp", t, "highs (LpModel, .lp, .mps), glpk (.lp, .mps), clp (.lp, .mps)", (performance.now() - t0) / 1000)}`,
    );
  });
});

describe(`cross-solver: mnist_lenet, ${LENET_POINTS} mnist:test point (reduced form, second label)`, function () {
  this.timeout(300_000);
  const { session, options, dir } = setUp("mnist_lenet");
  let points = 0,
    t0 = 0;
  before(() => {
    t0 = performance.now();
  });

  // In-process HiGHS and Clp on this LP's .mps (with the lazy loop): test/runtime/lazy/lazy-loop.test.ts.
  for (let i = 0; i < LENET_POINTS; i++) {
    it(`point ${i}: both files read back exactly`, () => {
      const c = compileSeed(session(), i, options);
      assert.equal(c.targets.length, 1);
      const files = writeAndRoundTrip(c.targets[0].lp, dir(), `p${i}`);
      rmSync(files.lp);
      rmSync(files.mps);
      points++;
    });
  }

  it("summary", () => {
    assert.equal(points, LENET_POINTS, `${LENET_POINTS - points} point(s) failed above`);
    console.log(
      `      mnist_lenet: ${points} point${points === 1 ? "" : "s"}; .lp and .mps read back exactly; ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    );
  });
});
