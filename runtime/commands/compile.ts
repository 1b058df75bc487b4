// `robustc compile`: a compile request (one seed point of a dataset, a mode) → the LP or MILP per target
// label, written as CPLEX-LP or free MPS (format from the extension), or the constraint IR as text (--emit);
// or, with --emit forward|gradient|bounds, the network's batched ONNX graph (compiler/engine/), which needs no data.
// Everything (the --solve solver's presence included) is validated before anything is written; files are
// written atomically; --solve prints no optimum as an example's distance unless its optimiser passes the check.

import { writeFile } from "node:fs/promises";
import { extname, join } from "node:path";
import {
  and,
  compileOptions,
  compilePoint,
  diag,
  encode,
  engineGraph,
  engineExampleShape,
  fail,
  EMIT_GRAPH_KINDS,
  reluLayers,
  formatNumber,
  inputSize,
  networkMatrices,
  ok,
  outputConstraint,
  outputSize,
  rankLabels,
  trace,
  unwrap,
  UserError,
  writeCplexLp,
  writeFileAtomic,
  writeMps,
  type CompiledPoint,
  type CompileOptions,
  type EmitGraphKind,
  type Result,
  type Target,
} from "../../compiler/index.js";
import { printProblem } from "../../grammar/constraint/print.js";
import { argmax } from "../evaluator/types.js";
import { checkExample, marginLadder } from "../point/check.js";
import { type PointContext } from "../point/context.js";
import { openEngine } from "../engine/index.js";
import { withTempDir } from "../solvers/external.js";
import { getSolver, solveFile, type SolverName } from "../solvers/registry.js";
import {
  modelInput,
  openEvaluator,
  openModel,
  openSession,
  printNotes,
  selectIndices,
  type DataOptions,
  type Session,
} from "../run/session.js";
import { unitShort } from "../data/input-map.js";

type CompileMode = CompileOptions["mode"];

/** What each --mode compiles to, and how --solve words its answer. */
interface ModeEntry {
  /** --form when not given: the big-M and triangle rows are over every layer's variables. */
  readonly form: "layered" | "reduced";
  /** The LP's constraint set (the file header's second line). */
  readonly feasibleSet: string;
  /** What the optimum is, in pixels. */
  readonly quantity: string;
  /** What an infeasible file means. */
  readonly infeasible: string;
  /**
   * The optimum is the distance of an example (restrict, exact): it counts only if the optimiser passes the
   * check (rho/types.ts checkExample), else the float32 rule re-solves with raised margins. A relaxation's
   * optimum is a bound whatever label its optimiser has: printed with the check's verdict beside it.
   */
  readonly example: boolean;
}

// restrict: the optimum is rho_hat, an upper bound on rho(f, x*, l); exact: rho(f, x*, l) itself (within
// --radius); relax: a LOWER bound on rho(f, x*, l), whose optimiser need not have the target label.
const MODES: Record<CompileMode, ModeEntry> = {
  restrict: {
    form: "reduced",
    feasibleSet: "C_f(x, l) restricted to Z(x*)",
    quantity: "rho_hat",
    infeasible: "no adversarial example in the linear region of x* (rho_hat = inf)",
    example: true,
  },
  exact: {
    form: "layered",
    feasibleSet: "C_f(x, l) (every disjunction as big-M rows)",
    quantity: "rho (exact within --radius)",
    infeasible: "no input within --radius has the target label (rho > radius)",
    example: true,
  },
  relax: {
    form: "layered",
    feasibleSet: "the triangle relaxation of C_f(x, l)",
    quantity: "a lower bound on rho (relaxation)",
    infeasible: "the relaxation proves no input within --radius has the target label (rho > radius)",
    example: false,
  },
};

const isMode = (m: string): m is CompileMode => Object.hasOwn(MODES, m);

export interface CompileRequest extends Omit<DataOptions, "data"> {
  /** Required except with --emit forward|gradient. */
  readonly data?: string;
  /** Required except with --emit forward|gradient. */
  readonly index?: number;
  readonly form?: string;
  readonly mode: string;
  /** exact mode: box radius in pixels (default: the whole input box). */
  readonly radius?: number;
  readonly target: string;
  readonly margin: number;
  readonly out?: string;
  readonly emit?: string;
  /** Solve the written file(s) with this solver and check the optimiser with onnxruntime. */
  readonly solve?: SolverName;
  /** The options typed on the command line (long names): --emit forward|gradient refuses the others. */
  readonly given?: readonly string[];
}

