// .npz and .csv data: which arrays/columns become images and labels (and the notes that say so), the
// x_/y_ pairing, `FILE.npz:NAME`, labels from either format, and one-line errors naming file, row, column.
// Fixtures are written here (fflate's zipSync, stored and deflated), plus one archive made by np.savez_compressed.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { loadDataset, type Dataset } from "../../../runtime/data/index.js";
import { encodeNpy } from "../../../runtime/data/npy.js";
import type { Result } from "../../../compiler/index.js";
import { robustc } from "../../helpers/cli.js";

/**
 * np.savez_compressed('b.npz', x_test=np.arange(24, dtype=np.uint8).reshape(2, 3, 4), y_test=np.array([1, 0]),
 * other=np.zeros(3)), numpy 2.4.6 (zip64 local headers).
 */
const NUMPY_NPZ =
  "UEsDBC0AAAAIAAAAIQBErVeC//////////8KABQAeF90ZXN0Lm5weQEAEACYAAAAAAAAAGEAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgXlNqqK6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaRjoKxjoKJpo6CrUK5AEuBkYmZhZWNnYOTi5uHl4+fgFBIWERUTFxAFBLAwQtAAAACAAAACEAcfs5q///////////CgAUAHlfdGVzdC5ucHkBABAAkAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaGuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GkY6mjoKtQoUAC5GBlQAAFBLAwQtAAAACAAAACEALuP5vP//////////CQAUAG90aGVyLm5weQEAEACYAAAAAAAAAEcAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNmoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaxjqaOgq1ChQALgYcAABQSwECLQMtAAAACAAAACEARK1XgmEAAACYAAAACgAAAAAAAAAAAAAAgAEAAAAAeF90ZXN0Lm5weVBLAQItAy0AAAAIAAAAIQBx+zmrSAAAAJAAAAAKAAAAAAAAAAAAAACAAZ0AAAB5X3Rlc3QubnB5UEsBAi0DLQAAAAgAAAAhAC7j+bxHAAAAmAAAAAkAAAAAAAAAAAAAAIABIQEAAG90aGVyLm5weVBLBQYAAAAAAwADAKcAAACjAQAAAAA=";

const ok = (r: Result<Dataset>): Dataset => {
  assert.ok(r.ok, r.ok ? "" : r.diagnostics.map((d) => d.message).join("; "));
  return r.value;
};
const err = (r: Result<unknown>): string => {
  assert.ok(!r.ok, "expected an error");
  assert.equal(r.diagnostics.length, 1);
  assert.doesNotMatch(r.diagnostics[0].message, /\n/);
  return r.diagnostics[0].message;
};

const images = (n: number, seed: number): number[] => Array.from({ length: n * 12 }, (_, i) => (i * 7 + seed) % 256);

