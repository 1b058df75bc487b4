// Tests the bundled-MNIST loader: split sizes and membership follow the documented k % 5 == 4 rule,
// round-robin class order, integer pixels in 0..255, disjoint and deterministic splits.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { type Dataset, item } from "../../../runtime/data/dataset.js";
import { loadMnist } from "../../../runtime/data/mnist.js";

const CLASS_COUNTS = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978];
const testCount = (n: number) => Math.floor(n / 5); // k = 4, 9, 14, ... < n

function load(split: string): Dataset {
  const r = loadMnist(split);
  if (!r.ok) assert.fail(r.diagnostics[0].message);
  return r.value;
}

/** Class c's k-th image (file order) straight from the package JSON, through the same rounding. */
function raw(c: number, k: number): Float64Array {
  const { data } = createRequire(import.meta.url)(`mnist/src/digits/${c}.json`) as { data: number[] };
  return Float64Array.from(data.slice(k * 784, (k + 1) * 784), (v) => Math.round(v * 255));
}

const itemKey = (ds: Dataset, i: number) => createHash("sha1").update(item(ds, i)).digest("hex");

describe("runtime/data/mnist", () => {
  let test: Dataset;
  let train: Dataset;
  before(() => {
    test = load("test");
    train = load("train");
  });

  it("has split sizes that follow the rule and add up to 10,000", () => {
    const expectedTest = CLASS_COUNTS.reduce((a, n) => a + testCount(n), 0);
    assert.equal(test.count, expectedTest);
    assert.equal(train.count, 10000 - expectedTest);
    assert.equal(test.count + train.count, 10000);
    assert.equal(test.source, "mnist:test");
    assert.deepEqual(test.itemShape, [1, 28, 28]);
    assert.deepEqual(train.itemShape, [1, 28, 28]);
    assert.equal(test.pixels.length, test.count * 784);
  });

  it("has per-class counts that match the rule", () => {
    for (const [ds, per] of [
      [test, CLASS_COUNTS.map(testCount)],
      [train, CLASS_COUNTS.map((n) => n - testCount(n))],
    ] as const) {
      const counts = new Array<number>(10).fill(0);
      for (const l of ds.labels!) counts[l]++;
      assert.deepEqual(counts, per);
    }
  });

  it("orders points round-robin over classes", () => {
    assert.deepEqual(Array.from(test.labels!.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(
      Array.from(train.labels!.subarray(0, 20)),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    // Full expected label sequence from the per-class split sizes.
    for (const [ds, per] of [
      [test, CLASS_COUNTS.map(testCount)],
      [train, CLASS_COUNTS.map((n) => n - testCount(n))],
    ] as const) {
      const expected: number[] = [];
      for (let k = 0; k < Math.max(...per); k++) for (let c = 0; c < 10; c++) if (k < per[c]) expected.push(c);
      assert.deepEqual(Array.from(ds.labels!), expected);
    }
  });

  it("takes the k % 5 == 4 samples of each class, in file order, as test", () => {
    // The first test point of class 0 is its sample k=4; the first train point of class 0 is k=0.
    assert.deepEqual(item(test, 0), raw(0, 4));
    assert.deepEqual(item(test, 10), raw(0, 9));
    assert.deepEqual(item(test, 3), raw(3, 4));
    assert.deepEqual(item(train, 0), raw(0, 0));
    assert.deepEqual(item(train, 10), raw(0, 1));
    assert.deepEqual(item(train, 40), raw(0, 5));
  });

  it("has integer pixels in [0, 255]", () => {
    for (const ds of [test, train]) {
      let max = 0;
      for (const v of ds.pixels) {
        assert.ok(Number.isInteger(v) && v >= 0 && v <= 255, `pixel ${v}`);
        if (v > max) max = v;
      }
      assert.equal(max, 255);
    }
  });

  it("keeps test and train disjoint", () => {
    const trainKeys = new Set<string>();
    for (let i = 0; i < train.count; i++) trainKeys.add(itemKey(train, i));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (trainKeys.has(itemKey(test, i))) shared++;
    assert.equal(shared, 0, `${shared} test images also appear in train`);
  });

  it("matches checksums computed independently in Python with the same rule", () => {
    // sha1 of the uint8 pixels of each split in order (Python: round(v*255), k % 5 == 4, round-robin).
    const sha = (ds: Dataset) => createHash("sha1").update(Uint8Array.from(ds.pixels)).digest("hex");
    assert.equal(sha(test), "113ad5b756ed50ccc47b04005881a4e6236caa9a");
    assert.equal(sha(train), "0fa82ac9cd6934ef0129a918d709ca728ae14434");
  });

  it("is deterministic", () => {
    const again = load("test");
    assert.deepEqual(again.pixels, test.pixels);
    assert.deepEqual(again.labels, test.labels);
    assert.notEqual(again.pixels, test.pixels); // a fresh array each call
  });

  it("rejects an unknown split, naming the valid ones", () => {
    const r = loadMnist("validation");
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/unknown-split");
    assert.match(r.diagnostics[0].message, /mnist:test/);
    assert.match(r.diagnostics[0].message, /mnist:train/);
  });
});
