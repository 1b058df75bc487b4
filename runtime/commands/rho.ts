// `robustc rho`: consumes a run request; prints per point as it finishes the bracket lower <= rho <= upper with
// the paper's rho_hat (--mode restrict: rho_hat alone): a table line, or with --json the points.jsonl record (without the example).

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
    const bracket = cfg.mode !== undefined;
    if (!r.json) out(bracket ? BRACKET_HEADER : POINT_HEADER);
    await runPoints(runner, indices, jobs, null,
      { tick: (p) => out(r.json ? JSON.stringify(pointRecord(p)) : bracket ? formatBracketPoint(p) : formatPoint(p)), stop: () => undefined });
  } finally {
    await runner.close();
  }
}

export function formatPoint(p: PointResult): string {
  const rho = p.rho === null ? "-" : Number.isFinite(p.rho) ? p.rho.toFixed(4) : "inf";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${String(p.target ?? "-").padStart(6)}  ${p.status.padEnd(24)}  ${rho.padStart(9)}  ${String(p.iterations).padStart(5)}  ${String(p.rows).padStart(6)}  ${p.seconds.toFixed(3).padStart(8)}${p.message ? `  ${p.message}` : ""}`;
}

const f4 = (v: number | null | undefined) => (v === null || v === undefined ? "-" : Number.isFinite(v) ? v.toFixed(4) : "inf");

/** A bracket line: lower <= rho <= upper, the label of upper's example, the paper's rho_hat ("> R" beyond the ball). */
export function formatBracketPoint(p: PointResult): string {
  const hat = p.rhoHatAbove !== null && p.rhoHatAbove !== undefined ? `> ${p.rhoHatAbove.toFixed(2)}` : f4(p.rhoHat);
  const upperLabel = p.upper !== null && p.upper !== undefined ? String(p.target ?? "-") : "-";
  return `${String(p.index).padStart(6)}  ${String(p.label ?? "-").padStart(5)}  ${String(p.predicted).padStart(9)}  ${p.status.padEnd(13)}  ${f4(p.lower).padStart(9)}  ${f4(p.upper).padStart(9)}  ${upperLabel.padStart(5)}  ${hat.padStart(9)}  ${p.seconds.toFixed(3).padStart(8)}${p.optimal === false ? "  not optimal" : ""}${p.message ? `  ${p.message}` : ""}`;
}

export const BRACKET_HEADER = `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"status".padEnd(13)}  ${"lower".padStart(9)}  ${"upper".padStart(9)}  ${"label".padStart(5)}  ${"rho_hat".padStart(9)}  ${"seconds".padStart(8)}  (pixels; lower <= rho <= upper, label: upper's example)`;

export const POINT_HEADER = `${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  ${"target".padStart(6)}  ${"status".padEnd(24)}  ${"rho (px)".padStart(9)}  ${"iters".padStart(5)}  ${"rows".padStart(6)}  ${"seconds".padStart(8)}`;
