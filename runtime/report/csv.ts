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
  "index", "label", "predicted", "target", "rho", "status", "iterations", "rows", "rows_added", "seconds",
  "solver_seconds", "lp_objective", "check_margin", "alpha", "primal_infeasibility", "message",
] as const;
