// Prints, for the first N mnist:test points of a model (reduced form, second label), the status, the
// optimum rho_hat in pixels (t · pixel scale) and the seconds of every solver on the same compiled LP:
// in-process HiGHS on the LpModel, and Clp, CBC and GLPK on the written .lp and .mps files; then whether
// they all agree (status, and objective to relative 1e-6) and the median seconds per solver. Figures,
// never assertions (the assertions are in test/compiler/backend/cross-solver.test.ts).
//
//   npx tsx bench/cross-solver.ts [model] [points] [--skip NAME[,NAME]] [--only NAME[,NAME]] [--time-limit S]
//
// model: a name in examples/models (default mnist_lenet) or an .onnx path; points: default 20. NAME is a
// run (highs: in process on the LpModel; clp-lp, glpk-mps, ...) or a solver (clp, cbc, glpk: both of its
// file runs); highs-lp and highs-mps (the npm HiGHS' own file parsers) run only when --only names them. The environment
// variables
// CROSS_SOLVER_MODEL, CROSS_SOLVER_POINTS and CROSS_SOLVER_SKIP give the same defaults. Solves run one at
// a time, so the seconds are comparable; glpsol takes minutes per mnist_lenet point (`--skip glpk`).

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { writeCplexLp } from "../compiler/backend/cplex-lp.js";
import { writeMps } from "../compiler/backend/mps.js";
import type { Result } from "../compiler/diagnostics.js";
import { compileOptions } from "../compiler/passes/options.js";
import { compileSeed } from "../runtime/commands/compile.js";
import { openSession } from "../runtime/run/session.js";
import { getSolver, solveFile } from "../runtime/solvers/registry.js";
import type { SolveStatus, SolverName } from "../runtime/solvers/types.js";

const REL = 1e-6;

interface Run {
  readonly name: string;
  readonly solver: SolverName;
  readonly format: "lp" | "mps" | null;
}
const ALL_RUNS: readonly Run[] = [
  { name: "highs", solver: "highs", format: null },
  { name: "highs-lp", solver: "highs", format: "lp" },
  { name: "highs-mps", solver: "highs", format: "mps" },
  { name: "clp-lp", solver: "clp", format: "lp" },
  { name: "clp-mps", solver: "clp", format: "mps" },
  { name: "cbc-lp", solver: "cbc", format: "lp" },
  { name: "cbc-mps", solver: "cbc", format: "mps" },
  { name: "glpk-lp", solver: "glpk", format: "lp" },
  { name: "glpk-mps", solver: "glpk", format: "mps" },
];
const DEFAULT_RUNS = ALL_RUNS.filter((r) => r.name !== "highs-lp" && r.name !== "highs-mps");

function usage(msg: string): never {
  console.error(`bench/cross-solver.ts: ${msg}`);
  console.error(
    "usage: npx tsx bench/cross-solver.ts [model] [points] [--skip NAME[,NAME]] [--only NAME[,NAME]] [--time-limit S]",
  );
  console.error(`NAME: highs, clp, cbc, glpk or one of ${ALL_RUNS.map((r) => r.name).join(", ")}`);
  process.exit(2);
}

function value<T>(r: Result<T>): T {
  if (!r.ok) usage(r.diagnostics.map((d) => d.message).join("; "));
  return r.value;
}

/** Runs named by a list: a solver name selects every run of that solver. */
function select(list: string): Set<string> {
  const names = new Set<string>();
  for (const n of list
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")) {
    // A run's own name first ("highs" is the in-process run, not highs-lp and highs-mps too).
    const exact = ALL_RUNS.filter((r) => r.name === n);
    const hit = exact.length > 0 ? exact : ALL_RUNS.filter((r) => r.solver === n);
    if (hit.length === 0) usage(`unknown solver or run '${n}'`);
    for (const r of hit) names.add(r.name);
  }
  return names;
}

function parseArgs(argv: string[]) {
  const positional: string[] = [];
  const skip = new Set<string>(process.env.CROSS_SOLVER_SKIP ? select(process.env.CROSS_SOLVER_SKIP) : []);
  let only: Set<string> | null = null;
  let timeLimit: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const arg = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === "--skip") for (const n of select(arg())) skip.add(n);
    else if (a === "--only") only = select(arg());
    else if (a === "--time-limit") {
      timeLimit = Number(arg());
      if (!(timeLimit > 0)) usage("--time-limit must be a positive number of seconds");
    } else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length > 2) usage("at most two positional arguments: model and points");
  const model = positional[0] ?? process.env.CROSS_SOLVER_MODEL ?? "mnist_lenet";
  const points = Number(positional[1] ?? process.env.CROSS_SOLVER_POINTS ?? 20);
  if (!Number.isInteger(points) || points <= 0)
    usage(`points must be a positive integer, got '${positional[1] ?? process.env.CROSS_SOLVER_POINTS}'`);
  const runs = (only ? ALL_RUNS.filter((r) => only!.has(r.name)) : DEFAULT_RUNS).filter((r) => !skip.has(r.name));
  if (runs.length === 0) usage("no solver left to run");
  return { model, points, runs, timeLimit };
}

interface Outcome {
  readonly status: SolveStatus;
  readonly objective: number | null;
  readonly seconds: number;
  readonly message?: string;
}

const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-9);

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const sec = (s: number) => (s < 10 ? s.toFixed(2) : s < 100 ? s.toFixed(1) : s.toFixed(0));

