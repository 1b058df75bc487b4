// report.json of measure, merge and the queue alike: consumes a finished run (its identity, points and how it
// ran); produces what the measurement was (model, data, settings, versions) and what it found: a bracket run
// (every --mode but restrict) phi's interval, mu from upper and the paper's phi_hat/mu_hat from rho_hat, counts
// per status and seconds per stage; a restrict or attack run the paper's estimators. Every number is one the
// run measured.

import { createRequire } from "node:module";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { loadedHighsVersion } from "../solvers/highs.js";
import { bracketEstimate, estimate, quantile, type BracketEstimates, type Estimates } from "../run/measure.js";
import { identityTolerance, type RunIdentity } from "../run/out-dir.js";
import { roundSeconds } from "../run/points-file.js";
import { exactTolerance, isBracket, type PointResult } from "../rho/result.js";
import type { Algorithm } from "../rho/point.js";
import { distDigits, fmtValue, unitShort, unitsOf } from "../data/input-map.js";
import { engineProvider } from "../engine/index.js";

const require = createRequire(import.meta.url);
/** A package's version; `highs` exports no ./package.json, so it is read beside the package's main file. */
const version = (pkg: string): string => {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    /* not exported */
  }
  try {
    for (let d = dirname(require.resolve(pkg)); d !== dirname(d); d = dirname(d)) {
      const f = join(d, "package.json");
      if (existsSync(f)) {
        const j = JSON.parse(readFileSync(f, "utf8")) as { name?: string; version?: string };
        if (j.name === pkg && j.version) return j.version;
      }
    }
  } catch {
    /* not installed */
  }
  return "unknown";
};
/** HiGHS' own version (writeMeasurement loads the module first); else the npm package's, saying it is that. */
const highsVersion = () =>
  loadedHighsVersion() ?? `of npm highs ${version("highs")} (its own version unread: the module was not loaded)`;

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
  /** A bracket run (every --mode but restrict): its estimators (phi's interval, rho_hat's, upper's); null otherwise. */
  readonly bracket: BracketEstimates | null;
  readonly json: Record<string, unknown>;
}

/** The one builder of report.json. */
export function measureReport(run: MeasuredRun): MeasureReport {
  const id = run.identity;
  const inp: ReportInput = {
    model: id.model,
    data: id.data,
    pixelScale: id.pixel_scale,
    algorithm: id.algorithm,
    jobs: run.jobs,
    totalSeconds: run.totalSeconds,
    settings: {
      add: id.lazy.add,
      time_limit: id.lazy.timeLimit,
      tolerance: id.lazy.tolerance,
      ...(id.layout ? { layout: id.layout } : {}),
      ...(id.mean ? { mean: id.mean } : {}),
      ...(id.std ? { std: id.std } : {}),
      // The engine behind the attacks (--backend) and, for onnxruntime, its execution provider; absent in a
      // run.json written before issue 23.
      ...(id.backend
        ? { backend: id.backend, execution_provider: id.backend === "onnxruntime" ? engineProvider() : null }
        : {}),
      ...run.settings,
    },
  };
  const est = estimate(run.points, id.eps, id.algorithm);
  if (!id.mode) return { estimates: est, bracket: null, json: buildReport(inp, est, run.points) };
  const b = bracketEstimate(run.points.filter(isBracket), id.eps);
  const tol = identityTolerance(id);
  const base = buildReport(inp, est, run.points);
  const stages = stageQuantiles(run.points);
  return {
    estimates: est,
    bracket: b,
    json: {
      ...base,
      mode: id.mode,
      solver: `the bracket: minimum-norm PGD over every label (runtime/attacks/pgd.ts); HiGHS ${highsVersion()} (npm highs, WebAssembly) for the region LPs and rho_hat; back-substitution (CROWN/DeepPoly-style) for the lower bound${id.mode === "exact" || id.mode === "certify" ? "; branch and bound over ReLU splits (runtime/bab/: back-substituted bounds and a warm HiGHS LP per subdomain)" : ""}`,
      settings: {
        ...(base.settings as Record<string, unknown>),
        target: "any label but l* (upper); the second most probable (rho_hat)",
        // --tolerance: a point is exact when upper - lower <= exact_tolerance x upper (0: the absolute 1e-3 px; a
        // run.json written before the option has none, and its rule was 0). (settings.tolerance is the lazy loop's.)
        ...(tol !== undefined ? { exact_tolerance: tol } : {}),
      },
      // The paper's estimators, from rho_hat (exact for every eps ≤ R, the ball rho_hat was sought in).
      frequency: b.phiHat,
      severity: b.muHat,
      adversarial_within_eps: b.withinHat,
      frequency_interval: [b.phiLower, b.phiUpper],
      frequency_counts: { surely_within: b.within, possibly_within: b.possible, correct: b.correct },
      severity_upper: b.mu,
      median_bracket_width: b.medianWidth,
      counts: b.counts,
      median_stage_seconds: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.median])),
      p90_stage_seconds: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, v.p90])),
      notes: bracketNotes(id.pixel_scale),
    },
  };
}

