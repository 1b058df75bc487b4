// The options rho, measure, compare and augment share (data, points, workers, algorithm, mode) → the session,
// the point indices and the RunConfig a runner takes. Invalid values and combinations are refused here.

import { UserError, diag, fail, ok, unwrap, type EngineBackend, type Result } from "../../compiler/index.js";
import type { Algorithm } from "../rho/point.js";
import { DEFAULT_LAZY, type LazyOptions } from "../lazy/lazy-loop.js";
import { closesBracket, RHO_MODES, type RhoMode } from "../rho/modes.js";
import { CLI_TOLERANCE } from "../rho/result.js";
import { progressBar, runPoints } from "../run/measure.js";
import { makeRunner, type RunConfig } from "../run/point-runner.js";
import type { PointResult } from "../rho/result.js";
import { openSession, printNotes, selectIndices, type Session } from "../run/session.js";
import { defaultEps, epsWarning, type InputOptions } from "../data/input-map.js";

export interface RunRequest extends InputOptions {
  /** --data: the data spec (mnist:test, mnist:train, .npy, .npz[:ARRAY], .csv, IDX, CIFAR-10 .bin). */
  readonly data: string;
  /** --labels: labels for data that carry none. */
  readonly labels?: string;
  /** --index: one data point. */
  readonly index?: number;
  /** --limit: the first n data points (neither: every point). */
  readonly limit?: number;
  /** --jobs: worker threads (one WebAssembly HiGHS each). */
  readonly jobs: number;
  /** --time-limit: seconds per point. */
  readonly timeLimit: number;
  /** --add: the lazy loop adds all violated rows per iteration ("all") or the k most violated ("k"). */
  readonly add: string;
  /** --algorithm: lp (the bracket, or with mode restrict the paper's LP), pgd, lbfgsb or fgsm. */
  readonly algorithm: Algorithm;
  /** --mode (rho and measure, --algorithm lp): bracket (default), restrict, exact, bounds or walk. */
  readonly mode?: RhoMode;
  /** --eps in the data's units (default: the paper's 20 of 255 on the data's scale). */
  readonly eps?: number;
  /**
   * --backend: the engine behind the attacks' logits and gradients (onnxruntime by default, or the float64 reference).
   */
  readonly backend?: EngineBackend;
  /** --threads: onnxruntime's intra-op threads per job (default 1). */
  readonly threads?: number;
  /**
   * --tolerance (rho and measure): the bracket counts as closed (status exact) when upper − lower ≤ tolerance ×
   * upper; 0: the absolute 1e-3 px. Absent: the library default (0) unless the command fills in its own
   * (withCliTolerance: 0.01).
   */
  readonly tolerance?: number;
}

/** The defaults of the run options the CLI fills in (cli.ts) and the API (api/index.ts) too. */
export const RUN_DEFAULTS = {
  jobs: 1,
  timeLimit: 60,
  add: "all",
  algorithm: "lp",
} as const satisfies Pick<RunRequest, "jobs" | "timeLimit" | "add" | "algorithm">;

/**
 * The --mode values each algorithm has: the modes bracket the restricted LP; the attacks have only their own answer.
 */
const MODES_OF: Record<Algorithm, readonly RhoMode[]> = {
  lp: RHO_MODES,
  lbfgsb: [],
  fgsm: [],
  pgd: [],
};

/** --mode with an algorithm that has no such mode would be silently ignored: refused instead. */
export function checkMode(r: Pick<RunRequest, "algorithm" | "mode">): Result<void> {
  if (r.mode === undefined || MODES_OF[r.algorithm].includes(r.mode)) return ok(undefined);
  return fail(
    diag(
      "cli/mode",
      `--mode ${r.mode} is a mode of --algorithm lp, not of --algorithm ${r.algorithm}: drop --mode or use --algorithm lp`,
    ),
  );
}

/** Does the run decide status exact (--algorithm lp with a mode of modes.ts CLOSING_MODES)? */
const decidesExact = (r: Pick<RunRequest, "algorithm" | "mode">): boolean =>
  r.algorithm === "lp" && closesBracket(r.mode ?? "bracket");

/**
 * --tolerance: 0 (the absolute 1e-3 px) or a fraction of upper in (0, 1); refused where no status exact is
 * decided (--mode restrict and certify, the attacks), as an option that would change nothing.
 */
export function checkTolerance(r: Pick<RunRequest, "algorithm" | "mode" | "tolerance">): Result<number | undefined> {
  const t = r.tolerance;
  if (t === undefined) return ok(undefined);
  if (!Number.isFinite(t) || t < 0 || t >= 1)
    return fail(
      diag(
        "cli/tolerance",
        `--tolerance must be 0 (the absolute 1e-3 px) or a fraction of upper at least 0 and below 1 (e.g. 0.01), got ${t}`,
      ),
    );
  if (!decidesExact(r))
    return fail(
      diag(
        "cli/tolerance",
        `--tolerance does nothing for --algorithm ${r.algorithm}${r.mode ? ` --mode ${r.mode}` : ""} (it sets when the bracket's lower and upper count as met, status exact: --mode bracket, exact, milp, bounds or walk): drop --tolerance`,
      ),
    );
  return ok(t);
}

/**
 * The request with rho's and measure's default --tolerance where it decides anything and was not given:
 * CLI_TOLERANCE (1% of upper), or `fallback` (measure --resume of a run.json written before --tolerance: 0, its rule).
 */
