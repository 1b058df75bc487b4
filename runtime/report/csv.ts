// points.csv: one row per point with the columns of points.jsonl (RFC 4180 quoting; empty for null).

export function toCsv(records: readonly Record<string, unknown>[], columns: readonly string[]): string {
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.join(","), ...records.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

export const POINT_COLUMNS = [
  "index",
  "label",
  "predicted",
  "target",
  "rho",
  "status",
  "iterations",
  "rows",
  "rows_added",
  "seconds",
  "solver_seconds",
  "lp_objective",
  "check_margin",
  "alpha",
  "primal_infeasibility",
  "message",
] as const;

/** A bracket run's points.csv (every --mode but restrict): the bracket first, then seconds per stage. */
export const BRACKET_COLUMNS = [
  "index",
  "label",
  "predicted",
  "status",
  "lower",
  "upper",
  "rho_hat",
  "rho_hat_above",
  "upper_label",
  "gap",
  "optimal",
  "tolerance",
  "seconds",
  "attack_seconds",
  "walk_seconds",
  "restrict_seconds",
  "lower_seconds",
  "milp_seconds",
  "check_margin",
  "message",
] as const;

/** A points.jsonl record flattened for BRACKET_COLUMNS (stages as <stage>_seconds; "inf" stays "inf"). */
export function bracketRow(r: Record<string, unknown>): Record<string, unknown> {
  const stages = (r.stages ?? {}) as Record<string, number>;
  return { ...r, ...Object.fromEntries(Object.entries(stages).map(([k, v]) => [`${k}_seconds`, v])) };
}