const bracketNotes = (scale: number) => [
  `rho, eps, lower, upper and rho_hat are in ${unitsOf(scale)}; misclassified points are excluded from every estimator.`,
  "per point lower <= rho <= upper: upper is the L-inf distance of an adversarial example that onnxruntime (float32) and the float64 reference both confirm (a strict win); lower is certified by sound bounds over the ball (no input closer than lower has another label).",
  "frequency_interval = [phi_lower, phi_upper]: phi_lower counts points with upper <= eps, phi_upper every point not certified beyond eps (lower <= eps); the true phi(eps) lies between.",
  "frequency and severity are the paper's phi_hat and mu_hat from rho_hat (the restricted LP in x*'s linear region, sought inside the ball of radius max(upper, eps)); severity_upper is the mean upper over points with upper <= eps.",
  "rho_hat >= rho always: a point whose linear region holds no example (rho_hat = inf, or > R inside the ball) may still have rho <= eps: read the bracket, not rho_hat.",
  "--mode bounds and --mode walk compute rho_hat by the full restricted LP (no ball); --mode walk seeks no lower bound (lower = 0).",
];

/** Median and p90 seconds of each stage over the points that ran it. */
function stageQuantiles(points: readonly PointResult[]): Record<string, { median: number | null; p90: number | null }> {
  const by = new Map<string, number[]>();
  for (const p of points)
    for (const [k, v] of Object.entries((isBracket(p) ? p.stages : undefined) ?? {}))
      by.set(k, [...(by.get(k) ?? []), roundSeconds(v)]);
  return Object.fromEntries(
    [...by].map(([k, v]) => {
      const s = v.sort((a, b) => a - b);
      return [k, { median: quantile(s, 0.5), p90: quantile(s, 0.9) }];
    }),
  );
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

const SOLVER_OF: Record<Algorithm, string> = {
  lp: `HiGHS ${highsVersion()} (npm highs, WebAssembly), iterative lazy constraint solving`,
  lbfgsb: "L-BFGS-B (hand-written, runtime/attacks/lbfgsb-optimizer.ts) on c·‖r‖₂² + cross-entropy, search over c",
  fgsm: "fast gradient sign method (one step of eps)",
  pgd: "minimum-norm L-inf PGD over every label (runtime/attacks/pgd.ts): margin loss, search over the radius",
};

function buildReport(inp: ReportInput, est: Estimates, points: readonly PointResult[]): Record<string, unknown> {
  // As saved (points-file.ts roundSeconds): measure's table and report's from the saved points then agree.
  const secs = points.map((p) => roundSeconds(p.seconds)).sort((a, b) => a - b);
  return {
    model: inp.model,
    model_file: basename(inp.model),
    data: inp.data,
    n: est.n,
    eps: est.eps,
    algorithm: inp.algorithm,
    // FGSM's example is at distance <= eps by construction: it estimates the frequency only (NO_SEVERITY).
    frequency: est.frequency,
    severity: est.severity,
    ...(est.severityNote ? { severity_note: est.severityNote } : {}),
    counts: est.counts,
    correct: est.correct,
    accuracy: est.n > 0 ? est.correct / est.n : null,
    adversarial_within_eps: est.within,
    median_seconds: quantile(secs, 0.5),
    p90_seconds: quantile(secs, 0.9),
    total_seconds: inp.totalSeconds,
    solver: SOLVER_OF[inp.algorithm as Algorithm] ?? inp.algorithm,
    versions: {
      robustc: "0.1.0",
      node: process.version,
      highs: highsVersion(),
      "highs-npm": version("highs"),
      "onnxruntime-node": version("onnxruntime-node"),
    },
    settings: {
      pixel_scale: inp.pixelScale,
      target: inp.algorithm === "fgsm" || inp.algorithm === "pgd" ? "any label but l*" : "second",
      jobs: inp.jobs,
      ...inp.settings,
    },
    notes: [
      `rho and eps are in ${unitsOf(inp.pixelScale)}: rho_hat = L-inf distance of the onnxruntime-checked adversarial example from x*.`,
      "misclassified points are excluded from the estimators, as in the paper (frequency = within / correct).",
      "timeout and error points count as rho_hat = inf (no example found), like an infeasible restriction.",
      "rho_hat is an upper bound on rho (the LP is a convex restriction): frequency is a lower estimate of phi.",
    ],
  };
}

/** What measure (and merge) print: the estimators' table (a bracket run's, or the paper's estimator's). */
export function formatMeasureReport(r: MeasureReport): string {
  return r.bracket ? formatBracketTable(r.bracket, r.json) : formatTable(r.estimates, r.json);
}

/** The unit after a distance in the tables, from report.json's settings.pixel_scale. */
const scaleOf = (report: Record<string, unknown>) =>
  Number((report.settings as { pixel_scale?: number } | undefined)?.pixel_scale ?? 255);
const unitOf = (report: Record<string, unknown>) => unitShort(scaleOf(report));
/** A distance in a table: its decimals follow the scale (distDigits), its unit after it. */
const dist = (v: number, report: Record<string, unknown>) =>
  `${v.toFixed(distDigits(scaleOf(report)))} ${unitOf(report)}`;

function formatBracketTable(b: BracketEstimates, report: Record<string, unknown>): string {
  const eps = fmtValue(b.eps);
  const stages = report.median_stage_seconds as Record<string, number | null>;
  const rows: [string, string][] = [
    ["points", String(b.n)],
    ["correctly classified", `${b.correct} (${pct(b.n > 0 ? b.correct / b.n : null)})`],
    [
      `phi(${eps}) in [phi_lower, phi_upper]`,
      `[${pct(b.phiLower)}, ${pct(b.phiUpper)}] (${b.within}/${b.correct} with a checked example within eps, ${b.possible}/${b.correct} not certified beyond eps)`,
    ],
    [`mu(${eps}) from upper`, b.mu === null ? "n/a (no upper <= eps)" : dist(b.mu, report)],
    ...(b.phiHat === null && b.correct > 0
      ? [[`paper's phi_hat(${eps}) from rho_hat`, "n/a (this mode does not solve the paper's LP)"] as [string, string]]
      : [
          // Above the run's eps (robustc report --eps) some rho_hat were sought only within R < eps: never exact then.
          [
            `paper's phi_hat(${eps}) from rho_hat`,
            b.hatOpen > 0
              ? `>= ${pct(b.phiHat)} (${b.withinHat}/${b.correct}; only a lower estimate: ${b.hatOpen} points' rho_hat was sought only within R < ${eps} and not found there)`
              : `${pct(b.phiHat)} (${b.withinHat}/${b.correct})`,
          ] as [string, string],
          [
            `paper's mu_hat(${eps}) from rho_hat`,
            b.muHat === null
              ? "n/a (no rho_hat <= eps)"
              : `${dist(b.muHat, report)}${b.hatOpen > 0 ? " (over the points known within eps)" : ""}`,
          ] as [string, string],
        ]),
    ...Object.entries(b.counts).map(
      ([k, v]) => [`  ${k}`, k === "exact" ? `${v}${closure(report)}` : String(v)] as [string, string],
    ),
    ["median bracket width (upper - lower)", b.medianWidth === null ? "n/a" : dist(b.medianWidth, report)],
    ["median / p90 seconds per point", `${fmt(report.median_seconds)} / ${fmt(report.p90_seconds)}`],
    [
      "median seconds per stage",
      Object.entries(stages)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(", ") || "n/a",
    ],
    ["total seconds", fmt(report.total_seconds)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return [...rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`), BRACKET_MEANING].join("\n");
}

/** What `exact` meant in the run (report.json's settings.exact_tolerance), after the exact count; "" without it. */
function closure(report: Record<string, unknown>): string {
  const t = (report.settings as { exact_tolerance?: number } | undefined)?.exact_tolerance;
  if (typeof t !== "number") return "";
  return t > 0
    ? ` (upper - lower <= ${Number((t * 100).toPrecision(6))}% of upper)`
    : ` (upper - lower <= ${fmtValue(exactTolerance(scaleOf(report)))} ${unitOf(report)})`;
}

/** The bracket's meaning in one line (measure and make demo print it under the table). */
export const BRACKET_MEANING =
  "per point lower <= rho <= upper: upper is a checked adversarial example, lower is certified (nothing closer has another label); the true phi(eps) lies in [phi_lower, phi_upper].";

function formatTable(est: Estimates, report: Record<string, unknown>): string {
  const rows: [string, string][] = [
    ["points", String(est.n)],
    ["correctly classified", `${est.correct} (${pct(est.n > 0 ? est.correct / est.n : null)})`],
    [`adversarial frequency phi_hat(${fmtValue(est.eps)})`, `${pct(est.frequency)} (${est.within}/${est.correct})`],
    [
      `adversarial severity mu_hat(${fmtValue(est.eps)})`,
      est.severity === null ? `n/a (${est.severityNote ?? "no rho_hat <= eps"})` : dist(est.severity, report),
    ],
    ...Object.entries(est.counts).map(([k, v]) => [`  ${k}`, String(v)] as [string, string]),
    ["median / p90 seconds per point", `${fmt(report.median_seconds)} / ${fmt(report.p90_seconds)}`],
    ["total seconds", fmt(report.total_seconds)],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(2)}%`);
const fmt = (v: unknown) => (typeof v === "number" ? v.toFixed(3) : "n/a");