describe("runtime/data: .npz", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-npz-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const npz = (name: string, arrays: Record<string, Uint8Array>, level: 0 | 6 = 6): string => {
    const p = join(dir, name);
    writeFileSync(p, zipSync(arrays, { level }));
    return p;
  };

  it("takes x_test by convention and y_test beside it, and says so (deflated and stored archives)", () => {
    for (const level of [0, 6] as const) {
      const p = npz(
        `keras${level}.npz`,
        {
          "x_train.npy": encodeNpy([3, 3, 4], "uint8", images(3, 1)),
          "y_train.npy": encodeNpy([3], "uint8", [9, 9, 9]),
          "x_test.npy": encodeNpy([2, 3, 4], "uint8", images(2, 5)),
          "y_test.npy": encodeNpy([2], "int64", [4, 2]),
        },
        level,
      );
      const d = ok(loadDataset(p));
      assert.equal(d.count, 2);
      assert.deepEqual(d.itemShape, [1, 3, 4]);
      assert.deepEqual(Array.from(d.pixels), images(2, 5));
      assert.deepEqual(Array.from(d.labels!), [4, 2]);
      assert.deepEqual(d.notes, [`${p}: images from array 'x_test' (2, 3, 4) uint8, labels from array 'y_test'`]);
      // FILE.npz:NAME picks the other split, with its own labels.
      const t = ok(loadDataset(`${p}:x_train`));
      assert.deepEqual([t.count, Array.from(t.labels!)], [3, [9, 9, 9]]);
      assert.equal(t.source, `${p}:x_train`);
    }
  });

  it("x_train never takes y_test; images/x/X take y or labels; a single array needs no name", () => {
    const p = npz("split.npz", {
      "x_train.npy": encodeNpy([2, 12], "float32", images(2, 0)),
      "y_test.npy": encodeNpy([2], "int64", [1, 0]),
    });
    const d = ok(loadDataset(`${p}:x_train`));
    assert.equal(d.labels, null);
    assert.match(d.notes![0], /no labels array beside it \(looked for y_train; pass --labels .*split\.npz:NAME\)/);
    const q = npz("xy.npz", {
      "X.npy": encodeNpy([2, 12], "float64", images(2, 3)),
      "labels.npy": encodeNpy([2], "int32", [7, 3]),
    });
    assert.deepEqual(Array.from(ok(loadDataset(q)).labels!), [7, 3]);
    const one = npz("one.npz", { "digits.npy": encodeNpy([2, 2, 3, 2], "uint8", images(2, 9)) });
    const o = ok(loadDataset(one));
    assert.deepEqual([o.count, o.itemShape, o.labels], [2, [2, 3, 2], null]);
  });

  it("labels from --labels FILE.npz:NAME or FILE.npz (a conventional name), and from a .csv", () => {
    const x = npz("x.npz", { "imgs.npy": encodeNpy([2, 12], "uint8", images(2, 4)) });
    const y = npz("y.npz", {
      "y_test.npy": encodeNpy([2], "int64", [5, 6]),
      "scores.npy": encodeNpy([2], "float32", [0.5, 0.1]),
    });
    assert.deepEqual(Array.from(ok(loadDataset(x, { labels: `${y}:y_test` })).labels!), [5, 6]);
    assert.deepEqual(Array.from(ok(loadDataset(x, { labels: y })).labels!), [5, 6]);
    assert.match(
      err(loadDataset(x, { labels: `${y}:scores` })),
      /y\.npz:scores: labels must have an integer dtype, found float32/,
    );
    const csv = join(dir, "labels.csv");
    writeFileSync(csv, "id,label\n10,3\n11,8\n");
    assert.deepEqual(Array.from(ok(loadDataset(x, { labels: csv })).labels!), [3, 8]);
    // An explicit --labels wins over an array beside the images (the note says "labels from --labels").
    const both = npz("both.npz", {
      "x.npy": encodeNpy([2, 12], "uint8", images(2, 0)),
      "y.npy": encodeNpy([2], "int64", [1, 1]),
    });
    assert.deepEqual(Array.from(ok(loadDataset(both, { labels: `${y}:y_test` })).labels!), [5, 6]);
  });

  it("reads an archive written by np.savez_compressed", () => {
    const p = join(dir, "numpy.npz");
    writeFileSync(p, Buffer.from(NUMPY_NPZ, "base64"));
    const d = ok(loadDataset(p));
    assert.deepEqual(
      Array.from(d.pixels),
      Array.from({ length: 24 }, (_, i) => i),
    );
    assert.deepEqual(
      [d.itemShape, Array.from(d.labels!)],
      [
        [1, 3, 4],
        [1, 0],
      ],
    );
  });

  it("one line for: no conventional name, a missing array, labels of another length, not a zip, no .npy inside", () => {
    const odd = npz("odd.npz", {
      "digits.npy": encodeNpy([2, 12], "uint8", images(2, 0)),
      "targets.npy": encodeNpy([2], "int64", [0, 1]),
    });
    assert.match(
      err(loadDataset(odd)),
      /odd\.npz: which array holds the images\? It holds 'digits', 'targets' and none is named x_test, images, x, X: name one with --data .*odd\.npz:NAME$/,
    );
    assert.match(err(loadDataset(`${odd}:nope`)), /odd\.npz: no array 'nope' \(it holds 'digits', 'targets'\)$/);
    const short = npz("short.npz", {
      "x.npy": encodeNpy([3, 12], "uint8", images(3, 0)),
      "y.npy": encodeNpy([2], "int64", [0, 1]),
    });
    assert.match(
      err(loadDataset(short)),
      /short\.npz: array 'x' has 3 items but array 'y' beside it has 2 labels; name the labels with --labels/,
    );
    const fake = join(dir, "fake.npz");
    writeFileSync(fake, "not a zip at all\n");
    assert.match(err(loadDataset(fake)), /fake\.npz: not a \.npz archive \(zip: /);
    const txt = npz("txt.npz", { "readme.txt": new TextEncoder().encode("hi") });
    assert.match(err(loadDataset(txt)), /txt\.npz: the archive holds no \.npy arrays/);
    const corrupt = npz("corrupt.npz", { "x.npy": new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]) });
    assert.match(err(loadDataset(corrupt)), /corrupt\.npz:x: not a \.npy file/);
    assert.match(err(loadDataset(join(dir, "absent.npz"))), /no such file: .*absent\.npz/);
  });
});

