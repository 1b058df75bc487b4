// target-label: which label l the adversarial example must reach, and C_out(l) added to the problem:
// the second most probable label at x* (the paper's choice), a label given, or every l ≠ l*.

import { and, type Problem } from "../ir/constraint.js";
import { outputConstraint, type Encoding } from "./encode.js";
import type { Target } from "./options.js";

/** Labels ranked by logit (ties: lower index first), so ranked[0] = l*, ranked[1] = the second most probable. */
export function rankLabels(logits: ArrayLike<number>): number[] {
  return Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
}

/** The target labels for x*; a given label equal to the prediction or out of range is reported by the caller. */
export function targetLabels(logits: ArrayLike<number>, target: Target): number[] {
  const ranked = rankLabels(logits);
  if (target === "second") return [ranked[1]];
  if (target === "all") return ranked.slice(1).sort((a, b) => a - b);
  return [target];
}

/** C_f(x, l) = the network's constraints ∧ C_out(l) with margin alpha. */
export function addTarget(p: Problem, enc: Encoding, label: number, margin: number): Problem {
  return { ...p, constraint: and(p.constraint, outputConstraint(enc, label, margin)) };
}
