// `robustc compile`: a compile request (one seed point of a dataset, a mode) → the LP or MILP per target
// label, written as CPLEX-LP or free MPS (format from the extension), or the constraint IR as text (--emit).
// Everything is validated before anything is written; files are written atomically.

import { extname } from "node:path";
import { and, compileOptions, compilePoint, diag, encode, fail, formatNumber, inputSize, ok, outputConstraint, outputSize, unwrap, writeCplexLp, writeFileAtomic, writeMps, type CompiledPoint, type CompileOptions, type Result, type Target } from "../../compiler/index.js";
import { printProblem } from "../../grammar/constraint/print.js";
import { OnnxRuntimeEvaluator } from "../evaluator/onnxruntime.js";
import { argmax } from "../evaluator/types.js";
import { solveFile, type SolverName } from "../solvers/registry.js";
import { modelInput, openSession, selectIndices, type DataOptions, type Session } from "../run/session.js";

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
  /** The optimiser, checked by onnxruntime, has label `got`, not the target. */
  readonly otherLabel: (got: number) => string;
}

// restrict: the optimum is rho_hat, an upper bound on rho(f, x*, l); exact: rho(f, x*, l) itself (within
// --radius); relax: a LOWER bound on rho(f, x*, l), whose optimiser need not have the target label.
const MODES: Record<CompileMode, ModeEntry> = {
  restrict: {
    form: "reduced", feasibleSet: "C_f(x, l) restricted to Z(x*)", quantity: "rho_hat",
    infeasible: "no adversarial example in the linear region of x* (rho_hat = inf)",
    otherLabel: (got) => `has label ${got}, not the target (a float32 boundary example: see robustc rho)`,
  },
  exact: {
    form: "layered", feasibleSet: "C_f(x, l) (every disjunction as big-M rows)", quantity: "rho (exact within --radius)",
    infeasible: "no input within --radius has the target label (rho > radius)",
    otherLabel: (got) => `has label ${got}, not the target (a float32 boundary example: see robustc rho)`,
  },
  relax: {
    form: "layered", feasibleSet: "the triangle relaxation of C_f(x, l)", quantity: "a lower bound on rho (relaxation)",
    infeasible: "the relaxation proves no input within --radius has the target label (rho > radius)",
    otherLabel: (got) => `has label ${got} (a relaxation's optimiser need not be a real example)`,
  },
};

const isMode = (m: string): m is CompileMode => Object.hasOwn(MODES, m);

export interface CompileRequest extends DataOptions {
  readonly index: number;
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
}

/** `robustc compile`: validates everything, writes the files (or prints --emit), then --solve. */
export async function compileCommand(model: string, r: CompileRequest, out: (line: string) => void): Promise<void> {
  const s = unwrap(openSession(model, { data: r.data, labels: r.labels, pixelScale: r.pixelScale }));
  unwrap(selectIndices(s.dataset.count, r.index, undefined, r.data));
  const options = unwrap(validateCompile(s, r));
  const c = compileSeed(s, r.index, options);
  const files = unwrap(renderCompile(s, r, options, c));
  unwrap(writeOutputs(files, out));
  for (const f of files) {
    if (f.path) process.stderr.write(`robustc: wrote ${f.path} (point ${r.index}, predicted ${c.predicted}, target ${f.label})\n`);
  }
  if (r.solve) await solveWritten(s, files, r.solve, out, options.mode);
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
  if (target === null) return fail(diag("cli/target", `--target must be second, all or a label number, got '${r.target}'`));
  const labels = outputSize(s.network);
  if (typeof target === "number" && target >= labels) return fail(diag("cli/target", `--target ${target} is not a label of the model (0..${labels - 1})`));
  if (r.emit !== undefined && r.emit !== "ir" && r.emit !== "cf") return fail(diag("cli/emit", `--emit must be ir or cf, got '${r.emit}'`));
  if (r.emit === undefined && r.out === undefined) return fail(diag("cli/output", "give -o FILE.lp or -o FILE.mps (or --emit ir)"));
  if (r.out !== undefined && r.emit === undefined && formatOf(r.out) === null) {
    return fail(diag("cli/output", `${r.out}: the output format comes from the extension: .lp (CPLEX LP) or .mps (free MPS)`));
  }
  // The input box is [0, 1] in model units: pixels [0, pixel scale].
  // An unknown --mode is compileOptions' to refuse.
  const form = r.form ?? (isMode(r.mode) ? MODES[r.mode].form : "reduced");
  const radius = r.radius === undefined ? Infinity : r.radius / s.pixelScale;
  return compileOptions({ form, mode: r.mode, radius, target, margin: r.margin, pixelScale: s.pixelScale, pixelMin: 0, pixelMax: s.pixelScale });
}

