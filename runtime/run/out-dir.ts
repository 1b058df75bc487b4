// A measurement's --out directory: run.json (the run's identity) and points.jsonl. Consumes the identity of a
// run; produces a directory ready for it, or, with --resume, the finished points of the same run.

import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { diag, fail, ok, writeFileAtomic, type Result } from "../../compiler/index.js";
import { ALGORITHMS, type Algorithm } from "../attacks/point.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";
import { RHO_MODES, type RhoMode } from "../rho/modes.js";
import { type PointResult } from "../rho/types.js";
import type { RunConfig } from "./point-runner.js";
import { readPoints } from "./points-file.js";

/**
 * What identifies a measurement (run.json): a resumed run must match it exactly, merged shards must share
 * it, and a queue names its run by its hash — so its keys and their order stay as they are.
 */
export type RunIdentity = {
  readonly model: string;
  readonly data: string;
  readonly labels: string | null;
  readonly pixel_scale: number;
  readonly eps: number;
  readonly algorithm: Algorithm;
  readonly points: number;
  readonly first: number;
  readonly lazy: LazyOptions;
  /** Present for a --mode other than restrict. */
  readonly mode?: RhoMode;
};

export function runIdentity(cfg: RunConfig, indices: readonly number[], eps: number): RunIdentity {
  return {
    model: cfg.modelPath, data: cfg.data, labels: cfg.labels ?? null, pixel_scale: cfg.pixelScale, eps,
    algorithm: cfg.algorithm, points: indices.length, first: indices[0], lazy: cfg.lazy, ...(cfg.mode ? { mode: cfg.mode } : {}),
  };
}

/**
 * A run.json read back (merge): the identity as written, key order kept (shards compare it as text), and the
 * shard it was, if any. Checks the fields the report is built from.
 */
export function parseIdentity(text: string, path: string): Result<{ identity: RunIdentity; shard: string | null }> {
  let v: Record<string, unknown>;
  try { v = JSON.parse(text); } catch { return fail(diag("merge/corrupt", `${path}: not valid JSON`)); }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return fail(diag("merge/corrupt", `${path}: not a run.json of robustc measure`));
  const isNum = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  const checks: [keyof RunIdentity, (x: unknown) => boolean][] = [
    ["model", (x) => typeof x === "string"], ["data", (x) => typeof x === "string"], ["labels", (x) => x === null || typeof x === "string"],
    ["pixel_scale", isNum], ["eps", isNum], ["algorithm", (x) => typeof x === "string" && (ALGORITHMS as readonly string[]).includes(x)],
    ["points", isNum], ["first", isNum], ["lazy", (x) => x !== null && typeof x === "object"],
    ["mode", (x) => x === undefined || (RHO_MODES as readonly unknown[]).includes(x)],
  ];
  const bad = checks.find(([k, ok]) => !ok(v[k]));
  if (bad) return fail(diag("merge/corrupt", `${path}: not a run.json of robustc measure (${bad[0]} ${v[bad[0]] === undefined ? "missing" : "invalid"})`));
  const { shard, ...identity } = v;
  return ok({ identity: identity as RunIdentity, shard: typeof shard === "string" ? shard : null });
}

/**
 * Prepares --out: a new directory (or one without a measurement) gets run.json; with resume, run.json must
 * match this run, and the finished points of points.jsonl are returned (a line cut by a kill is dropped and
 * the file truncated to the last complete line).
 */
export function prepareOut(dir: string, identity: Record<string, unknown>, resume: boolean): Result<PointResult[]> {
  try {
    if (existsSync(dir) && !statSync(dir).isDirectory()) return fail(diag("cli/out", `--out ${dir} exists and is not a directory`));
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    return fail(diag("cli/out", `--out ${dir}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
  const runPath = join(dir, "run.json"), jsonl = join(dir, "points.jsonl");
  if (resume && existsSync(runPath)) {
    const before = JSON.stringify(JSON.parse(readFileSync(runPath, "utf8")));
    if (before !== JSON.stringify(identity)) return fail(diag("cli/resume", `--resume: ${runPath} describes another run (model, data, eps, algorithm, points or settings differ)`));
    return readPoints(jsonl, true);
  }
  if (existsSync(jsonl)) return fail(diag("cli/out", `--out ${dir} already holds a measurement (points.jsonl); add --resume to continue it, or choose another directory`));
  const w = writeFileAtomic(runPath, JSON.stringify(identity, null, 2) + "\n");
  if (!w.ok) return w;
  return ok([]);
}