describe("runtime/data: .csv", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-csv-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const csv = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  it("Kaggle's layout: a header, a label column (anywhere), rows as items", () => {
    const p = csv("train.csv", "label,pixel0,pixel1,pixel2\r\n1,0,255,3\r\n0,10,20,30\r\n");
    const d = ok(loadDataset(p));
    assert.deepEqual(
      [d.count, d.itemShape, Array.from(d.pixels), Array.from(d.labels!)],
      [2, [3], [0, 255, 3, 10, 20, 30], [1, 0]],
    );
    assert.deepEqual(d.notes, [`${p}: 2 rows of 3 values (after a header row); labels from column 'label'`]);
    const mid = ok(loadDataset(csv("mid.csv", '"a","Label","b"\n1.5,2,-3e1\n')));
    assert.deepEqual([Array.from(mid.pixels), Array.from(mid.labels!)], [[1.5, -30], [2]]);
  });

  it("no header: every column is a value, no labels (and --labels supplies them)", () => {
    const p = csv("test.csv", "1,2\n3,4\n5,6\n");
    const d = ok(loadDataset(p));
    assert.deepEqual([d.count, Array.from(d.pixels), d.labels], [3, [1, 2, 3, 4, 5, 6], null]);
    assert.match(d.notes![0], /3 rows of 2 values \(no header row\); no 'label' column/);
    const l = csv("l.csv", "2\n0\n1\n");
    assert.deepEqual(Array.from(ok(loadDataset(p, { labels: l })).labels!), [2, 0, 1]);
    assert.match(
      err(loadDataset(p, { labels: csv("l2.csv", "1,2\n3,4\n5,6\n") })),
      /l2\.csv: 2 columns and none named 'label'/,
    );
  });

  it("one line naming file, line and column for a non-numeric cell; ragged rows; bad labels", () => {
    assert.match(
      err(loadDataset(csv("bad.csv", "label,p0,p1\n1,2,3\n0,4,oops\n"))),
      /bad\.csv: line 3, column 3 \('p1'\): 'oops' is not a number$/,
    );
    assert.match(
      err(loadDataset(csv("empty-cell.csv", "1,2\n3,\n"))),
      /empty-cell\.csv: line 2, column 2: '' is not a number$/,
    );
    // A first row mixing numbers and text is data with a bad cell, not a header.
    assert.match(
      err(loadDataset(csv("mixed.csv", "1,x,3\n4,5,6\n"))),
      /mixed\.csv: line 1, column 2: 'x' is not a number$/,
    );
    assert.match(err(loadDataset(csv("nan.csv", "1,NaN\n"))), /nan\.csv: line 1, column 2: 'NaN' is not a number$/);
    assert.match(
      err(loadDataset(csv("ragged.csv", "1,2,3\n4,5\n"))),
      /ragged\.csv: line 2 has 2 columns, line 1 has 3$/,
    );
    assert.match(
      err(loadDataset(csv("gap.csv", "1,2\n\n3,4\n"))),
      /gap\.csv: line 2 has 1 column \(a blank line\), line 1 has 2$/,
    );
    assert.match(err(loadDataset(csv("neg.csv", "label,a\n-1,2\n"))), /neg\.csv \(column 'label'\): label 0 is -1/);
    assert.match(err(loadDataset(csv("hdr.csv", "label,a\n"))), /hdr\.csv: the dataset contains no items/);
  });
});

describe("runtime/data: .npz and .csv through the CLI", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-npzcli-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("predict on mnist:test items as .npy, .npz and .csv gives the same predictions", async () => {
    const d = ok(loadDataset("mnist:test"));
    const n = 6,
      px = Array.from(d.pixels.subarray(0, n * 784)),
      lab = Array.from(d.labels!.subarray(0, n));
    const npy = join(dir, "x.npy"),
      npz = join(dir, "m.npz"),
      csvPath = join(dir, "m.csv"),
      ynpy = join(dir, "y.npy");
    writeFileSync(npy, encodeNpy([n, 28, 28], "uint8", px));
    writeFileSync(ynpy, encodeNpy([n], "int64", lab));
    writeFileSync(
      npz,
      zipSync({ "x_test.npy": encodeNpy([n, 28, 28], "uint8", px), "y_test.npy": encodeNpy([n], "int64", lab) }),
    );
    const rows = [["label", ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(",")];
    for (let i = 0; i < n; i++) rows.push([lab[i], ...px.slice(i * 784, (i + 1) * 784)].join(","));
    writeFileSync(csvPath, `${rows.join("\n")}\n`);
    const preds = async (...data: string[]) => {
      const r = await robustc(["predict", "examples/models/mnist_mlp.onnx", "--data", ...data, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .split("\n")
        .filter((l) => l)
        .map((l) => {
          const o = JSON.parse(l);
          return [o.label, o.predicted];
        });
    };
    const want = await preds(npy, "--labels", ynpy);
    assert.equal(want.length, n);
    assert.deepEqual(
      want.map((p) => p[0]),
      lab,
    );
    assert.deepEqual(await preds(npz), want);
    assert.deepEqual(await preds(csvPath), want);
  });

  it("a non-numeric CSV cell: exit 2, one line, no stack trace", async () => {
    const p = join(dir, "bad.csv");
    writeFileSync(
      p,
      `label,${Array.from({ length: 784 }, (_, i) => `p${i}`).join(",")}\n1,${Array.from({ length: 784 }, (_, i) => (i === 5 ? "n/a" : "0")).join(",")}\n`,
    );
    const r = await robustc(["predict", "examples/models/mnist_mlp.onnx", "--data", p]);
    assert.equal(r.code, 2, r.stderr);
    assert.deepEqual(
      r.stderr.split("\n").filter((l) => l),
      [`robustc: ${p}: line 2, column 7 ('p5'): 'n/a' is not a number`],
    );
  });
});
