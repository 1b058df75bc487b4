// `robustc augment`: adversarial examples of training points for fine-tuning (paper §5), through the measure
// runner (--jobs workers); writes images.npy, labels.npy, index.npy, points.jsonl, manifest.json into --out.
// Nothing is half-written: the files go to DIR.partial, which is renamed to DIR only when all are written.

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
import { progressBar, runPoints } from "../run/measure.js";
import { makeDir } from "../run/out-dir.js";
import { makeRunner } from "../run/point-runner.js";
import { openEvaluator, toDataLayout } from "../run/session.js";
import { openRun, type RunRequest } from "./run-request.js";

export interface AugmentRequest extends Omit<RunRequest, "algorithm" | "index"> {
  readonly algorithm: AugmentAlgorithm;
  readonly margin?: number;
  readonly out: string;
}

export interface AugmentOutcome {
  readonly counts: AugmentCounts;
  readonly seconds: number;
  readonly margin: number;
  readonly out: string;
}

/** --out must be new (or an empty directory) and its DIR.partial creatable; returns the staging directory. */
function prepareStaging(out: string): Result<string> {
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) return fail(diag("cli/out", `--out ${out} exists and is not a directory`));
    if (readdirSync(out).length > 0) return fail(diag("cli/out", `--out ${out} is not empty; choose a new directory`));
  }
  const staging = `${out.replace(/\/+$/, "")}.partial`;
  try {
    rmSync(staging, { recursive: true, force: true });
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

function validate(r: AugmentRequest): Result<number> {
  if (!(AUGMENT_ALGORITHMS as readonly string[]).includes(r.algorithm))
    return fail(diag("cli/algorithm", `--algorithm must be ${AUGMENT_ALGORITHMS.join(", ")}, got '${r.algorithm}'`));
  const margin = r.margin ?? DEFAULT_MARGIN[r.algorithm];
  if (!Number.isFinite(margin) || margin < 0)
    return fail(diag("cli/margin", `--margin must be a non-negative number, got ${r.margin}`));
  if (r.pixelScale !== undefined && r.pixelScale !== 255)
    return fail(
      diag("cli/pixel-scale", `augment writes uint8 pixel images: --pixel-scale must be 255, got ${r.pixelScale}`),
    );
  return ok(margin);
}

export async function runAugment(model: string, r: AugmentRequest, log: (s: string) => void): Promise<AugmentOutcome> {
  const margin = unwrap(validate(r));
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
  const staging = unwrap(prepareStaging(r.out));
  announce();
  const t0 = performance.now();
  try {
    const runCfg = { ...cfg, margin };
    const jobs = Math.max(1, Math.min(r.jobs, indices.length));
    const runner = await makeRunner(runCfg, jobs, session);
    let points;
    try {
      points = await runPoints(
        runner,
        indices,
        jobs,
        null,
        await progressBar(indices.length, process.stderr.isTTY === true),
      );
    } finally {
      await runner.close();
    }
    const ort = await openEvaluator(session, "onnxruntime", { threads: 1 });
    let rounded;
    try {
      rounded = await roundAndCheck(points, ort, session.pixelScale, (i) => item(session.dataset, i));
    } finally {
      await ort.dispose();
    }
    const counts = countAugment(points, rounded);
    const seconds = (performance.now() - t0) / 1000;
    const kept = rounded.filter((e) => e.kept);
    const n = kept.length > 0 ? kept[0].pixels.length : session.network.inputShape.slice(1).reduce((a, b) => a * b, 1);
    const images = new Uint8Array(kept.length * n);
    kept.forEach((e, k) => images.set(e.pixels, k * n));
    const files: [string, string | Uint8Array][] = [
      [
        "images.npy",
        (({ shape, values }) => encodeNpy(shape, "uint8", values))(toDataLayout(session, images, kept.length)),
      ],
      [
        "labels.npy",
        encodeNpy(
          [kept.length],
          "int64",
          kept.map((e) => e.label),
        ),
      ],
      [
        "index.npy",
        encodeNpy(
          [kept.length],
          "int64",
          kept.map((e) => e.index),
        ),
      ],
      ["points.jsonl", rounded.map((e) => JSON.stringify(roundedRecord(e)) + "\n").join("")],
      [
        "manifest.json",
        JSON.stringify(
          manifest({ model, data: r.data, algorithm: r.algorithm, margin, jobs, seconds }, counts, rounded),
          null,
          2,
        ) + "\n",
      ],
    ];
    for (const [name, data] of files) unwrap(writeFileAtomic(join(staging, name), data));
    if (existsSync(r.out)) rmSync(r.out, { recursive: true }); // an empty directory (checked above)
    renameSync(staging, r.out);
    log(formatAugment(r, margin, counts, seconds));
    return { counts, seconds, margin, out: r.out };
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

export function formatAugment(r: AugmentRequest, margin: number, c: AugmentCounts, seconds: number): string {
  const share = c.found > 0 ? `${((100 * c.lostToRounding) / c.found).toFixed(1)}%` : "n/a";
  const other = Object.entries(c.other)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  return [
    `augment ${r.algorithm} (margin ${margin}) on ${r.data}: ${c.tried} points tried, ${c.misclassified} misclassified${other ? `, ${other}` : ""}`,
    `found ${c.found}, lost to rounding ${c.lostToRounding} (${share}), kept ${c.kept}; ${seconds.toFixed(1)} s`,
    `examples in ${r.out}: images.npy, labels.npy (original labels), index.npy, points.jsonl, manifest.json`,
  ].join("\n");
}
