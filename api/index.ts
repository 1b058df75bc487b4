// robustc as a library (`import { … } from "robustc"`): load a model and data, compile a seed point into its LP
// (an LpModel, CPLEX-LP or MPS text), solve it with any solver that implements `Solver`, and run `rho` and
// `measure` with the CLI's options. A thin layer: everything here is the compiler's or the runtime's own code,
// re-exported or called as the CLI calls it. docs/api.md has an example.

import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import {
  compileOptions,
  compilePoint as compileWithPipeline,
  diag,
  inputSize,
  numCols as compilerNumCols,
  numRows as compilerNumRows,
  outputSize,
  rankLabels,
  trace,
  unwrap,
  UserError,
  writeCplexLp,
  writeMps,
} from "../compiler/index.js";
import type * as compiler from "../compiler/index.js";
import { measureCommand } from "../runtime/commands/measure.js";
import type * as measureCommandTypes from "../runtime/commands/measure.js";
import { rhoCommand } from "../runtime/commands/rho.js";
import type * as rhoCommandTypes from "../runtime/commands/rho.js";
import { RUN_DEFAULTS } from "../runtime/commands/run-request.js";
import type * as points from "../runtime/run/points-file.js";
import { openModel, openSession } from "../runtime/run/session.js";
import type * as session from "../runtime/run/session.js";
import { getSolver, SOLVER_NAMES as BUILT_IN_SOLVERS } from "../runtime/solvers/registry.js";
import type * as solvers from "../runtime/solvers/types.js";

export { UserError, objectiveValue, maxViolation } from "../compiler/index.js";
export { modelInput } from "../runtime/run/session.js";
export { RUN_DEFAULTS } from "../runtime/commands/run-request.js";

/** One problem found in the input: a stable `code` (e.g. "onnx/unsupported-op") and a one-line `message`. */
export type Diagnostic = compiler.Diagnostic;
/** The flat, solver-neutral LP: CSR rows rowLower ≤ A·x ≤ rowUpper, column bounds, integrality, an objective. */
export type LpModel = compiler.LpModel;
/** The lowered network (layers, input shape, output) robustc compiles. */
export type Network = compiler.Network;
/** The compiler's options (form, mode, radius, target, margin, pixel scale and range). */
export type CompileOptions = compiler.CompileOptions;
/** A compiled seed point: x*'s predicted label, the labels ranked, and one target (its LP) per target label. */
export type CompiledPoint = compiler.CompiledPoint;
/** One target label's LP (`lp`) and the map from its column values back to every layer's values (`inverse`). */
export type CompiledTarget = compiler.CompiledTarget;
/** `loadData`'s options: `data` as `--data` takes it, and `labels`, `pixelScale`, `layout`, `mean`, `std`. */
export type DataOptions = session.DataOptions;
/** A model opened with data: the network as measured, the dataset, the pixel scale and the notes on what was chosen. */
export type Session = session.Session;
/** The built-in solvers' names. */
export type SolverName = solvers.SolverName;
/** An optimal, infeasible, unbounded, timed-out or failed solve. */
export type SolveStatus = solvers.SolveStatus;
/** A solver's answer: status, objective, column values in `LpModel` column order. */
export type LpSolution = solvers.LpSolution;
/** A time limit (seconds) and, for a solver that reads files, the format to write. */
export type SolveOptions = solvers.SolveOptions;
/** An LP/MILP solver: `name`, `available()`, `solve(lp, options)`; docs/api.md shows one. */
export type Solver = solvers.Solver;
/** A point as JSON: the records of points.jsonl and `robustc rho --json`. */
export type PointRecord = points.PointRecord;
/** `robustc rho`'s options, as the CLI passes them. */
export type RhoRequest = rhoCommandTypes.RhoRequest;
/** `robustc measure`'s options, as the CLI passes them. */
export type MeasureRequest = measureCommandTypes.MeasureRequest;

/** The built-in solvers' names: highs (in-process), glpk, clp, cbc, highs-cli. */
export const SOLVER_NAMES: readonly SolverName[] = BUILT_IN_SOLVERS;
/** The LP's number of columns (variables). */
export const numCols = (lp: LpModel): number => compilerNumCols(lp);
/** The LP's number of rows (constraints). */
export const numRows = (lp: LpModel): number => compilerNumRows(lp);

/** A lowered ONNX classifier: what `loadModel` returns (a `Session` from `loadData` is one too). */
export interface Model {
  readonly modelPath: string;
  /** The network as robustc compiles it (with `mean`/`std` in `loadData`, the normalisation is its first layer). */
  readonly network: Network;
  /** What the lowering noted (e.g. a final Softmax dropped: logits measured). */
  readonly warnings: readonly string[];
}

