// The command-line edge: declares the options (commander), maps them to a request for a command in
// commands/, and turns diagnostics into one line each on stderr with exit code 2. Internal errors exit 1
// (stack trace only with ROBUSTC_DEBUG=1). No command logic lives here.

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ENGINE_BACKENDS, UserError } from "../compiler/index.js";
import { compileCommand, type CompileRequest } from "./commands/compile.js";
import { SOLVER_NAMES } from "./solvers/registry.js";
import { inspectCommand } from "./commands/inspect.js";
import { rhoCommand, type RhoRequest } from "./commands/rho.js";
import { measureCommand, type MeasureRequest } from "./commands/measure.js";
import { RUN_DEFAULTS } from "./commands/run-request.js";
import { mergeCommand } from "./commands/merge.js";
import { workerCommand, type WorkerRequest } from "./commands/worker.js";
import { queueClearCommand } from "./commands/queue.js";
import { compareCommand, type CompareRequest } from "./commands/compare.js";
import { runAugment, type AugmentRequest } from "./commands/augment.js";
import { AUGMENT_ALGORITHMS } from "./augment.js";
import { predictCommand, type PredictRequest } from "./commands/predict.js";
import { EVALUATORS } from "./evaluator/index.js";
import { ALGORITHMS } from "./rho/point.js";
import { RHO_MODES } from "./rho/modes.js";
import { verifyCommand, type VerifyRequest } from "./commands/verify.js";
import { vnncompCommand, type VnncompRequest } from "./commands/vnncomp.js";
import { certifyCommand, type CertifyRequest } from "./commands/certify.js";
import { reportCommand, type ReportRequest } from "./commands/report.js";
import { LAYOUTS, parseList } from "./data/input-map.js";

const int =
  (name: string) =>
  (v: string): number => {
    if (!/^-?\d+$/.test(v)) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    return Number(v);
  };
const num =
  (name: string) =>
  (v: string): number => {
    const x = Number(v);
    if (v.trim() === "" || !Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
    return x;
  };

const list =
  (name: string) =>
  (v: string): number[] => {
    const r = parseList(name, v);
    if (!r.ok) throw new InvalidArgumentError(r.diagnostics[0].message);
    return r.value;
  };

/**
 * The data options; `required: false` leaves --data to the command (compile needs none for --emit
 * forward|gradient|bounds).
 */
function dataOptions(cmd: Command, required = true): Command {
  return cmd
    .addOption(
      new Option(
        "--data <spec>",
        "mnist:test, mnist:train, a .npy file, a .npz file (FILE.npz:ARRAY names the array, else x_test, images, x or X; labels from y_test, y or labels beside it), a .csv file (a row per item, optional header, a 'label' column as labels), MNIST IDX images, or CIFAR-10 .bin; --labels also takes FILE.npz:ARRAY and .csv",
      ).makeOptionMandatory(required),
    )
    .option("--labels <file>", "labels for data that carry none (.npy, FILE.npz:ARRAY, .csv or IDX idx1-ubyte)")
    .option(
      "--pixel-scale <s>",
      "model input = value / scale, in [0, 1] (default 255, or 1 for data whose values all lie in [0, 1]; rho and eps are in these units)",
      num("--pixel-scale"),
    )
    .addOption(
      new Option(
        "--layout <l>",
        "the data's layout: nchw (as stored, the default) or nhwc (channels last: transposed to the model's N×C×H×W)",
      ).choices(LAYOUTS as unknown as string[]),
    )
    .option(
      "--mean <m>",
      "normalisation the model was trained with outside it: (value / scale - mean) / std, one value or one per channel (e.g. 0.1307 or 0.485,0.456,0.406); applied inside the measured model",
      list("--mean"),
    )
    .option("--std <s>", "with --mean: the std, one value or one per channel (e.g. 0.3081)", list("--std"));
}

const modeOption = () =>
  new Option(
    "--mode <m>",
    "with --algorithm lp: bracket (default: a checked upper bound by attack and region walking, a certified lower bound, the paper's rho_hat beside them), restrict (the paper's rho_hat alone), exact (the bracket, then branch and bound until lower and upper meet within --tolerance), milp (the bracket, then big-M MILPs: the path exact replaced), certify (is rho > eps? as robustc certify), bounds (rho_hat and an LP-certified lower bound), walk (rho_hat and region walking)",
  ).choices(RHO_MODES as unknown as string[]);

/**
 * --tolerance (rho and measure; issue 24): when the bracket counts as closed. No commander default: the
 * command fills in 0.01 where it decides anything (run-request.ts withCliTolerance), so that one given with a mode
 * that decides nothing is refused, and a resumed run.json written before it keeps its rule.
 */
const toleranceOption = () =>
  new Option(
    "--tolerance <t>",
    "the bracket counts as closed (status exact; where --mode exact's branch and bound stops) when upper - lower <= t x upper (default 0.01: 1% of upper); 0: the absolute 1e-3 px (on the 0-255 scale; the same fraction of the range on others)",
  ).argParser(num("--tolerance"));

/** --backend: the engine behind the attacks (issue 23). */
const backendOption = () =>
  new Option(
    "--backend <b>",
    "the engine of the attacks' logits and gradients: onnxruntime (float32 graphs generated from the model) or reference (the float64 loops); every example is checked the same way",
  )
    .choices([...ENGINE_BACKENDS])
    .default("onnxruntime");

/** --threads: onnxruntime's intra-op threads per job (issue 23); --jobs stays the number of points at once. */
const threadsOption = () =>
  new Option(
    "--threads <n>",
    "onnxruntime's intra-op threads for each job's model and engine sessions (default 1; --jobs is the number of points run at once)",
  ).argParser(int("--threads"));

/** The options typed on the command line (long names), defaults left out. */

function givenOptions(cmd: Command): string[] {
  return cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === "cli").map((o) => o.long ?? o.flags);
}

