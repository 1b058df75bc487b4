// `--shard K/N`: a deterministic share of a measurement's points (Slurm arrays, k8s indexed jobs, CI
// matrices). Consumes the run's index list; produces every N-th index starting at position K-1, so the N
// shards partition the points and each gets a mix of easy and hard ones (the data is class-interleaved).

import { diag, fail, ok, type Result } from "../../compiler/index.js";

export interface Shard {
  readonly k: number;
  readonly n: number;
}

export function parseShard(s: string): Result<Shard> {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  const k = m ? Number(m[1]) : NaN,
    n = m ? Number(m[2]) : NaN;
  if (!m || !(n >= 1) || !(k >= 1) || k > n)
    return fail(diag("cli/shard", `--shard must be K/N with 1 <= K <= N (e.g. 2/8), got '${s}'`));
  return ok({ k, n });
}

export const shardName = (s: Shard): string => `${s.k}/${s.n}`;

/** The indices of shard k of n: positions k-1, k-1+n, k-1+2n, ... of the run's list. */
export function shardIndices(indices: readonly number[], s: Shard): number[] {
  return indices.filter((_, pos) => pos % s.n === s.k - 1);
}
