// A measurement's --out directory: run.json (the run's identity) and points.jsonl. Consumes the identity of a
// run; produces a directory ready for it, or, with --resume, the finished points of the same run.

import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  diag,
  ENGINE_BACKENDS,
  fail,
  ok,
  writeFileAtomic,
  type EngineBackend,
  type Result,
} from "../../compiler/index.js";
import { ALGORITHMS, type Algorithm } from "../rho/point.js";
import type { LazyOptions } from "../lazy/lazy-loop.js";
import { closesBracket, RHO_MODES, type RhoMode } from "../rho/modes.js";
import { LAYOUTS, type Layout } from "../data/input-map.js";
import { type PointResult } from "../rho/result.js";
import type { RunConfig } from "./point-runner.js";
import { toDataOptions, type DataOptions } from "./session.js";
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
  /** Present when given: the data's layout (--layout) and the normalisation outside the model (--mean/--std). */
  readonly layout?: Layout;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /**
   * The engine behind the attacks (--backend; issue 23): its float32 or float64 steps can end at other examples.
   * Absent in a run.json written before it (whose attacks ran the float64 reference's numbers).
   */
  readonly backend?: EngineBackend;
  /** augment's confidence margin (--margin; RunConfig.margin): present only for a run of augment. */
  readonly margin?: number;
  /**
   * The bracket's closure (--tolerance; RunConfig.tolerance): present for rho's and measure's bracket modes (modes.ts
   * CLOSING_MODES). Absent in a run.json written before it, whose points were decided by the absolute 1e-3 px: read
   * as 0 (identityTolerance).
   */
  readonly tolerance?: number;
};

/**
 * The tolerance a run.json's points were decided with: its own; 0 (the absolute 1e-3 px) for a bracket run written
 * before --tolerance; undefined where no status exact is decided (restrict, certify, the attacks).
 */
export function identityTolerance(id: { readonly mode?: unknown; readonly tolerance?: unknown }): number | undefined {
  if (typeof id.tolerance === "number") return id.tolerance;
  return typeof id.mode === "string" &&
    (RHO_MODES as readonly string[]).includes(id.mode) &&
    closesBracket(id.mode as RhoMode)
    ? 0
    : undefined;
}

/**
 * The tolerance measure --resume takes where --tolerance is not given: 0 when --out's run.json is a bracket run
 * written before --tolerance (so that it resumes under its own rule), else `otherwise` (the CLI's default). A
 * run.json that cannot be read is left to prepareOut to refuse.
 */
export function resumedTolerance(dir: string, otherwise: number): number {
  try {
    const v = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as Record<string, unknown>;
    if (v !== null && typeof v === "object" && !("tolerance" in v) && identityTolerance(v) === 0) return 0;
  } catch {
    /* no run.json, or not one: prepareOut says so */
  }
  return otherwise;
}

export function runIdentity(cfg: RunConfig, indices: readonly number[], eps: number): RunIdentity {
  return {
    model: cfg.modelPath,
    data: cfg.data,
    labels: cfg.labels ?? null,
    pixel_scale: cfg.pixelScale,
    eps,
    algorithm: cfg.algorithm,
    points: indices.length,
    first: indices[0],
    lazy: cfg.lazy,
    ...(cfg.mode ? { mode: cfg.mode } : {}),
    ...(cfg.layout ? { layout: cfg.layout } : {}),
    ...(cfg.mean ? { mean: cfg.mean } : {}),
    ...(cfg.std ? { std: cfg.std } : {}),
    backend: cfg.backend ?? "onnxruntime",
    ...(cfg.margin !== undefined ? { margin: cfg.margin } : {}),
    ...(cfg.tolerance !== undefined ? { tolerance: cfg.tolerance } : {}),
  };
}

/** The data options of the run's session (merge and report re-open it): every choice as the run resolved it. */
export function identityDataOptions(id: RunIdentity): DataOptions {
  return toDataOptions({ ...id, labels: id.labels ?? undefined, pixelScale: id.pixel_scale });
}

/**
 * A run.json read back (merge): the identity as written, key order kept (shards compare it as text), and the
 * shard it was, if any. Checks the fields the report is built from.
 */
export function parseIdentity(text: string, path: string): Result<{ identity: RunIdentity; shard: string | null }> {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch {
    return fail(diag("merge/corrupt", `${path}: not valid JSON`));
  }
  if (v === null || typeof v !== "object" || Array.isArray(v))
    return fail(diag("merge/corrupt", `${path}: not a run.json of robustc measure`));
  const isNum = (x: unknown) => typeof x === "number" && Number.isFinite(x);
  const checks: [keyof RunIdentity, (x: unknown) => boolean][] = [
    ["model", (x) => typeof x === "string"],
    ["data", (x) => typeof x === "string"],
    ["labels", (x) => x === null || typeof x === "string"],
    ["pixel_scale", isNum],
    ["eps", isNum],
    ["algorithm", (x) => typeof x === "string" && (ALGORITHMS as readonly string[]).includes(x)],
    ["points", isNum],
    ["first", isNum],
    ["lazy", (x) => x !== null && typeof x === "object"],
    ["mode", (x) => x === undefined || (RHO_MODES as readonly unknown[]).includes(x)],
    ["layout", (x) => x === undefined || (LAYOUTS as readonly unknown[]).includes(x)],
    ["mean", (x) => x === undefined || (Array.isArray(x) && x.every(isNum))],
    ["std", (x) => x === undefined || (Array.isArray(x) && x.every(isNum))],
    ["backend", (x) => x === undefined || (ENGINE_BACKENDS as readonly unknown[]).includes(x)],
    ["margin", (x) => x === undefined || isNum(x)],
    ["tolerance", (x) => x === undefined || isNum(x)],
  ];
  const bad = checks.find(([k, ok]) => !ok(v[k]));
  if (bad)
    return fail(
      diag(
        "merge/corrupt",
        `${path}: not a run.json of robustc measure (${bad[0]} ${v[bad[0]] === undefined ? "missing" : "invalid"})`,
      ),
    );
  const { shard, ...identity } = v;
  return ok({ identity: identity as RunIdentity, shard: typeof shard === "string" ? shard : null });
}

