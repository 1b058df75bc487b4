// The estimators against a hand computation; points.jsonl read back (a cut last line dropped) and report.json
// built from a run (its mode and phi interval with --mode); the report files of a real (small) measurement:
// report.json, points.jsonl and points.csv agree; cdf.svg is well-formed; --jobs 2 gives the --jobs 1 points.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { XMLValidator } from "fast-xml-parser";
import { decodeNpy } from "../../runtime/data/npy.js";
import { estimate } from "../../runtime/run/measure.js";
import { cdfPoints } from "../../runtime/report/plot.js";
import { measureReport } from "../../runtime/report/json.js";
import { DEFAULT_LAZY } from "../../runtime/lazy/lazy-loop.js";
import { appendPoints, pointRecord, readPoints } from "../../runtime/run/points-file.js";
import type { RunIdentity } from "../../runtime/run/out-dir.js";
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

const point = (index: number, status: PointResult["status"], rho: number | null, extra: Partial<PointResult> = {}): PointResult => ({
  index, label: 1, predicted: status === "misclassified" ? 2 : 1, target: 2, rho, status, lpObjective: null, checkMargin: null, alpha: 0,
  iterations: 1, rows: 0, rowsAdded: 0, primalInfeasibility: null, solverSeconds: 0, seconds: 0.5, ...extra,
});

describe("runtime/run/points-file", () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), "robustc-points-")); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back what the appender wrote, examples included; a last line cut by a kill is dropped (and cut off with truncate)", () => {
    const path = join(dir, "points.jsonl");
    const file = appendPoints(path);
    const ex = Float32Array.from([0.25, 0.5]);
    file.append(point(3, "adversarial", 12.5, { example: ex }));
    file.append(point(4, "no-adversarial-in-region", Infinity, { mode: "walk", lower: null, upper: Infinity, gap: null, optimal: null }));
    file.close();
    const whole = readFileSync(path, "utf8");
    appendFileSync(path, '{"index":5,"sta');
    const r = readPoints(path);
    assert.ok(r.ok);
    assert.deepEqual(r.value.map((p) => [p.index, p.status, p.rho]), [[3, "adversarial", 12.5], [4, "no-adversarial-in-region", Infinity]]);
    assert.deepEqual(Array.from(r.value[0].example!), [0.25, 0.5]);
    assert.equal(r.value[1].upper, Infinity);
    assert.equal(readFileSync(path, "utf8").length, whole.length + 15, "no truncate: the file is left as it is");
    assert.ok(readPoints(path, true).ok);
    assert.equal(readFileSync(path, "utf8"), whole);
    const none = readPoints(join(dir, "absent.jsonl"));
    assert.ok(none.ok && none.value.length === 0);
  });

  it("a complete line that is no point record is one diagnostic naming the file and line", () => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, JSON.stringify(pointRecord(point(0, "adversarial", 3))) + "\nnot json\n");
    const r = readPoints(path);
    assert.ok(!r.ok);
    assert.match(r.diagnostics[0].message, /bad\.jsonl:2: not a point record$/);
  });
});

describe("runtime/report/json: measureReport", () => {
  const identity = (mode?: RunIdentity["mode"]): RunIdentity => ({
    model: "m.onnx", data: "mnist:test", labels: null, pixel_scale: 255, eps: 20, algorithm: "lp", points: 4, first: 0, lazy: DEFAULT_LAZY, ...(mode ? { mode } : {}),
  });
  const points = [
    point(0, "adversarial", 5, { lower: 4 }), point(1, "adversarial", 30, { lower: 25 }),
    point(2, "no-adversarial-in-region", Infinity, { lower: null }), point(3, "misclassified", null),
  ];

  it("with --mode: the mode and phi's interval (surely within / possibly within eps, misclassified excluded)", () => {
    const r = measureReport({ identity: identity("bounds"), points, jobs: 1, totalSeconds: 2, settings: { resumed_points: 0 } });
    assert.equal(r.json.mode, "bounds");
    assert.deepEqual(r.json.frequency_interval, [1 / 3, 2 / 3]);
    assert.equal(r.json.frequency, 1 / 3);
    assert.deepEqual(r.json.settings, { pixel_scale: 255, target: "second", jobs: 1, add: DEFAULT_LAZY.add, time_limit: DEFAULT_LAZY.timeLimit, tolerance: DEFAULT_LAZY.tolerance, resumed_points: 0 });
  });

  it("without a mode: neither", () => {
    const r = measureReport({ identity: identity(), points, jobs: 1, totalSeconds: 2, settings: {} });
    assert.equal(r.interval, null);
    assert.ok(!("mode" in r.json) && !("frequency_interval" in r.json));
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
