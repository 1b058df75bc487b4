// `robustc augment`: adversarial examples of training points for fine-tuning (paper §5), through the measure
// runner (--jobs workers), one shard of them (--shard K/N; robustc merge combines the shards), or robustc
// worker processes (--queue); writes images.npy, labels.npy, index.npy, points.jsonl, manifest.json into --out.
// Nothing is half-written: the files go to DIR.partial, which is renamed to DIR only when all are written. While a
// local run (--jobs, --shard) works, DIR.partial/run/ holds its run.json and its finished points (points.jsonl, as
// measure writes them): a killed run continues with --resume, losing only the points in flight.

import { existsSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError, diag, fail, ok, unwrap, writeFileAtomic, type Result } from "../../compiler/index.js";
import { encodeNpy } from "../data/npy.js";
import { item } from "../data/index.js";
import {
  AUGMENT_ALGORITHMS,
  countAugment,
  DEFAULT_MARGIN,
  manifest,
  roundAndCheck,
  roundedRecord,
  type AugmentAlgorithm,
  type AugmentCounts,
} from "../augment.js";
import { makeDir, prepareOut, runIdentity, type RunIdentity } from "../run/out-dir.js";
import { parseShard, shardIndices, shardName, type Shard } from "../run/shard.js";
import { queuedRun, type AugmentRun } from "../run/queue/queue.js";
import type { QueueTarget } from "../run/queue/redis-url.js";
import { openEvaluator, toDataLayout, type Session } from "../run/session.js";
import { type PointResult } from "../rho/result.js";
import { checkQueueOptions, jobTimeoutOf, produceOnQueue, queueSettings, type QueueOptions } from "./on-queue.js";
import { openRun, runRemaining, type RunRequest } from "./run-request.js";

export interface AugmentRequest extends Omit<RunRequest, "algorithm" | "index">, Partial<QueueOptions> {
  readonly algorithm: AugmentAlgorithm;
  readonly margin?: number;
  readonly out: string;
  /** K/N: only every N-th point from the K-th (robustc merge combines the shards). */
  readonly shard?: string;
  /** redis://HOST:PORT/NAME: the points as jobs for robustc worker processes. */
  readonly queue?: string;
  /** Continue the run DIR.partial holds (a local run killed before its files were written). */
  readonly resume?: boolean;
  /** The command line as typed (cli.ts): Ctrl-C prints it again with --resume. */
  readonly argv?: readonly string[];
}

/** What manifest.json records of a run besides its counts. */
export interface AugmentMeta extends AugmentRun {
  readonly identity: RunIdentity;
  readonly jobs: number;
  readonly seconds: number;
  /** How the run was spread: shard, queue and workers. */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/**
 * --out must be new (or an empty directory) and its DIR.partial creatable; returns the staging directory. With
 * `keep`, a DIR.partial already there is kept (--resume); otherwise it is emptied.
 */
export function prepareStaging(out: string, keep = false): Result<string> {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) return fail(diag("cli/out", `--out ${out} exists and is not a directory`));
    if (readdirSync(out).length > 0) return fail(diag("cli/out", `--out ${out} is not empty; choose a new directory`));
  }
  const staging = stagingOf(out);
  try {
    if (!keep) rmSync(staging, { recursive: true, force: true });
    // Level by level: a recursive mkdirSync spins forever under /proc (out-dir.ts makeDir).
    const made = makeDir(staging, "--out");
    if (!made.ok) return made;
  } catch (e) {
    return fail(
      diag("cli/out", `--out ${out}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`),
    );
  }
  return ok(staging);
}

const stagingOf = (out: string): string => `${out.replace(/\/+$/, "")}.partial`;

/**
 * Writes the files into the staging directory, then renames it to --out (an empty directory there is replaced);
 * a failure removes the staging directory and leaves --out as it was. The entries `drop` names are removed from the
 * staging directory after the files are written, before the rename.
 */