/**
 * Prepares --out: a new directory (or one without a measurement) gets run.json; with resume, run.json must
 * match this run, and the finished points of points.jsonl are returned (a line cut by a kill is dropped and
 * the file truncated to the last complete line).
 */
export function prepareOut(dir: string, identity: Record<string, unknown>, resume: boolean): Result<PointResult[]> {
  const made = makeDir(dir, "--out");
  if (!made.ok) return made;
  const runPath = join(dir, "run.json"),
    jsonl = join(dir, "points.jsonl");
  if (resume && existsSync(runPath)) {
    let before: Record<string, unknown>;
    try {
      before = JSON.parse(readFileSync(runPath, "utf8"));
    } catch {
      return fail(diag("cli/resume", `--resume: ${runPath} is not valid JSON (not a run.json of robustc measure)`));
    }
    // A bracket run written before --tolerance was decided by the absolute rule: its missing tolerance reads as 0.
    const legacy =
      before !== null && typeof before === "object" && !("tolerance" in before) && "tolerance" in identity
        ? identityTolerance(before)
        : undefined;
    const d = identityDifferences(legacy !== undefined ? { ...before, tolerance: legacy } : before, identity);
    if (d.length > 0)
      return fail(
        diag(
          "cli/resume",
          `--resume: ${runPath} describes another run: ${d.join("; ")}; rerun with the run's settings, or choose another --out`,
        ),
      );
    return readPoints(jsonl, true);
  }
  if (existsSync(jsonl))
    return fail(
      diag(
        "cli/out",
        `--out ${dir} already holds a measurement (points.jsonl); add --resume to continue it, or choose another directory`,
      ),
    );
  const w = writeFileAtomic(runPath, JSON.stringify(identity, null, 2) + "\n");
  if (!w.ok) return w;
  return ok([]);
}

/** The command-line option of each identity key, where one sets it (keys without one are named as they are). */
const OPTION_OF: Record<string, string> = {
  model: "the model",
  data: "--data",
  labels: "--labels",
  pixel_scale: "--pixel-scale",
  eps: "--eps",
  algorithm: "--algorithm",
  points: "--limit (points)",
  first: "--index (first point)",
  "lazy.add": "--add",
  "lazy.timeLimit": "--time-limit",
  mode: "--mode",
  shard: "--shard",
  layout: "--layout",
  mean: "--mean",
  std: "--std",
  backend: "--backend",
  margin: "--margin",
  tolerance: "--tolerance",
};

/**
 * Every key where two run.json identities differ, "option: was X in run.json, now Y", nested objects (lazy)
 * key by key. Generic over the keys, so that fields added to RunIdentity are compared without a change here.
 */
export function identityDifferences(
  before: Record<string, unknown>,
  now: Record<string, unknown>,
  say: (option: string, before: string, now: string) => string = (o, a, b) => `${o} was ${a} in run.json, now ${b}`,
): string[] {
  const flat = (o: Record<string, unknown>, pre = ""): [string, unknown][] =>
    Object.entries(o).flatMap(([k, v]) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? flat(v as Record<string, unknown>, `${pre}${k}.`)
        : [[`${pre}${k}`, v] as [string, unknown]],
    );
  const a = new Map(flat(before)),
    b = new Map(flat(now));
  const show = (m: Map<string, unknown>, k: string) => (m.has(k) ? JSON.stringify(m.get(k)) : "absent");
  return [...new Set([...a.keys(), ...b.keys()])]
    .filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)) || a.has(k) !== b.has(k))
    .map((k) => say(OPTION_OF[k] ?? k, show(a, k), show(b, k)));
}

/**
 * Creates a directory and its missing parents one level at a time (what each level fails with is named).
 * Node 20's mkdirSync({ recursive: true }) spins forever where a level cannot be created but its parent
 * exists (under /proc), so it is never used for output here. A failure removes the levels it created.
 */
export function makeDir(dir: string, what: string): Result<void> {
  const missing: string[] = [];
  let at = resolve(dir);
  while (!existsSync(at)) {
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  try {
    if (existsSync(at) && !statSync(at).isDirectory()) {
      return fail(
        diag(
          "cli/out",
          at === resolve(dir)
            ? `${what} ${dir} exists and is not a directory`
            : `${what} ${dir}: cannot create the directory (ENOTDIR): ${at} is not a directory`,
        ),
      );
    }
  } catch (e) {
    return fail(
      diag("cli/out", `${what} ${dir}: cannot read ${at} (${(e as NodeJS.ErrnoException).code ?? String(e)})`),
    );
  }
  const made: string[] = [];
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
      made.push(level);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      if (code === "EEXIST" && statSync(level).isDirectory()) continue;
      for (const m of made.reverse()) {
        try {
          rmdirSync(m);
        } catch {
          /* leave it: not empty any more */
        }
      }
      const where = level === resolve(dir) ? "" : ` at ${level}`;
      return fail(
        diag(
          "cli/out",
          `${what} ${dir}: cannot create the directory (${code})${where}${code === "ENOENT" ? `: ${dirname(level)} does not take new directories` : ""}`,
        ),
      );
    }
  }
  return ok(undefined);
}
