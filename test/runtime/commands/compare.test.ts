// A CI-sized `robustc compare` on mnist_lenet: the three algorithms on the same points give the table,
// compare.json (per algorithm: algorithm, n, frequency, severity, median_seconds), compare.svg with the lp and
// lbfgsb curves, the per-algorithm points, and disagreements.csv; every adversarial point was checked.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { robustcOk } from "../../helpers/cli.js";

describe("runtime/commands/compare: robustc compare on mnist_lenet, 3 points", function () {
  this.timeout(600_000);
  let dir: string, stdout: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-compare-"));
    ({ stdout } = await robustcOk([
      "compare",
      "examples/models/mnist_lenet.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "3",
      "--eps",
      "20",
      "--out",
      join(dir, "c"),
    ]));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const read = (f: string) => readFileSync(join(dir, "c", f), "utf8");

  it("prints one table row per algorithm", () => {
    const lines = stdout.trim().split("\n");
    assert.match(
      lines[0],
      /^algorithm +points +accuracy +frequency phi_hat\(20\) +severity mu_hat\(20\) +median s\/point$/,
    );
    assert.deepEqual(
      lines.slice(1, 5).map((l) => l.split(/\s+/)[0]),
      ["lp", "lbfgsb", "fgsm", "pgd"],
    );
    for (const l of lines.slice(1, 4)) assert.match(l, /^\w+ +3 +100\.00% +\d+\.\d\d% /);
  });

  it("compare.json has algorithm, n, frequency, severity and median_seconds for each algorithm", () => {
    const j = JSON.parse(read("compare.json"));
    assert.deepEqual(
      j.algorithms.map((a: { algorithm: string }) => a.algorithm),
      ["lp", "lbfgsb", "fgsm", "pgd"],
    );
    for (const a of j.algorithms) {
      assert.equal(a.n, 3);
      assert.ok(a.frequency >= 0 && a.frequency <= 1);
      assert.ok(a.severity === null || a.severity > 0);
      assert.ok(a.median_seconds > 0);
    }
    assert.equal(j.algorithms[2].severity, null); // FGSM: frequency only
  });

  it("writes the points of each algorithm; adversarial points carry a checked margin", () => {
    for (const a of ["lp", "lbfgsb", "fgsm", "pgd"]) {
      const pts = read(`${a}.jsonl`)
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.deepEqual(
        pts.map((p) => p.index),
        [0, 1, 2],
      );
      for (const p of pts)
        if (p.status === "adversarial") assert.ok(p.check_margin >= 0 && p.rho > 0, `${a} ${p.index}`);
      // FGSM's example lies within eps (its step stays inside it despite float32 rounding).
      if (a === "fgsm")
        for (const p of pts) if (p.status === "adversarial") assert.ok(p.rho <= 20, `fgsm ${p.index}: ${p.rho}`);
    }
  });

  it("compare.svg is well-formed with both curves in its legend; disagreements.csv has its header", () => {
    const svg = read("compare.svg");
    assert.equal(XMLValidator.validate(svg), true);
    assert.match(svg, />lp</);
    assert.match(svg, />lbfgsb</);
    assert.match(read("disagreements.csv"), /^index,label,lp_status,lp_rho,lbfgsb_status,lbfgsb_rho,fgsm_status\n/);
  });
});
