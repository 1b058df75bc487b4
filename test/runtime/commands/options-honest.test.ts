// Options that were accepted and then ignored, or answers the check refutes (issue 15, items 4, 5 and 7):
// each is now refused with one line and exit 2 before anything is written, said on stderr, or answered
// honestly. Runs the real CLI (`node bin/robustc.js`, built from dist/) and a few functions in-process.

import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNpy } from "../../../runtime/data/npy.js";
import { selectIndices } from "../../../runtime/run/session.js";
import { estimate, NO_SEVERITY } from "../../../runtime/run/measure.js";
import { formatCompare, summarise } from "../../../runtime/commands/compare.js";
import { epsIgnored } from "../../../runtime/commands/rho.js";
import type { Algorithm } from "../../../runtime/rho/point.js";
import type { PointResult } from "../../../runtime/rho/result.js";
import { lines, refusedOneLine, robustc, type CliOptions } from "../../helpers/cli.js";

const MLP = "examples/models/mnist_mlp.onnx";
// Killed before the test's own 120 s run out, so that a hang fails with the child's stderr.
const run = (args: string[], env?: CliOptions["env"]) => robustc(args, { env, timeout: 110_000 });

describe("options that did nothing are refused or said (issue 15: 4, 5, 7)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-honest-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("compile --solve and --target (item 4)", () => {
    it("--solve highs-cli without a highs executable on PATH: one line naming it, exit 2, no file written", async () => {
      // A PATH that holds node and nothing else: no `highs` there.
      const bin = join(dir, "bin-without-highs");
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, "node"));
      const out = join(dir, "nohighs.lp");
      const r = await run(["compile", MLP, "--data", "mnist:test", "--index", "0", "-o", out, "--solve", "highs-cli"], {
        PATH: bin,
      });
      refusedOneLine(r, /--solve highs-cli: no `highs` executable on PATH/);
      assert.equal(existsSync(out), false);
    });

    it("--target L with L the predicted label of x* is refused, naming L as the predicted label", async () => {
      const p = JSON.parse((await run(["predict", MLP, "--data", "mnist:test", "--index", "3", "--json"])).stdout);
      const out = join(dir, "own.lp");
      const r = await run([
        "compile",
        MLP,
        "--data",
        "mnist:test",
        "--index",
        "3",
        "--target",
        String(p.predicted),
        "-o",
        out,
      ]);
      refusedOneLine(r, new RegExp(`--target ${p.predicted} is the predicted label of point 3`));
      assert.equal(existsSync(out), false);
      // Any other label compiles.
      const other = (p.predicted + 1) % 10;
      const ok = await run([
        "compile",
        MLP,
        "--data",
        "mnist:test",
        "--index",
        "3",
        "--target",
        String(other),
        "-o",
        out,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.ok(existsSync(out));
    });

    it("--solve with --emit (text, no file to solve) is refused", async () => {
      const r = await run(["compile", MLP, "--data", "mnist:test", "--index", "0", "--emit", "ir", "--solve", "highs"]);
      refusedOneLine(r, /--solve .*--emit ir/);
    });

    it("--target all --solve: no number the float32 check refutes; the float32 rule gives rho's own rho_hat", async () => {
      const out = join(dir, "all.mps");
      const r = await run([
        "compile",
        MLP,
        "--data",
        "mnist:test",
        "--index",
        "0",
        "--target",
        "all",
        "-o",
        out,
        "--solve",
        "highs",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const ls = lines(r.stdout);
      assert.equal(ls.length, 9, r.stdout);
      for (const l of ls) {
        // Every number printed as rho_hat comes with an optimiser that passed the check; else no number.
        if (/rho_hat = /.test(l))
          assert.match(l, /checked by onnxruntime \(float32\)(, has the target label$| and the float64 reference$)/, l);
        else assert.match(l, /no rho_hat: no optimiser passed the float32 check|infeasible/, l);
        assert.doesNotMatch(l, /has label \d+, not the target/, l);
      }
      // The case this guards: at margin 0 some optimisers sit on the boundary and fail the check.
      assert.ok(
        ls.some((l) => /fails the float32 check .*float32 rule/.test(l)),
        r.stdout,
      );
      // The second label's answer is rho --mode restrict's (same LP, same margin ladder).
      const rho = JSON.parse(
        lines(
          (
            await run([
              "rho",
              MLP,
              "--data",
              "mnist:test",
              "--index",
              "0",
              "--mode",
              "restrict",
              "--json",
              "--time-limit",
              "30",
            ])
          ).stdout,
        )[0],
      );
      assert.equal(rho.status, "adversarial");
      const line = ls.find((l) => l.includes(`: target ${rho.target}:`))!;
      const hat = Number(/rho_hat = (\S+) pixels/.exec(line)![1]);
      const alpha = /margin alpha = (\S+):/.exec(line);
      assert.ok(Math.abs(hat - rho.lp_objective) <= 1e-4 * rho.lp_objective, `${hat} vs rho's ${rho.lp_objective}`);
      assert.equal(alpha === null ? 0 : Number(alpha[1]), rho.alpha === 0 ? 0 : Number(rho.alpha.toExponential(1)));
    });
  });

  describe("options accepted and ignored (item 5)", () => {
    it("rho --eps where nothing uses it (--mode restrict, --algorithm lbfgsb) is refused, naming the mode", async () => {
      refusedOneLine(
        await run(["rho", MLP, "--data", "mnist:test", "--index", "0", "--mode", "restrict", "--eps", "20"]),
        /--eps 20 does nothing for rho --algorithm lp --mode restrict/,
      );
      refusedOneLine(
        await run(["rho", MLP, "--data", "mnist:test", "--index", "0", "--algorithm", "lbfgsb", "--eps", "8"]),
        /--eps 8 does nothing for rho --algorithm lbfgsb/,
      );
    });

    it("which rho runs use --eps: the bracket's ball, certify's question, FGSM's step; not restrict, bounds, walk, lbfgsb, pgd", () => {
      const uses: [Algorithm, string | undefined][] = [
        ["lp", undefined],
        ["lp", "bracket"],
        ["lp", "exact"],
        ["lp", "milp"],
        ["lp", "certify"],
        ["fgsm", undefined],
      ];
      const ignores: [Algorithm, string | undefined][] = [
        ["lp", "restrict"],
        ["lp", "bounds"],
        ["lp", "walk"],
        ["lbfgsb", undefined],
        ["pgd", undefined],
      ];
      for (const [a, m] of uses) assert.equal(epsIgnored(a, m as never), null, `${a} ${m}`);
      for (const [a, m] of ignores) assert.equal(typeof epsIgnored(a, m as never), "string", `${a} ${m}`);
    });

    it("compare --algorithm is refused (compare runs them all), before --out is created", async () => {
      const out = join(dir, "cmp");
      refusedOneLine(
        await run(["compare", MLP, "--data", "mnist:test", "--limit", "1", "--algorithm", "fgsm", "--out", out]),
        /compare runs every algorithm .*drop --algorithm fgsm/,
      );
      assert.equal(existsSync(out), false);
    });

    it("--index with --limit is refused (rho and predict)", async () => {
      refusedOneLine(
        await run(["rho", MLP, "--data", "mnist:test", "--index", "2", "--limit", "5"]),
        /--index 2 and --limit 5: give --index .* or --limit .*, not both/,
      );
      refusedOneLine(
        await run(["predict", MLP, "--data", "mnist:test", "--index", "2", "--limit", "5"]),
        /--index 2 and --limit 5/,
      );
    });

    it("--limit beyond the data runs every point and says so on stderr", async () => {
      const images = join(dir, "three.npy");
      const px = new Uint8Array(3 * 784);
      for (let i = 0; i < px.length; i++) px[i] = (i * 37) % 256;
      writeFileSync(images, encodeNpy([3, 1, 28, 28], "uint8", px));
      const r = await run(["predict", MLP, "--data", images, "--limit", "10", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`--limit 10: ${images.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} has only 3 points; running 3`),
      );
      assert.deepEqual(
        lines(r.stdout).map((l) => JSON.parse(l).index),
        [0, 1, 2],
      );
      // Within the data: nothing said.
      const said: string[] = [];
      const s = selectIndices(3, undefined, 2, "d", (l) => said.push(l));
      assert.ok(s.ok && s.value.length === 2);
      assert.deepEqual(said, []);
    });
  });

  describe("FGSM has no severity, one rule everywhere (item 7)", () => {
    it("measure --algorithm fgsm: n/a with the reason in the table, null and a note in report.json (also at --eps 300)", async () => {
      const out = join(dir, "fgsm");
      const r = await run([
        "measure",
        MLP,
        "--data",
        "mnist:test",
        "--limit",
        "3",
        "--algorithm",
        "fgsm",
        "--eps",
        "300",
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /adversarial severity mu_hat\(300\)\s+n\/a \(FGSM has no severity/);
      const rep = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
      assert.equal(rep.severity, null);
      assert.equal(rep.severity_note, NO_SEVERITY.fgsm);
      assert.ok(
        rep.adversarial_within_eps > 0,
        "FGSM found examples: the severity is absent by rule, not for want of points",
      );
    });

    it("estimate and compare: fgsm's severity is null with the note; the others' is the mean rho within eps", () => {
      const pt = (index: number, rho: number): PointResult => ({
        index,
        label: 0,
        predicted: 0,
        target: 1,
        rho,
        status: "adversarial",
        lpObjective: null,
        checkMargin: null,
        alpha: 0,
        iterations: 0,
        rows: 0,
        rowsAdded: 0,
        primalInfeasibility: null,
        solverSeconds: 0,
        seconds: 0.1,
      });
      const pts = [pt(0, 4), pt(1, 8)];
      assert.equal(estimate(pts, 20, "fgsm").severity, null);
      assert.equal(estimate(pts, 20, "fgsm").severityNote, NO_SEVERITY.fgsm);
      assert.equal(estimate(pts, 20, "lbfgsb").severity, 6);
      const all = new Map<Algorithm, PointResult[]>([
        ["lp", pts],
        ["fgsm", pts],
      ]);
      const rows = summarise(all, 20);
      assert.equal(rows.find((r) => r.algorithm === "fgsm")!.severity, null);
      assert.equal(rows.find((r) => r.algorithm === "fgsm")!.severity_note, NO_SEVERITY.fgsm);
      const table = formatCompare(rows, 20);
      assert.match(table, /^fgsm .*n\/a \(no severity\)/m);
      assert.match(table, /^lp .*6\.000 pixels/m);
      assert.match(table, /^fgsm: FGSM has no severity/m);
    });
  });
});