/** `argv`: the words as typed (measure and certify print them again with --resume on Ctrl-C). */
export function buildProgram(out: (s: string) => void, argv: readonly string[] = []): Command {
  const program = new Command("robustc")
    .description("the robustness constraint compiler: measure neural-net robustness with linear programs")
    .version("0.1.0")
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });

  program
    .command("inspect")
    .description(
      "layers, shapes, parameter and ReLU counts of an ONNX model (with unsupported ops: the table as far as it lowers, each one marked and listed)",
    )
    .argument("<model>", "ONNX model file")
    .option("--json", "print the summary as one JSON object")
    .action((model: string, o: { json?: boolean }) => inspectCommand(model, o, out));

  dataOptions(
    program
      .command("predict")
      .description("logits, predicted label and accuracy for data points")
      .argument("<model>", "ONNX model file"),
  )
    .option("--index <i>", "one data point", int("--index"))
    .option("--limit <n>", "the first n data points", int("--limit"))
    .addOption(
      new Option("--evaluator <name>", "forward-pass evaluator").choices(EVALUATORS as string[]).default("onnxruntime"),
    )
    .option("--json", "one JSON object per point on stdout, nothing else")
    .option("--summary", "print only the accuracy line")
    .action((model: string, o: PredictRequest) => predictCommand(model, o, out));

  dataOptions(
    program
      .command("compile")
      .description(
        "compile a model and a seed point into the restricted LP (CPLEX-LP or free MPS by extension), or print the constraint IR",
      )
      .argument("<model>", "ONNX model file"),
    false,
  )
    // --data and --index are required except with --emit forward|gradient|bounds (compileCommand says so).
    .option(
      "--index <i>",
      "the seed point x* (index into --data; required except with --emit forward|gradient|bounds)",
      int("--index"),
    )
    .option(
      "--form <form>",
      "layered (a variable per neuron) or reduced (rows in the input only; default, but layered for --mode exact)",
    )
    .option(
      "--mode <mode>",
      "restrict (the paper's LP over the linear region of x*), exact (a big-M MILP: rho(f, x*, l) itself) or relax (the triangle-relaxation LP: a lower bound)",
      "restrict",
    )
    .option(
      "--radius <px>",
      "exact and relax modes: the L-inf radius (data units: pixels on the 0-255 scale) of the box their interval bounds hold on",
      num("--radius"),
    )
    .option("--target <t>", "second (most probable after l*), all, or a label", "second")
    .option("--margin <alpha>", "confidence margin: y_l >= y_l' + alpha", num("--margin"), 0)
    .option("-o, --out <file>", "output file: .lp or .mps (several targets: FILE.l<label>.lp)")
    .option(
      "--emit <what>",
      "print text instead: ir (the LP's constraint IR) or cf (C_f(x, l) with its disjunctions); or write the network's batched ONNX graph to -o FILE.onnx: forward (logits), gradient (logits and a vector-Jacobian product) or bounds (float64 CROWN lower bounds of given output rows over boxes), no --data needed",
    )
    .addOption(
      new Option("--solve <solver>", "solve the written file(s) and check the optimiser with onnxruntime").choices(
        SOLVER_NAMES as unknown as string[],
      ),
    )
    .action((model: string, o: CompileRequest, cmd: Command) =>
      compileCommand(model, { ...o, given: givenOptions(cmd) }, out),
    );

  const runOptions = (cmd: Command) =>
    dataOptions(cmd)
      .option("--limit <n>", "the first n data points", int("--limit"))
      .option("--jobs <k>", "worker threads (one WebAssembly HiGHS each)", int("--jobs"), RUN_DEFAULTS.jobs)
      .option("--time-limit <s>", "seconds per point", num("--time-limit"), RUN_DEFAULTS.timeLimit)
      .option("--add <k>", "lazy loop: add all violated rows per iteration, or the k most violated", RUN_DEFAULTS.add)
      .addOption(
        new Option(
          "--algorithm <a>",
          "lp (the bracket, or the paper's LP with --mode restrict), pgd (minimum-norm attack alone), lbfgsb (Szegedy et al.) or fgsm (signed gradient)",
        )
          .choices([...ALGORITHMS])
          .default(RUN_DEFAULTS.algorithm),
      )
      .option(
        "--eps <e>",
        "eps in the data's units (pixels on the 0-255 scale; default the paper's 20 of 255 on the data's scale): the estimators' threshold, FGSM's step, and the bracket's rho_hat ball (R = max(upper, eps))",
        num("--eps"),
      )
      .addOption(backendOption())
      .addOption(threadsOption());

  runOptions(
    program
      .command("rho")
      .description(
        "rho per point as a bracket lower <= rho <= upper (checked example, certified bound) with the paper's rho_hat beside it; --mode restrict: rho_hat alone",
      )
      .argument("<model>", "ONNX model file"),
  )
    .option("--index <i>", "one data point", int("--index"))
    .option("--json", "one JSON object per point on stdout, nothing else")
    .addOption(modeOption())
    .addOption(toleranceOption())
    .option(
      "--examples",
      "with --json: each record carries its example (pixels in the data's units, x*'s index, the example's label)",
    )
    .action((model: string, o: RhoRequest) => rhoCommand(model, o, out));

  runOptions(
    program
      .command("measure")
      .description(
        "adversarial frequency and severity at eps over a dataset; report.json, points.jsonl/csv, examples, cdf.svg in --out",
      )
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("--out <dir>", "directory for the reports")
    .option("--resume", "continue the measurement in --out: finished points are kept, the rest are run")
    .addOption(modeOption())
    .addOption(toleranceOption())
    .option(
      "--shard <k/n>",
      "run only shard K of N (every N-th point from the K-th); robustc merge combines the shards",
    )
    .option(
      "--queue <url>",
      "redis://HOST:PORT/NAME: enqueue one job per point for robustc worker processes, wait, report",
    )
    .option("--attempts <n>", "with --queue: tries per point before it fails", int("--attempts"), 3)
    .option(
      "--job-timeout <s>",
      "with --queue: seconds one try may take (default 2 x --time-limit + 60)",
      num("--job-timeout"),
    )
    .option("--detach", "with --queue: enqueue and exit; robustc merge --queue writes the report")
    .option(
      "--images <dir>",
      "one PNG per reported example in DIR: x*, the example and the perturbation (stretched to ±m, m in the name) side by side",
    )
    // The words as typed: Ctrl-C prints them again with --resume.
    .action((model: string, o: MeasureRequest) => measureCommand(model, { ...o, argv }, out));

  dataOptions(
    program
      .command("certify")
      .description(
        "verified robust accuracy at eps: per point verified (branch and bound proves nothing within eps has another label), falsified (a checked example within eps) or unknown; measure's files in --out",
      )
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("--eps <e>", "eps in the data's units (pixels on the 0-255 scale)", num("--eps"))
    .requiredOption("--out <dir>", "directory for the reports")
    .option("--limit <n>", "the first n data points", int("--limit"))
    .option("--jobs <k>", "worker threads", int("--jobs"), 1)
    .option("--time-limit <s>", "seconds per point", num("--time-limit"), 60)
    .option("--resume", "continue the run in --out: finished points are kept, the rest are run")
    .addOption(backendOption())
    .addOption(threadsOption())
    .action((model: string, o: CertifyRequest) => certifyCommand(model, { ...o, argv }, out));

  program
    .command("report")
    .description(
      "the table of a finished (or merged) measure run again, at other eps, without solving: reads run.json and points.jsonl, writes nothing there",
    )
    .argument("<dir>", "the --out directory of measure, certify or merge")
    .option("--eps <e>", "eps in the data's units, one or several (e.g. 5,10,20; default the run's own)", list("--eps"))
    .option("--images <dir>", "one PNG per reported example in DIR, as measure --images")
    .action((dir: string, o: ReportRequest) => reportCommand(dir, o, out));

  program
    .command("merge")
    .description(
      "combine the --out directories of measure --shard (or augment --shard) runs, or a --queue run's results, into the files of one run",
    )
    .argument("[dirs...]", "the shards' --out directories")
    .option(
      "--queue <url>",
      "redis://HOST:PORT/NAME: the results of measure --queue (or augment --queue) instead of directories",
    )
    .requiredOption("--out <dir>", "directory for the merged reports")
    .action((dirs: string[], o: { queue?: string; out: string }) => mergeCommand({ dirs, ...o }, out));

  program
    .command("worker")
    .description(
      "take point jobs from a measure --queue or augment --queue run until stopped (SIGINT/SIGTERM) or, with --drain, until the queue is empty",
    )
    .requiredOption("--queue <url>", "redis://HOST:PORT/NAME")
    .option("--concurrency <k>", "points at once, one thread each (default: the number of cores)", int("--concurrency"))
    .option(
      "--lock <s>",
      "seconds before a job of a worker that stopped answering (crashed) is retried elsewhere",
      num("--lock"),
      30,
    )
    .option("--drain", "exit once the queue has no waiting, delayed or active job")
    .action((o: WorkerRequest) => workerCommand(o, out));

  program
    .command("queue")
    .description("manage a measure --queue or augment --queue queue on Redis")
    .command("clear")
    .description("remove a queue's jobs (any state, running ones too), results and run; says how many it removed")
    .argument("<url>", "redis://HOST:PORT/NAME")
    .action((url: string) => queueClearCommand(url, out));

  runOptions(
    program
      .command("compare")
      .description(
        "the LP, L-BFGS-B, FGSM and PGD on the same points: table, compare.json, compare.svg, disagreements.csv in --out",
      )
      .argument("<model>", "ONNX model file"),
  )
    .requiredOption("--out <dir>", "directory for the reports")
    // compare runs every algorithm: an --algorithm typed here would be ignored (compareCommand refuses it).
    .action((model: string, o: CompareRequest, cmd: Command) =>
      compareCommand(model, { ...o, algorithmGiven: cmd.getOptionValueSource("algorithm") !== "default" }, out),
    );

  dataOptions(
    program
      .command("augment")
      .description(
        "adversarial examples of training points for fine-tuning (paper §5): margin, rounded to integer pixels, re-checked; images.npy, labels.npy, manifest.json in --out",
      )
      .argument("<model>", "ONNX model file"),
  )
    .option("--limit <n>", "the first n data points", int("--limit"))
    .option("--jobs <k>", "worker threads (one WebAssembly HiGHS each)", int("--jobs"), 1)
    .option("--time-limit <s>", "seconds per point", num("--time-limit"), 60)
    .option("--add <k>", "lazy loop: add all violated rows per iteration, or the k most violated", "all")
    .addOption(
      new Option(
        "--algorithm <a>",
        "lp (the restricted LP of x*'s region), bracket (the bracket's example, then the restricted LP with the margin in its region) or lbfgsb (Szegedy et al.)",
      )
        .choices(AUGMENT_ALGORITHMS as unknown as string[])
        .default("lp"),
    )
    .option(
      "--margin <alpha>",
      "confidence margin y_l >= y_l' + alpha (default 3.0 for lp and bracket, 0.15 for lbfgsb)",
      num("--margin"),
    )
    .requiredOption("--out <dir>", "a new directory for the examples")
    .option(
      "--shard <k/n>",
      "attack only shard K of N (every N-th point from the K-th); robustc merge combines the shards",
    )
    .option(
      "--queue <url>",
      "redis://HOST:PORT/NAME: enqueue one job per point for robustc worker processes, wait, write the examples",
    )
    .option("--attempts <n>", "with --queue: tries per point before it fails (default 3)", int("--attempts"))
    .option(
      "--job-timeout <s>",
      "with --queue: seconds one try may take (default 2 x --time-limit + 60)",
      num("--job-timeout"),
    )
    .option("--detach", "with --queue: enqueue and exit; robustc merge --queue writes the examples")
    .option("--resume", "continue the run a killed augment left in DIR.partial (its finished points are kept)")
    .addOption(backendOption())
    .addOption(threadsOption())
    .action((model: string, o: AugmentRequest) => runAugment(model, { ...o, argv }, out));

  program
    .command("verify")
    .description(
      "VNN-COMP answer for an ONNX model and a VNN-LIB property: sat (with a float32-checked counterexample), unsat, timeout or unknown",
    )
    .argument("<model>", "ONNX model file")
    .argument("<property>", "VNN-LIB property file (.vnnlib or .vnnlib.gz)")
    .option("--timeout <s>", "seconds for the whole property", num("--timeout"), 60)
    .option("--out <file>", "write the result file (VNN-COMP format) here too")
    .option("--verbose", "progress notes on stderr")
    .action((model: string, property: string, o: VerifyRequest) => verifyCommand(model, property, o, out));

  program
    .command("vnncomp")
    .description(
      "run a VNN-COMP benchmark folder (instances.csv: onnx,vnnlib,timeout_seconds) and compare with its ground_truth.csv",
    )
    .argument("<instances>", "instances.csv (paths relative to its folder)")
    .requiredOption(
      "--out <file>",
      "results.csv: onnx,vnnlib,result,seconds,note, one row appended per finished instance",
    )
    .option("--timeout-scale <x>", "multiply every instance's timeout by x", num("--timeout-scale"), 1)
    .option("--filter <regex>", "only instances whose 'onnx,vnnlib' matches")
    .option("--resume", "keep the rows already in --out and run only the instances missing there")
    .option(
      "--jobs <k>",
      "worker threads, one instance each at a time (rows then come in finishing order)",
      int("--jobs"),
      1,
    )
    .action((csv: string, o: VnncompRequest) => vnncompCommand(csv, o, out));

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram((s) => process.stdout.write(s + "\n"), argv);
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
