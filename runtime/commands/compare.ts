// `robustc compare`: the LP, L-BFGS-B and FGSM on the same points (the paper's comparison): a terminal
// table, compare.json, one plot with the lp and lbfgsb cumulative curves (Figure 3 (a) against (b)), the
// per-algorithm points, and a CSV of the points where lp and lbfgsb disagree at eps.

import { basename, join } from "node:path";
import { UserError, diag, ok, unwrap, writeFileAtomic, type Result } from "../../compiler/index.js";
import { ALGORITHMS, type Algorithm } from "../rho/point.js";
import { estimate, quantile, runPoints, type Estimates } from "../run/measure.js";
import { pointRecord } from "../run/points-file.js";
import { toCsv } from "../report/csv.js";
import { cdfSvg, cdfXMax } from "../report/plot.js";
import { makeRunner, type PointRunner, type RunConfig } from "../run/point-runner.js";
import { prepareOut, runIdentity } from "../run/out-dir.js";
import { type PointResult } from "../rho/result.js";
import { openRun, type RunRequest } from "./run-request.js";
import type { Session } from "../run/session.js";
import { distDigits, fmtValue, unitShort, unitsOf } from "../data/input-map.js";

export interface CompareRequest extends RunRequest {
  readonly out: string;
  /** --algorithm was typed (the option is shared with rho and measure): compare runs them all, so it is refused. */
  readonly algorithmGiven?: boolean;
}

/** `robustc compare`: every algorithm on the request's points; the table printed, the files in --out. */
export async function compareCommand(model: string, r: CompareRequest, out: (line: string) => void): Promise<void> {
  if (r.algorithmGiven) {
    throw new UserError([
      diag(
        "cli/algorithm",
        `compare runs every algorithm (${ALGORITHMS.join(", ")}) on the same points: drop --algorithm ${r.algorithm} (robustc measure --algorithm ${r.algorithm} runs one)`,
      ),
    ]);
  }
  const { session, indices, cfg, announce } = await openRun(model, r);
  const eps = cfg.eps;
  unwrap(prepareOut(r.out, { ...runIdentity(cfg, indices, eps), algorithm: "compare" }, false));
  announce();
  const jobs = Math.min(r.jobs, indices.length);
  const tty = process.stderr.isTTY === true;
  const all = await runCompare(
    cfg,
    indices,
    jobs,
    (a, done) => {
      if (tty) process.stderr.write(`\r${a}: ${done}/${indices.length} points   `);
    },
    session,
  );
  if (tty) process.stderr.write("\n");
  const rows = summarise(all, eps);
  unwrap(await writeCompare(r.out, model, r.data, eps, all, rows, cfg.pixelScale));
  out(formatCompare(rows, eps, cfg.pixelScale));
  out(
    `reports in ${r.out}: compare.json, compare.svg, disagreements.csv, ${ALGORITHMS.map((a) => `${a}.jsonl`).join(", ")}`,
  );
}

export interface AlgorithmSummary {
  readonly algorithm: Algorithm;
  readonly n: number;
  readonly accuracy: number | null;
  readonly frequency: number | null;
  readonly severity: number | null;
  /** Why this algorithm has no severity (run/measure.ts NO_SEVERITY); absent when it has one. */
  readonly severity_note?: string;
  readonly median_seconds: number | null;
  readonly counts: Estimates["counts"];
}

export async function runCompare(
  cfg: RunConfig,
  indices: readonly number[],
  jobs: number,
  onProgress: (algorithm: Algorithm, done: number) => void,
  session?: Session,
): Promise<Map<Algorithm, PointResult[]>> {
  const all = new Map<Algorithm, PointResult[]>();
  // One runner (one session per thread) for every algorithm; lp is the paper's restricted LP here (rho_hat, as in
  // its Table 1), beside the attacks.
  const { mode: _bracket, ...paper } = cfg;
  const runner = await makeRunner(paper, jobs, session);
  try {
    for (const algorithm of ALGORITHMS) {
      let done = 0;
      const one: PointRunner = { run: (i, signal) => runner.run(i, signal, { algorithm }), close: async () => {} };
      all.set(
        algorithm,
        await runPoints(one, indices, jobs, null, {
          tick: () => onProgress(algorithm, ++done),
          stop: () => undefined,
        }),
      );
    }
  } finally {
    await runner.close();
  }
  return all;
}