/**
 * Parses and lowers an ONNX classifier, as every robustc command does.
 * @throws UserError (an Error whose message is the diagnostic line, e.g. an unsupported operator) on a bad model.
 */
export function loadModel(path: string): Model {
  const m = unwrap(openModel(path));
  return { modelPath: path, network: m.network, warnings: m.warnings };
}

/**
 * Opens a model with data, as every CLI command does: the data (`data` as `--data` takes it: mnist:test,
 * .npy, .npz, .csv, IDX, CIFAR-10) arranged to the model's input, its scale resolved (`pixelScale`, default
 * 255 or 1 for data in [0, 1]) and `mean`/`std` put in front of the network. `modelInput(session, i)` is item
 * i as the model input. The session's `notes` say what robustc chose for the user.
 * @throws UserError on bad data or a model/data mismatch.
 */
export function loadData(model: string | Model, options: DataOptions): Session {
  return unwrap(openSession(typeof model === "string" ? model : model.modelPath, options));
}

/** `compilePoint`'s options: the compiler's `CompileOptions` (every one optional) and the LP's name and header. */
export interface CompilePointOptions extends Partial<CompileOptions> {
  /** The LP's name (default "robustc"). */
  readonly name?: string;
  /** Comment lines at the top of the LP/MPS text (the compiler adds what the optimum means). */
  readonly header?: readonly string[];
}

/**
 * Compiles seed point `x` (the model input, in model units: value / pixelScale, as `modelInput` gives it) into
 * one LP per target label: by default the paper's restricted LP (mode restrict, form reduced) for the second
 * most probable label, minimising t = ‖x − x*‖∞ in model units (× pixelScale: pixels). `mode` exact (a big-M
 * MILP) and relax (the triangle relaxation) take a `radius` (model units; default the whole input box) and
 * default to form layered.
 * @throws UserError on invalid options, an input of the wrong size or a target label that is x*'s own.
 */
export function compilePoint(model: Model, x: ArrayLike<number>, options: CompilePointOptions = {}): CompiledPoint {
  const { name = "robustc", header = [], ...given } = options;
  const set = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const o = unwrap(compileOptions({ form: (set.mode ?? "restrict") === "restrict" ? "reduced" : "layered", ...set }));
  const net = model.network;
  if (x.length !== inputSize(net))
    throw new UserError([diag("api/input", `x has ${x.length} values; ${model.modelPath} takes ${inputSize(net)}`)]);
  if (typeof o.target === "number" && o.target >= outputSize(net))
    throw new UserError([
      diag("api/target", `target ${o.target} is not a label of ${model.modelPath} (0..${outputSize(net) - 1})`),
    ]);
  const c = compileWithPipeline(net, Float64Array.from(x), o, {
    name,
    header: (label, predicted) => [...header, `predicted l* = ${predicted}; target l = ${label}`],
  });
  if (c.targets.some((t) => t.label === c.predicted))
    throw new UserError([
      diag("api/target", `target ${c.predicted} is x's own label (its distance would be 0): give another label`),
    ]);
  return c;
}

/** The LP as CPLEX-LP text (what `robustc compile -o FILE.lp` writes). */
export function toLp(lp: LpModel): string {
  return writeCplexLp(lp);
}

/** The LP as free MPS text (what `robustc compile -o FILE.mps` writes). */
export function toMps(lp: LpModel): string {
  return writeMps(lp);
}

/**
 * A built-in solver by name: "highs" (in-process WebAssembly, always there), or "glpk", "clp", "cbc",
 * "highs-cli" (their executables on PATH; `available()` says whether they run).
 */
export function solverByName(name: SolverName): Solver {
  return getSolver(name);
}

/** A compiled target solved: the optimum mapped back to a model input, with the float64 reference's label of it. */
export interface TargetSolution {
  readonly status: SolveStatus;
  /** The optimum t (model units; × pixelScale: data units); null unless optimal. */
  readonly objective: number | null;
  /** The optimiser's input x (model units); null unless optimal. */
  readonly x: Float64Array | null;
  /**
   * The label x gets in robustc's float64 forward pass (null unless optimal). The CLI counts an example only
   * where the target also wins in onnxruntime's float32 pass; an optimum on the decision boundary may not.
   */
  readonly label: number | null;
  /** What the solver returned. */
  readonly solution: LpSolution;
}

/**
 * Solves one compiled target with `solver` (default: the in-process HiGHS), a built-in or the user's own
 * `Solver`, and maps its optimum back to the model input: the hook for other solvers. (`rho` and `measure`
 * use HiGHS' incremental interface, in worker threads: they take no user solver.)
 */
