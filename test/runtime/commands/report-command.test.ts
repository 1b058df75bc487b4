// robustc report DIR [--eps ...]: a finished run's table again, at other eps, without solving and without
// writing; rho_hat above the run's eps never shown as exact; --resume naming the settings that differ.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identityDifferences } from "../../../runtime/run/out-dir.js";
import { lines, robustc } from "../../helpers/cli.js";

const M = "examples/models/mnist_mlp.onnx";

/** Every file of a directory with its size and modification time: what "writes nothing" compares. */
const snapshot = (d: string) =>
  readdirSync(d)
    .sort()
    .map((f) => `${f} ${statSync(join(d, f)).size} ${statSync(join(d, f)).mtimeMs}`);

describe("robustc report", function () {
  this.timeout(120_000);
  let dir: string, out: string, measured: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-report-"));
    out = join(dir, "run");
    // The bracket is bounded by counts; --time-limit 60 is never reached, so the run does not depend on the
    // machine's speed (with 1 s its restricted LPs ran out of time on some points and not on others).
    const r = await robustc(["measure", M, "--data", "mnist:test", "--limit", "3", "--time-limit", "60", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    measured = r.stdout;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("at the run's own eps prints measure's table again, and writes nothing", async () => {
    const before = snapshot(out);
    const r = await robustc(["report", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lines(r.stdout)[0], "eps 20 (the run's own)");
    assert.deepEqual(
      lines(r.stdout).slice(1),
      lines(measured).filter((l) => !l.startsWith("reports in ")),
    );
    assert.deepEqual(snapshot(out), before);
  });

  it("at other eps: one table each, phi's interval counted from the points' brackets", async () => {
    const points = lines(readFileSync(join(out, "points.jsonl"), "utf8"))
      .map((l) => JSON.parse(l))
      .filter((p) => p.status !== "misclassified");
    const before = snapshot(out);
    const r = await robustc(["report", out, "--eps", "3,40"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(snapshot(out), before, "nothing written");
    for (const eps of [3, 40]) {
      assert.match(r.stdout, new RegExp(`^eps ${eps} \\(the run's was 20\\)$`, "m"));
      const within = points.filter((p) => p.upper !== null && p.upper !== "inf" && p.upper <= eps).length;
      const possible = points.filter((p) =>
        p.lower === null || p.lower === "inf" ? p.lower === null : p.lower <= eps,
      ).length;
      assert.match(
        r.stdout,
        new RegExp(
          `phi\\(${eps}\\) in \\[phi_lower, phi_upper\\] +\\[[\\d.]+%, [\\d.]+%\\] \\(${within}/${points.length} with a checked example within eps, ${possible}/${points.length} not certified beyond eps\\)`,
        ),
      );
    }
  });

  it("rho_hat sought only within R < eps is a lower estimate above the run's eps, never printed as exact", async () => {
    const d = join(dir, "open");
    mkdirSync(d);
    writeFileSync(join(d, "run.json"), readFileSync(join(out, "run.json")));
    const [p0, ...rest] = lines(readFileSync(join(out, "points.jsonl"), "utf8")).map((l) => JSON.parse(l));
    // Point 0: an example at 25 pixels, and x*'s region holds none within R = max(25, 20).
    const open = {
      ...p0,
      status: "bracketed",
      upper: 25,
      rho: 25,
      lower: 1,
      gap: 24,
      rho_hat: null,
      rho_hat_above: 25,
    };
    writeFileSync(join(d, "points.jsonl"), [open, ...rest].map((p) => JSON.stringify(p) + "\n").join(""));
    const r = await robustc(["report", d, "--eps", "20,25,30"]);
    assert.equal(r.code, 0, r.stderr);
    const hat = lines(r.stdout).filter((l) => l.startsWith("paper's phi_hat"));
    assert.equal(hat.length, 3);
    assert.doesNotMatch(hat[0], />=|lower estimate/, "exact at the run's eps");
    assert.doesNotMatch(hat[1], />=|lower estimate/, "exact up to R");
    assert.match(
      hat[2],
      /^paper's phi_hat\(30\) from rho_hat +>= [\d.]+% \(\d+\/\d+; only a lower estimate: 1 points' rho_hat was sought only within R < 30 and not found there\)$/,
    );
  });

  it("--resume with other settings names each setting that differs and both values", async () => {
    const r = await robustc([
      "measure",
      M,
      "--data",
      "mnist:test",
      "--limit",
      "3",
      "--time-limit",
      "2",
      "--eps",
      "10",
      "--out",
      out,
      "--resume",
    ]);
    assert.equal(r.code, 2);
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /--resume: .*run\.json describes another run: /);
    assert.match(r.stderr, /--eps was 20 in run\.json, now 10/);
    assert.match(r.stderr, /--time-limit was 60 in run\.json, now 2/);
    assert.doesNotMatch(r.stderr, /--data was|--limit/, "only what differs");
  });

  it("compares identities key by key, whatever keys they have", () => {
    assert.deepEqual(
      identityDifferences(
        { eps: 20, lazy: { add: "all", x: 1 }, mean: [0.1] },
        { eps: 20, lazy: { add: "all", x: 2 }, mean: [0.2], layout: "nhwc" },
      ),
      [
        "lazy.x was 1 in run.json, now 2",
        "--mean was [0.1] in run.json, now [0.2]",
        '--layout was absent in run.json, now "nhwc"',
      ],
    );
    assert.deepEqual(identityDifferences({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 2] } }), []);
  });

  it("refuses with one line: a directory without a run, an FGSM run at another eps, a bad eps", async () => {
    const none = await robustc(["report", dir]);
    assert.equal(none.code, 2);
    assert.deepEqual(lines(none.stderr), [
      `robustc: ${dir}: no run.json (not the --out directory of robustc measure, certify or merge)`,
    ]);
    const d = join(dir, "fgsm");
    mkdirSync(d);
    writeFileSync(
      join(d, "run.json"),
      JSON.stringify({ ...JSON.parse(readFileSync(join(out, "run.json"), "utf8")), algorithm: "fgsm" }),
    );
    writeFileSync(join(d, "points.jsonl"), readFileSync(join(out, "points.jsonl")));
    const fgsm = await robustc(["report", d, "--eps", "10"]);
    assert.equal(fgsm.code, 2);
    assert.equal(lines(fgsm.stderr).length, 1);
    assert.match(
      fgsm.stderr,
      /an FGSM run answers only at its own eps 20 \(its step\); measure again with --algorithm fgsm --eps 10/,
    );
    const eps = await robustc(["report", out, "--eps", "0"]);
    assert.equal(eps.code, 2);
    assert.match(eps.stderr, /^robustc: --eps must be positive numbers, got 0\n$/);
  });
});
