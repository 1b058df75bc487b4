// `robustc rho`: consumes a run request; prints per point as it finishes the bracket lower <= rho <= upper with
// the paper's rho_hat (--mode restrict: rho_hat alone): a table line, or with --json the points.jsonl record
// (with --examples also the example in the data's units). Over many points it says so first, and without a
// TTY it prints a progress line on stderr every ~10 s.

import { UserError, diag } from "../../compiler/index.js";
import { progressBar, roughDuration, runPoints } from "../run/measure.js";
import { exampleRecord } from "../report/images.js";
import { makeRunner } from "../run/point-runner.js";
import { pointRecord } from "../run/points-file.js";
import { isBracket, type BracketPoint, type LpPoint, type PointResult } from "../rho/result.js";
import { openRun, withCliTolerance, type RunRequest } from "./run-request.js";
import { distDigits, unitShort } from "../data/input-map.js";

export interface RhoRequest extends RunRequest {
  readonly json?: boolean;
  /** With --json: each record carries its example (pixels in the data's units, x*'s index, the example's label). */
  readonly examples?: boolean;
}

/**
 * Why --eps changes nothing for rho with this algorithm and mode, or null where it does: the bracket's rho_hat
 * ball R = max(upper, eps) (bracket, exact, milp), certify's question "rho > eps?", FGSM's step. (measure and
 * compare always use it: the estimators' threshold.)
 */
export function epsIgnored(algorithm: RunRequest["algorithm"], mode: RunRequest["mode"]): string | null {
  if (algorithm === "lbfgsb") return "L-BFGS-B seeks the closest example it can, with no eps";
  if (algorithm === "pgd") return "the minimum-norm attack searches the radius itself";
  if (algorithm === "fgsm") return null;
  const m = mode ?? "bracket";
  if (m === "restrict") return "the paper's LP over x*'s linear region has no eps";
  if (m === "bounds" || m === "walk") return `--mode ${m} solves the full restricted LP, with no ball`;
  return null;
}

export async function rhoCommand(model: string, r: RhoRequest, out: (line: string) => void): Promise<void> {
  // An --eps that changes nothing would read as if the answer depended on it: refused, as --mode is (checkMode).
  const ignored = r.eps === undefined ? null : epsIgnored(r.algorithm, r.mode);
  if (ignored)
    throw new UserError([
      diag(
        "cli/eps",
        `--eps ${r.eps} does nothing for rho --algorithm ${r.algorithm}${r.mode ? ` --mode ${r.mode}` : ""} (${ignored}): drop --eps (it sets the bracket's rho_hat ball, certify's question and FGSM's step)`,
      ),
    ]);
  if (r.examples && !r.json)
    throw new UserError([diag("cli/examples", "--examples adds each example to the JSON records: use it with --json")]);
  const { session, indices, cfg, announce } = await openRun(model, withCliTolerance(r));
  announce();
  const jobs = Math.min(r.jobs, indices.length);
  // No --index or --limit: the whole dataset, which can take hours; say so before the first point.
  if (r.index === undefined && r.limit === undefined) {
    process.stderr.write(
      `robustc: rho runs the whole dataset: ${indices.length} points of ${r.data}, up to about ${roughDuration((indices.length * r.timeLimit) / Math.max(1, jobs))} ` +
        `(--time-limit ${r.timeLimit} s per point, --jobs ${jobs}); --limit N or --index I runs fewer\n`,
    );
  }
  const runner = await makeRunner(cfg, jobs, session);
  // The per-point lines show progress on a terminal; a log gets a progress line every ~10 s.
  const progress = await progressBar(indices.length, false, {
    eps: cfg.eps,
    ...(process.stderr.isTTY === true || indices.length < 2 ? { interval: 0 } : {}),
  });
  try {
    const bracket = cfg.mode !== undefined;
    if (!r.json) out(bracket ? bracketHeader(cfg.pixelScale) : pointHeader(cfg.pixelScale));
    const record = (p: PointResult) =>
      JSON.stringify({ ...pointRecord(p), ...(r.examples ? { example: exampleRecord(session, p) } : {}) });
    await runPoints(runner, indices, jobs, null, {
      tick: (p) => {
        progress.tick(p);
        out(r.json ? record(p) : isBracket(p) ? formatBracketPoint(p, cfg.pixelScale) : formatPoint(p, cfg.pixelScale));
      },
      stop: () => progress.stop(),
    });
  } finally {
    progress.stop();
    await runner.close();
  }
}

export function formatPoint(p: LpPoint, scale = 255): string {
  const rho = p.rho === null ? "-" : Number.isFinite(p.rho) ? p.rho.toFixed(distDigits(scale, 4)) : "inf";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${String(p.target ?? "-").padStart(6)}  ${p.status.padEnd(24)}  ${rho.padStart(9)}  ${String(p.iterations).padStart(5)}  ${String(p.rows).padStart(6)}  ${p.seconds.toFixed(3).padStart(8)}${p.message ? `  ${p.message}` : ""}`;
}

/** A distance with the decimals its scale needs (4 on 0-255). */
const fd = (v: number | null | undefined, scale: number) =>
  v === null || v === undefined ? "-" : Number.isFinite(v) ? v.toFixed(distDigits(scale, 4)) : "inf";

/** A bracket line: lower <= rho <= upper, the label of upper's example, the paper's rho_hat ("> R" beyond the ball). */
export function formatBracketPoint(p: BracketPoint, scale = 255): string {
  const d = distDigits(scale, 4);
  // "> R" rounded down: rounding up would claim a larger bound than was shown.
  const hat =
    p.rhoHatAbove !== null ? `> ${(Math.floor(p.rhoHatAbove * 10 ** d) / 10 ** d).toFixed(d)}` : fd(p.rhoHat, scale);
  const upperLabel = p.upper !== null ? String(p.target ?? "-") : "-";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${p.status.padEnd(13)}  ${fd(p.lower, scale).padStart(9)}  ${fd(p.upper, scale).padStart(9)}  ${upperLabel.padStart(5)}  ${hat.padStart(9)}  ${p.seconds.toFixed(3).padStart(8)}${p.optimal === false ? "  not optimal" : ""}${p.message ? `  ${p.message}` : ""}`;
}

/** The table heads, with the data's unit (pixels on the 0-255 scale). */
export const bracketHeader = (scale: number) =>
  `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"status".padEnd(13)}  ${"lower".padStart(9)}  ${"upper".padStart(9)}  ${"label".padStart(5)}  ${"rho_hat".padStart(9)}  ${"seconds".padStart(8)}  (${unitShort(scale)}; lower <= rho <= upper, label: upper's example)`;

export const pointHeader = (scale: number) =>
  `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"target".padStart(6)}  ${"status".padEnd(24)}  ${(scale === 255 ? "rho (px)" : "rho").padStart(9)}  ${"iters".padStart(5)}  ${"rows".padStart(6)}  ${"seconds".padStart(8)}`;
