// Tests the IDX reader/writer: round trips (plain and gzipped), labels auto-pairing beside the images file,
// and truncated or mistyped files as error values.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import {
  decodeIdx,
  encodeIdx,
  loadIdxDataset,
  pairedLabelsPath,
  readIdxLabels,
  writeIdx,
} from "../../../runtime/data/idx.js";

describe("runtime/data/idx", () => {
  let dir: string;
  let n = 0;
  const fresh = () => {
    const d = join(dir, `case${n++}`);
    mkdirSync(d);
    return d;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-idx-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const imagesArb = fc
    .record({
      count: fc.integer({ min: 1, max: 5 }),
      rows: fc.integer({ min: 1, max: 6 }),
      cols: fc.integer({ min: 1, max: 6 }),
    })
    .chain(({ count, rows, cols }) =>
      fc.record({
        shape: fc.constant([count, rows, cols]),
        pixels: fc.uint8Array({ minLength: count * rows * cols, maxLength: count * rows * cols }),
        labels: fc.uint8Array({ minLength: count, maxLength: count }),
        gz: fc.boolean(),
      }),
    );

  it("round-trips images and labels through writeIdx, plain and .gz, with auto-paired labels", () => {
    fc.assert(
      fc.property(imagesArb, ({ shape, pixels, labels, gz }) => {
        const d = fresh();
        const ext = gz ? ".gz" : "";
        const images = join(d, `train-images-idx3-ubyte${ext}`);
        assert.ok(writeIdx(images, shape, pixels).ok);
        assert.ok(writeIdx(join(d, `train-labels-idx1-ubyte${ext}`), [shape[0]], labels).ok);
        if (gz) assert.deepEqual([...readFileSync(images).subarray(0, 2)], [0x1f, 0x8b]);
        const r = loadIdxDataset(images);
        assert.ok(r.ok, JSON.stringify(r));
        assert.equal(r.value.count, shape[0]);
        assert.deepEqual(r.value.itemShape, [1, shape[1], shape[2]]);
        assert.deepEqual(r.value.pixels, Float64Array.from(pixels));
        assert.deepEqual(r.value.labels, Int32Array.from(labels));
      }),
      { numRuns: 40 },
    );
  });

  it("writes the MNIST header: magic 0x00000803 / 0x00000801 and big-endian dims", () => {
    const img = encodeIdx([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...img], [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
    const lab = encodeIdx([258], new Uint8Array(258));
    assert.deepEqual([...lab.subarray(0, 8)], [0, 0, 8, 1, 0, 0, 1, 2]);
  });

  it("pairs labels for both naming styles and compressions, and only when present", () => {
    const d = fresh();
    writeFileSync(join(d, "t10k-labels.idx1-ubyte"), encodeIdx([1], [3]));
    assert.equal(pairedLabelsPath(join(d, "t10k-images.idx3-ubyte")), join(d, "t10k-labels.idx1-ubyte"));
    assert.equal(pairedLabelsPath(join(d, "t10k-images.idx3-ubyte.gz")), join(d, "t10k-labels.idx1-ubyte"));
    assert.equal(pairedLabelsPath(join(d, "t10k-images-idx3-ubyte")), null);
    assert.equal(pairedLabelsPath(join(d, "digits.idx3-ubyte")), null);
    writeIdx(join(d, "x.idx3-ubyte"), [1, 2, 2], [0, 0, 0, 0]);
    const r = loadIdxDataset(join(d, "x.idx3-ubyte"));
    assert.ok(r.ok);
    assert.equal(r.value.labels, null);
  });

  it("reports a labels/images count mismatch of an auto-paired file, naming both counts", () => {
    const d = fresh();
    writeIdx(join(d, "a-images-idx3-ubyte"), [3, 1, 1], [1, 2, 3]);
    writeIdx(join(d, "a-labels-idx1-ubyte"), [2], [1, 2]);
    const r = loadIdxDataset(join(d, "a-images-idx3-ubyte"));
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/label-count");
    assert.match(r.diagnostics[0].message, /3 images.*2 labels/);
  });

  it("returns errors for truncated, oversized, mistyped and corrupt files", () => {
    const good = encodeIdx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
    const cases: [Uint8Array, 1 | 3, string, RegExp][] = [
      [good.subarray(0, good.length - 3), 3, "data/truncated", /expected 24 bytes, got 21/],
      [good.subarray(0, 10), 3, "data/truncated", /expected 16 bytes, file has 10/],
      [Buffer.concat([good, Buffer.from([0])]), 3, "data/truncated", /trailing bytes.*expected 24 bytes, got 25/],
      [good, 1, "data/bad-idx", /3 dimensions, expected 1/],
      [encodeIdx([2], [0, 1]), 3, "data/bad-idx", /1 dimensions, expected 3/],
      [Buffer.from([0, 0, 0x0d, 3, 0, 0, 0, 0]), 3, "data/bad-idx", /float32 is not supported/],
      [Buffer.from("GIF89a-not-idx"), 3, "data/bad-idx", /bad magic/],
      [new Uint8Array(0), 1, "data/bad-idx", /bad magic/],
    ];
    for (const [bytes, rank, code, re] of cases) {
      const r = decodeIdx(bytes, "f-idx", rank);
      assert.ok(!r.ok, `expected ${re}`);
      assert.equal(r.diagnostics[0].code, code, r.diagnostics[0].message);
      assert.match(r.diagnostics[0].message, /^f-idx: /);
      assert.match(r.diagnostics[0].message, re);
    }
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom<1 | 3>(1, 3),
        (b, rank) => void decodeIdx(b, "r", rank),
      ),
    );
  });

  it("reports truncated and corrupt gzip files naming the file", () => {
    const d = fresh();
    const path = join(d, "b-images-idx3-ubyte.gz");
    writeIdx(path, [4, 28, 28], new Uint8Array(4 * 784).fill(7));
    const gz = readFileSync(path);
    writeFileSync(path, gz.subarray(0, gz.length - 6));
    let r = loadIdxDataset(path);
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/bad-gzip");
    assert.match(r.diagnostics[0].message, /b-images-idx3-ubyte\.gz/);
    const raw = encodeIdx([4, 28, 28], new Uint8Array(4 * 784));
    writeFileSync(path, gzipSync(raw.subarray(0, 1000))); // valid gzip of a truncated IDX file
    r = loadIdxDataset(path);
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/truncated");
    assert.match(r.diagnostics[0].message, /expected 3152 bytes, got 1000/);
  });

  it("reads labels files and reports missing ones", () => {
    const d = fresh();
    writeIdx(join(d, "l-labels-idx1-ubyte.gz"), [3], [9, 0, 4]);
    const r = readIdxLabels(join(d, "l-labels-idx1-ubyte.gz"));
    assert.ok(r.ok);
    assert.deepEqual(r.value, Int32Array.from([9, 0, 4]));
    const m = readIdxLabels(join(d, "none-labels-idx1-ubyte"));
    assert.ok(!m.ok);
    assert.equal(m.diagnostics[0].code, "data/missing-file");
  });
});
