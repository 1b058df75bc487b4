// `robustc compile`: one seed point of a dataset → the restricted LP per target label, written as CPLEX-LP
// or free MPS (format from the extension), or the constraint IR as text (--emit). Everything is validated
// before anything is written; files are written atomically.

import { extname } from "node:path";
import { and, compileOptions, compilePoint, diag, encode, fail, formatNumber, inputSize, ok, outputConstraint, outputSize, writeCplexLp, writeFileAtomic, writeMps, type CompiledPoint, type CompileOptions, type Result, type Target } from "../../compiler/index.js";
import { printProblem } from "../../grammar/constraint/print.js";
import { modelInput, type Session } from "../run/session.js";
import { OnnxRuntimeEvaluator } from "../evaluator/onnxruntime.js";
import { argmax } from "../evaluator/types.js";
import { solveFile, type SolverName } from "../solvers/registry.js";

export interface CompileRequest {
  readonly index: number;
  readonly form?: string;
  readonly mode: string;
  /** exact mode: box radius in pixels (default: the whole input box). */
  readonly radius?: number;
  readonly target: string;
  readonly margin: number;
  readonly out?: string;
  readonly emit?: string;
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
  const form = r.form ?? (r.mode === "exact" || r.mode === "relax" ? "layered" : "reduced");
  const radius = r.radius === undefined ? Infinity : r.radius / s.pixelScale;
  return compileOptions({ form, mode: r.mode, radius, target, margin: r.margin, pixelScale: s.pixelScale, pixelMin: 0, pixelMax: s.pixelScale });
}

/** What the LP's constraint set is, per mode (the file header's second line and --solve's wording). */
const FEASIBLE_SET: Record<CompileOptions["mode"], string> = {
  restrict: "C_f(x, l) restricted to Z(x*)",
  exact: "C_f(x, l) (every disjunction as big-M rows)",
  relax: "the triangle relaxation of C_f(x, l)",
};

export function headerFor(s: Session, index: number, mode: CompileOptions["mode"] = "restrict") {
  return (label: number, predicted: number): string[] => {
    const truth = s.dataset.labels ? s.dataset.labels[index] : null;
    return [
      `model ${s.modelPath}; seed point x* = ${s.dataset.source} index ${index}; true label ${truth ?? "unknown"}; predicted l* = ${predicted}; target l = ${label}`,
      `variables: x_i = model input i (pixel / ${s.pixelScale}); minimise t subject to ${FEASIBLE_SET[mode]} and |x - x*| <= t`,
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
export async function solveWritten(s: Session, files: { path: string | null; label: number }[], solver: SolverName, stdout: (line: string) => void, mode: CompileOptions["mode"] = "restrict"): Promise<void> {
  // restrict: the optimum is rho_hat, an upper bound on rho(f, x*, l); exact: rho(f, x*, l) itself (within
  // --radius); relax: a LOWER bound on rho(f, x*, l), whose optimiser need not have the target label.
  const quantity = mode === "restrict" ? "rho_hat" : mode === "exact" ? "rho (exact within --radius)" : "a lower bound on rho (relaxation)";
  const none = mode === "restrict" ? "no adversarial example in the linear region of x* (rho_hat = inf)"
    : mode === "exact" ? "no input within --radius has the target label (rho > radius)"
      : "the relaxation proves no input within --radius has the target label (rho > radius)";
  const n = inputSize(s.network);
  const ort = await OnnxRuntimeEvaluator.create(s.modelPath, s.network);
  try {
    for (const f of files) {
      if (!f.path) continue;
      const r = await solveFile(f.path, solver);
      const head = `${f.path}: ${solver}: target ${f.label}:`;
      if (r.status === "infeasible") { stdout(`${head} infeasible: ${none}`); continue; }
      if (r.status !== "optimal" || r.values === null || r.objective === null) { stdout(`${head} ${r.status}${r.message ? ` (${r.message})` : ""}`); continue; }
      const x = Float64Array.from({ length: n }, (_, i) => Math.fround(r.values!.get(`x_${i}`) ?? 0));
      const [y] = await ort.logits([x]);
      const got = argmax(y);
      const verdict = got === f.label ? "has the target label"
        : mode === "relax" ? `has label ${got} (a relaxation's optimiser need not be a real example)`
          : `has label ${got}, not the target (a float32 boundary example: see robustc rho)`;
      stdout(`${head} optimal, ${quantity} = ${formatNumber(r.objective * s.pixelScale)} pixels (t = ${formatNumber(r.objective)}); the optimiser, checked by onnxruntime (float32), ${verdict}`);
    }
  } finally {
    await ort.dispose();
  }
}
