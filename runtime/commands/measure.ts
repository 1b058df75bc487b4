// `robustc rho` and `robustc measure`: rho_hat per point, and the frequency/severity report with its files
// (report.json, points.jsonl, points.csv, adversarial*.npy, cdf.svg) in --out.

import { existsSync, mkdirSync, readFileSync, statSync, truncateSync } from "node:fs";
import { diag, fail, inputSize, ok, unwrap, writeFileAtomic, type Result } from "../../compiler/index.js";
import { join } from "node:path";
import { encodeNpy } from "../data/npy.js";
import { DEFAULT_LAZY, type LazyOptions } from "../lazy/lazy-loop.js";
import { pointFromRecord, pointRecord, type Estimates } from "../run/measure.js";
import { localRunner, poolRunner, type PointRunner, type RunConfig } from "../run/point-runner.js";
import { cdfSvg } from "../report/plot.js";
import { POINT_COLUMNS, toCsv } from "../report/csv.js";
import { buildReport, formatTable } from "../report/json.js";
import type { Algorithm } from "../attacks/point.js";
import type { RhoMode } from "../rho/modes.js";
import { openSession, selectIndices, type Session } from "../run/session.js";
import { type PointResult } from "../rho/types.js";

export interface RunRequest {
  readonly data: string;
  readonly labels?: string;
  readonly pixelScale: number;
  readonly index?: number;
  readonly limit?: number;
  readonly jobs: number;
  readonly timeLimit: number;
  readonly add: string;
  readonly algorithm: Algorithm;
  /** --mode (rho and measure): restrict (default), exact, bounds or walk. */
  readonly mode?: RhoMode;
  readonly eps?: number;
}

export function lazyOptions(r: RunRequest): Result<LazyOptions> {
  if (!(r.timeLimit > 0)) return fail(diag("cli/time-limit", `--time-limit must be positive, got ${r.timeLimit}`));
  const add = r.add === "all" ? "all" : /^\d+$/.test(r.add) && Number(r.add) > 0 ? Number(r.add) : null;
  if (add === null) return fail(diag("cli/add", `--add must be all or a positive integer, got '${r.add}'`));
  if (!Number.isInteger(r.jobs) || r.jobs < 1) return fail(diag("cli/jobs", `--jobs must be a positive integer, got ${r.jobs}`));
  return ok({ ...DEFAULT_LAZY, add, timeLimit: r.timeLimit });
}

export async function openRun(model: string, r: RunRequest): Promise<{ session: Session; indices: number[]; cfg: RunConfig }> {
  const session = unwrap(openSession(model, { data: r.data, labels: r.labels, pixelScale: r.pixelScale }));
  const indices = unwrap(selectIndices(session.dataset.count, r.index, r.limit, r.data));
  const lazy = unwrap(lazyOptions(r));
  return { session, indices, cfg: { modelPath: model, data: r.data, labels: r.labels, pixelScale: r.pixelScale, lazy, algorithm: r.algorithm, eps: r.eps ?? 20,
    ...(r.mode && r.mode !== "restrict" ? { mode: r.mode } : {}) } };
}

export async function makeRunner(cfg: RunConfig, jobs: number): Promise<PointRunner> {
  return jobs > 1 ? poolRunner(cfg, jobs) : localRunner(cfg);
}

