// `robustc vnncomp DIR/instances.csv --out results.csv`: runs a VNN-COMP benchmark folder (rows
// `onnx,vnnlib,timeout_seconds`, paths relative to the csv) through the verify engine, appends one row per
// instance as it finishes (after the header row `onnx,vnnlib,result,seconds,note`), and compares with
// ground_truth.csv beside it. --resume appends to the file as it is (results of older versions have no header).
// --jobs K runs instances on K worker threads (verify/vnncomp-worker.ts); rows then come in finishing order.

import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, posix } from "node:path";
import { diag, fail, ok, unwrap, type Result } from "../../compiler/index.js";
import { makeDir } from "../run/out-dir.js";
import {
  instanceRunner,
  type Answer,
  type Instance,
  type InstanceResult,
  type InstanceTask,
} from "../verify/vnncomp-worker.js";

export type { Answer, Instance, InstanceResult };

/** jobs: worker threads (default 1: this thread, one instance after another). */
export interface VnncompRequest {
  readonly timeoutScale: number;
  readonly filter?: string;
  readonly out: string;
  readonly resume?: boolean;
  readonly jobs?: number;
}

/** The first line of every results.csv robustc writes; readResults reads files with and without it. */
export const RESULTS_HEADER = "onnx,vnnlib,result,seconds,note";

/** Plain CSV as VNN-COMP writes it: no quoting, no header; blank lines and `#` lines skipped. */
export function readInstances(csv: string): Result<Instance[]> {
  let text: string;
  try {
    text = readFileSync(csv, "utf8");
  } catch (e) {
    return fail(diag("io/read", `${csv}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`));
  }
  const out: Instance[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    const f = line.split(",").map((s) => s.trim());
    const t = Number(f[2]);
    if (f.length < 3 || !f[0] || !f[1] || !(t > 0))
      return fail(
        diag("vnncomp/csv", `${csv}:${i + 1}:1: expected onnx,vnnlib,timeout_seconds, got '${line.slice(0, 200)}'`),
      );
    out.push({ onnx: f[0], vnnlib: f[1], timeout: t });
  }
  return ok(out);
}

/** ground_truth.csv (`onnx,vnnlib,answer,tools_agreeing`) beside the instances, when present. */
export function readGroundTruth(csv: string): Map<string, string> | null {
  const p = join(dirname(csv), "ground_truth.csv");
  if (!existsSync(p)) return null;
  const m = new Map<string, string>();
  for (const line of readFileSync(p, "utf8").split(/\r?\n/)) {
    const f = line.split(",");
    if (f.length >= 3 && f[2] !== "answer") m.set(key(f[0], f[1]), f[2].trim());
  }
  return m;
}

/** `./specs/a.vnnlib` and `specs/a.vnnlib` name the same instance (instances.csv files differ in this). */
const key = (onnx: string, vnnlib: string) => `${posix.normalize(onnx)},${posix.normalize(vnnlib)}`;

const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""').replace(/\n/g, " ")}"` : s);

export function validateVnncomp(r: VnncompRequest): Result<RegExp | null> {
  if (!(r.timeoutScale > 0))
    return fail(diag("cli/timeout-scale", `--timeout-scale must be positive, got ${r.timeoutScale}`));
  if (r.jobs !== undefined && (!Number.isInteger(r.jobs) || r.jobs < 1))
    return fail(diag("cli/jobs", `--jobs must be a positive integer, got ${r.jobs}`));
  if (r.filter === undefined) return ok(null);
  try {
    return ok(new RegExp(r.filter));
  } catch {
    return fail(diag("cli/filter", `--filter '${r.filter}' is not a regular expression`));
  }
}

/**
 * Runs the instances, in this thread in order (one model open at a time) or on min(jobs, instances) worker
 * threads (each keeps its own model); each row is appended (and flushed) and ticked as its instance finishes.
 */
