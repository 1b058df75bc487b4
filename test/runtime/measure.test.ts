// The estimators against a hand computation, and the report files of a real (small) measurement:
// report.json, points.jsonl and points.csv agree; cdf.svg is well-formed with one step per finite rho;
// --jobs 2 gives the same points as --jobs 1.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { XMLValidator } from "fast-xml-parser";
import { decodeNpy } from "../../runtime/data/npy.js";
import { estimate } from "../../runtime/run/measure.js";
import { cdfPoints } from "../../runtime/report/plot.js";
import { type PointResult } from "../../runtime/rho/types.js";

const pt = (status: PointResult["status"], rho: number | null) => ({ status, rho });

describe("runtime/measure: estimators", () => {
  it("phi_hat and mu_hat match a hand computation (misclassified excluded, timeout/error as rho = inf)", () => {
    const points = [
      pt("adversarial", 3), pt("adversarial", 19.5), pt("adversarial", 20), pt("adversarial", 25),
      pt("no-adversarial-in-region", Infinity), pt("misclassified", null), pt("timeout", null), pt("error", null),
    ];
    const e = estimate(points, 20);
    // X = 7 correctly classified points; rho <= 20 for 3, 19.5, 20.
    assert.equal(e.correct, 7);
    assert.equal(e.within, 3);
    assert.equal(e.frequency, 3 / 7);
    assert.equal(e.severity, (3 + 19.5 + 20) / 3);
    assert.deepEqual(e.counts, { adversarial: 4, "no-adversarial-in-region": 1, "not-found": 0, misclassified: 1, timeout: 1, error: 1 });
    const none = estimate([pt("no-adversarial-in-region", Infinity)], 20);
    assert.equal(none.frequency, 0);
    assert.equal(none.severity, null);
  });

  it("the cumulative curve has one step per finite rho up to its range", () => {
    assert.deepEqual(cdfPoints([5, Infinity, 2, 50, 2], 40), [
      { eps: 0, count: 0 }, { eps: 2, count: 1 }, { eps: 2, count: 2 }, { eps: 5, count: 3 }, { eps: 40, count: 3 },
    ]);
  });
});

describe("runtime/measure: robustc measure on mnist_mlp", function () {
  this.timeout(300_000);
  let dir: string;
  const run = (...args: string[]) => promisify(execFile)("node", ["bin/robustc.js", ...args], { maxBuffer: 1 << 26 });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-measure-"));
    await run("measure", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--limit", "16", "--out", join(dir, "one"));
    await run("measure", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--limit", "16", "--jobs", "2", "--out", join(dir, "two"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const read = (sub: string, f: string) => readFileSync(join(dir, sub, f), "utf8");
  const jsonl = (sub: string) => read(sub, "points.jsonl").trim().split("\n").map((l) => JSON.parse(l));

  it("report.json, points.jsonl and points.csv agree", () => {
    const report = JSON.parse(read("one", "report.json"));
    const points = jsonl("one").sort((a, b) => a.index - b.index);
    assert.equal(report.n, 16);
    assert.equal(points.length, 16);
    const e = estimate(points.map((p) => ({ status: p.status, rho: p.rho })), 20);
    assert.equal(report.frequency, e.frequency);
    assert.equal(report.severity, e.severity);
    assert.deepEqual(report.counts, e.counts);
    const csv = read("one", "points.csv").trim().split("\n");
    const head = csv[0].split(",");
    assert.equal(csv.length, 17);
    csv.slice(1).forEach((line, i) => {
      const cells = line.split(",");
      assert.equal(Number(cells[head.indexOf("index")]), points[i].index);
      assert.equal(cells[head.indexOf("status")], points[i].status);
      assert.equal(cells[head.indexOf("rho")] === "" ? null : Number(cells[head.indexOf("rho")]), points[i].rho);
    });
  });

  it("writes every checked adversarial example, its index and target as .npy", () => {
    const points = jsonl("one").filter((p) => p.status === "adversarial").sort((a, b) => a.index - b.index);
    const ex = decodeNpy(readFileSync(join(dir, "one", "adversarial.npy")), "adversarial.npy");
    const idx = decodeNpy(readFileSync(join(dir, "one", "adversarial_index.npy")), "adversarial_index.npy");
    assert.ok(ex.ok && idx.ok);
    assert.deepEqual(ex.value.shape, [points.length, 1, 28, 28]);
    assert.deepEqual(Array.from(idx.value.data), points.map((p) => p.index));
    for (const v of ex.value.data) assert.ok(v >= 0 && v <= 255);
  });

  it("cdf.svg is well-formed SVG with axes titles and a legend", () => {
    const svg = read("one", "cdf.svg");
    assert.equal(XMLValidator.validate(svg), true);
    assert.match(svg, /^<svg /);
    assert.match(svg, /number of points with rho_hat ≤ eps/);
    assert.match(svg, /eps \(L∞ distance, pixels 0–255\)/);
    assert.match(svg, /algorithm/);
  });

  it("--jobs 2 gives the same points.jsonl as --jobs 1 (up to order and timing)", () => {
    const strip = (p: Record<string, unknown>) => JSON.stringify({ ...p, seconds: 0, solver_seconds: 0 });
    const a = jsonl("one").map(strip).sort(), b = jsonl("two").map(strip).sort();
    assert.deepEqual(a, b);
  });
});
