// The command-line edge: parses arguments (commander), runs a command, and turns diagnostics into one
// line each on stderr with exit code 2. Internal errors exit 1 (stack trace only with ROBUSTC_DEBUG=1).

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { UserError, diag, unwrap } from "../compiler/index.js";
import { compileSeed, renderCompile, solveWritten, validateCompile, writeOutputs } from "./commands/compile.js";
import { SOLVER_NAMES, type SolverName } from "./solvers/registry.js";
import { formatInspect, inspectNetwork } from "./commands/inspect.js";
import { formatPoint, makeRunner, openRun, POINT_HEADER, prepareOut, runIdentity, writeReports, type RunRequest } from "./commands/measure.js";
import { estimate, pointRecord, progressBar, runPoints } from "./run/measure.js";
import { measureOnQueue, type QueueRequest } from "./commands/measure-queue.js";
import { mergeQueue, mergeShards } from "./commands/merge.js";
import { workerCommand, type WorkerRequest } from "./commands/worker.js";
import { parseShard, shardIndices, shardName } from "./run/shard.js";
import { formatCompare, runCompare, summarise, writeCompare } from "./commands/compare.js";
import { runAugment, type AugmentRequest } from "./commands/augment.js";
import { buildReport, formatTable } from "./report/json.js";
import { formatAccuracy, formatPrediction, predict } from "./commands/predict.js";
import { EVALUATORS, type EvaluatorName } from "./evaluator/index.js";
import { openModel, openSession, selectIndices } from "./run/session.js";
import { frequencyInterval, RHO_MODES } from "./rho/modes.js";
import { describeVerify, openProperty, openVerifyModel, reportVerify, runVerify, validateVerify } from "./commands/verify.js";
import { formatInstance, formatSummary, readGroundTruth, readInstances, runVnncomp, summariseVnncomp, validateVnncomp } from "./commands/vnncomp.js";

const int = (name: string) => (v: string): number => {
  if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
  return Number(v);
};
const num = (name: string) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === "" || !Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
  return x;
};

function dataOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--data <spec>", "mnist:test, mnist:train, a .npy file, MNIST IDX images, or CIFAR-10 .bin")
    .option("--labels <file>", "labels for data that carry none (.npy or IDX idx1-ubyte)")
    .option("--pixel-scale <s>", "model input = pixel / scale", num("--pixel-scale"), 255);
}

const modeOption = () => new Option("--mode <m>", "lp algorithm: restrict (the paper's rho_hat), exact (MILP), bounds (certified lower bound), walk (region walking)")
  .choices(RHO_MODES as unknown as string[]).default("restrict");
