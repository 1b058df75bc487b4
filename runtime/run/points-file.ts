// points.jsonl: one JSON record per finished point (pointRecord), appended and flushed per point by a run,
// read back by --resume, merge and the queue (pointFromRecord). A last line cut by a kill is not a point.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from "node:fs";
import { diag, fail, ok, writeFileAtomic, type Result } from "../../compiler/index.js";
import {
  isBracket,
  LP_FIELDS,
  type BracketMode,
  type PointResult,
  type PointStatus,
  type RhoMode,
} from "../rho/result.js";

/**
 * A point as JSON (points.jsonl, rho --json): distances in the data's units (pixels on the 0-255 scale); an
 * infinite bound is the string "inf". The bracket's fields (mode to nodes) are there for every mode but restrict.
 */
export type PointRecord = {
  readonly index: number;
  /** The true label (null: the data carry none). */
  readonly label: number | null;
  /** x*'s label. */
  readonly predicted: number;
  /** The label of the example (the LP's target label). */
  readonly target: number | null;
  /** The distance of the checked example (rho_hat with --mode restrict); null without one. */
  readonly rho: number | null;
  readonly status: PointStatus;
  readonly iterations: number;
  readonly rows: number;
  readonly rows_added: number;
  readonly seconds: number;
  readonly solver_seconds: number;
  readonly lp_objective: number | null;
  readonly check_margin: number | null;
  readonly alpha: number;
  readonly primal_infeasibility: number | null;
  readonly message?: string;
  readonly mode?: RhoMode;
  /** Certified: no input closer than this to x* has another label. */
  readonly lower?: number | "inf" | null;
  /** The distance of a checked example. */
  readonly upper?: number | "inf" | null;
  readonly gap?: number | "inf" | null;
  readonly optimal?: boolean | null;
  /**
   * The tolerance the status was decided with (not with --mode certify): exact when upper − lower ≤ tolerance ×
   * upper; 0: the absolute 1e-3 px. Absent in records written before --tolerance (their rule: 0).
   */
  readonly tolerance?: number;
  /** The paper's rho_hat beside the bracket. */
  readonly rho_hat?: number | "inf" | null;
  readonly rho_hat_above?: number | "inf" | null;
  readonly upper_label?: number | null;
  readonly stages?: Readonly<Record<string, number>>;
  readonly nodes?: number;
  /** points.jsonl only: the example's float32 values (model units), base64. */
  readonly example?: string;
};

/**
 * One JSON object per point: what points.jsonl holds. With `withExample` the checked adversarial example
 * rides along (base64 of its float32 values, model units) so that a resumed run can rebuild the .npy files.
 */
export function pointRecord(p: PointResult, withExample = false): PointRecord {
  // One line shape for every family: a bracket point writes the LP's fields as an LP that never ran.
  const lp = isBracket(p) ? LP_FIELDS : p;
  return {
    index: p.index,
    label: p.label,
    predicted: p.predicted,
    target: p.target,
    rho: p.rho !== null && Number.isFinite(p.rho) ? p.rho : null,
    status: p.status,
    iterations: lp.iterations,
    rows: lp.rows,
    rows_added: lp.rowsAdded,
    seconds: round(p.seconds),
    solver_seconds: round(lp.solverSeconds),
    lp_objective: lp.lpObjective,
    check_margin: p.checkMargin,
    alpha: p.alpha,
    primal_infeasibility: lp.primalInfeasibility,
    ...(p.message ? { message: p.message } : {}),
    ...(isBracket(p)
      ? {
          mode: p.mode,
          lower: finite(p.lower),
          upper: finite(p.upper),
          gap: finite(p.gap),
          optimal: p.optimal ?? null,
          ...(p.tolerance !== undefined ? { tolerance: p.tolerance } : {}),
          rho_hat: finite(p.rhoHat),
          rho_hat_above: finite(p.rhoHatAbove),
          upper_label: p.upper !== null && p.upper !== undefined ? p.target : null,
          ...(p.stages ? { stages: Object.fromEntries(Object.entries(p.stages).map(([k, v]) => [k, round(v)])) } : {}),
          ...(p.nodes !== undefined ? { nodes: p.nodes } : {}),
        }
      : {}),
    ...(withExample && p.example
      ? { example: Buffer.from(p.example.buffer, p.example.byteOffset, p.example.byteLength).toString("base64") }
      : {}),
  };
}

