// Tests the CIFAR-10 binary batch reader/writer: round trips, the record layout, and sizes that are not a
// whole number of 3073-byte records as error values.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { decodeCifar, encodeCifar, isCifarPath, loadCifarDataset, writeCifar } from "../../../runtime/data/cifar.js";

describe("runtime/data/cifar", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-cifar-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips records through writeCifar / loadCifarDataset", () => {
    let n = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((count) =>
          fc.record({
            labels: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: count, maxLength: count }),
            pixels: fc.uint8Array({ minLength: count * 3072, maxLength: count * 3072 }),
          }),
        ),
        ({ labels, pixels }) => {
          const path = join(dir, `data_batch_${n++}.bin`);
          assert.ok(writeCifar(path, labels, pixels).ok);
          assert.equal(readFileSync(path).length, labels.length * 3073);
          const r = loadCifarDataset(path);
          assert.ok(r.ok, JSON.stringify(r));
          assert.equal(r.value.count, labels.length);
          assert.deepEqual(r.value.itemShape, [3, 32, 32]);
          assert.deepEqual(r.value.labels, Int32Array.from(labels));
          assert.deepEqual(r.value.pixels, Float64Array.from(pixels));
        },
      ),
      { numRuns: 20 },
    );
  });

  it("lays out a record as 1 label byte then 3072 channel-major pixel bytes", () => {
    const pixels = new Uint8Array(2 * 3072);
    pixels[0] = 11; // item 0, red (0,0)
    pixels[1024] = 22; // item 0, green (0,0)
    pixels[3072 + 2047] = 33; // item 1, green (31,31)
    const bytes = encodeCifar([6, 9], pixels);
    assert.deepEqual([bytes[0], bytes[1], bytes[1 + 1024], bytes[3073], bytes[3073 + 1 + 2047]], [6, 11, 22, 9, 33]);
  });

  it("recognizes batch file names", () => {
    assert.ok(isCifarPath("/d/cifar-10-batches-bin/data_batch_1.bin"));
    assert.ok(isCifarPath("test_batch.bin"));
    assert.ok(!isCifarPath("batches.meta.txt"));
    assert.ok(!isCifarPath("other.bin"));
  });

  it("returns errors for truncated files and bad labels", () => {
    const good = encodeCifar([1, 2], new Uint8Array(2 * 3072));
    let r = decodeCifar(good.subarray(0, good.length - 1), "t.bin");
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/bad-cifar");
    assert.match(r.diagnostics[0].message, /^t\.bin: size 6145 bytes is not a multiple of the 3073-byte/);
    const bad = Buffer.from(good);
    bad[3073] = 42;
    r = decodeCifar(bad, "b.bin");
    assert.ok(!r.ok);
    assert.match(r.diagnostics[0].message, /record 1 has label 42/);
    const path = join(dir, "test_batch.bin");
    writeFileSync(path, good.subarray(0, 5000));
    const l = loadCifarDataset(path);
    assert.ok(!l.ok);
    assert.match(l.diagnostics[0].message, /test_batch\.bin/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 7000 }), (b) => void decodeCifar(b, "r.bin")),
      { numRuns: 30 },
    );
  });

  it("rejects an empty batch", () => {
    const path = join(dir, "data_batch_9.bin");
    writeFileSync(path, new Uint8Array(0));
    const r = loadCifarDataset(path);
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/empty");
    assert.match(r.diagnostics[0].message, /data_batch_9\.bin/);
  });
});