const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(2)}%`);

export function buildProgram(out: (s: string) => void): Command {
  const program = new Command("robustc")
    .description("the robustness constraint compiler: measure neural-net robustness with linear programs")
    .version("0.1.0")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program.command("inspect")
    .description("layers, shapes, parameter and ReLU counts of an ONNX model (every unsupported op is listed)")
    .argument("<model>", "ONNX model file")
    .option("--json", "print the summary as one JSON object")
    .action((model: string, o: { json?: boolean }) => {
      const m = unwrap(openModel(model));
      for (const w of m.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
      const s = inspectNetwork(model, m.network);
      out(o.json ? JSON.stringify(s) : formatInspect(s));
    });

  dataOptions(program.command("predict")
    .description("logits, predicted label and accuracy for data points")
    .argument("<model>", "ONNX model file"))
    .option("--index <i>", "one data point", int("--index"))
    .option("--limit <n>", "the first n data points", int("--limit"))
    .addOption(new Option("--evaluator <name>", "forward-pass evaluator").choices(EVALUATORS as string[]).default("onnxruntime"))
    .option("--json", "one JSON object per point on stdout, nothing else")
    .option("--summary", "print only the accuracy line")
    .action(async (model: string, o: { data: string; labels?: string; pixelScale: number; index?: number; limit?: number; evaluator: EvaluatorName; json?: boolean; summary?: boolean }) => {
      const s = unwrap(openSession(model, { data: o.data, labels: o.labels, pixelScale: o.pixelScale }));
      const indices = unwrap(selectIndices(s.dataset.count, o.index, o.limit, o.data));
      const r = await predict(s, indices, o.evaluator);
      if (o.json) {
        for (const p of r.predictions) out(JSON.stringify(p));
        return;
      }
      if (!o.summary) {
        out(`${"index".padStart(6)}  ${"label".padStart(5)}  ${"predicted".padStart(9)}  logits`);
        for (const p of r.predictions) out(formatPrediction(p));
      }
      out(formatAccuracy(r, o.data));
    });

  dataOptions(program.command("compile")
    .description("compile a model and a seed point into the restricted LP (CPLEX-LP or free MPS by extension), or print the constraint IR")
    .argument("<model>", "ONNX model file"))
    .requiredOption("--index <i>", "the seed point x* (index into --data)", int("--index"))
    .option("--form <form>", "layered (a variable per neuron) or reduced (rows in the input only; default, but layered for --mode exact)")
    .option("--mode <mode>", "restrict (the paper's LP over the linear region of x*), exact (a big-M MILP: rho(f, x*, l) itself) or relax (the triangle-relaxation LP: a lower bound)", "restrict")
    .option("--radius <px>", "exact and relax modes: the L-inf radius (pixels) of the box their interval bounds hold on", num("--radius"))
    .option("--target <t>", "second (most probable after l*), all, or a label", "second")
    .option("--margin <alpha>", "confidence margin: y_l >= y_l' + alpha", num("--margin"), 0)
    .option("-o, --out <file>", "output file: .lp or .mps (several targets: FILE.l<label>.lp)")
    .option("--emit <what>", "print text instead: ir (the LP's constraint IR) or cf (C_f(x, l) with its disjunctions)")
    .addOption(new Option("--solve <solver>", "solve the written file(s) and check the optimiser with onnxruntime").choices(SOLVER_NAMES as unknown as string[]))
    .action(async (model: string, o: { data: string; labels?: string; pixelScale: number; index: number; form?: string; mode: string; radius?: number; target: string; margin: number; out?: string; emit?: string; solve?: SolverName }) => {
      const s = unwrap(openSession(model, { data: o.data, labels: o.labels, pixelScale: o.pixelScale }));
      unwrap(selectIndices(s.dataset.count, o.index, undefined, o.data));
      const options = unwrap(validateCompile(s, o));
      const c = compileSeed(s, o.index, options);
      const files = unwrap(renderCompile(s, o, options, c));
      unwrap(writeOutputs(files, out));
      for (const f of files) {
        if (f.path) process.stderr.write(`robustc: wrote ${f.path} (point ${o.index}, predicted ${c.predicted}, target ${f.label})\n`);
      }
      if (o.solve) await solveWritten(s, files, o.solve, out, options.mode);
    });

  const runOptions = (cmd: Command) => dataOptions(cmd)
    .option("--limit <n>", "the first n data points", int("--limit"))
    .option("--jobs <k>", "worker threads (one WebAssembly HiGHS each)", int("--jobs"), 1)
    .option("--time-limit <s>", "seconds per point", num("--time-limit"), 60)
    .option("--add <k>", "lazy loop: add all violated rows per iteration, or the k most violated", "all")
    .addOption(new Option("--algorithm <a>", "lp (the restricted LP), lbfgsb (Szegedy et al.) or fgsm (signed gradient)").choices(["lp", "lbfgsb", "fgsm"]).default("lp"))
    .option("--eps <e>", "eps in pixels (0-255 scale): the estimators' threshold, and FGSM's step", num("--eps"), 20);

  runOptions(program.command("rho")
    .description("rho_hat per point: the restricted LP by iterative constraint solving, the example checked by onnxruntime")
    .argument("<model>", "ONNX model file"))
    .option("--index <i>", "one data point", int("--index"))
    .option("--json", "one JSON object per point on stdout, nothing else")
    .addOption(modeOption())
    .action(async (model: string, o: RunRequest & { json?: boolean }) => {
      const { indices, cfg } = await openRun(model, o);
      const runner = await makeRunner(cfg, Math.min(o.jobs, indices.length));
      try {
        if (!o.json) out(POINT_HEADER);
        await runPoints(runner, indices, Math.min(o.jobs, indices.length), null,
          { tick: (p) => out(o.json ? JSON.stringify(pointRecord(p)) : formatPoint(p)), stop: () => undefined });
      } finally {
        await runner.close();
      }
    });

  runOptions(program.command("measure")
    .description("adversarial frequency and severity at eps over a dataset; report.json, points.jsonl/csv, examples, cdf.svg in --out")
    .argument("<model>", "ONNX model file"))
    .requiredOption("--out <dir>", "directory for the reports")
    .option("--resume", "continue the measurement in --out: finished points are kept, the rest are run")
    .addOption(modeOption())
    .option("--shard <k/n>", "run only shard K of N (every N-th point from the K-th); robustc merge combines the shards")
    .option("--queue <url>", "redis://HOST:PORT/NAME: enqueue one job per point for robustc worker processes, wait, report")
    .option("--attempts <n>", "with --queue: tries per point before it fails", int("--attempts"), 3)
    .option("--job-timeout <s>", "with --queue: seconds one try may take (default 2 x --time-limit + 60)", num("--job-timeout"))
    .option("--detach", "with --queue: enqueue and exit; robustc merge --queue writes the report")
    .action(async (model: string, o: RunRequest & QueueRequest & { eps: number; out: string; resume?: boolean; shard?: string; queue?: string }) => {
      if (!(o.eps > 0)) throw new UserError([diag("cli/eps", `--eps must be positive, got ${o.eps}`)]);
      if (o.queue !== undefined && o.shard !== undefined) throw new UserError([diag("cli/shard", "--shard and --queue are two ways to spread a run: use one")]);
      if (o.queue !== undefined) return measureOnQueue(model, o, out);
      const shard = o.shard === undefined ? null : unwrap(parseShard(o.shard));
      const { session, indices, cfg } = await openRun(model, o);
      const done = unwrap(prepareOut(o.out, { ...runIdentity(cfg, indices, o.eps), ...(shard ? { shard: shardName(shard) } : {}) }, o.resume === true));
      const finished = new Set(done.map((p) => p.index));
      const todo = (shard ? shardIndices(indices, shard) : indices).filter((i) => !finished.has(i));
      if (done.length > 0) process.stderr.write(`robustc: resuming: ${done.length} points finished, ${todo.length} to run\n`);
      const t0 = performance.now();
      const jobs = Math.max(1, Math.min(o.jobs, todo.length));
      let points: typeof done = [];
      if (todo.length > 0) {
        const runner = await makeRunner(cfg, jobs);
        try {
          points = await runPoints(runner, todo, jobs, `${o.out}/points.jsonl`, await progressBar(todo.length, process.stderr.isTTY === true));
        } finally {
          await runner.close();
        }
      }
      const all = [...done, ...points].sort((a, b) => a.index - b.index);
      const est = estimate(all, o.eps);
      const base = buildReport({ model, data: o.data, pixelScale: o.pixelScale, algorithm: o.algorithm, jobs,
        totalSeconds: (performance.now() - t0) / 1000, settings: { add: cfg.lazy.add, time_limit: cfg.lazy.timeLimit, tolerance: cfg.lazy.tolerance, resumed_points: done.length, ...(shard ? { shard: shardName(shard) } : {}) } }, est, all);
      // --mode: phi(eps) as [phi_lower, phi_upper] from the per-point bounds (absent on the default path).
      const fi = cfg.mode ? frequencyInterval(all, o.eps) : null;
      const report = fi ? { ...base, mode: cfg.mode, frequency_interval: [fi.lower, fi.upper] } : base;
      unwrap(await writeReports(o.out, session, est, all, report));
      out(formatTable(est, report));
      if (fi) out(`phi(${o.eps}) in [phi_lower, phi_upper] (--mode ${cfg.mode})  [${pct(fi.lower)}, ${pct(fi.upper)}] (${fi.within}/${fi.correct} surely within, ${fi.possible}/${fi.correct} possibly)`);
      out(`reports in ${o.out}: report.json, points.jsonl, points.csv, adversarial.npy, cdf.svg`);
    });

  program.command("merge")
    .description("combine the --out directories of measure --shard runs (or a --queue run's results) into one report")
    .argument("[dirs...]", "the shards' --out directories")
    .option("--queue <url>", "redis://HOST:PORT/NAME: the results of measure --queue instead of directories")
    .requiredOption("--out <dir>", "directory for the merged reports")
    .action(async (dirs: string[], o: { queue?: string; out: string }) => {
      if ((o.queue === undefined) === (dirs.length === 0)) throw new UserError([diag("cli/merge", "merge takes shard directories or --queue URL (one of the two)")]);
      out(o.queue !== undefined ? await mergeQueue(o.queue, o.out) : await mergeShards(dirs, o.out));
      out(`reports in ${o.out}: report.json, points.jsonl, points.csv, adversarial.npy, cdf.svg`);
    });

  program.command("worker")
    .description("take point jobs from a measure --queue run until stopped (SIGINT/SIGTERM) or, with --drain, until the queue is empty")
    .requiredOption("--queue <url>", "redis://HOST:PORT/NAME")
    .option("--concurrency <k>", "points at once, one thread each (default: the number of cores)", int("--concurrency"))
    .option("--lock <s>", "seconds before a job of a worker that stopped answering (crashed) is retried elsewhere", num("--lock"), 30)
    .option("--drain", "exit once the queue has no waiting, delayed or active job")
    .action((o: WorkerRequest) => workerCommand(o, out));

  runOptions(program.command("compare")
    .description("the LP, L-BFGS-B and FGSM on the same points: table, compare.json, compare.svg, disagreements.csv in --out")
    .argument("<model>", "ONNX model file"))
    .requiredOption("--out <dir>", "directory for the reports")
    .action(async (model: string, o: RunRequest & { eps: number; out: string }) => {
      if (!(o.eps > 0)) throw new UserError([diag("cli/eps", `--eps must be positive, got ${o.eps}`)]);
      const { indices, cfg } = await openRun(model, o);
      unwrap(prepareOut(o.out, { ...runIdentity(cfg, indices, o.eps), algorithm: "compare" }, false));
      const jobs = Math.min(o.jobs, indices.length);
      const tty = process.stderr.isTTY === true;
      const all = await runCompare(cfg, indices, jobs, (a, done) => { if (tty) process.stderr.write(`\r${a}: ${done}/${indices.length} points   `); });
      if (tty) process.stderr.write("\n");
      const rows = summarise(all, o.eps);
      unwrap(await writeCompare(o.out, model, o.data, o.eps, all, rows));
      out(formatCompare(rows, o.eps));
      out(`reports in ${o.out}: compare.json, compare.svg, disagreements.csv, lp.jsonl, lbfgsb.jsonl, fgsm.jsonl`);
    });

  dataOptions(program.command("augment")
    .description("adversarial examples of training points for fine-tuning (paper §5): margin, rounded to integer pixels, re-checked; images.npy, labels.npy, manifest.json in --out")
    .argument("<model>", "ONNX model file"))
    .option("--limit <n>", "the first n data points", int("--limit"))
    .option("--jobs <k>", "worker threads (one WebAssembly HiGHS each)", int("--jobs"), 1)
    .option("--time-limit <s>", "seconds per point", num("--time-limit"), 60)
    .option("--add <k>", "lazy loop: add all violated rows per iteration, or the k most violated", "all")
    .addOption(new Option("--algorithm <a>", "lp (the restricted LP) or lbfgsb (Szegedy et al.)").choices(["lp", "lbfgsb"]).default("lp"))
    .option("--margin <alpha>", "confidence margin y_l >= y_l' + alpha (default 3.0 for lp, 0.15 for lbfgsb)", num("--margin"))
    .requiredOption("--out <dir>", "a new directory for the examples")
    .action(async (model: string, o: AugmentRequest) => {
      await runAugment(model, o, out);
    });

  program.command("verify")
    .description("VNN-COMP answer for an ONNX model and a VNN-LIB property: sat (with a float32-checked counterexample), unsat, timeout or unknown")
    .argument("<model>", "ONNX model file")
    .argument("<property>", "VNN-LIB property file (.vnnlib or .vnnlib.gz)")
    .option("--timeout <s>", "seconds for the whole property", num("--timeout"), 60)
    .option("--out <file>", "write the result file (VNN-COMP format) here too")
    .option("--verbose", "progress notes on stderr")
    .action(async (model: string, property: string, o: { timeout: number; out?: string; verbose?: boolean }) => {
      unwrap(validateVerify(o));
      const m = unwrap(await openVerifyModel(model));
      try {
        for (const w of m.warnings) process.stderr.write(`robustc: warning: ${w}\n`);
        const prop = unwrap(openProperty(property, m.context.net, model));
        const res = await runVerify(m, prop, o);
        out(unwrap(reportVerify(res, o)));
        process.stderr.write(`robustc: ${describeVerify(res)}\n`);
      } finally {
        await m.close();
      }
    });

  program.command("vnncomp")
    .description("run a VNN-COMP benchmark folder (instances.csv: onnx,vnnlib,timeout_seconds) and compare with its ground_truth.csv")
    .argument("<instances>", "instances.csv (paths relative to its folder)")
    .requiredOption("--out <file>", "results.csv: onnx,vnnlib,result,seconds,note, one row appended per finished instance")
    .option("--timeout-scale <x>", "multiply every instance's timeout by x", num("--timeout-scale"), 1)
    .option("--filter <regex>", "only instances whose 'onnx,vnnlib' matches")
    .action(async (csv: string, o: { out: string; timeoutScale: number; filter?: string }) => {
      const re = unwrap(validateVnncomp(o));
      const all = unwrap(readInstances(csv));
      const todo = re ? all.filter((x) => re.test(`${x.onnx},${x.vnnlib}`)) : all;
      const truth = readGroundTruth(csv);
      const results = await runVnncomp(csv, todo, o, (x) => out(formatInstance(x)));
      for (const line of formatSummary(summariseVnncomp(results, truth), todo.length, truth !== null)) out(line);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram((s) => process.stdout.write(s + "\n"));
  try {
    await program.parseAsync(argv as string[], { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander as one line.
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    }
    if (e instanceof UserError) {
      for (const d of e.diagnostics) process.stderr.write(`robustc: ${d.message}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    process.stderr.write(`robustc: internal error: ${msg}\n`);
    if (process.env.ROBUSTC_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}