export async function runVnncomp(
  csv: string,
  instances: readonly Instance[],
  r: VnncompRequest,
  tick: (x: InstanceResult) => void,
  done: readonly InstanceResult[] = [],
): Promise<InstanceResult[]> {
  const dir = dirname(csv);
  // A fresh file starts with the header; a resumed one is appended to as it is (never rewritten), even when
  // none of its rows are of the instances run now.
  if (!r.resume || !existsSync(r.out) || statSync(r.out).size === 0) writeFileSync(r.out, `${RESULTS_HEADER}\n`);
  const results: InstanceResult[] = [...done];
  const finish = (x: InstanceResult) => {
    appendFileSync(
      r.out,
      `${csvField(x.onnx)},${csvField(x.vnnlib)},${x.result},${x.seconds.toFixed(3)},${csvField(x.note)}\n`,
    );
    results.push(x);
    tick(x);
  };
  const task = (instance: Instance): InstanceTask => ({ dir, instance, timeoutScale: r.timeoutScale });
  const jobs = Math.max(1, Math.min(r.jobs ?? 1, instances.length));
  if (jobs === 1) {
    const runner = instanceRunner();
    try {
      for (const inst of instances) finish(await runner.run(task(inst)));
    } finally {
      await runner.close();
    }
    return results;
  }
  const { Tinypool } = await import("tinypool");
  const pool = new Tinypool({ filename: workerModule(), minThreads: jobs, maxThreads: jobs, isolateWorkers: false });
  // Once the run has failed (a row could not be written), the tasks that the pool's end rejects are no answers.
  let failed = false;
  try {
    await Promise.all(
      instances.map((inst) =>
        (pool.run(task(inst)) as Promise<InstanceResult>).then(
          (x) => {
            if (!failed) finish(x);
          },
          (e: unknown) => {
            // The runner answers every failure it can catch: this is a thread that died (its time unknown: 0 s).
            if (!failed)
              finish({
                ...inst,
                result: "unknown",
                seconds: 0,
                note: `internal error: worker thread: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`,
              });
          },
        ),
      ),
    );
  } finally {
    failed = true;
    await pool.destroy();
  }
  return results;
}

/**
 * The worker module: dist/runtime/verify/vnncomp-worker.js when built, else the TypeScript source through tsx.
 * Node 20 ignores `--import tsx` in a worker's execArgv, so that entry is a module registering tsx itself (its
 * CommonJS hook: resolvable from inside the worker, and what mocha runs the sources under too).
 */
function workerModule(): string {
  const js = fileURLToPath(new URL("../verify/vnncomp-worker.js", import.meta.url));
  if (existsSync(js)) return js;
  const ts = JSON.stringify(fileURLToPath(new URL("../verify/vnncomp-worker.ts", import.meta.url)));
  const entry =
    `import { createRequire } from "node:module";\nconst require = createRequire(${ts});\n` +
    `require("tsx/cjs/api").register();\nexport default require(${ts}).default;\n`;
  return `data:text/javascript,${encodeURIComponent(entry)}`;
}

export interface Summary {
  readonly counts: Record<Answer, number>;
  readonly seconds: number;
  readonly contradictions: string[];
  readonly agree: number;
  readonly truthKnown: number;
}

/**
 * Rows of an earlier results.csv (resume, bench/vnncomp-table.ts): `onnx,vnnlib,result,seconds,note`, the note
 * possibly quoted; a first line equal to the header is skipped (files of older versions start with a row).
 */
export function readResults(path: string): Result<InstanceResult[]> {
  if (!existsSync(path)) return ok([]);
  const out: InstanceResult[] = [];
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "" || (i === 0 && lines[i].trim() === RESULTS_HEADER)) continue;
    const f = lines[i].split(",");
    const result = f[2] as Answer,
      seconds = Number(f[3]);
    if (
      f.length < 4 ||
      !["sat", "unsat", "timeout", "unknown", "unsupported"].includes(result) ||
      !Number.isFinite(seconds)
    ) {
      return fail(
        diag(
          "vnncomp/resume",
          `${path}:${i + 1}: not a results row (onnx,vnnlib,result,seconds,note): '${lines[i].slice(0, 200)}'`,
        ),
      );
    }
    out.push({ onnx: f[0], vnnlib: f[1], timeout: NaN, result, seconds, note: f.slice(4).join(",") });
  }
  return ok(out);
}

