// Adversarial frequency and severity over a set of points (the paper's §2 estimators from rho_hat; a bracket
// run's phi interval and mu from upper) and the run that produces them: through a runner, points.jsonl appended
// and flushed per point, progress on a TTY or a line every ~10 s. Misclassified points are excluded, as in the
// paper; a point whose LP timed out or failed counts as rho_hat = ∞, so phi_hat stays a lower estimate.

import type { PointRunner } from "./point-runner.js";
import { appendPoints } from "./points-file.js";
import { isBracket, type BracketPoint, type PointResult, type PointStatus } from "../rho/result.js";

export const STATUSES: readonly PointStatus[] = [
  "adversarial",
  "no-adversarial-in-region",
  "not-found",
  "misclassified",
  "timeout",
  "error",
];
/** The statuses of a bracket run (every --mode but restrict). */
export const BRACKET_STATUSES: readonly PointStatus[] = ["exact", "bracketed", "not-found", "misclassified", "error"];
/** The statuses of a certify run (--mode certify). */
export const CERTIFY_STATUSES: readonly PointStatus[] = ["verified", "falsified", "unknown", "misclassified", "error"];

export interface Estimates {
  readonly eps: number;
  /** Points attempted. */
  readonly n: number;
  /** Correctly classified points: the estimators' sample X. */
  readonly correct: number;
  readonly counts: Readonly<Record<PointStatus, number>>;
  /** phi_hat(eps) = |{x* ∈ X : rho_hat ≤ eps}| / |X| (null when X is empty). */
  readonly frequency: number | null;
  /**
   * mu_hat(eps) = Σ rho_hat·[rho_hat ≤ eps] / |{rho_hat ≤ eps}| (null when no point has rho_hat ≤ eps, or no severity:
   * severityNote).
   */
  readonly severity: number | null;
  /** Why the algorithm has no severity at all (NO_SEVERITY); absent when it has one. */
  readonly severityNote?: string;
  readonly within: number;
}

/**
 * Algorithms whose example distances are no severity, and why: the one rule measure's table, report.json and
 * compare all follow. FGSM takes one step of eps, so its example sits at that step (clipped to the input box:
 * 255 with --eps 300), not at the smallest distance an example exists at; the mean would just echo eps.
 */
export const NO_SEVERITY: Readonly<Record<string, string>> = {
  fgsm: "FGSM has no severity: its example's distance is its step eps (clipped to the input box), not a minimum distance",
};

/** The paper's estimators at eps; `algorithm` (the points' own) decides whether a severity exists (NO_SEVERITY). */
export function estimate(
  points: readonly Pick<PointResult, "status" | "rho">[],
  eps: number,
  algorithm?: string,
): Estimates {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<PointStatus, number>;
  // (A bracket point's status is not one of these: bracketEstimate counts those.)
  for (const p of points) if (p.status in counts) counts[p.status]++;
  const correct = points.length - counts.misclassified;
  const rhos = points
    .filter((p) => p.status === "adversarial" && p.rho !== null && p.rho <= eps)
    .map((p) => p.rho as number);
  return {
    eps,
    n: points.length,
    correct,
    counts,
    within: rhos.length,
    frequency: correct > 0 ? rhos.length / correct : null,
    ...(algorithm !== undefined && Object.hasOwn(NO_SEVERITY, algorithm)
      ? { severity: null, severityNote: NO_SEVERITY[algorithm] }
      : { severity: rhos.length > 0 ? rhos.reduce((a, b) => a + b, 0) / rhos.length : null }),
  };
}

/**
 * A bracket run's estimators at eps over the correctly classified points X:
 * - the paper's phi_hat(eps) and mu_hat(eps) from rho_hat (exact for every eps ≤ R: a rho_hat sought inside
 *   the ball of radius R and not found there is > R ≥ eps; a failed LP counts as no example, as in estimate);
 * - phi(eps) ∈ [phi_lower, phi_upper]: phi_lower counts points with a checked example within eps (upper ≤ eps),
 *   phi_upper every point not certified beyond eps (lower ≤ eps, or no lower bound);
 * - mu(eps) from upper: the mean upper over the points with upper ≤ eps (an upper estimate of the severity of
 *   those points; null when none);
 * - counts per status, the median bracket width (upper − lower over points with both finite).
 */
export interface BracketEstimates {
  readonly eps: number;
  readonly n: number;
  readonly correct: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly phiHat: number | null;
  readonly muHat: number | null;
  readonly withinHat: number;
  /**
   * Points whose rho_hat was sought only inside a ball R < eps and lies beyond it: whether rho_hat ≤ eps is
   * unknown, so phi_hat(eps) is only a lower estimate (and mu_hat the mean over the rest). 0 at the run's own
   * eps (R = max(upper, eps) ≥ eps); `robustc report --eps` above it can meet them.
   */
  readonly hatOpen: number;
  readonly phiLower: number | null;
  readonly phiUpper: number | null;
  readonly within: number;
  readonly possible: number;
  readonly mu: number | null;
  readonly medianWidth: number | null;
}