export async function solveTarget(
  model: Model,
  target: CompiledTarget,
  solver: Solver = getSolver("highs"),
  options: SolveOptions = {},
): Promise<TargetSolution> {
  const solution = await solver.solve(target.lp, options);
  if (solution.status !== "optimal" || solution.x === null)
    return { status: solution.status, objective: null, x: null, label: null, solution };
  if (solution.x.length !== target.lp.colNames.length)
    throw new Error(
      `solver ${solver.name}: ${solution.x.length} column values for an LP of ${target.lp.colNames.length} columns`,
    );
  const x = Float64Array.from(target.inverse(Float64Array.from(solution.x)).subarray(0, inputSize(model.network)));
  const label = rankLabels(trace(model.network, x).logits)[0];
  return { status: "optimal", objective: solution.objective, x, label, solution };
}

type RunDefaults = keyof typeof RUN_DEFAULTS;

/** The options given over RUN_DEFAULTS (an option given as undefined is absent, as on the command line). */
const withDefaults = <T extends object>(given: T) => ({
  ...RUN_DEFAULTS,
  ...(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as T),
});

/** A rho --json --examples example: pixels in the data's units and layout, as adversarial.npy holds it. */
export interface ExampleRecord {
  readonly index: number;
  readonly target: number | null;
  readonly shape: readonly number[];
  readonly pixels: readonly number[];
}

/** One point of `rho`: the record `robustc rho --json` prints (and with `examples`, its example). */
export type RhoRecord = Omit<PointRecord, "example"> & { readonly example?: ExampleRecord | null };

/**
 * `rho`'s options: `robustc rho`'s, by their long names in camelCase (`data`, `index` or `limit`, `mode`,
 * `eps`, `jobs`, `timeLimit`, `algorithm`, `add`, `pixelScale`, `layout`, `mean`, `std`, `labels`,
 * `examples`); the CLI's defaults where absent (RUN_DEFAULTS).
 */
export type RhoOptions = Omit<RhoRequest, "json" | RunDefaults> &
  Partial<Pick<RhoRequest, RunDefaults>> & {
    /** Called with each point as it finishes (in finishing order with jobs > 1). */
    readonly onPoint?: (p: RhoRecord) => void;
  };

/**
 * `robustc rho MODEL --json`: per point the bracket lower ≤ rho ≤ upper (a certified bound, a checked
 * example's distance) with the paper's rho_hat beside it (mode restrict: rho_hat alone), in the data's units.
 * Notes and warnings go to stderr as the CLI's do.
 * @returns the records, sorted by index.
 * @throws UserError on a refused option or bad input (the CLI's one-line message).
 */
export async function rho(modelPath: string, options: RhoOptions): Promise<RhoRecord[]> {
  const { onPoint, ...given } = options;
  const records: RhoRecord[] = [];
  await rhoCommand(modelPath, { ...withDefaults(given), json: true }, (line) => {
    const p = JSON.parse(line) as RhoRecord;
    records.push(p);
    onPoint?.(p);
  });
  return records.sort((a, b) => a.index - b.index);
}

/** `measure`'s options: `robustc measure`'s (`out` required), by their long names in camelCase. */
export type MeasureOptions = Omit<MeasureRequest, "argv" | RunDefaults> & Partial<Pick<MeasureRequest, RunDefaults>>;

/** What `measure` wrote in `out`, read back. */
export interface MeasureResult {
  readonly out: string;
  /** report.json (null when the run was enqueued with `detach`). */
  readonly report: Record<string, unknown> | null;
  /** points.jsonl, sorted by index. */
  readonly points: PointRecord[];
  /** The summary the CLI prints. */
  readonly summary: string[];
}

/**
 * `robustc measure MODEL --out DIR`: adversarial frequency and severity at eps over the points, with
 * report.json, points.jsonl, points.csv, the examples' .npy files and cdf.svg in `out` (`resume`, `shard`,
 * `queue` as in the CLI). Progress, notes and warnings go to stderr; Ctrl-C during the run exits the process
 * (code 130) with the finished points saved, as the CLI does.
 * @throws UserError on a refused option or bad input.
 */
export async function measure(modelPath: string, options: MeasureOptions): Promise<MeasureResult> {
  const summary: string[] = [];
  await measureCommand(modelPath, withDefaults(options), (line) => summary.push(line));
  const file = (name: string) => join(options.out, name);
  const report = existsSync(file("report.json"))
    ? (JSON.parse(readFileSync(file("report.json"), "utf8")) as Record<string, unknown>)
    : null;
  const points = existsSync(file("points.jsonl"))
    ? readFileSync(file("points.jsonl"), "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => JSON.parse(l) as PointRecord)
        .sort((a, b) => a.index - b.index)
    : [];
  return { out: options.out, report, points, summary };
}