const EMITS = ["ir", "cf", ...EMIT_GRAPH_KINDS] as const;
const isGraphKind = (e: string | undefined): e is EmitGraphKind =>
  (EMIT_GRAPH_KINDS as readonly string[]).includes(e ?? "");

/** `robustc compile`: validates everything, writes the files (or prints --emit), then --solve. */
export async function compileCommand(model: string, r: CompileRequest, out: (line: string) => void): Promise<void> {
  if (r.emit !== undefined && !(EMITS as readonly string[]).includes(r.emit))
    throw new UserError([
      diag("cli/emit", `--emit must be ${EMITS.slice(0, -1).join(", ")} or ${EMITS.at(-1)}, got '${r.emit}'`),
    ]);
  if (isGraphKind(r.emit)) return emitGraph(model, r, r.emit);
  // As commander words a missing required option: only --emit forward|gradient needs neither.
  if (r.data === undefined) throw new UserError([diag("cli/data", "required option '--data <spec>' not specified")]);
  if (r.index === undefined) throw new UserError([diag("cli/index", "required option '--index <i>' not specified")]);
  const index = r.index;
  const s = unwrap(openSession(model, { ...r, data: r.data }));
  unwrap(selectIndices(s.dataset.count, index, undefined, r.data));
  const options = unwrap(validateCompile(s, r));
  unwrap(refuseOwnLabel(s, index, options.target));
  // A missing solver is bad input found before any file is written, not a line per target after.
  if (r.solve) {
    const a = await getSolver(r.solve).available();
    if (!a.ok) throw new UserError(a.diagnostics.map((d) => diag(d.code, `--solve ${r.solve}: ${d.message}`)));
  }
  // The notes after every check: a refusal stays one line.
  printNotes(s);
  const c = compileSeed(s, index, options);
  const files = unwrap(renderCompile(s, r, options, c));
  unwrap(writeOutputs(files, out));
  for (const f of files) {
    if (f.path)
      process.stderr.write(`robustc: wrote ${f.path} (point ${index}, predicted ${c.predicted}, target ${f.label})\n`);
  }
  if (r.solve) await solveWritten(s, index, options, c, files, r.solve, out);
}

/**
 * --target L where L is x*'s own predicted label (the float64 trace's, as the compiled files' header says):
 * x* itself is feasible, so the optimum would be 0, a number that says nothing. Refused.
 */
export function refuseOwnLabel(s: Session, index: number, target: Target): Result<void> {
  if (typeof target !== "number") return ok(undefined);
  const predicted = rankLabels(trace(s.network, modelInput(s, index)).logits)[0];
  if (target !== predicted) return ok(undefined);
  return fail(
    diag(
      "cli/target",
      `--target ${target} is the predicted label of point ${index} of ${s.dataset.source} (x* itself has label ${target}, so its distance would be 0): give another label, second or all`,
    ),
  );
}

export function parseTarget(t: string): Target | null {
  if (t === "second" || t === "all") return t;
  return /^\d+$/.test(t) ? Number(t) : null;
}

export type OutputFormat = "lp" | "mps";

export function formatOf(path: string): OutputFormat | null {
  const e = extname(path).toLowerCase();
  return e === ".lp" ? "lp" : e === ".mps" ? "mps" : null;
}

/** The path of target `label`'s file: the given path, or `<stem>.l<label><ext>` when there are several. */
export function targetPath(path: string, label: number, several: boolean): string {
  if (!several) return path;
  const e = extname(path);
  return `${path.slice(0, path.length - e.length)}.l${label}${e}`;
}

