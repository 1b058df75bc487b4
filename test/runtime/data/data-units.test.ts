// Data units, layouts and normalisation as users export them (issue 15, items 1-3): float images in [0, 1],
// channels-last arrays, inputs normalised outside the model. Each case: the right answer (compared with the same
// digits in the form robustc always read) or one line and exit 2.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { unwrap } from "../../../compiler/index.js";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { loadDataset, item } from "../../../runtime/data/index.js";
import { makeDataset } from "../../../runtime/data/dataset.js";
import { arrangeLayout, epsWarning, normalisation, resolveScale } from "../../../runtime/data/input-map.js";
import { decodeNpy, encodeNpy } from "../../../runtime/data/npy.js";
import { modelInput, openEvaluator, openSession } from "../../../runtime/run/session.js";
import { refusedOneLine, robustc } from "../../helpers/cli.js";

const { onnx } = onnxProto;
const MLP = "examples/models/mnist_mlp.onnx";

/** A 3-channel conv classifier on 6×6 inputs with fixed pseudo-random weights (the project's ONNX writer). */
function convModel(prefix?: { mul: number[]; add: number[] }): Uint8Array {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const b = new OnnxBuilder(13).input(prefix ? "z" : "x", [1, 3, 6, 6]);
  if (prefix) {
    // h(z) = f(z * std + mean): the model a training script normalising its inputs outside the model exports.
    b.initializer({ name: "s", dims: [1, 3, 1, 1], data: prefix.mul });
    b.initializer({ name: "m", dims: [1, 3, 1, 1], data: prefix.add });
    b.node("Mul", ["z", "s"], ["zs"]).node("Add", ["zs", "m"], ["x"]);
  }
  b.initializer({ name: "K", dims: [4, 3, 3, 3], data: Array.from({ length: 108 }, () => rnd() / 3) });
  b.initializer({ name: "kb", dims: [4], data: Array.from({ length: 4 }, () => rnd() / 4) });
  b.initializer({ name: "W", dims: [64, 5], data: Array.from({ length: 320 }, () => rnd() / 4) });
  b.initializer({ name: "wb", dims: [5], data: Array.from({ length: 5 }, () => rnd() / 4) });
  b.node("Conv", ["x", "K", "kb"], ["c"], { kernel_shape: [3, 3] })
    .node("Relu", ["c"], ["r"])
    .node("Flatten", ["r"], ["f"], { axis: 1 })
    .node("Gemm", ["f", "W", "wb"], ["logits"])
    .output("logits", [1, 5]);
  return b.toBytes();
}

/** mnist_mlp with h(z) = f(z * std + mean) in front: its input is the normalised image. */
function normalisedMlp(mean: number, std: number): Uint8Array {
  const m = onnx.ModelProto.decode(readFileSync(MLP));
  const g = m.graph!;
  const input = g.input![0].name!;
  const renamed = `${input}_normalised`;
  g.input![0].name = renamed;
  g.initializer!.push(
    new onnx.TensorProto({
      name: "nstd",
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(Float32Array.of(std).buffer),
    }),
  );
  g.initializer!.push(
    new onnx.TensorProto({
      name: "nmean",
      dims: [],
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(Float32Array.of(mean).buffer),
    }),
  );
  g.node!.unshift(
    new onnx.NodeProto({ opType: "Mul", input: [renamed, "nstd"], output: ["zs"], name: "unnormalise_mul" }),
    new onnx.NodeProto({ opType: "Add", input: ["zs", "nmean"], output: [input], name: "unnormalise_add" }),
  );
  return onnx.ModelProto.encode(m).finish();
}

