// The report files of a finished measurement in --out (report.json, points.csv, adversarial*.npy, cdf.svg),
// each written atomically, for measure, merge and the queue alike. points.jsonl is the run's own file.

import { basename, join } from "node:path";
import { inputSize, ok, writeFileAtomic, type Result } from "../../compiler/index.js";
import { encodeNpy } from "../data/npy.js";
import { pointRecord } from "../run/points-file.js";
import { isBracket, type PointResult } from "../rho/result.js";
import { toDataLayout, type Session } from "../run/session.js";
import { BRACKET_COLUMNS, bracketRow, POINT_COLUMNS, toCsv } from "./csv.js";
import { formatMeasureReport, measureReport, type MeasuredRun } from "./json.js";
import { highsVersion } from "../solvers/highs.js";
import { cdfSvg, cdfXMax } from "./plot.js";
import { unitsOf } from "../data/input-map.js";

/** Builds the report of `run` (report/json.ts), writes every report file into `dir`; returns what measure prints. */
export async function writeMeasurement(dir: string, s: Session, run: MeasuredRun): Promise<Result<string>> {
  // report.json names HiGHS' own version, which the WebAssembly module reports once loaded (~50 ms; the
  // points may have run on other threads or machines).
  await highsVersion();
  const r = measureReport(run);
  const { points } = run,
    est = r.estimates;
  const records = points.map((p) => pointRecord(p));
  const bracket = r.bracket !== null;
  const adv = reportedExamples(points, bracket);
  const n = inputSize(s.network);
  const px = new Float32Array(adv.length * n);
  adv.forEach((p, k) => {
    for (let i = 0; i < n; i++) px[k * n + i] = p.example![i] * s.pixelScale;
  });
  const X = points.filter((p) => p.status !== "misclassified");
  const val = (v: number | null | undefined) => (v === null || v === undefined ? Infinity : v);
  // Figure 3: one cumulative curve per estimate; a bracket run draws three (rho lies between upper and lower).
  // (rho_hat sought inside the ball R = max(upper, eps) and not found there is drawn at ∞: its curve is exact up
  // to eps, as phi_hat is; a point without a lower bound counts at 0, as phi_upper counts it.)
  const B = X.filter(isBracket);
  const series = bracket
    ? [
        { name: "upper (checked example)", rhos: B.map((p) => val(p.upper)) },
        { name: "rho_hat (paper's LP; exact up to eps)", rhos: B.map((p) => val(p.rhoHat)) },
        { name: "lower (certified)", rhos: B.map((p) => p.lower ?? 0) },
      ]
    : [
        {
          name: String(r.json.algorithm),
          rhos: X.map((p) => (p.status === "adversarial" ? (p.rho ?? Infinity) : Infinity)),
        },
      ];
  const xMax = cdfXMax(series, est.eps);
  const svg = await cdfSvg(series, {
    title: `${basename(s.modelPath)} on ${s.dataset.source}: cumulative ${bracket ? "rho bracket" : "rho_hat"} (n = ${X.length} correctly classified)`,
    xMax,
    eps: est.eps,
    xTitle: `eps (L∞ distance, ${unitsOf(s.pixelScale)})`,
    ...(bracket ? { legend: "estimate", yTitle: "number of points with value ≤ eps" } : {}),
  });
  const files: [string, string | Uint8Array][] = [
    ["report.json", JSON.stringify(r.json, null, 2) + "\n"],
    ["points.csv", bracket ? toCsv(records.map(bracketRow), BRACKET_COLUMNS) : toCsv(records, POINT_COLUMNS)],
    ["adversarial.npy", (({ shape, values }) => encodeNpy(shape, "float32", values))(toDataLayout(s, px, adv.length))],
    [
      "adversarial_index.npy",
      encodeNpy(
        [adv.length],
        "int64",
        adv.map((p) => p.index),
      ),
    ],
    [
      "adversarial_target.npy",
      encodeNpy(
        [adv.length],
        "int64",
        adv.map((p) => p.target ?? -1),
      ),
    ],
    ["cdf.svg", svg],
  ];
  for (const [name, data] of files) {
    const w = writeFileAtomic(join(dir, name), data);
    if (!w.ok) return w;
  }
  return ok(formatMeasureReport(r));
}

/**
 * The example of every point's reported distance: rho_hat's (restrict), the attack's, or the bracket's upper
 * (adversarial.npy, --images).
 */
export const reportedExamples = (points: readonly PointResult[], bracket: boolean): PointResult[] =>
  points.filter((p) => p.example && (p.status === "adversarial" || (bracket && isBracket(p) && p.upper !== null)));

/** The line measure, merge and the queue print last. */
export const reportsLine = (dir: string): string =>
  `reports in ${dir}: report.json, points.jsonl, points.csv, adversarial.npy, cdf.svg`;