export function headerFor(s: Session, index: number, mode: CompileMode = "restrict") {
  return (label: number, predicted: number): string[] => {
    const truth = s.dataset.labels ? s.dataset.labels[index] : null;
    return [
      `model ${s.modelPath}; seed point x* = ${s.dataset.source} index ${index}; true label ${truth ?? "unknown"}; predicted l* = ${predicted}; target l = ${label}`,
      `variables: x_i = model input i (pixel / ${s.pixelScale}); minimise t subject to ${MODES[mode].feasibleSet} and |x - x*| <= t`,
    ];
  };
}

export function compileSeed(s: Session, index: number, options: CompileOptions): CompiledPoint {
  return compilePoint(s.network, modelInput(s, index), options, { name: `robustc_${index}`, header: headerFor(s, index, options.mode) });
}

/** Renders the requested text for every target: LP/MPS files, or IR. */
export function renderCompile(s: Session, r: CompileRequest, options: CompileOptions, c: CompiledPoint): Result<{ path: string | null; text: string; label: number }[]> {
  const several = c.targets.length > 1;
  if (r.emit === "cf") {
    // C_f(x, l) itself, with its disjunctions: what the passes start from.
    const enc = encode(s.network, { inputLower: options.pixelMin / options.pixelScale, inputUpper: options.pixelMax / options.pixelScale });
    return ok(c.targets.map((t) => ({
      path: r.out ? targetPath(r.out, t.label, several) : null, label: t.label,
      text: printProblem({ ...enc.problem, constraint: and(enc.problem.constraint, outputConstraint(enc, t.label, options.margin)) },
        [`C_f(x, ${t.label}) of ${s.modelPath} (Bastani et al. 2016, section 3): disjunctions kept`]),
    })));
  }
  if (r.emit === "ir") {
    return ok(c.targets.map((t) => ({ path: r.out ? targetPath(r.out, t.label, several) : null, label: t.label, text: printProblem(t.problem, t.lp.comments) })));
  }
  const fmt = formatOf(r.out!)!;
  return ok(c.targets.map((t) => ({ path: targetPath(r.out!, t.label, several), label: t.label, text: fmt === "lp" ? writeCplexLp(t.lp) : writeMps(t.lp) })));
}

export function writeOutputs(files: { path: string | null; text: string }[], stdout: (s: string) => void): Result<void> {
  for (const f of files) {
    if (f.path === null) { stdout(f.text.trimEnd()); continue; }
    const w = writeFileAtomic(f.path, f.text);
    if (!w.ok) return w;
  }
  return ok(undefined);
}

/** `--solve S`: solves each written file with solver S and checks the optimiser with onnxruntime. */
export async function solveWritten(s: Session, files: { path: string | null; label: number }[], solver: SolverName, stdout: (line: string) => void, mode: CompileMode = "restrict"): Promise<void> {
  const { quantity, infeasible, otherLabel } = MODES[mode];
  const n = inputSize(s.network);
  const ort = await OnnxRuntimeEvaluator.create(s.modelPath, s.network);
  try {
    for (const f of files) {
      if (!f.path) continue;
      const r = await solveFile(f.path, solver);
      const head = `${f.path}: ${solver}: target ${f.label}:`;
      if (r.status === "infeasible") { stdout(`${head} infeasible: ${infeasible}`); continue; }
      if (r.status !== "optimal" || r.values === null || r.objective === null) { stdout(`${head} ${r.status}${r.message ? ` (${r.message})` : ""}`); continue; }
      const x = Float64Array.from({ length: n }, (_, i) => Math.fround(r.values!.get(`x_${i}`) ?? 0));
      const [y] = await ort.logits([x]);
      const got = argmax(y);
      const verdict = got === f.label ? "has the target label" : otherLabel(got);
      stdout(`${head} optimal, ${quantity} = ${formatNumber(r.objective * s.pixelScale)} pixels (t = ${formatNumber(r.objective)}); the optimiser, checked by onnxruntime (float32), ${verdict}`);
    }
  } finally {
    await ort.dispose();
  }
}