export function bracketEstimate(points: readonly BracketPoint[], eps: number): BracketEstimates {
  const certify = points.some((p) => p.mode === "certify");
  const counts: Record<string, number> = Object.fromEntries(
    (certify ? CERTIFY_STATUSES : BRACKET_STATUSES).map((s) => [s, 0]),
  );
  for (const p of points) counts[p.status] = (counts[p.status] ?? 0) + 1;
  const X = points.filter((p) => p.status !== "misclassified");
  const n = X.length;
  const hats = X.map((p) => p.rhoHat).filter((r): r is number => r !== null && r <= eps);
  const uppers = X.map((p) => p.upper).filter((u): u is number => u !== null && u <= eps);
  // A verified point (certify: no tie or win within the closed ball of its eps) is not possibly adversarial
  // at that eps even though its lower bound is the eps itself.
  const possible = X.filter(
    (p) => !(p.status === "verified" && p.lower !== null && p.lower >= eps) && (p.lower === null || p.lower <= eps),
  ).length;
  const widths = X.flatMap((p) =>
    p.upper !== null && p.lower !== null && Number.isFinite(p.upper) && Number.isFinite(p.lower)
      ? [p.upper - p.lower]
      : [],
  ).sort((a, b) => a - b);
  const mean = (v: number[]) => (v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null);
  return {
    eps,
    n: points.length,
    correct: n,
    counts,
    // --mode certify never solves the paper's LP: its phi_hat is not 0, it is absent.
    phiHat: n > 0 && !certify ? hats.length / n : null,
    muHat: mean(hats),
    withinHat: hats.length,
    hatOpen: X.filter((p) => p.rhoHatAbove !== null && p.rhoHatAbove < eps).length,
    phiLower: n > 0 ? uppers.length / n : null,
    phiUpper: n > 0 ? possible / n : null,
    within: uppers.length,
    possible,
    mu: mean(uppers),
    medianWidth: quantile(widths, 0.5),
  };
}

/** The 95% Wilson score interval of a frequency k/n (null for n = 0): Table 1's intervals (bench/table1.ts). */
export function wilson(k: number, n: number, z = 1.959964): [number, number] | null {
  if (n === 0) return null;
  const p = k / n,
    d = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / d,
    half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export interface Progress {
  tick(p: PointResult): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Count the points with an example within this eps (data units) as the report counts them; absent: no count. */
  readonly eps?: number;
  /** Without a TTY: seconds between progress lines (default 10, or ROBUSTC_PROGRESS_SECONDS); 0: none. */
  readonly interval?: number;
  /** Where the lines go (default process.stderr). */
  readonly stream?: { write(s: string): unknown };
}

/** Whether a finished point counts as adversarial within eps, by the very estimator its report uses. */
export function withinEps(p: PointResult, eps: number): boolean {
  return isBracket(p) ? bracketEstimate([p], eps).within > 0 : estimate([p], eps).within > 0;
}

/** A rough duration for people: "45 s", "12 min", "3.4 h". */
export function roughDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "n/a";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const defaultInterval = (): number => {
  const v = Number(process.env.ROBUSTC_PROGRESS_SECONDS);
  return process.env.ROBUSTC_PROGRESS_SECONDS !== undefined && Number.isFinite(v) && v >= 0 ? v : 10;
};

/**
 * Progress of `total` points: on a TTY a bar (cli-progress) with rate, ETA and the adversarial count; without
 * one (a log, CI, nohup) a line every `interval` seconds. No ETA before the first point has finished: a rate
 * from nothing would be a guess.
 */
export async function progressBar(total: number, tty: boolean, o: ProgressOptions = {}): Promise<Progress> {
  const stream = o.stream ?? process.stderr;
  const t0 = performance.now();
  let done = 0,
    adv = 0;
  const count = (p: PointResult) => {
    done++;
    if (o.eps !== undefined && withinEps(p, o.eps)) adv++;
  };
  const seconds = () => (performance.now() - t0) / 1000;
  const eta = () => (done === 0 ? "n/a" : roughDuration(((total - done) * seconds()) / done));
  const advText = () => (o.eps === undefined ? "" : `adversarial within eps ${o.eps}: ${adv}`);
  if (!tty) {
    const interval = o.interval ?? defaultInterval();
    const line = () =>
      stream.write(
        `robustc: progress: ${done}/${total} points (${((100 * done) / Math.max(1, total)).toFixed(0)}%), ` +
          `${(done / seconds()).toFixed(2)} points/s, ETA ${eta()}${o.eps === undefined ? "" : `, ${advText()}`}\n`,
      );
    const timer = interval > 0 ? setInterval(line, interval * 1000) : null;
    timer?.unref();
    return {
      tick: count,
      stop: () => {
        if (timer) clearInterval(timer);
      },
    };
  }
  const { SingleBar, Presets } = await import("cli-progress");
  const bar = new SingleBar(
    {
      format: `rho {bar} {value}/{total} points | {rate} pts/s | ETA {remaining}${o.eps === undefined ? "" : " | {adv}"}`,
      hideCursor: true,
      clearOnComplete: false,
      stream: stream as NodeJS.WritableStream,
    },
    Presets.shades_classic,
  );
  // (cli-progress owns the token {eta}: ours is {remaining}.)
  bar.start(total, 0, { rate: "0.00", remaining: eta(), adv: advText() });
  return {
    tick: (p) => {
      count(p);
      bar.update(done, { rate: (done / seconds()).toFixed(2), remaining: eta(), adv: advText() });
    },
    stop: () => bar.stop(),
  };
}

/**
 * Runs every index through the runner (as many in flight as `concurrency`), appending each finished point
 * to `jsonlPath` (flushed to disk) and returning all results sorted by index.
 */
export async function runPoints(
  runner: PointRunner,
  indices: readonly number[],
  concurrency: number,
  jsonlPath: string | null,
  progress: Progress,
): Promise<PointResult[]> {
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
