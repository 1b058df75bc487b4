// `robustc rho`: consumes a run request; prints rho_hat (with --mode, the interval lower <= rho <= upper)
// per point as it finishes: a table line, or with --json the points.jsonl record (without the example).

import { runPoints } from "../run/measure.js";
import { makeRunner } from "../run/point-runner.js";
import { pointRecord } from "../run/points-file.js";
import { type PointResult } from "../rho/types.js";
import { openRun, type RunRequest } from "./run-request.js";

export interface RhoRequest extends RunRequest {
  readonly json?: boolean;
}

export async function rhoCommand(model: string, r: RhoRequest, out: (line: string) => void): Promise<void> {
  const { indices, cfg } = await openRun(model, r);
  const jobs = Math.min(r.jobs, indices.length);
  const runner = await makeRunner(cfg, jobs);
  try {
    if (!r.json) out(POINT_HEADER);
    await runPoints(runner, indices, jobs, null,
      { tick: (p) => out(r.json ? JSON.stringify(pointRecord(p)) : formatPoint(p)), stop: () => undefined });
  } finally {
    await runner.close();
  }
}

export function formatPoint(p: PointResult): string {
  const rho = p.rho === null ? "-" : Number.isFinite(p.rho) ? p.rho.toFixed(4) : "inf";
  // --mode: the interval lower <= rho <= upper leads the message column.
  const f = (v: number | null | undefined) => (v === null || v === undefined ? "?" : Number.isFinite(v) ? v.toFixed(4) : "inf");
  const iv = p.mode ? `  [${f(p.lower)}, ${f(p.upper)}]${p.optimal === false ? " not optimal" : ""}` : "";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${String(p.target ?? "-").padStart(6)}  ${p.status.padEnd(24)}  ${rho.padStart(9)}  ${String(p.iterations).padStart(5)}  ${String(p.rows).padStart(6)}  ${p.seconds.toFixed(3).padStart(8)}${iv}${p.message ? `  ${p.message}` : ""}`;
}

export const POINT_HEADER = `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"target".padStart(6)}  ${"status".padEnd(24)}  ${"rho (px)".padStart(9)}  ${"iters".padStart(5)}  ${"rows".padStart(6)}  ${"seconds".padStart(8)}`;