export function withCliTolerance<R extends RunRequest>(r: R, fallback: number = CLI_TOLERANCE): R {
  return r.tolerance === undefined && decidesExact(r) ? { ...r, tolerance: fallback } : r;
}

export function lazyOptions(r: RunRequest): Result<LazyOptions> {
  if (!(r.timeLimit > 0)) return fail(diag("cli/time-limit", `--time-limit must be positive, got ${r.timeLimit}`));
  const add = r.add === "all" ? "all" : /^\d+$/.test(r.add) && Number(r.add) > 0 ? Number(r.add) : null;
  if (add === null) return fail(diag("cli/add", `--add must be all or a positive integer, got '${r.add}'`));
  if (!Number.isInteger(r.jobs) || r.jobs < 1)
    return fail(diag("cli/jobs", `--jobs must be a positive integer, got ${r.jobs}`));
  if (r.threads !== undefined && (!Number.isInteger(r.threads) || r.threads < 1))
    return fail(diag("cli/threads", `--threads must be a positive integer, got ${r.threads}`));
  return ok({ ...DEFAULT_LAZY, add, timeLimit: r.timeLimit });
}

/**
 * The session, the points and the run's config. `announce` prints the notes on what robustc chose for the user
 * (scale, layout, eps) and the unit warnings: a command calls it once its own checks passed, so that a refusal
 * stays one line.
 */
export async function openRun(
  model: string,
  r: RunRequest,
): Promise<{ session: Session; indices: number[]; cfg: RunConfig; announce: () => void }> {
  unwrap(checkMode(r));
  const tolerance = unwrap(checkTolerance(r));
  if (r.eps !== undefined && !(r.eps > 0))
    throw new UserError([diag("cli/eps", `--eps must be positive, got ${r.eps}`)]);
  const session = unwrap(openSession(model, r));
  const indices = unwrap(selectIndices(session.dataset.count, r.index, r.limit, r.data));
  const lazy = unwrap(lazyOptions(r));
  const scale = session.pixelScale;
  // eps follows the data's scale: the paper's 20 of 255 unless the user gave one (then a unit slip is flagged).
  const eps = r.eps ?? defaultEps(scale);
  const warn = r.eps === undefined ? null : epsWarning(r.eps, scale);
  const announce = () => {
    printNotes(session);
    if (r.eps === undefined && scale !== 255)
      process.stderr.write(
        `robustc: note: eps = ${Number(eps.toPrecision(6))} (the paper's 20 of 255 on the 0-${scale} scale); pass --eps to change it\n`,
      );
    if (warn) process.stderr.write(`robustc: warning: ${warn}\n`);
  };
  return {
    session,
    indices,
    announce,
    cfg: {
      modelPath: model,
      data: r.data,
      labels: r.labels,
      pixelScale: scale,
      lazy,
      algorithm: r.algorithm,
      eps,
      backend: r.backend ?? "onnxruntime",
      ...(r.threads !== undefined ? { threads: r.threads } : {}),
      ...(tolerance !== undefined ? { tolerance } : {}),
      ...(r.layout !== undefined ? { layout: r.layout } : {}),
      ...(r.mean !== undefined ? { mean: r.mean } : {}),
      ...(r.std !== undefined ? { std: r.std } : {}),
      // The lp algorithm answers the bracket unless --mode restrict asks for the paper's rho_hat alone.
      ...(r.algorithm === "lp" && (r.mode ?? "bracket") !== "restrict" ? { mode: r.mode ?? "bracket" } : {}),
    },
  };
}

/** The command to continue the run: as typed, with --resume; a shell-safe quote for every word that needs it. */
export function resumeCommand(argv: readonly string[] | undefined): string {
  if (argv === undefined) return "the same command with --resume";
  const quote = (w: string) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);
  return ["robustc", ...argv, ...(argv.includes("--resume") ? [] : ["--resume"])].map(quote).join(" ");
}

/**
 * The points left of a resumable run (measure, augment): `todo` through `jobs` workers, each appended to `jsonl` as
 * it finishes (written and fsynced before its tick), with a progress bar; Ctrl-C says how many of the run's points
 * are saved there and the command that resumes it (resumeCommand), and exits 130. `done`: the points finished
 * before (a resumed run's). Returns the new points.
 */
export async function runRemaining(o: {
  readonly cfg: RunConfig;
  readonly session: Session;
  readonly todo: readonly number[];
  readonly jobs: number;
  readonly done: number;
  readonly jsonl: string;
  readonly argv?: readonly string[];
  /** The progress line's "adversarial within eps" count (measure). */
  readonly eps?: number;
}): Promise<PointResult[]> {
  if (o.todo.length === 0) return [];
  const runner = await makeRunner(o.cfg, o.jobs, o.session);
  const bar = await progressBar(
    o.todo.length,
    process.stderr.isTTY === true,
    o.eps === undefined ? undefined : { eps: o.eps },
  );
  let saved = o.done;
  const interrupted = () => {
    bar.stop();
    process.stderr.write(
      `\nrobustc: interrupted: ${saved} of ${o.done + o.todo.length} points saved in ${o.jsonl}; resume with:\n  ${resumeCommand(o.argv)}\n`,
    );
    process.exit(130);
  };
  process.on("SIGINT", interrupted);
  try {
    return await runPoints(runner, o.todo, o.jobs, o.jsonl, {
      tick: (p) => {
        saved++;
        bar.tick(p);
      },
      stop: () => bar.stop(),
    });
  } finally {
    process.off("SIGINT", interrupted);
    await runner.close();
  }
}