export function summariseVnncomp(results: readonly InstanceResult[], truth: Map<string, string> | null): Summary {
  const counts: Record<Answer, number> = { sat: 0, unsat: 0, timeout: 0, unknown: 0, unsupported: 0 };
  const contradictions: string[] = [];
  let agree = 0,
    truthKnown = 0;
  for (const x of results) {
    counts[x.result]++;
    const t = truth?.get(key(x.onnx, x.vnnlib));
    if (t === "sat" || t === "unsat") {
      truthKnown++;
      if (x.result === t) agree++;
      else if (x.result === "sat" || x.result === "unsat")
        contradictions.push(`${x.onnx},${x.vnnlib}: robustc says ${x.result}, ground truth ${t}`);
    }
  }
  return { counts, seconds: results.reduce((a, x) => a + x.seconds, 0), contradictions, agree, truthKnown };
}

export function formatSummary(s: Summary, n: number, truth: boolean): string[] {
  const c = s.counts;
  const lines = [
    `${n} instances: ${c.sat} sat, ${c.unsat} unsat, ${c.timeout} timeout, ${c.unknown} unknown, ${c.unsupported} unsupported; ${s.seconds.toFixed(1)} s`,
  ];
  if (truth) {
    lines.push(
      `ground truth: ${s.agree} of ${s.truthKnown} answered instances solved alike; ${s.contradictions.length} contradiction(s)`,
    );
    for (const x of s.contradictions) lines.push(`CONTRADICTION ${x}`);
  }
  return lines;
}

export const formatInstance = (x: InstanceResult): string =>
  `${x.result.padEnd(11)} ${x.seconds.toFixed(2).padStart(8)} s  ${x.onnx} ${x.vnnlib}${x.result === "unsupported" || x.result === "unknown" ? `  (${x.note})` : ""}`;

/** `robustc vnncomp INSTANCES.csv`: one line per instance as it finishes, then the summary. */
export async function vnncompCommand(csv: string, r: VnncompRequest, out: (line: string) => void): Promise<void> {
  const re = unwrap(validateVnncomp(r));
  const all = unwrap(readInstances(csv));
  // The results file's folder is made where missing (as measure's --out); a folder itself is no results file.
  if (existsSync(r.out) && statSync(r.out).isDirectory())
    unwrap(
      fail(
        diag(
          "cli/out",
          `--out ${r.out} is a directory: it names the results file (e.g. ${join(r.out, "results.csv")})`,
        ),
      ),
    );
  unwrap(makeDir(dirname(r.out), "--out's folder"));
  const todo = re ? all.filter((x) => re.test(`${x.onnx},${x.vnnlib}`)) : all;
  const truth = readGroundTruth(csv);
  // --resume: the rows already written count as they are; only the instances missing there run.
  const done = r.resume
    ? unwrap(readResults(r.out)).filter((x) => todo.some((t) => key(t.onnx, t.vnnlib) === key(x.onnx, x.vnnlib)))
    : [];
  const finished = new Set(done.map((x) => key(x.onnx, x.vnnlib)));
  if (done.length > 0) out(`resuming: ${done.length} of ${todo.length} instances already in ${r.out}`);
  const results = await runVnncomp(
    csv,
    todo.filter((t) => !finished.has(key(t.onnx, t.vnnlib))),
    r,
    (x) => out(formatInstance(x)),
    done,
  );
  for (const line of formatSummary(summariseVnncomp(results, truth), todo.length, truth !== null)) out(line);
}