export function validateCompile(s: Session, r: CompileRequest): Result<CompileOptions> {
  const target = parseTarget(r.target);
  if (target === null)
    return fail(diag("cli/target", `--target must be second, all or a label number, got '${r.target}'`));
  const labels = outputSize(s.network);
  if (typeof target === "number" && target >= labels)
    return fail(diag("cli/target", `--target ${target} is not a label of the model (0..${labels - 1})`));
  if (r.emit !== undefined && r.emit !== "ir" && r.emit !== "cf")
    return fail(
      diag("cli/emit", `--emit must be ${EMITS.slice(0, -1).join(", ")} or ${EMITS.at(-1)}, got '${r.emit}'`),
    );
  if (r.emit === undefined && r.out === undefined)
    return fail(diag("cli/output", "give -o FILE.lp or -o FILE.mps (or --emit ir)"));
  if (r.emit !== undefined && r.solve !== undefined)
    return fail(
      diag("cli/solve", `--solve solves the .lp/.mps files of -o; --emit ${r.emit} prints text instead: use one`),
    );
  if (r.out !== undefined && r.emit === undefined && formatOf(r.out) === null) {
    return fail(
      diag("cli/output", `${r.out}: the output format comes from the extension: .lp (CPLEX LP) or .mps (free MPS)`),
    );
  }
  // The input box is [0, 1] in model units: pixels [0, pixel scale].
  // An unknown --mode is compileOptions' to refuse.
  const form = r.form ?? (isMode(r.mode) ? MODES[r.mode].form : "reduced");
  const radius = r.radius === undefined ? Infinity : r.radius / s.pixelScale;
  return compileOptions({
    form,
    mode: r.mode,
    radius,
    target,
    margin: r.margin,
    pixelScale: s.pixelScale,
    pixelMin: 0,
    pixelMax: s.pixelScale,
  });
}

export function headerFor(s: Session, index: number, mode: CompileMode = "restrict") {
  return (label: number, predicted: number): string[] => {
    const truth = s.dataset.labels ? s.dataset.labels[index] : null;
    return [
      `model ${s.modelPath}; seed point x* = ${s.dataset.source} index ${index}; true label ${truth ?? "unknown"}; predicted l* = ${predicted}; target l = ${label}`,
      `variables: x_i = model input i (value / ${s.pixelScale}${s.norm ? ", before the normalisation layer 'normalise' (--mean/--std)" : ""}); minimise t subject to ${MODES[mode].feasibleSet} and |x - x*| <= t`,
    ];
  };
}

export function compileSeed(s: Session, index: number, options: CompileOptions): CompiledPoint {
  return compilePoint(s.network, modelInput(s, index), options, {
    name: `robustc_${index}`,
    header: headerFor(s, index, options.mode),
  });
}

/** Renders the requested text for every target: LP/MPS files, or IR. */
export function renderCompile(
  s: Session,
  r: CompileRequest,
  options: CompileOptions,
  c: CompiledPoint,
): Result<{ path: string | null; text: string; label: number }[]> {
  const several = c.targets.length > 1;
  if (r.emit === "cf") {
    // C_f(x, l) itself, with its disjunctions: what the passes start from.
    const enc = encode(s.network, {
      inputLower: options.pixelMin / options.pixelScale,
      inputUpper: options.pixelMax / options.pixelScale,
    });
    return ok(
      c.targets.map((t) => ({
        path: r.out ? targetPath(r.out, t.label, several) : null,
        label: t.label,
        text: printProblem(
          { ...enc.problem, constraint: and(enc.problem.constraint, outputConstraint(enc, t.label, options.margin)) },
          [`C_f(x, ${t.label}) of ${s.modelPath} (Bastani et al. 2016, section 3): disjunctions kept`],
        ),
      })),
    );
  }
  if (r.emit === "ir") {
    return ok(
      c.targets.map((t) => ({
        path: r.out ? targetPath(r.out, t.label, several) : null,
        label: t.label,
        text: printProblem(t.problem, t.lp.comments),
      })),
    );
  }
  const fmt = formatOf(r.out!)!;
  return ok(
    c.targets.map((t) => ({
      path: targetPath(r.out!, t.label, several),
      label: t.label,
      text: fmt === "lp" ? writeCplexLp(t.lp) : writeMps(t.lp),
    })),
  );
}

