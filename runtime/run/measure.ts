// Adversarial frequency and severity (the paper's §2 estimators) over a set of points, and the run that
// produces them: points through a runner, points.jsonl appended and flushed per point, a progress bar on a
// TTY. Misclassified points are excluded, as in the paper; a point whose LP timed out or failed counts as
// rho_hat = ∞ (no example found), like an infeasible restriction: phi_hat stays a lower estimate of phi.

import type { PointRunner } from "./point-runner.js";
import { appendPoints } from "./points-file.js";
import { type PointResult, type PointStatus } from "../rho/types.js";

export const STATUSES: readonly PointStatus[] = ["adversarial", "no-adversarial-in-region", "not-found", "misclassified", "timeout", "error"];

export interface Estimates {
  readonly eps: number;
  /** Points attempted. */
  readonly n: number;
  /** Correctly classified points: the estimators' sample X. */
  readonly correct: number;
  readonly counts: Readonly<Record<PointStatus, number>>;
  /** phi_hat(eps) = |{x* ∈ X : rho_hat ≤ eps}| / |X| (null when X is empty). */
  readonly frequency: number | null;
  /** mu_hat(eps) = Σ rho_hat·[rho_hat ≤ eps] / |{rho_hat ≤ eps}| (null when no point has rho_hat ≤ eps). */
  readonly severity: number | null;
  readonly within: number;
}

export function estimate(points: readonly Pick<PointResult, "status" | "rho">[], eps: number): Estimates {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<PointStatus, number>;
  for (const p of points) counts[p.status]++;
  const correct = points.length - counts.misclassified;
  const rhos = points.filter((p) => p.status === "adversarial" && p.rho !== null && p.rho <= eps).map((p) => p.rho as number);
  return {
    eps, n: points.length, correct, counts, within: rhos.length,
    frequency: correct > 0 ? rhos.length / correct : null,
    severity: rhos.length > 0 ? rhos.reduce((a, b) => a + b, 0) / rhos.length : null,
  };
}

export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface Progress { tick(p: PointResult): void; stop(): void }

/** A progress bar with rate and ETA on a TTY (cli-progress); nothing otherwise. */
export async function progressBar(total: number, enabled: boolean): Promise<Progress> {
  if (!enabled) return { tick: () => undefined, stop: () => undefined };
  const { SingleBar, Presets } = await import("cli-progress");
  const bar = new SingleBar({
    format: "rho_hat {bar} {value}/{total} points | {rate} pts/s | ETA {eta_formatted} | adversarial {adv}",
    hideCursor: true, clearOnComplete: false, stream: process.stderr,
  }, Presets.shades_classic);
  const t0 = performance.now();
  let adv = 0;
  bar.start(total, 0, { rate: "0.00", adv: 0 });
  return {
    tick: (p) => {
      if (p.status === "adversarial") adv++;
      const done = (bar as unknown as { value: number }).value + 1;
      bar.update(done, { rate: (done / ((performance.now() - t0) / 1000)).toFixed(2), adv });
    },
    stop: () => bar.stop(),
  };
}

/**
 * Runs every index through the runner (as many in flight as `concurrency`), appending each finished point
 * to `jsonlPath` (flushed to disk) and returning all results sorted by index.
 */
export async function runPoints(runner: PointRunner, indices: readonly number[], concurrency: number,
  jsonlPath: string | null, progress: Progress): Promise<PointResult[]> {
  const file = jsonlPath ? appendPoints(jsonlPath) : null;
  const results: PointResult[] = [];
  let next = 0;
  const lane = async () => {
    while (next < indices.length) {
      const i = indices[next++];
      const r = await runner.run(i);
      results.push(r);
      file?.append(r);
      progress.tick(r);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, lane));
  } finally {
    file?.close();
    progress.stop();
  }
  return results.sort((a, b) => a.index - b.index);
}