export function summarise(all: Map<Algorithm, PointResult[]>, eps: number): AlgorithmSummary[] {
  return [...all].map(([algorithm, pts]) => {
    const e = estimate(pts, eps, algorithm);
    const secs = pts.map((p) => p.seconds).sort((a, b) => a - b);
    return {
      algorithm,
      n: e.n,
      accuracy: e.n > 0 ? e.correct / e.n : null,
      frequency: e.frequency,
      // FGSM's examples sit at distance <= eps by construction: no severity (run/measure.ts NO_SEVERITY).
      severity: e.severity,
      ...(e.severityNote ? { severity_note: e.severityNote } : {}),
      median_seconds: quantile(secs, 0.5),
      counts: e.counts,
    };
  });
}

export function formatCompare(rows: readonly AlgorithmSummary[], eps: number, scale = 255): string {
  const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(2)}%`);
  const head = [
    "algorithm",
    "points",
    "accuracy",
    `frequency phi_hat(${fmtValue(eps)})`,
    `severity mu_hat(${fmtValue(eps)})`,
    "median s/point",
  ];
  const body = rows.map((r) => [
    r.algorithm,
    String(r.n),
    pct(r.accuracy),
    pct(r.frequency),
    r.severity !== null
      ? `${r.severity.toFixed(distDigits(scale))} ${unitShort(scale)}`
      : r.severity_note
        ? "n/a (no severity)"
        : "n/a (none <= eps)",
    r.median_seconds === null ? "n/a" : r.median_seconds.toFixed(3),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  // The reason under the table, once per algorithm that has none.
  const notes = rows.filter((r) => r.severity_note).map((r) => `${r.algorithm}: ${r.severity_note}`);
  return [
    ...[head, ...body].map((r) =>
      r
        .map((c, i) => c.padEnd(w[i]))
        .join("  ")
        .trimEnd(),
    ),
    ...notes,
  ].join("\n");
}

const within = (p: PointResult | undefined, eps: number) =>
  !!p && p.status === "adversarial" && p.rho !== null && p.rho <= eps;

export async function writeCompare(
  dir: string,
  model: string,
  data: string,
  eps: number,
  all: Map<Algorithm, PointResult[]>,
  rows: readonly AlgorithmSummary[],
  scale = 255,
): Promise<Result<void>> {
  const lp = all.get("lp")!,
    lb = all.get("lbfgsb")!,
    fg = all.get("fgsm")!;
  const byIndex = (ps: PointResult[]) => new Map(ps.map((p) => [p.index, p]));
  const L = byIndex(lb),
    F = byIndex(fg);
  const disagree = lp
    .filter((p) => within(p, eps) !== within(L.get(p.index), eps))
    .map((p) => ({
      index: p.index,
      label: p.label,
      lp_status: p.status,
      lp_rho: p.rho !== null && Number.isFinite(p.rho) ? p.rho : null,
      lbfgsb_status: L.get(p.index)?.status,
      lbfgsb_rho: L.get(p.index)?.rho ?? null,
      fgsm_status: F.get(p.index)?.status,
    }))
    .map((r) => ({ ...r, lbfgsb_rho: r.lbfgsb_rho !== null && Number.isFinite(r.lbfgsb_rho) ? r.lbfgsb_rho : null }));
  const rhos = (ps: PointResult[]) => ps.map((p) => (p.status === "adversarial" ? (p.rho ?? Infinity) : Infinity));
  const series = [
    { name: "lp", rhos: rhos(lp) },
    { name: "lbfgsb", rhos: rhos(lb) },
  ];
  const svg = await cdfSvg(series, {
    title: `${basename(model)} on ${data}: cumulative rho_hat, lp against lbfgsb`,
    xMax: cdfXMax(series, eps),
    eps,
    xTitle: `eps (L∞ distance, ${unitsOf(scale)})`,
  });
  const files: [string, string][] = [
    [
      "compare.json",
      JSON.stringify({ model, data, eps, pixel_scale: scale, units: unitsOf(scale), algorithms: rows }, null, 2) + "\n",
    ],
    ["compare.svg", svg],
    [
      "disagreements.csv",
      toCsv(disagree, ["index", "label", "lp_status", "lp_rho", "lbfgsb_status", "lbfgsb_rho", "fgsm_status"]),
    ],
    ...[...all].map(
      ([a, ps]) => [`${a}.jsonl`, ps.map((p) => JSON.stringify(pointRecord(p))).join("\n") + "\n"] as [string, string],
    ),
  ];
  for (const [name, text] of files) {
    const w = writeFileAtomic(join(dir, name), text);
    if (!w.ok) return w;
  }
  return ok(undefined);
}
