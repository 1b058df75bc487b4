// report.json: what a measurement was (model, data, settings, versions) and what it found (estimators,
// counts, timing). Every number is one the run measured.

import { createRequire } from "node:module";
import { quantile, type Estimates } from "../run/measure.js";
import { type PointResult } from "../rho/types.js";

const require = createRequire(import.meta.url);
const version = (pkg: string): string => {
  try { return (require(`${pkg}/package.json`) as { version: string }).version; } catch { return "unknown"; }
};

export interface ReportInput {
  readonly model: string;
  readonly data: string;
  readonly pixelScale: number;
  readonly algorithm: string;
  readonly jobs: number;
  readonly totalSeconds: number;
  readonly settings: Record<string, unknown>;
}

export function buildReport(inp: ReportInput, est: Estimates, points: readonly PointResult[]): Record<string, unknown> {
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

export function formatTable(est: Estimates, report: Record<string, unknown>): string {
  const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(2)}%`);
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

const fmt = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "n/a");