export function formatPoint(p: PointResult): string {
  const rho = p.rho === null ? "-" : Number.isFinite(p.rho) ? p.rho.toFixed(4) : "inf";
  // --mode: the interval lower <= rho <= upper leads the message column.
  const f = (v: number | null | undefined) => (v === null || v === undefined ? "?" : Number.isFinite(v) ? v.toFixed(4) : "inf");
  const iv = p.mode ? `  [${f(p.lower)}, ${f(p.upper)}]${p.optimal === false ? " not optimal" : ""}` : "";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${String(p.target ?? "-").padStart(6)}  ${p.status.padEnd(24)}  ${rho.padStart(9)}  ${String(p.iterations).padStart(5)}  ${String(p.rows).padStart(6)}  ${p.seconds.toFixed(3).padStart(8)}${iv}${p.message ? `  ${p.message}` : ""}`;
}

export const POINT_HEADER = `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"target".padStart(6)}  ${"status".padEnd(24)}  ${"rho (px)".padStart(9)}  ${"iters".padStart(5)}  ${"rows".padStart(6)}  ${"seconds".padStart(8)}`;

/** What identifies a measurement: a resumed run must match it exactly. */
export function runIdentity(cfg: RunConfig, indices: readonly number[], eps: number): Record<string, unknown> {
  return {
    model: cfg.modelPath, data: cfg.data, labels: cfg.labels ?? null, pixel_scale: cfg.pixelScale, eps,
    algorithm: cfg.algorithm, points: indices.length, first: indices[0], lazy: cfg.lazy, ...(cfg.mode ? { mode: cfg.mode } : {}),
  };
}

/**
 * Prepares --out: a new directory (or one without a measurement) gets run.json; with resume, run.json must
 * match this run, and the finished points of points.jsonl are returned (a line cut by a kill is dropped and
 * the file truncated to the last complete line).
 */
export function prepareOut(dir: string, identity: Record<string, unknown>, resume: boolean): Result<PointResult[]> {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) return fail(diag("cli/out", `--out ${dir} exists and is not a directory`));
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    return fail(diag("cli/out", `--out ${dir}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
  const runPath = join(dir, "run.json"), jsonl = join(dir, "points.jsonl");
  if (resume && existsSync(runPath)) {
    const before = JSON.stringify(JSON.parse(readFileSync(runPath, "utf8")));
    if (before !== JSON.stringify(identity)) return fail(diag("cli/resume", `--resume: ${runPath} describes another run (model, data, eps, algorithm, points or settings differ)`));
    if (!existsSync(jsonl)) return ok([]);
    const text = readFileSync(jsonl, "utf8");
    const end = text.lastIndexOf("\n") + 1;
    if (end < text.length) truncateSync(jsonl, Buffer.byteLength(text.slice(0, end)));
    const done = text.slice(0, end).split("\n").filter((l) => l.trim() !== "").map((l) => pointFromRecord(JSON.parse(l)));
    return ok(done);
  }
  if (existsSync(jsonl)) return fail(diag("cli/out", `--out ${dir} already holds a measurement (points.jsonl); add --resume to continue it, or choose another directory`));
  const w = writeFileAtomic(runPath, JSON.stringify(identity, null, 2) + "\n");
  if (!w.ok) return w;
  return ok([]);
}

export async function writeReports(dir: string, s: Session, est: Estimates, points: PointResult[], report: Record<string, unknown>): Promise<Result<void>> {
  const records = points.map((p) => pointRecord(p));
  const adv = points.filter((p) => p.status === "adversarial" && p.example);
  const n = inputSize(s.network);
  const px = new Float32Array(adv.length * n);
  adv.forEach((p, k) => { for (let i = 0; i < n; i++) px[k * n + i] = p.example![i] * s.pixelScale; });
  const svg = await cdfSvg([{ name: String(report.algorithm), rhos: points.map((p) => (p.status === "adversarial" ? p.rho ?? Infinity : Infinity)) }],
    { title: `${s.modelPath} on ${s.dataset.source}: cumulative rho_hat (n = ${est.correct} correctly classified)`, xMax: Math.max(est.eps * 2, 40), eps: est.eps });
  const files: [string, string | Uint8Array][] = [
    ["report.json", JSON.stringify(report, null, 2) + "\n"],
    ["points.csv", toCsv(records, POINT_COLUMNS)],
    ["adversarial.npy", encodeNpy([adv.length, ...s.network.inputShape.slice(1)], "float32", px)],
    ["adversarial_index.npy", encodeNpy([adv.length], "int64", adv.map((p) => p.index))],
    ["adversarial_target.npy", encodeNpy([adv.length], "int64", adv.map((p) => p.target ?? -1))],
    ["cdf.svg", svg],
  ];
  for (const [name, data] of files) {
    const w = writeFileAtomic(join(dir, name), data);
    if (!w.ok) return w;
  }
  return ok(undefined);
}