/** The inverse of pointRecord; rho of a point with no finite rho comes back as Infinity or null. */
export function pointFromRecord(r: Record<string, unknown>): PointResult {
  const num = (k: string) => (r[k] === null || r[k] === undefined ? null : Number(r[k]));
  const status = r.status as PointStatus;
  const ex = typeof r.example === "string" ? Buffer.from(r.example, "base64") : null;
  const common = {
    index: Number(r.index),
    label: num("label"),
    predicted: Number(r.predicted),
    target: num("target"),
    // An attack's or the LP's "nothing found" is rho = ∞; a bracket point without an example has rho = upper = null.
    rho:
      r.rho === null
        ? (status === "no-adversarial-in-region" || status === "not-found") && typeof r.mode !== "string"
          ? Infinity
          : null
        : Number(r.rho),
    status,
    checkMargin: num("check_margin"),
    alpha: Number(r.alpha ?? 0),
    seconds: Number(r.seconds ?? 0),
    ...(typeof r.message === "string" ? { message: r.message } : {}),
    ...(ex ? { example: new Float32Array(ex.buffer.slice(ex.byteOffset, ex.byteOffset + ex.byteLength)) } : {}),
  };
  if (typeof r.mode === "string")
    return {
      ...common,
      mode: r.mode as BracketMode,
      lower: bound(r.lower),
      upper: bound(r.upper),
      gap: bound(r.gap),
      optimal: (r.optimal ?? null) as boolean | null,
      ...(typeof r.tolerance === "number" ? { tolerance: r.tolerance } : {}),
      rhoHat: bound(r.rho_hat),
      rhoHatAbove: bound(r.rho_hat_above),
      ...(typeof r.stages === "object" && r.stages !== null
        ? { stages: Object.fromEntries(Object.entries(r.stages).map(([k, v]) => [k, Number(v)])) }
        : {}),
      ...(typeof r.nodes === "number" ? { nodes: r.nodes } : {}),
    };
  return {
    ...common,
    lpObjective: num("lp_objective"),
    iterations: Number(r.iterations ?? 0),
    rows: Number(r.rows ?? 0),
    rowsAdded: Number(r.rows_added ?? 0),
    primalInfeasibility: num("primal_infeasibility"),
    solverSeconds: Number(r.solver_seconds ?? 0),
  };
}

const bound = (v: unknown): number | null =>
  v === "inf" ? Infinity : v === null || v === undefined ? null : Number(v);
/**
 * Seconds as points.jsonl keeps them (microseconds). Summaries of a run round the same way (report/json.ts), so that
 * `measure`'s table and `report`'s from the saved points print the same medians.
 */
export const roundSeconds = (s: number) => Math.round(s * 1e6) / 1e6;
const round = roundSeconds;
/** JSON has no Infinity: an infinite bound is written as the string "inf". */
const finite = (v: number | null | undefined): number | "inf" | null =>
  v === null || v === undefined ? null : Number.isFinite(v) ? v : "inf";

/**
 * The finished points of a points.jsonl (none when the file does not exist). A last line without its
 * newline was cut by a kill: it is dropped, and with `truncate` the file is cut back to the last complete
 * line so that appending continues it cleanly. A complete line that is no point record is an error.
 */
export function readPoints(path: string, truncate = false): Result<PointResult[]> {
  if (!existsSync(path)) return ok([]);
  const text = readFileSync(path, "utf8");
  const end = text.lastIndexOf("\n") + 1;
  if (truncate && end < text.length) truncateSync(path, Buffer.byteLength(text.slice(0, end)));
  const points: PointResult[] = [];
  for (const [k, l] of text.slice(0, end).split("\n").entries()) {
    if (l.trim() === "") continue;
    try {
      points.push(pointFromRecord(JSON.parse(l)));
    } catch {
      return fail(diag("points/corrupt", `${path}:${k + 1}: not a point record`));
    }
  }
  return ok(points);
}

/** An open points.jsonl: one write per point, then fsync, so that a killed run loses at most the point in flight. */
export interface PointsAppender {
  append(p: PointResult): void;
  close(): void;
}

export function appendPoints(path: string): PointsAppender {
  const fd = openSync(path, "a");
  return {
    append: (p) => {
      writeSync(fd, JSON.stringify(pointRecord(p, true)) + "\n");
      fsyncSync(fd);
    },
    close: () => closeSync(fd),
  };
}

/** A whole points.jsonl at once (merge, queue), by index, with the examples, written atomically. */
export function writePoints(path: string, points: readonly PointResult[]): Result<void> {
  return writeFileAtomic(path, points.map((p) => JSON.stringify(pointRecord(p, true)) + "\n").join(""));
}
