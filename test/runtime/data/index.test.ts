// Tests loadDataset: dispatch on the spec (mnist:, .npy, IDX, CIFAR-10), labels files and their count check,
// item shapes per rank, and bad input (NaN, empty, missing, unknown) as one-line error values.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Result } from "../../../compiler/diagnostics.js";
import { writeCifar } from "../../../runtime/data/cifar.js";
import { writeIdx } from "../../../runtime/data/idx.js";
import { type Dataset, item, loadDataset } from "../../../runtime/data/index.js";
import { writeNpy } from "../../../runtime/data/npy.js";

function expectError(r: Result<Dataset>, code: string, ...patterns: RegExp[]): string {
  assert.ok(!r.ok, `expected ${code}, got a dataset`);
  assert.equal(r.diagnostics.length, 1);
  const { code: got, message } = r.diagnostics[0];
  assert.equal(got, code, message);
  assert.doesNotMatch(message, /\n/);
  for (const p of patterns) assert.match(message, p);
  return message;
}

function expectOk(r: Result<Dataset>): Dataset {
  if (!r.ok) assert.fail(r.diagnostics.map((d) => `${d.code}: ${d.message}`).join("; "));
  return r.value;
}

const seq = (n: number, f: (i: number) => number = (i) => i % 256) => Array.from({ length: n }, (_, i) => f(i));

