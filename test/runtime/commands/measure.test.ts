// The estimators against a hand computation; points.jsonl read back (a cut last line dropped) and report.json
// built from a run (its mode and phi interval with --mode); the report files of a real (small) measurement:
// report.json, points.jsonl and points.csv agree; cdf.svg is well-formed; --jobs 2 gives the --jobs 1 points.

import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { decodeNpy } from "../../../runtime/data/npy.js";
import { bracketEstimate, estimate } from "../../../runtime/run/measure.js";
import { cdfPoints } from "../../../runtime/report/plot.js";
import { formatMeasureReport, measureReport } from "../../../runtime/report/json.js";
import { DEFAULT_LAZY } from "../../../runtime/lazy/lazy-loop.js";
import { appendPoints, pointFromRecord, pointRecord, readPoints } from "../../../runtime/run/points-file.js";
import type { RunIdentity } from "../../../runtime/run/out-dir.js";
import { isBracket, type PointResult } from "../../../runtime/rho/result.js";
import { robustcOk } from "../../helpers/cli.js";
import { makePoint, type PointFields } from "../../helpers/points.js";

const pt = (status: PointResult["status"], rho: number | null) => ({ status, rho });

describe("runtime/measure: estimators", () => {
  it("phi_hat and mu_hat match a hand computation (misclassified excluded, timeout/error as rho = inf)", () => {
    const points = [
      pt("adversarial", 3),
      pt("adversarial", 19.5),
      pt("adversarial", 20),
      pt("adversarial", 25),
      pt("no-adversarial-in-region", Infinity),
      pt("misclassified", null),
      pt("timeout", null),
      pt("error", null),
    ];
    const e = estimate(points, 20);
    // X = 7 correctly classified points; rho <= 20 for 3, 19.5, 20.
    assert.equal(e.correct, 7);
    assert.equal(e.within, 3);
    assert.equal(e.frequency, 3 / 7);
    assert.equal(e.severity, (3 + 19.5 + 20) / 3);
    assert.deepEqual(e.counts, {
      adversarial: 4,
      "no-adversarial-in-region": 1,
      "not-found": 0,
      misclassified: 1,
      timeout: 1,
      error: 1,
    });
    const none = estimate([pt("no-adversarial-in-region", Infinity)], 20);
    assert.equal(none.frequency, 0);
    assert.equal(none.severity, null);
  });

  it("the cumulative curve has one step per finite rho up to its range", () => {
    assert.deepEqual(cdfPoints([5, Infinity, 2, 50, 2], 40), [
      { eps: 0, count: 0 },
      { eps: 2, count: 1 },
      { eps: 2, count: 2 },
      { eps: 5, count: 3 },
      { eps: 40, count: 3 },
    ]);
  });
});

const point = (
  index: number,
  status: PointResult["status"],
  rho: number | null,
  extra: PointFields = {},
): PointResult =>
  makePoint({
    index,
    label: 1,
    predicted: status === "misclassified" ? 2 : 1,
    target: 2,
    rho,
    status,
    iterations: 1,
    seconds: 0.5,
    ...extra,
  });

