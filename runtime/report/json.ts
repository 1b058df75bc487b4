// report.json of measure, merge and the queue alike: consumes a finished run (its identity, points and how it
// ran); produces what the measurement was (model, data, settings, versions) and what it found (estimators,
// counts, timing; with --mode, phi's interval). Every number is one the run measured.

import { createRequire } from "node:module";
import { estimate, quantile, type Estimates } from "../run/measure.js";
import type { RunIdentity } from "../run/out-dir.js";
import { frequencyInterval } from "../rho/modes.js";
import { type PointResult } from "../rho/types.js";

const require = createRequire(import.meta.url);
const version = (pkg: string): string => {
  try { return (require(`${pkg}/package.json`) as { version: string }).version; } catch { return "unknown"; }
};

/** A finished measurement, however it ran (one process, shards merged, a queue). */
export interface MeasuredRun {
  readonly identity: RunIdentity;
  /** Every point of the run, sorted by index. */
  readonly points: readonly PointResult[];
  readonly jobs: number;
  readonly totalSeconds: number;
  /** How the run was spread or resumed (resumed_points, shard, shards, queue, ...): appended to settings. */
  readonly settings: Record<string, unknown>;
}

export interface MeasureReport {
  readonly estimates: Estimates;
  /** --mode: phi(eps) as [phi_lower, phi_upper] from the per-point bounds; null on the default path. */
  readonly interval: ReturnType<typeof frequencyInterval> | null;
  readonly json: Record<string, unknown>;
}

/** The one builder of report.json. */
export function measureReport(run: MeasuredRun): MeasureReport {
  const id = run.identity;
  const est = estimate(run.points, id.eps);
  const base = buildReport({
    model: id.model, data: id.data, pixelScale: id.pixel_scale, algorithm: id.algorithm, jobs: run.jobs, totalSeconds: run.totalSeconds,
    settings: { add: id.lazy.add, time_limit: id.lazy.timeLimit, tolerance: id.lazy.tolerance, ...run.settings },
  }, est, run.points);
  const fi = id.mode ? frequencyInterval(run.points, id.eps) : null;
  return { estimates: est, interval: fi, json: fi ? { ...base, mode: id.mode, frequency_interval: [fi.lower, fi.upper] } : base };
}

interface ReportInput {
  readonly model: string;
  readonly data: string;
  readonly pixelScale: number;
  readonly algorithm: string;
  readonly jobs: number;
  readonly totalSeconds: number;
  readonly settings: Record<string, unknown>;
}

function buildReport(inp: ReportInput, est: Estimates, points: readonly PointResult[]): Record<string, unknown> {
  const secs = points.map((p) => p.seconds).sort((a, b) => a - b);
  return {
    model: inp.model, data: inp.data, n: est.n, eps: est.eps, algorithm: inp.algorithm,
    // FGSM's example is at distance <= eps by construction: it estimates the frequency only.
    frequency: est.frequency, severity: inp.algorithm === "fgsm" ? null : est.severity,
    counts: est.counts, correct: est.correct, accuracy: est.n > 0 ? est.correct / est.n : null,
    adversarial_within_eps: est.within,
    median_seconds: quantile(secs, 0.5), p90_seconds: quantile(secs, 0.9), total_seconds: inp.totalSeconds,
    solver: inp.algorithm === "lp" ? `HiGHS ${version("highs")} (npm highs, WebAssembly), iterative lazy constraint solving`
      : inp.algorithm === "lbfgsb" ? "L-BFGS-B (hand-written, runtime/attacks/lbfgsb-optimizer.ts) on c·‖r‖₂² + cross-entropy, search over c"
      : "fast gradient sign method (one step of eps)",
    versions: { robustc: "0.1.0", node: process.version, highs: version("highs"), "onnxruntime-node": version("onnxruntime-node") },
    settings: { pixel_scale: inp.pixelScale, target: inp.algorithm === "fgsm" ? "any label but l*" : "second", jobs: inp.jobs, ...inp.settings },
    notes: [
      "rho and eps are in pixels (0-255 scale): rho_hat = L-inf distance of the onnxruntime-checked adversarial example from x*.",
      "misclassified points are excluded from the estimators, as in the paper (frequency = within / correct).",
      "timeout and error points count as rho_hat = inf (no example found), like an infeasible restriction.",
      "rho_hat is an upper bound on rho (the LP is a convex restriction): frequency is a lower estimate of phi.",
    ],
  };
}

/** What measure (and merge) print: the estimators' table, and with --mode the interval of phi. */
export function formatMeasureReport(r: MeasureReport): string {
  const fi = r.interval, eps = r.estimates.eps;
  const table = formatTable(r.estimates, r.json);
  return fi ? `${table}\nphi(${eps}) in [phi_lower, phi_upper] (--mode ${String(r.json.mode)})  [${pct(fi.lower)}, ${pct(fi.upper)}] (${fi.within}/${fi.correct} surely within, ${fi.possible}/${fi.correct} possibly)` : table;
}

function formatTable(est: Estimates, report: Record<string, unknown>): string {
  const rows: [string, string][] = [
    ["points", String(est.n)],
    ["correctly classified", `${est.correct} (${pct(est.n > 0 ? est.correct / est.n : null)})`],
    [`adversarial frequency phi_hat(${est.eps})`, `${pct(est.frequency)} (${est.within}/${est.correct})`],
    [`adversarial severity mu_hat(${est.eps})`, est.severity === null ? "n/a (no rho_hat <= eps)" : `${est.severity.toFixed(3)} pixels`],
    ...Object.entries(est.counts).map(([k, v]) => [`  ${k}`, String(v)] as [string, string]),
    ["median / p90 seconds per point", `${fmt(report.median_seconds)} / ${fmt(report.p90_seconds)}`],
    ["total seconds", fmt(report.total_seconds)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(2)}%`);
const fmt = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "n/a");