describe("runtime/data/index loadDataset", () => {
  let dir: string;
  const p = (name: string) => join(dir, name);
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-data-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loads mnist:test and rejects unknown splits", () => {
    const ds = expectOk(loadDataset("mnist:test"));
    assert.equal(ds.source, "mnist:test");
    assert.deepEqual(ds.itemShape, [1, 28, 28]);
    assert.equal(item(ds, 1).length, 784);
    assert.equal(ds.labels![1], 1);
    expectError(loadDataset("mnist:xyz"), "data/unknown-split", /mnist:xyz/, /mnist:test, mnist:train/);
  });

  it("maps .npy ranks to item shapes: N×D -> [D], N×H×W -> [1,H,W], N×C×H×W -> [C,H,W]", () => {
    writeNpy(p("flat.npy"), [3, 784], "uint8", seq(3 * 784));
    writeNpy(
      p("hw.npy"),
      [2, 28, 28],
      "float32",
      seq(2 * 784, (i) => i / 7),
    );
    writeNpy(
      p("chw.npy"),
      [2, 3, 4, 5],
      "float64",
      seq(120, (i) => -i / 3),
    );
    const flat = expectOk(loadDataset(p("flat.npy")));
    assert.deepEqual([flat.count, flat.itemShape, flat.labels], [3, [784], null]);
    assert.equal(flat.source, p("flat.npy"));
    const hw = expectOk(loadDataset(p("hw.npy")));
    assert.deepEqual([hw.count, hw.itemShape], [2, [1, 28, 28]]);
    assert.equal(hw.pixels[8], Math.fround(8 / 7)); // float files keep their stored values
    const chw = expectOk(loadDataset(p("chw.npy")));
    assert.deepEqual([chw.count, chw.itemShape], [2, [3, 4, 5]]);
    assert.deepEqual(item(chw, 1), Float64Array.from(seq(60, (i) => -(i + 60) / 3)));
    writeNpy(p("r1.npy"), [5], "uint8", seq(5));
    writeNpy(p("r5.npy"), [1, 1, 1, 1, 1], "uint8", [0]);
    expectError(loadDataset(p("r1.npy")), "data/bad-shape", /r1\.npy/, /\(5\)/);
    expectError(loadDataset(p("r5.npy")), "data/bad-shape", /r5\.npy/);
  });

  it("attaches .npy labels of any integer dtype and checks their count", () => {
    writeNpy(p("x.npy"), [4, 2, 2], "uint8", seq(16));
    for (const dtype of ["int64", "int32", "uint8"] as const) {
      writeNpy(p(`y_${dtype}.npy`), [4], dtype, [3, 1, 4, 1]);
      const ds = expectOk(loadDataset(p("x.npy"), { labels: p(`y_${dtype}.npy`) }));
      assert.deepEqual(ds.labels, Int32Array.from([3, 1, 4, 1]));
    }
    writeNpy(p("y5.npy"), [5], "int64", [0, 1, 2, 3, 4]);
    expectError(loadDataset(p("x.npy"), { labels: p("y5.npy") }), "data/label-count", /4 items/, /5 labels/, /y5\.npy/);
    writeNpy(p("yf.npy"), [4], "float32", [0, 1, 2, 3]);
    expectError(loadDataset(p("x.npy"), { labels: p("yf.npy") }), "data/bad-labels", /integer dtype/);
    writeNpy(p("yneg.npy"), [4], "int64", [0, -1, 2, 3]);
    expectError(loadDataset(p("x.npy"), { labels: p("yneg.npy") }), "data/bad-labels", /label 1 is -1/);
    expectError(loadDataset(p("x.npy"), { labels: p("nolabels.npy") }), "data/missing-file", /nolabels\.npy/);
    expectError(loadDataset(p("x.npy"), { labels: p("labels.csv") }), "data/missing-file", /labels\.csv/);
    writeFileSync(p("labels.csv"), "1,2,3,4\n");
    // A .csv of labels has one column (or one named 'label'): one row of four values is not a labels file.
    expectError(
      loadDataset(p("x.npy"), { labels: p("labels.csv") }),
      "data/bad-labels",
      /labels\.csv: 4 columns and none named 'label'/,
    );
    writeFileSync(p("labels.txt"), "1\n2\n3\n4\n");
    expectError(loadDataset(p("x.npy"), { labels: p("labels.txt") }), "data/unknown-format", /labels\.txt/);
  });

  it("rejects NaN and Inf, naming the file and the first bad index", () => {
    const data = seq(2 * 784, (i) => i / 1000);
    data[784 + 5] = NaN;
    data[784 + 9] = Infinity;
    writeNpy(p("nan.npy"), [2, 784], "float32", data);
    expectError(loadDataset(p("nan.npy")), "data/non-finite", /nan\.npy/, /flat index 789 \(item 1, element 5\)/);
    writeNpy(p("inf.npy"), [1, 1, 2, 2], "float64", [0, 1, -Infinity, 3]);
    expectError(loadDataset(p("inf.npy")), "data/non-finite", /inf\.npy/, /-Infinity at flat index 2/);
  });

  it("rejects empty datasets, empty files and non-image dtypes", () => {
    writeNpy(p("none.npy"), [0, 784], "float32", []);
    expectError(loadDataset(p("none.npy")), "data/empty", /none\.npy/, /no items/);
    writeNpy(p("zero.npy"), [3, 0], "float32", []);
    expectError(loadDataset(p("zero.npy")), "data/empty", /zero\.npy/);
    writeFileSync(p("blank.npy"), "");
    expectError(loadDataset(p("blank.npy")), "data/bad-npy", /blank\.npy/);
    writeIdx(p("e-images-idx3-ubyte"), [0, 28, 28], []);
    expectError(loadDataset(p("e-images-idx3-ubyte")), "data/empty", /e-images-idx3-ubyte/);
    writeNpy(p("ints.npy"), [2, 3], "int64", seq(6));
    expectError(loadDataset(p("ints.npy")), "data/bad-dtype", /ints\.npy/, /int64/);
  });

  it("reports missing files and unknown formats, naming the file", () => {
    expectError(loadDataset(p("missing.npy")), "data/missing-file", /missing\.npy/);
    expectError(loadDataset(p("gone-images-idx3-ubyte.gz")), "data/missing-file", /gone-images/);
    expectError(loadDataset(p("data_batch_7.bin")), "data/missing-file", /data_batch_7\.bin/);
    expectError(loadDataset(p("what.png")), "data/missing-file", /what\.png/);
    writeFileSync(p("what.png"), "x");
    expectError(loadDataset(p("what.png")), "data/unknown-format", /what\.png/, /\.npy/);
    writeFileSync(p("other.bin"), new Uint8Array(3073));
    expectError(loadDataset(p("other.bin")), "data/unknown-format", /cifar:/);
    expectError(loadDataset(dir), "data/unknown-format", new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    writeIdx(p("only-labels-idx1-ubyte"), [2], [1, 2]);
    expectError(loadDataset(p("only-labels-idx1-ubyte")), "data/unknown-format", /labels file/);
  });

  it("loads IDX images with auto-paired, explicit or no labels", () => {
    const pixels = seq(3 * 4 * 5);
    writeIdx(p("digits-images-idx3-ubyte.gz"), [3, 4, 5], pixels);
    writeIdx(p("digits-labels-idx1-ubyte.gz"), [3], [7, 8, 9]);
    const auto = expectOk(loadDataset(p("digits-images-idx3-ubyte.gz")));
    assert.deepEqual([auto.count, auto.itemShape], [3, [1, 4, 5]]);
    assert.deepEqual(auto.pixels, Float64Array.from(pixels));
    assert.deepEqual(auto.labels, Int32Array.from([7, 8, 9]));
    writeIdx(p("mine.idx1-ubyte"), [3], [1, 2, 3]);
    const explicit = expectOk(loadDataset(p("digits-images-idx3-ubyte.gz"), { labels: p("mine.idx1-ubyte") }));
    assert.deepEqual(explicit.labels, Int32Array.from([1, 2, 3]));
    writeNpy(p("mine.npy"), [3], "int64", [0, 0, 1]);
    assert.deepEqual(
      expectOk(loadDataset(p("digits-images-idx3-ubyte.gz"), { labels: p("mine.npy") })).labels,
      Int32Array.from([0, 0, 1]),
    );
    writeIdx(p("lone.idx3-ubyte"), [2, 2, 2], seq(8));
    assert.equal(expectOk(loadDataset(p("lone.idx3-ubyte"))).labels, null);
    writeIdx(p("long.idx1-ubyte"), [3], [1, 2, 3]);
    expectError(
      loadDataset(p("lone.idx3-ubyte"), { labels: p("long.idx1-ubyte") }),
      "data/label-count",
      /2 items/,
      /3 labels/,
      /long\.idx1-ubyte/,
    );
  });

  it("loads CIFAR-10 batches by name or with the cifar: prefix, and refuses extra labels for them", () => {
    writeCifar(p("test_batch.bin"), [4, 2], seq(2 * 3072));
    writeCifar(
      p("renamed.bin"),
      [5],
      seq(3072, (i) => 255 - (i % 256)),
    );
    const byName = expectOk(loadDataset(p("test_batch.bin")));
    assert.deepEqual([byName.count, byName.itemShape, Array.from(byName.labels!)], [2, [3, 32, 32], [4, 2]]);
    const byPrefix = expectOk(loadDataset(`cifar:${p("renamed.bin")}`));
    assert.equal(byPrefix.source, `cifar:${p("renamed.bin")}`);
    assert.deepEqual(Array.from(byPrefix.labels!), [5]);
    assert.equal(byPrefix.pixels[0], 255);
    expectError(loadDataset("cifar:"), "data/unknown-format", /cifar:/);
    writeNpy(p("yc.npy"), [2], "int64", [0, 1]);
    expectError(loadDataset(p("test_batch.bin"), { labels: p("yc.npy") }), "data/labels-conflict", /test_batch\.bin/);
    expectError(loadDataset("mnist:test", { labels: p("yc.npy") }), "data/labels-conflict", /mnist:test/);
  });
});