const { model, points, runs, timeLimit } = parseArgs(process.argv.slice(2));
const modelPath = model.endsWith(".onnx") ? model : `examples/models/${model}.onnx`;
const session = value(openSession(modelPath, { data: "mnist:test", pixelScale: 255 }));
const options = value(compileOptions({ form: "reduced", target: "second", pixelScale: session.pixelScale }));
const count = Math.min(points, session.dataset.count);

console.log(
  `cross-solver: ${modelPath}, the first ${count} mnist:test points, form reduced, target second; rho_hat in pixels = t * ${session.pixelScale}`,
);
console.log(
  `node ${process.version}, ${cpus().length} cores; solves one at a time${timeLimit !== undefined ? `, time limit ${timeLimit} s each` : ""}; agreement: same status, objectives within ${REL} relative`,
);
const usable: Run[] = [];
for (const solver of [...new Set(runs.map((r) => r.solver))]) {
  const v = await getSolver(solver).available();
  const names = runs.filter((r) => r.solver === solver).map((r) => r.name);
  if (v.ok) {
    console.log(`  ${names.join(", ")}: ${v.value}`);
    usable.push(...runs.filter((r) => r.solver === solver));
  } else console.log(`  ${names.join(", ")}: skipped, ${v.diagnostics[0].message}`);
}
if (usable.length === 0) usage("no solver is available");

const dir = mkdtempSync(join(tmpdir(), "robustc-bench-cross-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

const W = Math.max(9, ...usable.map((r) => r.name.length + 1));
console.log();
console.log(
  `${"point".padStart(5)} ${"l*->l".padEnd(6)} ${"status".padEnd(10)} ${"rho_px".padStart(10)} ${"max rel".padStart(8)} ${"compile".padStart(8)} ${"write".padStart(6)}` +
    usable.map((r) => r.name.padStart(W)).join("") +
    "   (seconds)",
);

const seconds = new Map<string, number[]>(usable.map((r) => [r.name, []]));
const compileSeconds: number[] = [],
  writeSeconds: number[] = [];
const statusCount = new Map<string, number>();
const disagreements: string[] = [];
let worst = 0;
const t0 = performance.now();

for (let i = 0; i < count; i++) {
  let t = performance.now();
  const c = compileSeed(session, i, options);
  compileSeconds.push((performance.now() - t) / 1000);
  const target = c.targets[0];
  const m = target.lp;
  t = performance.now();
  const files = { lp: join(dir, `p${i}.lp`), mps: join(dir, `p${i}.mps`) };
  if (usable.some((r) => r.format === "lp")) writeFileSync(files.lp, writeCplexLp(m));
  if (usable.some((r) => r.format === "mps")) writeFileSync(files.mps, writeMps(m));
  writeSeconds.push((performance.now() - t) / 1000);

  const outcomes: Outcome[] = [];
  for (const r of usable) {
    const opts = timeLimit !== undefined ? { timeLimit } : {};
    const s =
      r.format === null ? await getSolver(r.solver).solve(m, opts) : await solveFile(files[r.format], r.solver, opts);
    outcomes.push({
      status: s.status,
      objective: s.objective,
      seconds: s.seconds,
      ...(s.message ? { message: s.message } : {}),
    });
    seconds.get(r.name)!.push(s.seconds);
  }
  rmSync(files.lp, { force: true });
  rmSync(files.mps, { force: true });

  const ref = outcomes[0];
  let agree = outcomes.every((o) => o.status === ref.status);
  let rel = 0;
  if (agree && ref.status === "optimal") {
    for (const o of outcomes)
      rel = Math.max(rel, o.objective === null ? Infinity : relDiff(o.objective, ref.objective!));
    agree = rel <= REL;
  }
  worst = Math.max(worst, rel);
  statusCount.set(ref.status, (statusCount.get(ref.status) ?? 0) + 1);
  const rho =
    ref.status === "optimal" && ref.objective !== null ? (ref.objective * session.pixelScale).toPrecision(6) : "-";
  console.log(
    `${String(i).padStart(5)} ${`${c.predicted}->${target.label}`.padEnd(6)} ${(agree ? ref.status : "DISAGREE").padEnd(10)} ${rho.padStart(10)} ` +
      `${(ref.status === "optimal" ? rel.toExponential(0) : "-").padStart(8)} ${sec(compileSeconds[i]).padStart(8)} ${sec(writeSeconds[i]).padStart(6)}` +
      outcomes.map((o) => sec(o.seconds).padStart(W)).join(""),
  );
  if (!agree) {
    disagreements.push(`point ${i}`);
    usable.forEach((r, k) => {
      const o = outcomes[k];
      const obj =
        o.objective === null ? "" : ` t = ${o.objective} (${(o.objective * session.pixelScale).toPrecision(8)} px)`;
      console.log(`        ${r.name}: ${o.status}${obj}${o.message ? ` (${o.message})` : ""}`);
    });
  }
}

console.log();
const statuses = [...statusCount].map(([s, n]) => `${n} ${s}`).join(", ");
console.log(`${count} point${count === 1 ? "" : "s"} (${statuses}) in ${sec((performance.now() - t0) / 1000)} s`);
console.log(
  disagreements.length === 0
    ? `all ${usable.length} solver runs agree on every point (max relative objective difference ${worst.toExponential(1)})`
    : `solvers DISAGREE on ${disagreements.length} point(s): ${disagreements.join(", ")}`,
);
console.log(
  `median seconds: compile ${sec(median(compileSeconds))}, write ${sec(median(writeSeconds))}, ` +
    usable.map((r) => `${r.name} ${sec(median(seconds.get(r.name)!))}`).join(", "),
);