export function commitStaged(
  staging: string,
  out: string,
  files: readonly [string, string | Uint8Array][],
  drop: readonly string[] = [],
): void {
  try {
    for (const [name, data] of files) unwrap(writeFileAtomic(join(staging, name), data));
    for (const name of drop) rmSync(join(staging, name), { recursive: true, force: true });
    if (existsSync(out)) rmSync(out, { recursive: true }); // an empty directory (checked by prepareStaging)
    renameSync(staging, out);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

/**
 * An augment directory's files (augment and merge write the same five): the images (an encoded .npy), the kept
 * examples' labels and indices, points.jsonl's text and manifest.json's, committed as commitStaged does.
 */
export function commitAugment(
  staging: string,
  out: string,
  images: Uint8Array,
  kept: readonly { readonly label: number; readonly index: number }[],
  points: string,
  manifest: string,
  drop: readonly string[] = [],
): void {
  const column = (f: (e: (typeof kept)[number]) => number) =>
    encodeNpy(
      [kept.length],
      "int64",
      kept.map((e) => f(e)),
    );
  commitStaged(
    staging,
    out,
    [
      ["images.npy", images],
      ["labels.npy", column((e) => e.label)],
      ["index.npy", column((e) => e.index)],
      ["points.jsonl", points],
      ["manifest.json", manifest],
    ],
    drop,
  );
}

interface Parsed {
  readonly margin: number;
  readonly shard: Shard | null;
  readonly target: QueueTarget | null;
}

function validate(r: AugmentRequest): Result<Parsed> {
  if (!(AUGMENT_ALGORITHMS as readonly string[]).includes(r.algorithm))
    return fail(diag("cli/algorithm", `--algorithm must be ${AUGMENT_ALGORITHMS.join(", ")}, got '${r.algorithm}'`));
  const margin = r.margin ?? DEFAULT_MARGIN[r.algorithm];
  if (!Number.isFinite(margin) || margin < 0)
    return fail(diag("cli/margin", `--margin must be a non-negative number, got ${r.margin}`));
  if (r.pixelScale !== undefined && r.pixelScale !== 255)
    return fail(
      diag("cli/pixel-scale", `augment writes uint8 pixel images: --pixel-scale must be 255, got ${r.pixelScale}`),
    );
  if (r.queue !== undefined && r.shard !== undefined)
    return fail(diag("cli/shard", "--shard and --queue are two ways to spread a run: use one"));
  if (r.queue !== undefined && r.resume)
    return fail(
      diag("cli/resume", "--resume is for local runs: a --queue run resumes by running the same command again"),
    );
  if (r.queue === undefined) {
    const given = [
      r.attempts !== undefined ? "--attempts" : null,
      r.jobTimeout !== undefined ? "--job-timeout" : null,
      r.detach ? "--detach" : null,
    ].filter((o) => o !== null);
    if (given.length > 0)
      return fail(
        diag(
          "cli/queue",
          `${given.join(", ")} ${given.length > 1 ? "are options" : "is an option"} of --queue runs: add --queue URL or drop ${given.length > 1 ? "them" : "it"}`,
        ),
      );
  }
  let shard: Shard | null = null;
  if (r.shard !== undefined) {
    const s = parseShard(r.shard);
    if (!s.ok) return s;
    shard = s.value;
  }
  if (r.queue === undefined) return ok({ margin, shard, target: null });
  const target = checkQueueOptions(r.queue, { ...r, attempts: r.attempts ?? 3 });
  if (!target.ok) return target;
  return ok({ margin, shard, target: target.value });
}

export async function runAugment(model: string, r: AugmentRequest, log: (s: string) => void): Promise<void> {
  const { margin, shard, target } = unwrap(validate(r));
  // The paper's §5: examples of the restricted LP with a confidence margin (--mode restrict), or L-BFGS-B's.
  // lp: the restricted LP of x*'s region; bracket: the bracket's example, then the LP in its region (both --algorithm
  // lp runs).
  const { session, indices, cfg, announce } = await openRun(model, {
    ...r,
    algorithm: r.algorithm === "lbfgsb" ? "lbfgsb" : "lp",
    ...(r.algorithm === "lbfgsb" ? {} : { mode: r.algorithm === "lp" ? ("restrict" as const) : ("bracket" as const) }),
  });
  if (session.pixelScale !== 255)
    throw new UserError([
      diag(
        "data/range",
        `augment writes uint8 pixel images: ${r.data} is on a 0-${session.pixelScale} scale, not 0-255 (convert it to 8-bit images first)`,
      ),
    ]);
  const runCfg = { ...cfg, margin };
  // The margin is in the identity: the examples differ with it, and a queue names its run by the identity.
  const identity = runIdentity(runCfg, indices, cfg.eps);
  const words: AugmentRun = { model, data: r.data, algorithm: r.algorithm, margin };
  if (target !== null) {
    const o = { attempts: r.attempts ?? 3, jobTimeout: r.jobTimeout, detach: r.detach };
    const run = queuedRun(runCfg, identity, indices, cfg.eps, o.attempts, jobTimeoutOf(o, cfg.lazy.timeLimit), words);
    let staging: string | null = null;
    try {
      await produceOnQueue(
        {
          target,
          run,
          out: r.out,
          detach: r.detach,
          prepare: () => {
            staging = unwrap(prepareStaging(r.out));
          },
          announce,
          write: async (h, run, c, wall) => {
            const seconds = wall ?? (c.lastFinished === null ? 0 : Math.max(0, (c.lastFinished - run.started) / 1000));
            const meta = {
              ...words,
              identity,
              jobs: c.workers,
              seconds,
              settings: queueSettings(h, run, c),
            };
            log(await writeAugment(r.out, staging!, session, c.points, meta));
            staging = null;
          },
        },
        log,
      );
    } finally {
      // Detached, failed or interrupted: nothing was written, and no DIR.partial is left behind.
      if (staging !== null) rmSync(staging, { recursive: true, force: true });
    }
    return;
  }
  const staging = unwrap(prepareStaging(r.out, r.resume === true));
  // The run's own directory inside the staging one: its identity (a shard's included) and the finished points.
  const runDir = join(staging, "run");
  const done = unwrap(
    prepareOut(runDir, { ...identity, ...(shard ? { shard: shardName(shard) } : {}) }, r.resume === true),
  );
  announce();
  const finished = new Set(done.map((p) => p.index));
  const todo = (shard ? shardIndices(indices, shard) : indices).filter((i) => !finished.has(i));
  if (done.length > 0)
    process.stderr.write(`robustc: resuming: ${done.length} points finished, ${todo.length} to run\n`);
  const t0 = performance.now();
  const jobs = Math.max(1, Math.min(r.jobs, todo.length));
  // Every finished point is in run/points.jsonl before its tick: Ctrl-C loses only the points in flight.
  const points = await runRemaining({
    cfg: runCfg,
    session,
    todo,
    jobs,
    done: done.length,
    jsonl: join(runDir, "points.jsonl"),
    argv: r.argv,
  });
  const all = [...done, ...points].sort((a, b) => a.index - b.index);
  const meta: AugmentMeta = {
    ...words,
    identity,
    jobs,
    seconds: (performance.now() - t0) / 1000,
    ...(shard || done.length > 0
      ? {
          settings: {
            ...(shard ? { shard: shardName(shard) } : {}),
            ...(done.length > 0 ? { resumed_points: done.length } : {}),
          },
        }
      : {}),
  };
  // The run's directory goes once the five files are written, just before the rename.
  log(await writeAugment(r.out, staging, session, all, meta, ["run"]));
}

/**
 * The finished points of a run (sorted by index) into --out through its staging directory: each found example
 * rounded to integer pixels and re-checked by onnxruntime, the kept ones in images.npy, labels.npy and
 * index.npy, every found one in points.jsonl, and manifest.json. Returns the lines augment prints.
 */
export async function writeAugment(
  out: string,
  staging: string,
  session: Session,
  points: readonly PointResult[],
  m: AugmentMeta,
  drop: readonly string[] = [],
): Promise<string> {
  const ort = await openEvaluator(session, "onnxruntime", { threads: 1 });
  let rounded;
  try {
    rounded = await roundAndCheck(points, ort, session.pixelScale, (i) => item(session.dataset, i));
  } finally {
    await ort.dispose();
  }
  const counts = countAugment(points, rounded);
  const kept = rounded.filter((e) => e.kept);
  const n = kept.length > 0 ? kept[0].pixels.length : session.network.inputShape.slice(1).reduce((a, b) => a * b, 1);
  const images = new Uint8Array(kept.length * n);
  kept.forEach((e, k) => images.set(e.pixels, k * n));
  const { shape, values } = toDataLayout(session, images, kept.length);
  commitAugment(
    staging,
    out,
    encodeNpy(shape, "uint8", values),
    kept,
    rounded.map((e) => JSON.stringify(roundedRecord(e)) + "\n").join(""),
    manifestText(m, counts, rounded),
    drop,
  );
  return formatAugment(m, out, counts);
}

export const manifestText = (m: AugmentMeta, counts: AugmentCounts, rounded: Parameters<typeof manifest>[2]): string =>
  JSON.stringify(
    manifest(
      {
        model: m.model,
        data: m.data,
        algorithm: m.algorithm,
        margin: m.margin,
        jobs: m.jobs,
        seconds: m.seconds,
        run: m.identity,
        settings: m.settings,
      },
      counts,
      rounded,
    ),
    null,
    2,
  ) + "\n";

export function formatAugment(m: AugmentMeta, out: string, c: AugmentCounts): string {
  const share = c.found > 0 ? `${((100 * c.lostToRounding) / c.found).toFixed(1)}%` : "n/a";
  const other = Object.entries(c.other)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const spread = typeof m.settings?.shard === "string" ? ` (shard ${m.settings.shard})` : "";
  return [
    `augment ${m.algorithm} (margin ${m.margin}) on ${m.data}${spread}: ${c.tried} points tried, ${c.misclassified} misclassified${other ? `, ${other}` : ""}`,
    `found ${c.found}, lost to rounding ${c.lostToRounding} (${share}), kept ${c.kept}; ${m.seconds.toFixed(1)} s`,
    `examples in ${out}: images.npy, labels.npy (original labels), index.npy, points.jsonl, manifest.json`,
  ].join("\n");
}
