// Point records for tests: the fields a test names, the rest of its family's (runtime/rho/result.ts) filled in.
// With `mode` it is a bracket point (BracketPoint), without one a restrict or attack point (LpPoint).

import type { BracketMode, BracketPoint, LpPoint, PointResult } from "../../runtime/rho/result.js";

export type PointFields = Partial<Omit<LpPoint, "mode">> & Partial<Omit<BracketPoint, "mode">> & { mode?: BracketMode };

const LP_KEYS = ["lpObjective", "iterations", "rows", "rowsAdded", "primalInfeasibility", "solverSeconds"] as const;
const BRACKET_KEYS = ["lower", "upper", "gap", "optimal", "rhoHat", "rhoHatAbove", "stages", "nodes"] as const;

export function makePoint(f: PointFields & Pick<PointResult, "index" | "status">): PointResult {
  const common = {
    label: 0,
    predicted: 0,
    target: null,
    rho: null,
    checkMargin: null,
    alpha: 0,
    seconds: 0.1,
  };
  const strip = (keys: readonly string[]) => Object.fromEntries(Object.entries(f).filter(([k]) => !keys.includes(k)));
  if (f.mode !== undefined) {
    const b: BracketPoint = {
      ...common,
      lower: null,
      upper: null,
      gap: null,
      optimal: null,
      rhoHat: null,
      rhoHatAbove: null,
      ...(strip(LP_KEYS) as PointFields & Pick<BracketPoint, "index" | "status" | "mode">),
    };
    return b;
  }
  const l: LpPoint = {
    ...common,
    lpObjective: null,
    iterations: 0,
    rows: 0,
    rowsAdded: 0,
    primalInfeasibility: null,
    solverSeconds: 0,
    ...(strip(BRACKET_KEYS) as Omit<PointFields, "mode"> & Pick<LpPoint, "index" | "status">),
  };
  return l;
}
