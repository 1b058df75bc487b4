// The CLI as a user meets it: real child processes of bin/robustc.js (built by `make build`).
// Bad input gives one line naming the problem and exit code 2, with no stack trace.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnnxBuilder } from "../../compiler/frontend/onnx/write.js";
import { encodeNpy } from "../../runtime/data/npy.js";
import { lines, robustc } from "../helpers/cli.js";

describe("runtime/cli", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-cli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a reader that closes stdout early (| head) ends the run quietly: exit 0, nothing on stderr", async () => {
    const { spawn } = await import("node:child_process");
    const child = spawn(
      "node",
      ["bin/robustc.js", "predict", "examples/models/mnist_mlp.onnx", "--data", "mnist:test"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(stderr, "");
    assert.equal(code, 0);
  });

  it("inspect prints layers, parameters and ReLU counts of mnist_lenet", async () => {
    const r = await robustc(["inspect", "examples/models/mnist_lenet.onnx"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /parameters {2}431,080/);
    assert.match(r.stdout, /ReLUs {7}15,220 {4}max-pool outputs {2}3,680/);
    assert.match(r.stdout, /\/conv1\/Conv +affine +Conv +\[1,20,24,24\]/);
    const j = JSON.parse((await robustc(["inspect", "examples/models/mnist_lenet.onnx", "--json"])).stdout);
    assert.equal(j.layers.length, 11);
  });

  it("predict --json prints one JSON object per point and nothing else", async () => {
    const r = await robustc([
      "predict",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "5",
      "--json",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const objs = lines(r.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(
      objs.map((o) => o.index),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual(
      objs.map((o) => o.label),
      [0, 1, 2, 3, 4],
    );
    for (const o of objs) assert.equal(o.logits.length, 10);
  });

  it("predict gives the same predictions with both evaluators and prints the accuracy", async () => {
    const a = await robustc([
      "predict",
      "examples/models/mnist_cnn_bn.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "30",
      "--evaluator",
      "reference",
    ]);
    const b = await robustc(["predict", "examples/models/mnist_cnn_bn.onnx", "--data", "mnist:test", "--limit", "30"]);
    assert.equal(a.code, 0, a.stderr);
    const acc = (s: string) =>
      lines(s)
        .at(-1)!
        .replace(/ with .*/, "");
    assert.match(acc(a.stdout), /^accuracy \d+\.\d\d% \(\d+\/30\) on mnist:test$/);
    assert.equal(acc(a.stdout), acc(b.stdout));
  });

  const bad: [string, () => string[], RegExp][] = [
    [
      "a missing model file",
      () => ["inspect", join(dir, "nope.onnx")],
      /nope\.onnx: cannot read the model file \(ENOENT\)/,
    ],
    [
      "a non-ONNX file",
      () => {
        const p = join(dir, "x.onnx");
        writeFileSync(p, "hello, I am text\n");
        return ["inspect", p];
      },
      /x\.onnx: not an ONNX model/,
    ],
    [
      "a truncated ONNX file",
      () => {
        const p = join(dir, "cut.onnx");
        const b = new OnnxBuilder(13).input("x", [1, 2]);
        b.initializer({ name: "w", dims: [2, 2], data: [1, 2, 3, 4] });
        writeFileSync(p, b.node("MatMul", ["x", "w"], ["y"]).output("y", [1, 2]).toBytes().subarray(0, 40));
        return ["inspect", p];
      },
      /cut\.onnx: not an ONNX model or corrupt\/truncated/,
    ],
    [
      "an unsupported op",
      () => {
        const p = join(dir, "sig.onnx");
        writeFileSync(
          p,
          new OnnxBuilder(13)
            .input("x", [1, 2])
            .node("Sigmoid", ["x"], ["y"], {}, "squash")
            .output("y", [1, 2])
            .toBytes(),
        );
        return ["inspect", p];
      },
      /sig\.onnx: unsupported op Sigmoid at node 'squash'/,
    ],
    [
      "data that does not fit the model",
      () => {
        const p = join(dir, "small.npy");
        writeFileSync(p, encodeNpy([3, 10, 10], "uint8", new Uint8Array(300)));
        return ["predict", "examples/models/mnist_mlp.onnx", "--data", p];
      },
      /small\.npy: items of shape \[1,10,10\] \(100 values\) do not fit the input 'input' of examples\/models\/mnist_mlp\.onnx, shape \[1,1,28,28\] \(784 values\)/,
    ],
    [
      "an index out of range",
      () => ["predict", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--index", "99999"],
      /--index 99999 is out of range for mnist:test \(0\.\.1995\)/,
    ],
    ["an unknown data split", () => ["predict", "examples/models/mnist_mlp.onnx", "--data", "mnist:valid"], /valid/],
    [
      "an unknown option",
      () => ["predict", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--frobnicate"],
      /unknown option '--frobnicate'/,
    ],
  ];
  for (const [what, args, re] of bad) {
    it(`rejects ${what} with one line and exit code 2`, async () => {
      const r = await robustc(args());
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    });
  }
});

describe("runtime/cli: compile", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-compile-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("writes an LP whose header names the seed point, labels and pixel scale", async () => {
    const out = join(dir, "p3.lp");
    const r = await robustc([
      "compile",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "3",
      "-o",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(out, "utf8");
    assert.match(
      text,
      /^\\ robustc_3: written by robustc \(CPLEX LP format\)\n\\ model examples\/models\/mnist_mlp\.onnx; seed point x\* = mnist:test index 3; true label 3; predicted l\* = 3; target l = \d/,
    );
    assert.match(text, /rho_hat in pixels = t \* 255/);
    assert.match(text, /\nEnd\n$/);
  });

  it("writes one file per target with --target all, and MPS from the extension", async () => {
    const out = join(dir, "all.mps");
    const r = await robustc([
      "compile",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "0",
      "--target",
      "all",
      "--form",
      "layered",
      "-o",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const files = readdirSync(dir)
      .filter((f) => f.startsWith("all.l"))
      .sort();
    assert.deepEqual(files, [
      "all.l1.mps",
      "all.l2.mps",
      "all.l3.mps",
      "all.l4.mps",
      "all.l5.mps",
      "all.l6.mps",
      "all.l7.mps",
      "all.l8.mps",
      "all.l9.mps",
    ]);
    assert.match(readFileSync(join(dir, "all.l5.mps"), "utf8"), /^NAME robustc_0 FREE\n/);
  });

  it("--solve runs an external solver on the written file and checks the optimiser with onnxruntime", async () => {
    const out = join(dir, "p2.mps");
    const r = await robustc([
      "compile",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "2",
      "-o",
      out,
      "--solve",
      "clp",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const line = lines(r.stdout)[0];
    const m =
      /: clp: target (\d): optimal, rho_hat = ([\d.]+) pixels \(t = ([\d.e-]+)\); the optimiser, checked by onnxruntime \(float32\), has the target label$/.exec(
        line,
      );
    assert.ok(m, line);
    assert.ok(Math.abs(Number(m[2]) - 255 * Number(m[3])) < 1e-9 * Number(m[2]));
  });

  it("--emit cf prints C_f(x, l) with its disjunctions", async () => {
    const r = await robustc([
      "compile",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "0",
      "--emit",
      "cf",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\s*or relu_net_net_2_Relu \[100\] layer \d+ \{$/m);
    assert.match(r.stdout, /^var x\[784\] in \[0, 1\]$/m);
  });

  const bad: [string, string[], RegExp][] = [
    ["a missing --index", [], /required option '--index <i>' not specified/],
    ["an index out of range", ["--index", "5000"], /--index 5000 is out of range for mnist:test \(0\.\.1995\)/],
    [
      "an unknown --target",
      ["--index", "0", "--target", "third"],
      /--target must be second, all or a label number, got 'third'/,
    ],
    [
      "a target that is no label",
      ["--index", "0", "--target", "10"],
      /--target 10 is not a label of the model \(0\.\.9\)/,
    ],
    ["an unknown --form", ["--index", "0", "--form", "flat"], /--form must be layered or reduced, got 'flat'/],
    [
      "an output extension that names no format",
      ["--index", "0", "-o", "OUT.txt"],
      /OUT\.txt: the output format comes from the extension/,
    ],
  ];
  for (const [what, args, re] of bad) {
    it(`rejects ${what}: one line, exit 2, no file written`, async () => {
      const out = join(dir, `bad-${what.replace(/\W+/g, "_")}.lp`);
      const outArgs = args.includes("-o")
        ? args.map((a) => (a === "OUT.txt" ? join(dir, "OUT.txt") : a))
        : [...args, "-o", out];
      const r = await robustc(["compile", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", ...outArgs]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, re);
      assert.equal(existsSync(out) || existsSync(join(dir, "OUT.txt")), false);
    });
  }

  it("rejects data whose shape does not fit the model, writing nothing", async () => {
    const data = join(dir, "tiny.npy");
    writeFileSync(data, encodeNpy([2, 5, 5], "uint8", new Uint8Array(50)));
    const out = join(dir, "tiny.lp");
    const r = await robustc(["compile", "examples/models/mnist_mlp.onnx", "--data", data, "--index", "0", "-o", out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /do not fit the input 'input'/);
    assert.equal(existsSync(out), false);
  });
});

describe("runtime/cli: invalid combinations", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-combo-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // --mode is a mode of the lp algorithm: with an attack it would be silently ignored.
  const cases: [string, () => string[], RegExp][] = [
    [
      "rho --mode exact --algorithm fgsm",
      () => [
        "rho",
        "examples/models/mnist_mlp.onnx",
        "--data",
        "mnist:test",
        "--limit",
        "1",
        "--mode",
        "exact",
        "--algorithm",
        "fgsm",
      ],
      /^robustc: --mode exact is a mode of --algorithm lp, not of --algorithm fgsm: drop --mode or use --algorithm lp$/,
    ],
    [
      "measure --mode walk --algorithm lbfgsb",
      () => [
        "measure",
        "examples/models/mnist_mlp.onnx",
        "--data",
        "mnist:test",
        "--limit",
        "1",
        "--mode",
        "walk",
        "--algorithm",
        "lbfgsb",
        "--out",
        join(dir, "walk-lbfgsb"),
      ],
      /^robustc: --mode walk is a mode of --algorithm lp, not of --algorithm lbfgsb: drop --mode or use --algorithm lp$/,
    ],
    [
      "rho --mode restrict --algorithm pgd",
      () => [
        "rho",
        "examples/models/mnist_mlp.onnx",
        "--data",
        "mnist:test",
        "--limit",
        "1",
        "--mode",
        "restrict",
        "--algorithm",
        "pgd",
      ],
      /^robustc: --mode restrict is a mode of --algorithm lp, not of --algorithm pgd: drop --mode or use --algorithm lp$/,
    ],
    [
      "measure --queue --mode bounds --algorithm fgsm",
      () => [
        "measure",
        "examples/models/mnist_mlp.onnx",
        "--data",
        "mnist:test",
        "--limit",
        "1",
        "--mode",
        "bounds",
        "--algorithm",
        "fgsm",
        "--queue",
        "redis://127.0.0.1:1/x",
        "--out",
        join(dir, "queue-fgsm"),
      ],
      /^robustc: --mode bounds is a mode of --algorithm lp, not of --algorithm fgsm: drop --mode or use --algorithm lp$/,
    ],
  ];
  for (const [what, args, re] of cases) {
    it(`refuses ${what}: one line, exit 2, no --out`, async () => {
      const r = await robustc(args());
      assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(lines(r.stderr)[0], re);
      assert.equal(r.stdout, "");
      assert.deepEqual(readdirSync(dir), []);
    });
  }

  it("without --mode: the bracket with --algorithm lp, the attack's own answer with the others", async () => {
    const lp = await robustc([
      "rho",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "1",
      "--json",
    ]);
    assert.equal(lp.code, 0, lp.stderr);
    const b = JSON.parse(lp.stdout);
    assert.equal(b.mode, "bracket");
    assert.ok(b.lower <= b.upper && (b.rho_hat === null || b.upper <= b.rho_hat), lp.stdout);
    const pgd = await robustc([
      "rho",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--index",
      "1",
      "--algorithm",
      "pgd",
      "--json",
    ]);
    assert.equal(pgd.code, 0, pgd.stderr);
    const p = JSON.parse(pgd.stdout);
    assert.equal(p.index, 1);
    assert.ok(!("mode" in p) && p.status === "adversarial" && p.rho >= b.lower, pgd.stdout);
  });
});
