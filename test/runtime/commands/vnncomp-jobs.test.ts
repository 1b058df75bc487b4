// robustc vnncomp --jobs K: test_2021 on two worker threads gives one row per instance that agrees with its
// ground truth; --resume after one row is deleted runs only that instance; --jobs 0 exits 2 with one line.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { runVnncomp, type InstanceResult } from "../../../runtime/commands/vnncomp.js";
import { robustc, robustcOk } from "../../helpers/cli.js";

const SET = resolve("test/fixtures/vnncomp/test_2021");
const CSV = join(SET, "instances.csv");

/** `onnx,vnnlib` → answer, from a csv whose rows start `onnx,vnnlib,answer` (header rows skipped). */
const answers = (text: string): Map<string, string> =>
  new Map(
    text
      .trim()
      .split("\n")
      .map((l) => l.split(","))
      .filter((f) => f[2] !== "answer")
      .map((f) => [`${f[0]},${f[1]}`, f[2]]),
  );

describe("robustc vnncomp --jobs", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-vnncomp-jobs-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("CLI: --jobs 2 on test_2021 writes one row per instance, agreeing with ground truth; --resume re-runs one deleted row", async () => {
    const out = join(dir, "results.csv");
    const truth = answers(readFileSync(join(SET, "ground_truth.csv"), "utf8"));
    const run1 = await robustcOk(["vnncomp", CSV, "--timeout-scale", "0.5", "--jobs", "2", "--out", out]);
    const [header, ...rows] = readFileSync(out, "utf8").trim().split("\n");
    assert.equal(header, "onnx,vnnlib,result,seconds,note");
    assert.equal(rows.length, 5, rows.join("\n"));
    assert.deepEqual(answers(rows.join("\n")), truth);
    assert.match(run1.stdout, /5 instances: 1 sat, 4 unsat, 0 timeout, 0 unknown, 0 unsupported/);
    assert.match(run1.stdout, /ground truth: 5 of 5 answered instances solved alike; 0 contradiction\(s\)/);

    const dropped = rows.findIndex((l) => l.startsWith("test_small.onnx,"));
    writeFileSync(out, [header, ...rows.filter((_, i) => i !== dropped)].join("\n") + "\n");
    const run2 = await robustcOk(["vnncomp", CSV, "--timeout-scale", "0.5", "--jobs", "2", "--resume", "--out", out]);
    assert.match(run2.stdout, /resuming: 4 of 5 instances already in /);
    const ran = run2.stdout.split("\n").filter((l) => /^(sat|unsat|timeout|unknown|unsupported) /.test(l));
    assert.deepEqual(
      ran.map((l) => l.trim().split(/\s+/).slice(-2).join(",")),
      ["test_small.onnx,test_small.vnnlib"],
    );
    const resumed = readFileSync(out, "utf8").trim().split("\n").slice(1);
    assert.equal(resumed.length, 5);
    assert.deepEqual(
      resumed.slice(0, 4),
      rows.filter((_, i) => i !== dropped),
      "the kept rows stay as they were",
    );
    assert.deepEqual(answers(resumed.join("\n")), truth);
    assert.match(run2.stdout, /0 contradiction\(s\)/);
  });

  it("in process (the worker through tsx): two instances on two threads, each row ticked once", async () => {
    const out = join(dir, "two.csv");
    const ticked: InstanceResult[] = [];
    const two = [
      { onnx: "test_nano.onnx", vnnlib: "test_nano.vnnlib", timeout: 30 },
      { onnx: "test_sat.onnx", vnnlib: "test_prop.vnnlib", timeout: 30 },
    ];
    const res = await runVnncomp(CSV, two, { timeoutScale: 1, out, jobs: 2 }, (x) => ticked.push(x));
    assert.deepEqual(res.map((x) => `${x.onnx}:${x.result}`).sort(), ["test_nano.onnx:unsat", "test_sat.onnx:sat"]);
    assert.equal(ticked.length, 2);
    assert.equal(readFileSync(out, "utf8").trim().split("\n").length, 3, "the header and two rows");
  });

  it("CLI: --jobs 0 is one line on stderr, exit 2", async () => {
    const e = await robustc(["vnncomp", CSV, "--jobs", "0", "--out", join(dir, "never.csv")]);
    assert.equal(e.code, 2);
    assert.equal(e.stderr, "robustc: --jobs must be a positive integer, got 0\n");
  });
});
