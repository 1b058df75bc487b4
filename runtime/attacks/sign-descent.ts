// The one projected sign-gradient loop (Madry et al.'s PGD step), over a batch of starts in lockstep: at each step
// `look` sees every start still running and, per start, stops it with a result, gives it a direction to move
// along (each coordinate by its step length along the direction's sign, then projected back), or drops it. The
// minimum-norm attack (pgd.ts: ascent on a margin inside an L∞ ball, its starts batched through the engine) and
// verify's cheap sat search (verify/attack.ts: descent on a property's unsafe margin, one start) are this loop.

/** What the loop sees at one start's x after k steps: a result that ends it, a direction to move along, or give up. */
export type Look<T> = { readonly stop: T } | { readonly dir: ArrayLike<number> } | null;

export interface SignDescent<T> {
  readonly steps: number;
  /** At the running starts' x after k steps (k = 0..steps), one Look per start; at k = steps only a stop counts. */
  readonly look: (xs: readonly Float64Array[], k: number) => readonly Look<T>[] | Promise<readonly Look<T>[]>;
  /** The length of step k along coordinate i. */
  readonly stepLength: (k: number, i: number) => number;
  /** Projects x back onto the feasible set, in place. */
  readonly project: (x: Float64Array) => void;
  /** Project each start before the first look (default true; verify polishes a MILP point exactly where it lies). */
  readonly projectStart?: boolean;
}

/** Runs the loop from every start (the starts themselves are not changed): per start its stop, or null. */
export async function signDescent<T>(starts: readonly Float64Array[], o: SignDescent<T>): Promise<(T | null)[]> {
  const xs = starts.map((s) => s.slice());
  if (o.projectStart ?? true) xs.forEach((x) => o.project(x));
  const out: (T | null)[] = starts.map(() => null);
  let live = xs.map((_, s) => s);
  for (let k = 0; k <= o.steps && live.length > 0; k++) {
    const seen = await o.look(
      live.map((s) => xs[s]),
      k,
    );
    const next: number[] = [];
    live.forEach((s, b) => {
      const v = seen[b];
      if (v === null) return;
      if ("stop" in v) {
        out[s] = v.stop;
        return;
      }
      if (k === o.steps) return;
      const x = xs[s],
        g = v.dir;
      for (let i = 0; i < x.length; i++) {
        const a = o.stepLength(k, i);
        x[i] += g[i] > 0 ? a : g[i] < 0 ? -a : 0;
      }
      o.project(x);
      next.push(s);
    });
    live = next;
  }
  return out;
}
