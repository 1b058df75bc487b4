// robustc verify / vnncomp: VNN-COMP answers match ground truth (test_2021, two mnistfc 256x2 instances),
// every sat counterexample re-checks (inside the box, onnxruntime float32 outputs satisfy a disjunct), a
// hand-made 2-2-2 network has known sat/unsat properties (one needs the MILP), malformed input exits 2.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { readVnnlibFile, type Atom } from "../../../grammar/vnnlib/parse.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { openProperty, openVerifyModel } from "../../../runtime/verify/open.js";
import { verifyProperty } from "../../../runtime/verify/engine.js";
import { formatResult, type VerifyResult } from "../../../runtime/verify/result.js";
import { robustc, robustcOk } from "../../helpers/cli.js";

// VNN-COMP benchmark folders, a subset copied into the repository (its README); tests run from the project root.
const BENCH = resolve("test/fixtures/vnncomp");

async function verify(model: string, prop: string, timeout: number): Promise<VerifyResult> {
  const m = await openVerifyModel(model);
  if (!m.ok) assert.fail(m.diagnostics[0].message);
  try {
    const p = openProperty(prop, m.value.context.net, model);
    if (!p.ok) assert.fail(p.diagnostics[0].message);
    return await verifyProperty(m.value.context, p.value, { timeout });
  } finally {
    await m.value.close();
  }
}

const holds = (a: Atom, x: ArrayLike<number>, y: ArrayLike<number>): boolean => {
  let s = a.term.c;
  for (const [i, w] of a.term.x) s += w * x[i];
  for (const [j, w] of a.term.y) s += w * y[j];
  return a.op === "<=" ? s <= 0 : s >= 0;
};

/** The re-check, independent of the engine: the text's X in the box, a fresh float32 pass, some disjunct holds. */
async function recheck(model: string, prop: string, r: VerifyResult): Promise<void> {
  const text = formatResult(r);
  assert.match(text, /^sat\n\(\(X_0 \S+\)\n( \([XY]_\d+ \S+\)\n)* \(Y_\d+ \S+\)\)\n$/);
  const vals = new Map([...text.matchAll(/\(([XY]_\d+) (\S+?)\)/g)].map((mm) => [mm[1], Number(mm[2])]));
  const p = readVnnlibFile(prop);
  if (!p.ok) assert.fail(p.diagnostics[0].message);
  const x = Float64Array.from({ length: p.value.numInputs }, (_, i) => vals.get(`X_${i}`)!);
  x.forEach((v) => assert.equal(Math.fround(v), v, "X values are float32"));
  // A property whose disjuncts carry their own input bounds has several cases (boxes): x must lie in one
  // whose unsafe set holds.
  const cases = p.value.cases ?? [p.value];
  const inBox = (c: (typeof cases)[number]) => x.every((v, i) => v >= c.inputLower[i] && v <= c.inputUpper[i]);
  assert.ok(cases.some(inBox), "X outside every input box");
  const m = await openVerifyModel(model);
  if (!m.ok) assert.fail(m.diagnostics[0].message);
  const ev = await OnnxRuntimeEvaluator.create(model, m.value.context.net, { provider: "cpu" });
  try {
    const [y] = await ev.logits([x]);
    y.forEach((v, j) => assert.equal(vals.get(`Y_${j}`), v, `Y_${j} as onnxruntime computes it`));
    assert.ok(
      cases.some((c) => inBox(c) && c.unsafe.some((d) => d.every((a) => holds(a, x, y)))),
      "no unsafe disjunct holds at the counterexample",
    );
  } finally {
    await ev.dispose();
    await m.value.close();
  }
}

describe("robustc verify: VNN-COMP instances against ground truth", function () {
  this.timeout(60_000);
  const cases: [string, string, string, "sat" | "unsat"][] = [
    ["test_2021", "test_nano.onnx", "test_nano.vnnlib", "unsat"],
    ["test_2021", "test_tiny.onnx", "test_tiny.vnnlib", "unsat"],
    ["test_2021", "test_small.onnx", "test_small.vnnlib", "unsat"],
    ["test_2021", "test_sat.onnx", "test_prop.vnnlib", "sat"],
    ["test_2021", "test_unsat.onnx", "test_prop.vnnlib", "unsat"],
    ["mnistfc_2021", "mnist-net_256x2.onnx", "prop_1_0.05.vnnlib", "sat"],
    ["mnistfc_2021", "mnist-net_256x2.onnx", "prop_2_0.03.vnnlib", "unsat"],
  ];
  for (const [dir, onnx, vnnlib, truth] of cases) {
    it(`${dir}/${onnx} ${vnnlib}: ${truth}`, async () => {
      const truthRow = readFileSync(join(BENCH, dir, "ground_truth.csv"), "utf8")
        .split("\n")
        .find((l) => l.startsWith(`${onnx},${vnnlib},`));
      assert.equal(truthRow?.split(",")[2], truth, "the expectation is the ground truth's");
      const model = join(BENCH, dir, onnx),
        prop = join(BENCH, dir, vnnlib);
      const r = await verify(model, prop, 30);
      assert.equal(r.status, truth, `${r.status} (${r.stage}): ${r.reason ?? ""}`);
      if (r.status === "sat") await recheck(model, prop, r);
    });
  }
});

