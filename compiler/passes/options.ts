// Compile options: one readonly object with defaults; unknown keys are an error naming them.

import { diag, fail, ok, type Result } from "../diagnostics.js";

export type Form = "layered" | "reduced";
/** restrict: the paper's convex restriction (an LP); exact: every disjunction as big-M rows (a MILP);
 *  relax: every disjunction as its triangle relaxation (an LP whose optimum is a LOWER bound on rho within the radius).
 * */
export type Mode = "restrict" | "exact" | "relax";
export type Target = "second" | "all" | number;

export interface CompileOptions {
  /** `layered`: a variable per neuron, equalities per layer (the paper's form); `reduced`: layers substituted away. */
  readonly form: Form;
  readonly mode: Mode;
  /** exact mode: bounds are computed on the box ‖x − x*‖∞ ≤ radius (model units) and t ≤ radius. */
  readonly radius: number;
  /** Target label: the second most probable at x* (the paper), every l ≠ l*, or a given label. */
  readonly target: Target;
  /** Confidence margin alpha of C_out: y_l ≥ y_l' + alpha. */
  readonly margin: number;
  /** Pixel range and scale: the input box is [pixelMin, pixelMax] / pixelScale in model units. */
  readonly pixelScale: number;
  readonly pixelMin: number;
  readonly pixelMax: number;
}

export const DEFAULT_OPTIONS: CompileOptions = {
  form: "reduced",
  mode: "restrict",
  radius: Infinity,
  target: "second",
  margin: 0,
  pixelScale: 255,
  pixelMin: 0,
  pixelMax: 255,
};

export function compileOptions(given: Readonly<Record<string, unknown>> = {}): Result<CompileOptions> {
  const unknown = Object.keys(given).filter((k) => !(k in DEFAULT_OPTIONS));
  if (unknown.length > 0) return fail(diag("options/unknown", `unknown compile option(s): ${unknown.join(", ")}`));
  const o = { ...DEFAULT_OPTIONS, ...given } as CompileOptions;
  if (o.form !== "layered" && o.form !== "reduced")
    return fail(diag("options/form", `--form must be layered or reduced, got '${String(o.form)}'`));
  if (
    !(typeof o.target === "number" && Number.isInteger(o.target) && o.target >= 0) &&
    o.target !== "second" &&
    o.target !== "all"
  ) {
    return fail(
      diag(
        "options/target",
        `--target must be second, all or a label (a non-negative integer), got '${String(o.target)}'`,
      ),
    );
  }
  if (o.mode !== "restrict" && o.mode !== "exact" && o.mode !== "relax")
    return fail(diag("options/mode", `--mode must be restrict, exact or relax, got '${String(o.mode)}'`));
  if (o.mode !== "restrict" && o.form !== "layered")
    return fail(
      diag("options/form", `--mode ${o.mode} needs --form layered (its rows are over every layer's variables)`),
    );
  if (!(o.radius > 0)) return fail(diag("options/radius", `the exact mode's radius must be positive, got ${o.radius}`));
  if (!Number.isFinite(o.margin))
    return fail(diag("options/margin", `--margin must be a finite number, got ${o.margin}`));
  if (!(o.pixelScale > 0) || !Number.isFinite(o.pixelScale))
    return fail(diag("options/pixel-scale", `--pixel-scale must be positive, got ${o.pixelScale}`));
  if (!(o.pixelMin < o.pixelMax))
    return fail(diag("options/pixel-range", `pixel range [${o.pixelMin}, ${o.pixelMax}] is empty`));
  return ok(o);
}