export function writeOutputs(
  files: { path: string | null; text: string }[],
  stdout: (s: string) => void,
): Result<void> {
  for (const f of files) {
    if (f.path === null) {
      stdout(f.text.trimEnd());
      continue;
    }
    const w = writeFileAtomic(f.path, f.text);
    if (!w.ok) return w;
  }
  return ok(undefined);
}

/** One solve of an LP/MILP file, its optimiser checked: `checked` when it passes checkExample with the target label. */
type SolvedFile =
  | { status: "infeasible" }
  | { status: "failed"; text: string }
  | { status: "optimal"; t: number; label32: number; checked: boolean };

/**
 * `--solve S`: solves each written file with solver S and checks its optimiser as every example in robustc is
 * checked (rho/types.ts checkExample: the target wins strictly in onnxruntime's float32 pass and in the float64
 * reference). Where an example's optimiser fails, the float32 rule of robustc rho (types.ts marginLadder): the
 * target is recompiled with each raised margin (in a scratch file, the written file unchanged) and re-solved,
 * and the first checked optimum is printed; if none passes, the line says so and prints no number as rho.
 */
export async function solveWritten(
  s: Session,
  index: number,
  options: CompileOptions,
  c: CompiledPoint,
  files: { path: string | null; label: number }[],
  solver: SolverName,
  stdout: (line: string) => void,
): Promise<void> {
  const { quantity, infeasible, example } = MODES[options.mode];
  const n = inputSize(s.network);
  const xStar = modelInput(s, index);
  const ort = await openEvaluator(s);
  const matrices = networkMatrices(s.network);
  const ctx: PointContext = {
    net: s.network,
    matrices,
    evaluator: ort,
    // Only checkExample runs here (no attack): the float64 engine, which holds nothing.
    engine: openEngine(s.network, matrices, "reference"),
    pixelScale: s.pixelScale,
    pixelMin: 0,
    pixelMax: s.pixelScale,
  };
  const px = (t: number) => `${formatNumber(t * s.pixelScale)} ${unitShort(s.pixelScale)} (t = ${formatNumber(t)})`;
  const solveChecked = async (path: string, label: number): Promise<SolvedFile> => {
    const r = await solveFile(path, solver);
    if (r.status === "infeasible") return { status: "infeasible" };
    if (r.status !== "optimal" || r.values === null || r.objective === null)
      return { status: "failed", text: `${r.status}${r.message ? ` (${r.message})` : ""}` };
    const x = Float32Array.from({ length: n }, (_, i) => r.values!.get(`x_${i}`) ?? 0);
    const [y] = await ort.logits([Float64Array.from(x)]);
    const ck = await checkExample(ctx, x, xStar, c.predicted);
    return { status: "optimal", t: r.objective, label32: argmax(y), checked: ck !== null && ck.label === label };
  };
  const why = (a: Extract<SolvedFile, { status: "optimal" }>, label: number) =>
    a.label32 !== label ? `onnxruntime label ${a.label32}` : "the target does not win strictly in float32 and float64";
  try {
    for (const f of files) {
      if (!f.path) continue;
      const head = `${f.path}: ${solver}: target ${f.label}:`;
      const a = await solveChecked(f.path, f.label);
      if (a.status === "infeasible") {
        stdout(`${head} infeasible: ${infeasible}`);
        continue;
      }
      if (a.status === "failed") {
        stdout(`${head} ${a.text}`);
        continue;
      }
      if (a.checked) {
        stdout(
          `${head} optimal, ${quantity} = ${px(a.t)}; the optimiser, checked by onnxruntime (float32), has the target label`,
        );
        continue;
      }
      if (!example) {
        stdout(
          `${head} optimal, ${quantity} = ${px(a.t)}; the optimiser has ${why(a, f.label)} (a relaxation's optimiser need not be a real example; the bound stands)`,
        );
        continue;
      }
      // The file's optimiser lies on the decision boundary and float32 rounding tipped it back: the float32 rule.
      const tried = [`margin ${formatNumber(options.margin)}: ${why(a, f.label)} at t = ${formatNumber(a.t)}`];
      let found: { alpha: number; t: number } | null = null;
      for (const alpha of marginLadder({ margin: options.margin }, c.evaluated.trace.logits).slice(1)) {
        const b = await ladderSolve(
          s,
          index,
          { ...options, target: f.label, margin: alpha },
          c.encoding,
          f.path,
          solveChecked,
          f.label,
        );
        if (b.status === "optimal" && b.checked) {
          found = { alpha, t: b.t };
          break;
        }
        tried.push(
          `margin ${alpha.toExponential(1)}: ${b.status === "optimal" ? `${why(b, f.label)} at t = ${formatNumber(b.t)}` : b.status === "infeasible" ? "infeasible" : b.text}`,
        );
        if (b.status !== "optimal") break;
      }
      stdout(
        found
          ? `${head} the file's optimiser fails the float32 check (${tried.join("; ")}); float32 rule (as robustc rho), re-solved at margin alpha = ${found.alpha.toExponential(1)}: ${quantity} = ${px(found.t)}, its optimiser checked by onnxruntime (float32) and the float64 reference`
          : `${head} no ${quantity}: no optimiser passed the float32 check, at any margin of the float32 rule of robustc rho (${tried.join("; ")})`,
      );
    }
  } finally {
    await ort.dispose();
  }
}