describe("data units, layouts and normalisation (issue 15)", function () {
  this.timeout(180_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-units-"));
    // The first 40 mnist:test digits as a PyTorch user exports them: float32 in [0, 1], labels beside.
    const ds = unwrap(loadDataset("mnist:test"));
    const n = 40,
      size = 784;
    const px = new Float32Array(n * size);
    for (let i = 0; i < n; i++)
      item(ds, i).forEach((v, k) => {
        px[i * size + k] = v / 255;
      });
    writeFileSync(join(dir, "float.npy"), encodeNpy([n, 1, 28, 28], "float32", px));
    writeFileSync(join(dir, "labels.npy"), encodeNpy([n], "int64", Array.from(ds.labels!.subarray(0, n))));
    writeFileSync(
      join(dir, "normalised.npy"),
      encodeNpy(
        [n, 1, 28, 28],
        "float32",
        px.map((v) => (v - 0.1307) / 0.3081),
      ),
    );
    writeFileSync(join(dir, "conv.onnx"), convModel());
    writeFileSync(join(dir, "mlp-norm.onnx"), normalisedMlp(0.1307, 0.3081));
    // 12 random 3-channel 6×6 uint8 images, stored channels last (N×H×W×C) and channels first.
    let s = 7;
    const hwc = Array.from({ length: 12 * 108 }, () => (s = (s * 48271) % 2147483647) % 256);
    const chw = new Array<number>(hwc.length);
    for (let i = 0; i < 12; i++)
      for (let h = 0; h < 6; h++)
        for (let w = 0; w < 6; w++)
          for (let c = 0; c < 3; c++) chw[i * 108 + (c * 6 + h) * 6 + w] = hwc[i * 108 + (h * 6 + w) * 3 + c];
    writeFileSync(join(dir, "hwc.npy"), encodeNpy([12, 6, 6, 3], "uint8", hwc));
    writeFileSync(join(dir, "chw.npy"), encodeNpy([12, 3, 6, 6], "uint8", chw));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("the scale", () => {
    const ds = (values: number[]) => unwrap(makeDataset("d.npy", [values.length], Float64Array.from(values), null));
    it("uses 1 for float data in [0, 1] and says so; 255 for 0-255 data without a word", () => {
      const a = unwrap(resolveScale(ds([0, 0.5, 0.99]), undefined));
      assert.equal(a.scale, 1);
      assert.match(a.note ?? "", /--pixel-scale 1/);
      assert.deepEqual(unwrap(resolveScale(ds([0, 17, 255]), undefined)), { scale: 255, note: null });
    });
    it("refuses negative data, data above the scale, and 255 on floats in [0, 1]", () => {
      for (const [values, scale, re] of [
        [[-0.4, 2.8], undefined, /normalised already.*--mean\/--std/],
        [[0, 1000], undefined, /exceed the 0-255 scale/],
        [[0, 200], 1, /exceed --pixel-scale 1/],
        [[0, 0.25, 0.9], 255, /divided by 255.*--pixel-scale 1/],
      ] as const) {
        const r = resolveScale(ds([...values]), scale);
        assert.ok(!r.ok, `${values} with ${scale}`);
        assert.match(r.diagnostics[0].message, re);
      }
    });
    it("warns for an eps below one grey level or covering the whole range", () => {
      assert.match(epsWarning(0.08, 255) ?? "", /--eps 20\.4/);
      assert.match(epsWarning(300, 255) ?? "", /whole input range/);
      assert.match(epsWarning(2, 1) ?? "", /whole input range/);
      assert.equal(epsWarning(20, 255), null);
      assert.equal(epsWarning(0.08, 1), null);
    });

    it("predict on float [0, 1] digits: the same accuracy as on the uint8 digits, with a note", async () => {
      const f = await robustc([
        "predict",
        MLP,
        "--data",
        join(dir, "float.npy"),
        "--labels",
        join(dir, "labels.npy"),
        "--summary",
      ]);
      const u = await robustc(["predict", MLP, "--data", "mnist:test", "--limit", "40", "--summary"]);
      assert.equal(f.code, 0, f.stderr);
      assert.match(f.stderr, /using --pixel-scale 1/);
      const acc = (s: string) => /accuracy ([\d.]+)% \((\d+)\/40\)/.exec(s)?.slice(1);
      assert.ok(acc(u.stdout), u.stdout);
      assert.deepEqual(acc(f.stdout), acc(u.stdout));
      refusedOneLine(
        await robustc([
          "predict",
          MLP,
          "--data",
          join(dir, "float.npy"),
          "--labels",
          join(dir, "labels.npy"),
          "--pixel-scale",
          "255",
        ]),
        /divided by 255/,
      );
      refusedOneLine(
        await robustc(["predict", MLP, "--data", join(dir, "normalised.npy"), "--labels", join(dir, "labels.npy")]),
        /normalised already/,
      );
    });

    it("rho and the report in the data's units: rho_hat on [0, 1] floats = rho_hat on 0-255 / 255, eps = 20/255 by default", async () => {
      const f = await robustc([
        "rho",
        MLP,
        "--data",
        join(dir, "float.npy"),
        "--labels",
        join(dir, "labels.npy"),
        "--index",
        "3",
        "--mode",
        "restrict",
        "--json",
      ]);
      const u = await robustc(["rho", MLP, "--data", "mnist:test", "--index", "3", "--mode", "restrict", "--json"]);
      assert.equal(f.code, 0, f.stderr);
      const rf = JSON.parse(f.stdout.trim()).rho,
        ru = JSON.parse(u.stdout.trim()).rho;
      assert.ok(typeof ru === "number" && ru > 0, u.stdout);
      assert.ok(Math.abs(rf * 255 - ru) <= 1e-6 * ru, `float data rho ${rf} × 255 vs ${ru}`);
      const out = join(dir, "m-float");
      const m = await robustc([
        "measure",
        MLP,
        "--data",
        join(dir, "float.npy"),
        "--labels",
        join(dir, "labels.npy"),
        "--limit",
        "4",
        "--mode",
        "restrict",
        "--out",
        out,
      ]);
      assert.equal(m.code, 0, m.stderr);
      assert.match(m.stderr, /eps = 0\.0784314/);
      const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
      assert.ok(Math.abs(report.eps - 20 / 255) < 1e-12, `eps ${report.eps}`);
      assert.equal(report.settings.pixel_scale, 1);
      assert.ok(
        report.notes.some((n: string) => /data units \(0-1 scale\)/.test(n)),
        report.notes.join("\n"),
      );
      assert.ok(!report.notes.some((n: string) => /0-255/.test(n)), report.notes.join("\n"));
      assert.match(readFileSync(join(out, "cdf.svg"), "utf8"), /0-1 scale/);
      // FGSM's step is eps: a unit slip (0.08 meant on a 0-1 scale) is flagged.
      const w = await robustc([
        "rho",
        MLP,
        "--data",
        "mnist:test",
        "--index",
        "3",
        "--eps",
        "0.08",
        "--algorithm",
        "fgsm",
        "--json",
      ]);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stderr, /warning: --eps 0\.08 is less than one grey level.*--eps 20\.4/);
    });
  });

  describe("the layout", () => {
    it("refuses channels-last items for a channels-first model with the fix; --layout nhwc transposes them", async () => {
      const model = join(dir, "conv.onnx");
      refusedOneLine(await robustc(["predict", model, "--data", join(dir, "hwc.npy")]), /channels last.*--layout nhwc/);
      const t = await robustc(["predict", model, "--data", join(dir, "hwc.npy"), "--layout", "nhwc", "--json"]);
      const c = await robustc(["predict", model, "--data", join(dir, "chw.npy"), "--json"]);
      assert.equal(t.code, 0, t.stderr);
      const logits = (s: string) =>
        s
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l).logits as number[]);
      assert.equal(logits(t.stdout).length, 12);
      assert.deepEqual(logits(t.stdout), logits(c.stdout));
      refusedOneLine(
        await robustc(["predict", model, "--data", join(dir, "chw.npy"), "--layout", "nhwc"]),
        /--layout nhwc: items .* not \[H,W,C\]/,
      );
      const flat = new OnnxBuilder(13).input("x", [1, 4]);
      flat.initializer({ name: "W", dims: [4, 2], data: [1, -1, 0.5, 2, -1, 1, 0, 1] });
      writeFileSync(join(dir, "flat.onnx"), flat.node("MatMul", ["x", "W"], ["y"]).output("y", [1, 2]).toBytes());
      writeFileSync(join(dir, "flat.npy"), encodeNpy([3, 4], "uint8", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
      assert.equal(
        (await robustc(["predict", join(dir, "flat.onnx"), "--data", join(dir, "flat.npy"), "--json"])).code,
        0,
      );
      refusedOneLine(
        await robustc(["predict", join(dir, "flat.onnx"), "--data", join(dir, "flat.npy"), "--layout", "nhwc"]),
        /no channel dimension/,
      );
      // One channel: the two layouts are the same order in memory, so --layout nhwc changes nothing.
      const one = await robustc(["predict", MLP, "--data", "mnist:test", "--limit", "5", "--layout", "nhwc", "--json"]);
      assert.deepEqual(
        one.stdout,
        (await robustc(["predict", MLP, "--data", "mnist:test", "--limit", "5", "--json"])).stdout,
      );
    });
    it("writes its examples back in the data's layout: adversarial.npy and rho --examples of channels-last data are channels-last", async () => {
      const model = join(dir, "conv.onnx");
      const [h, c] = [join(dir, "out-hwc"), join(dir, "out-chw")];
      const mh = await robustc([
        "measure",
        model,
        "--data",
        join(dir, "hwc.npy"),
        "--layout",
        "nhwc",
        "--limit",
        "4",
        "--algorithm",
        "pgd",
        "--eps",
        "60",
        "--out",
        h,
      ]);
      const mc = await robustc([
        "measure",
        model,
        "--data",
        join(dir, "chw.npy"),
        "--limit",
        "4",
        "--algorithm",
        "pgd",
        "--eps",
        "60",
        "--out",
        c,
      ]);
      assert.equal(mh.code, 0, mh.stderr);
      const [ah, ac] = [h, c].map((d) =>
        unwrap(decodeNpy(readFileSync(join(d, "adversarial.npy")), "adversarial.npy")),
      );
      assert.ok(ac.shape[0] > 0, "no example to compare");
      assert.deepEqual(ah.shape, [ac.shape[0], 6, 6, 3]);
      assert.deepEqual(ac.shape, [ac.shape[0], 3, 6, 6]);
      // The same examples (the same algorithm on the same images), each in its data's order.
      for (let k = 0; k < ac.shape[0]; k++)
        for (let ch = 0; ch < 3; ch++)
          for (let y = 0; y < 6; y++)
            for (let x = 0; x < 6; x++) {
              assert.equal(
                ah.data[k * 108 + (y * 6 + x) * 3 + ch],
                ac.data[k * 108 + (ch * 6 + y) * 6 + x],
                `example ${k} at c${ch} y${y} x${x}`,
              );
            }
      const r = await robustc([
        "rho",
        model,
        "--data",
        join(dir, "hwc.npy"),
        "--layout",
        "nhwc",
        "--index",
        "0",
        "--algorithm",
        "pgd",
        "--json",
        "--examples",
      ]);
      const rec = JSON.parse(r.stdout.trim());
      if (rec.example) assert.deepEqual(rec.example.shape, [6, 6, 3]);
    });

    it("reads flat items of a multi-channel model channels-first and says so", () => {
      const flat = unwrap(makeDataset("flat.npy", [108], new Float64Array(108 * 2), null));
      const r = unwrap(arrangeLayout(flat, [1, 3, 6, 6], undefined, "m.onnx"));
      assert.match(r.note ?? "", /read channels-first as \[3,6,6\]/);
    });
  });

  describe("normalisation outside the model (--mean/--std)", () => {
    it("per channel: the model of normalised inputs measured with --mean/--std = the plain model, in IR and onnxruntime", async () => {
      const mean = [0.2, 0.5, 0.7],
        std = [0.25, 0.3, 0.4];
      writeFileSync(join(dir, "conv-norm.onnx"), convModel({ mul: std, add: mean }));
      const plain = unwrap(openSession(join(dir, "conv.onnx"), { data: join(dir, "chw.npy") }));
      const norm = unwrap(openSession(join(dir, "conv-norm.onnx"), { data: join(dir, "chw.npy"), mean, std }));
      assert.ok(norm.notes.some((n) => /first layer/.test(n)));
      for (const ev of ["onnxruntime", "reference"] as const) {
        const [a, b] = [await openEvaluator(plain, ev), await openEvaluator(norm, ev)];
        const xs = Array.from({ length: 12 }, (_, i) => modelInput(plain, i));
        const [ya, yb] = [await a.logits(xs), await b.logits(xs)];
        for (let i = 0; i < 12; i++)
          for (let k = 0; k < 5; k++)
            assert.ok(
              Math.abs(ya[i][k] - yb[i][k]) <= 1e-4 * (1 + Math.abs(ya[i][k])),
              `${ev} point ${i} logit ${k}: ${ya[i][k]} vs ${yb[i][k]}`,
            );
        await a.dispose();
        await b.dispose();
      }
    });
    it("rho of mnist_mlp behind a normalisation equals rho of mnist_mlp, in pixels", async () => {
      const model = join(dir, "mlp-norm.onnx");
      const n = await robustc([
        "rho",
        model,
        "--data",
        "mnist:test",
        "--index",
        "3",
        "--mode",
        "restrict",
        "--json",
        "--mean",
        "0.1307",
        "--std",
        "0.3081",
      ]);
      const p = await robustc(["rho", MLP, "--data", "mnist:test", "--index", "3", "--mode", "restrict", "--json"]);
      assert.equal(n.code, 0, n.stderr);
      const [rn, rp] = [JSON.parse(n.stdout.trim()), JSON.parse(p.stdout.trim())];
      assert.equal(rn.predicted, rp.predicted);
      assert.ok(Math.abs(rn.rho - rp.rho) <= 1e-3, `normalised ${rn.rho} vs plain ${rp.rho} pixels`);
      const without = await robustc(["predict", model, "--data", "mnist:test", "--limit", "40", "--summary"]);
      const withNorm = await robustc([
        "predict",
        model,
        "--data",
        "mnist:test",
        "--limit",
        "40",
        "--summary",
        "--mean",
        "0.1307",
        "--std",
        "0.3081",
      ]);
      const acc = (s: string) => Number(/accuracy ([\d.]+)%/.exec(s)?.[1]);
      assert.ok(acc(withNorm.stdout) > acc(without.stdout), `${withNorm.stdout} vs ${without.stdout}`);
    });
    it("refuses a wrong count, 0-255 values and a missing half", async () => {
      refusedOneLine(
        await robustc(["predict", MLP, "--data", "mnist:test", "--mean", "0.4,0.4,0.4", "--std", "0.2"]),
        /--mean has 3 values.*1 channel/,
      );
      refusedOneLine(
        await robustc(["predict", MLP, "--data", "mnist:test", "--mean", "33.3", "--std", "78.5"]),
        /divide them by 255/,
      );
      refusedOneLine(await robustc(["predict", MLP, "--data", "mnist:test", "--mean", "0.13"]), /--std is missing/);
      refusedOneLine(
        await robustc(["predict", MLP, "--data", "mnist:test", "--mean", "0.1,x", "--std", "0.3"]),
        /--mean must be a number/,
      );
      const r = normalisation([0.1, 0.2, 0.3], [0.5], [1, 3, 2, 2]);
      assert.ok(r.ok && r.value);
      assert.deepEqual(Array.from(r.value.mean), [0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3]);
    });
  });
});
