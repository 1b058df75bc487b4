// The one projected sign-gradient loop (Madry et al.'s PGD step): from x0, at each step either stop with what
// `look` found at x, or move every coordinate by its step length along the sign of `look`'s direction and
// project back. The minimum-norm attack (pgd.ts: ascent on a margin inside an L∞ ball) and verify's cheap sat
// search (verify/attack.ts: descent on a property's unsafe margin over its box) are both this loop.

/** What the loop sees at x after k steps: a result that ends it, a direction to move along, or give up. */
export type Look<T> = { readonly stop: T } | { readonly dir: ArrayLike<number> } | null;

export interface SignDescent<T> {
  readonly steps: number;
  /** At x after k steps (k = 0..steps); at k = steps only a stop counts. */
  readonly look: (x: Float64Array, k: number) => Look<T> | Promise<Look<T>>;
  /** The length of step k along coordinate i. */
  readonly stepLength: (k: number, i: number) => number;
  /** Projects x back onto the feasible set, in place. */
  readonly project: (x: Float64Array) => void;
  /** Project x0 before the first look (default true; verify polishes a MILP point exactly where it lies). */
  readonly projectStart?: boolean;
}

/** Runs the loop from x0 (x0 itself is not changed): the first stop, or null. */
export async function signDescent<T>(x0: Float64Array, o: SignDescent<T>): Promise<T | null> {
  const x = x0.slice();
  if (o.projectStart ?? true) o.project(x);
  for (let k = 0; k <= o.steps; k++) {
    const seen = await o.look(x, k);
    if (seen === null) return null;
    if ("stop" in seen) return seen.stop;
    if (k === o.steps) return null;
    const g = seen.dir;
    for (let i = 0; i < x.length; i++) {
      const a = o.stepLength(k, i);
      x[i] += g[i] > 0 ? a : g[i] < 0 ? -a : 0;
    }
    o.project(x);
  }
  return null;
}