/**
 * Target `label` recompiled with a raised margin into a scratch file of the written file's format, then solved and
 * checked.
 */
async function ladderSolve(
  s: Session,
  index: number,
  options: CompileOptions,
  encoding: CompiledPoint["encoding"],
  writtenPath: string,
  solveChecked: (path: string, label: number) => Promise<SolvedFile>,
  label: number,
): Promise<SolvedFile> {
  // x*'s encoding is shared: only the target's rows change with the margin.
  const t = compilePoint(
    s.network,
    modelInput(s, index),
    options,
    { name: `robustc_${index}`, header: headerFor(s, index, options.mode) },
    encoding,
  ).targets[0];
  const fmt = formatOf(writtenPath)!;
  return withTempDir("compile-ladder", async (dir) => {
    const path = join(dir, `model.${fmt}`);
    await writeFile(path, fmt === "lp" ? writeCplexLp(t.lp) : writeMps(t.lp));
    return solveChecked(path, label);
  });
}

/**
 * `--emit forward|gradient|bounds -o FILE.onnx`: the network's batched graph as onnxruntime runs it (input x
 * [B, ...], B symbolic; compiler/engine/; the bounds graph: boxes and rows in, float64, every layer kind). It
 * depends on the model alone: every data or LP option is refused.
 */
function emitGraph(model: string, r: CompileRequest, kind: EmitGraphKind): void {
  const others = (r.given ?? []).filter((o) => o !== "--emit" && o !== "--out");
  if (others.length > 0)
    throw new UserError([
      diag(
        "cli/emit",
        `--emit ${kind} writes the network's ${kind} graph, which depends on the model alone: leave out ${others.join(", ")}`,
      ),
    ]);
  if (r.out === undefined || extname(r.out).toLowerCase() !== ".onnx")
    throw new UserError([
      diag("cli/output", `--emit ${kind} writes an ONNX model: give -o FILE.onnx${r.out ? ` (got ${r.out})` : ""}`),
    ]);
  const m = unwrap(openModel(model));
  const bytes = unwrap(engineGraph(m.network, kind));
  for (const w of m.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
  unwrap(writeFileAtomic(r.out, bytes));
  const x = `x [B,${engineExampleShape(m.network).join(",")}]`;
  const K = outputSize(m.network);
  const relus = reluLayers(m.network).map((id) => `slopes_${id}`);
  const io =
    kind === "forward"
      ? `${x} -> logits`
      : kind === "gradient"
        ? `${x}, weights [B,${K}] -> logits, gradient`
        : `lower, upper [B,${inputSize(m.network)}], rows [B,R,${K}]${relus.map((s) => `, ${s}`).join("")} -> bound [B,R], pre_lower_*, pre_upper_*`;
  const dtype = kind === "bounds" ? "float64, B and R symbolic" : "float32, B symbolic";
  process.stderr.write(`robustc: wrote ${r.out} (the ${kind} graph of ${model}: ${io}; ${dtype})\n`);
}