describe("runtime/run/points-file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-points-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads back what the appender wrote, examples included; a last line cut by a kill is dropped (and cut off with truncate)", () => {
    const path = join(dir, "points.jsonl");
    const file = appendPoints(path);
    const ex = Float32Array.from([0.25, 0.5]);
    file.append(point(3, "adversarial", 12.5, { example: ex }));
    file.append(
      point(4, "not-found", null, {
        mode: "walk",
        lower: 0,
        upper: null,
        gap: null,
        optimal: null,
        rhoHat: Infinity,
        rhoHatAbove: null,
        stages: { restrict: 0.25 },
      }),
    );
    file.close();
    const whole = readFileSync(path, "utf8");
    appendFileSync(path, '{"index":5,"sta');
    const r = readPoints(path);
    assert.ok(r.ok);
    assert.deepEqual(
      r.value.map((p) => [p.index, p.status, p.rho]),
      [
        [3, "adversarial", 12.5],
        [4, "not-found", null],
      ],
    );
    assert.deepEqual(Array.from(r.value[0].example!), [0.25, 0.5]);
    const b = r.value[1];
    assert.ok(isBracket(b));
    assert.deepEqual(
      [b.mode, b.lower, b.upper, b.rhoHat, b.rhoHatAbove, b.stages],
      ["walk", 0, null, Infinity, null, { restrict: 0.25 }],
    );
    assert.equal("stages" in r.value[0], false, "no stages on a restrict record");
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
    model: "m.onnx",
    data: "mnist:test",
    labels: null,
    pixel_scale: 255,
    eps: 20,
    algorithm: "lp",
    points: 4,
    first: 0,
    lazy: DEFAULT_LAZY,
    ...(mode ? { mode } : {}),
  });
  // A bracket run: 4 correctly classified points and a misclassified one. Within eps by upper: 0 and 3;
  // not certified beyond eps (lower <= 20 or none): 0, 1, 3, 4. rho_hat <= 20: point 0 (5.5) only (point 1's is
  // beyond its ball of radius 25, point 3's LP failed: null).
  const points = [
    point(0, "bracketed", 5, {
      mode: "bracket",
      lower: 4,
      upper: 5,
      rhoHat: 5.5,
      rhoHatAbove: null,
      stages: { attack: 1, lower: 3 },
    }),
    point(1, "bracketed", 30, {
      mode: "bracket",
      lower: 18,
      upper: 30,
      rhoHat: null,
      rhoHatAbove: 30,
      stages: { attack: 2, lower: 1 },
    }),
    point(2, "exact", null, { mode: "bracket", lower: Infinity, upper: null, rhoHat: Infinity, rhoHatAbove: null }),
    point(3, "exact", 12, { mode: "bracket", lower: 12, upper: 12, rhoHat: null, rhoHatAbove: null }),
    point(4, "not-found", null, { mode: "bracket", lower: 19, upper: null, rhoHat: null, rhoHatAbove: 20 }),
    point(5, "misclassified", null, { mode: "bracket", lower: null, upper: null }),
  ];

  it("a bracket run: phi's interval, the paper's phi_hat/mu_hat from rho_hat, mu from upper, counts per status", () => {
    const r = measureReport({
      identity: identity("bracket"),
      points,
      jobs: 1,
      totalSeconds: 2,
      settings: { resumed_points: 0 },
    });
    assert.equal(r.json.mode, "bracket");
    assert.deepEqual(r.json.frequency_interval, [2 / 5, 4 / 5]);
    assert.deepEqual(r.json.frequency_counts, { surely_within: 2, possibly_within: 4, correct: 5 });
    assert.equal(r.json.frequency, 1 / 5);
    assert.equal(r.json.severity, 5.5);
    assert.equal(r.json.severity_upper, (5 + 12) / 2);
    assert.deepEqual(r.json.counts, { exact: 2, bracketed: 2, "not-found": 1, misclassified: 1, error: 0 });
    assert.equal(r.json.median_bracket_width, 1, "widths 0 (point 3), 1, 12 (point 1): median 1");
    assert.deepEqual(r.json.median_stage_seconds, { attack: 2, lower: 3 });
    assert.deepEqual(r.json.settings, {
      pixel_scale: 255,
      target: "any label but l* (upper); the second most probable (rho_hat)",
      jobs: 1,
      add: DEFAULT_LAZY.add,
      time_limit: DEFAULT_LAZY.timeLimit,
      tolerance: DEFAULT_LAZY.tolerance,
      // The identity has no --tolerance (as a run.json written before it): its points were decided by the 1e-3 px.
      exact_tolerance: 0,
      resumed_points: 0,
    });
    const table = formatMeasureReport(r);
    assert.match(table, /^ {2}exact\s+2 \(upper - lower <= 0\.001 pixels\)$/m);
    assert.match(table, /phi\(20\) in \[phi_lower, phi_upper\]\s+\[40\.00%, 80\.00%\]/);
    assert.match(table, /paper's phi_hat\(20\) from rho_hat\s+20\.00% \(1\/5\)/);
    assert.match(table, /lower <= rho <= upper/);
  });

  it("a bracket run where no region holds an example (LeNet: every rho_hat beyond its ball) has phi_hat 0; a certify run has none", () => {
    const lenet = [0, 1, 2].map((i) =>
      point(i, "bracketed", 10 + i, { lower: 1, upper: 10 + i, rhoHat: null, rhoHatAbove: 20 + i, mode: "bracket" }),
    );
    const b = measureReport({ identity: identity("bracket"), points: lenet, jobs: 1, totalSeconds: 1, settings: {} });
    assert.equal(b.json.frequency, 0);
    assert.match(formatMeasureReport(b), /paper's phi_hat\(20\) from rho_hat\s+0\.00% \(0\/3\)/);
    const cert = [
      point(0, "verified", null, { mode: "certify", rhoHat: null, rhoHatAbove: null, lower: 20, upper: 31 }),
      point(1, "falsified", 3, { mode: "certify", rhoHat: null, rhoHatAbove: null, lower: 0, upper: 3 }),
      point(2, "unknown", null, { mode: "certify", rhoHat: null, rhoHatAbove: null, lower: 2, upper: 25 }),
    ];
    const c = measureReport({ identity: identity("certify"), points: cert, jobs: 1, totalSeconds: 1, settings: {} });
    assert.equal(c.json.frequency, null);
    assert.deepEqual(c.json.frequency_interval, [1 / 3, 2 / 3], "verified (lower = eps) is not possibly within eps");
    assert.deepEqual(c.json.counts, { verified: 1, falsified: 1, unknown: 1, misclassified: 0, error: 0 });
    assert.match(
      formatMeasureReport(c),
      /paper's phi_hat\(20\) from rho_hat\s+n\/a \(this mode does not solve the paper's LP\)/,
    );
  });

  it("--mode restrict: the paper's estimators alone, no bracket", () => {
    const plain = [
      point(0, "adversarial", 5),
      point(1, "no-adversarial-in-region", Infinity),
      point(2, "misclassified", null),
    ];
    const r = measureReport({ identity: identity(), points: plain, jobs: 1, totalSeconds: 2, settings: {} });
    assert.equal(r.bracket, null);
    assert.equal(r.json.frequency, 1 / 2);
    assert.ok(!("mode" in r.json) && !("frequency_interval" in r.json));
  });
});