describe("robustc verify: a hand-made 2-2-2 ReLU network", function () {
  this.timeout(60_000);
  // y0 = relu(x0 − x1), y1 = relu(x1 − x0) over the box [0, 1]²: at most one output is positive, each ≤ 1.
  let dir: string, model: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-verify-"));
    model = join(dir, "tiny.onnx");
    const b = new OnnxBuilder(13);
    b.input("x", [1, 2]).output("y", [1, 2]);
    b.initializer({ name: "W1", dims: [2, 2], data: [1, -1, -1, 1] });
    b.initializer({ name: "b1", dims: [2], data: [0, 0] });
    b.initializer({ name: "W2", dims: [2, 2], data: [1, 0, 0, 1] });
    b.initializer({ name: "b2", dims: [2], data: [0, 0] });
    b.node("Gemm", ["x", "W1", "b1"], ["h"], { transB: 1 })
      .node("Relu", ["h"], ["r"])
      .node("Gemm", ["r", "W2", "b2"], ["y"], { transB: 1 });
    writeFileSync(model, b.toBytes());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const box =
    "(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const Y_0 Real)\n(declare-const Y_1 Real)\n" +
    "(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n";
  const props: [string, string, "sat" | "unsat", string[]][] = [
    ["corner", "(assert (>= Y_0 0.9))", "sat", []],
    ["out of range", "(assert (>= Y_0 1.5))", "unsat", ["bounds"]],
    // The LP relaxation is feasible (u = 0, both triangle relaxations at 0.5): only branch and bound (two
    // atoms in the disjunct: its leaves' LPs, exact once the ReLUs are split) refutes it.
    ["both positive", "(assert (and (>= Y_0 0.5) (>= Y_1 0.5)))", "unsat", ["bab"]],
    [
      "a disjunct with an input atom",
      "(assert (or (and (>= Y_0 0.5) (>= Y_1 0.5)) (and (>= Y_1 0.8) (<= X_0 0.1))))",
      "sat",
      [],
    ],
  ];
  for (const [name, assertion, expected, stages] of props) {
    it(`${name}: ${expected}`, async () => {
      const prop = join(dir, `${name.replace(/\W+/g, "_")}.vnnlib`);
      writeFileSync(prop, box + assertion + "\n");
      const r = await verify(model, prop, 20);
      assert.equal(r.status, expected, `${r.status} (${r.stage}): ${r.reason ?? ""}`);
      if (stages.length > 0) assert.ok(stages.includes(r.stage), `decided by ${r.stage}`);
      if (r.status === "sat") await recheck(model, prop, r);
    });
  }

  it("CLI: sat with --out writes the VNN-COMP result file; a malformed property is one line with line:col, exit 2", async () => {
    await execAsync("make", ["-s", "build"]);
    const prop = join(dir, "sat.vnnlib"),
      res = join(dir, "result.txt");
    writeFileSync(prop, box + "(assert (>= Y_1 0.9))\n");
    const { stdout } = await robustcOk(["verify", model, prop, "--timeout", "10", "--out", res]);
    assert.equal(readFileSync(res, "utf8").trimEnd(), stdout.trimEnd());
    assert.match(stdout, /^sat\n\(\(X_0 /);
    const bad = join(dir, "bad.vnnlib");
    writeFileSync(bad, box + "(assert (>= Y_0 0.5)\n");
    const e = await robustc(["verify", model, bad]);
    assert.equal(e.code, 2);
    const lines = e.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, e.stderr);
    assert.match(lines[0], /bad\.vnnlib:\d+:\d+: /);
  });

  it("CLI: robustc vnncomp on test_2021 agrees with its ground truth", async () => {
    const out = join(dir, "results.csv");
    const { stdout } = await robustcOk([
      "vnncomp",
      join(BENCH, "test_2021/instances.csv"),
      "--timeout-scale",
      "0.5",
      "--out",
      out,
    ]);
    const [header, ...rows] = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split(","));
    assert.equal(header.join(","), "onnx,vnnlib,result,seconds,note");
    assert.deepEqual(
      rows.map((r) => r[2]),
      ["unsat", "unsat", "unsat", "sat", "unsat"],
    );
    assert.match(stdout, /5 instances: 1 sat, 4 unsat, 0 timeout, 0 unknown, 0 unsupported/);
    assert.match(stdout, /0 contradiction\(s\)/);
  });
});

function execAsync(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(cmd, args, { maxBuffer: 1 << 26 });
}