describe("runtime/measure: robustc measure on mnist_mlp", function () {
  this.timeout(300_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-measure-"));
    await robustcOk([
      "measure",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "16",
      "--out",
      join(dir, "one"),
    ]);
    await robustcOk([
      "measure",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "16",
      "--jobs",
      "2",
      "--out",
      join(dir, "two"),
    ]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const read = (sub: string, f: string) => readFileSync(join(dir, sub, f), "utf8");
  const jsonl = (sub: string) =>
    read(sub, "points.jsonl")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));

  it("report.json, points.jsonl and points.csv carry the bracket and agree", () => {
    const report = JSON.parse(read("one", "report.json"));
    const points = jsonl("one").sort((a, b) => a.index - b.index);
    assert.equal(report.n, 16);
    assert.equal(report.mode, "bracket");
    assert.equal(points.length, 16);
    const e = bracketEstimate(points.map((p) => pointFromRecord(p)).filter(isBracket), 20);
    assert.deepEqual(report.frequency_interval, [e.phiLower, e.phiUpper]);
    assert.equal(report.frequency, e.phiHat);
    assert.equal(report.severity, e.muHat);
    assert.equal(report.severity_upper, e.mu);
    assert.deepEqual(report.counts, e.counts);
    for (const p of points) {
      if (p.status === "misclassified") continue;
      assert.ok(typeof p.lower === "number" && p.lower >= 0, `point ${p.index}: a certified lower bound`);
      if (p.upper !== null) assert.ok(p.lower <= p.upper, `point ${p.index}: lower ${p.lower} <= upper ${p.upper}`);
      if (typeof p.rho_hat === "number" && p.upper !== null)
        assert.ok(p.upper <= p.rho_hat + 1e-9, `point ${p.index}: upper <= rho_hat`);
      assert.ok(
        p.rho_hat !== null || p.rho_hat_above !== null || /restricted LP/.test(p.message ?? ""),
        `point ${p.index}: rho_hat, "> R", or the LP's failure`,
      );
    }
    const csv = read("one", "points.csv").trim().split("\n");
    const head = csv[0].split(",");
    assert.equal(csv.length, 17);
    const num = (c: string) => (c === "" ? null : c === "inf" ? "inf" : Number(c));
    csv.slice(1).forEach((line, i) => {
      const cells = line.split(",");
      for (const k of ["index", "lower", "upper", "rho_hat", "rho_hat_above", "upper_label"])
        assert.equal(num(cells[head.indexOf(k)]), points[i][k], `${k} of point ${i}`);
      assert.equal(cells[head.indexOf("status")], points[i].status);
      assert.equal(num(cells[head.indexOf("attack_seconds")]), points[i].stages?.attack ?? null);
    });
  });

  it("writes the example of every upper bound, its index and label as .npy", () => {
    const points = jsonl("one")
      .filter((p) => p.upper !== null)
      .sort((a, b) => a.index - b.index);
    const ex = decodeNpy(readFileSync(join(dir, "one", "adversarial.npy")), "adversarial.npy");
    const idx = decodeNpy(readFileSync(join(dir, "one", "adversarial_index.npy")), "adversarial_index.npy");
    const lab = decodeNpy(readFileSync(join(dir, "one", "adversarial_target.npy")), "adversarial_target.npy");
    assert.ok(ex.ok && idx.ok && lab.ok);
    assert.deepEqual(ex.value.shape, [points.length, 1, 28, 28]);
    assert.deepEqual(
      Array.from(idx.value.data),
      points.map((p) => p.index),
    );
    assert.deepEqual(
      Array.from(lab.value.data),
      points.map((p) => p.upper_label),
    );
    for (const v of ex.value.data) assert.ok(v >= 0 && v <= 255);
  });

  it("cdf.svg is well-formed SVG with three curves, axes titles and the model's file name", () => {
    const svg = read("one", "cdf.svg");
    assert.equal(XMLValidator.validate(svg), true);
    assert.match(svg, /^<svg /);
    assert.match(svg, /number of points with value ≤ eps/);
    assert.match(svg, /eps \(L∞ distance, pixels \(0-255 scale\)\)/);
    for (const s of [
      "upper \\(checked example\\)",
      "rho_hat \\(paper's LP; exact up to eps\\)",
      "lower \\(certified\\)",
    ])
      assert.match(svg, new RegExp(s));
    assert.match(svg, /mnist_mlp\.onnx on /);
    assert.doesNotMatch(svg, /examples\/models/);
  });

  it("--jobs 2 gives the same points.jsonl as --jobs 1 (up to order and timing)", () => {
    const strip = (p: Record<string, unknown>) => JSON.stringify({ ...p, seconds: 0, solver_seconds: 0, stages: {} });
    const a = jsonl("one").map(strip).sort(),
      b = jsonl("two").map(strip).sort();
    assert.deepEqual(a, b);
  });
});
