// What every --mode's report carries (issue 15, items 10-11): the bracket in points.csv and on the terminal for
// the modes beside the default, and a cdf.svg whose x axis reaches every finite value, titled by the model's
// file name, with whole-number counts and every legend label whole.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bandPoints, cdfSvg } from "../../../runtime/report/plot.js";
import { wilson } from "../../../runtime/run/measure.js";
import { robustcOk } from "../../helpers/cli.js";

const M = "examples/models/mnist_mlp.onnx";
/** The numbers an SVG prints as text (tick labels and titles). */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].trim());

describe("report files of every mode (issue 15, items 10-11)", function () {
  this.timeout(240_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-files-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // (walk is the quickest mode beside the bracket; bounds and exact write the same columns through the same code.)
  for (const mode of ["walk"]) {
    it(`--mode ${mode}: points.csv and the terminal carry lower, upper and the gap; cdf.svg reaches every finite value`, async () => {
      const out = join(dir, mode);
      // eps 1: most uppers lie far beyond 2·eps, where the old axis ended.
      const { stdout } = await robustcOk([
        "measure",
        M,
        "--data",
        "mnist:test",
        "--limit",
        "3",
        "--mode",
        mode,
        "--eps",
        "1",
        // Bounded by counts, not by this limit (never reached). With 20 s, a loaded machine could run out the
        // restricted LP's half of it, and the walk, which starts from that LP's optimum, then gives no upper.
        "--time-limit",
        "600",
        "--out",
        out,
      ]);
      assert.match(stdout, /phi\(1\) in \[phi_lower, phi_upper\]/);
      assert.match(stdout, /median bracket width \(upper - lower\)/);
      const [head, ...rows] = readFileSync(join(out, "points.csv"), "utf8").trim().split("\n");
      const cols = head.split(",");
      for (const c of ["lower", "upper", "gap", "rho_hat"]) assert.ok(cols.includes(c), `points.csv columns: ${head}`);
      const points = readFileSync(join(out, "points.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      assert.equal(rows.length, points.length);
      rows.forEach((row, k) => {
        const cell = row.split(",")[cols.indexOf("upper")];
        assert.equal(cell === "" ? null : Number(cell), points[k].upper, `row ${k}: ${row}`);
      });
      const svg = readFileSync(join(out, "cdf.svg"), "utf8");
      assert.match(svg, /mnist_mlp\.onnx on mnist:test/);
      assert.doesNotMatch(svg, /examples\/models|\/tmp\//);
      const finite = points
        .flatMap((p) => [p.upper, p.lower, p.rho_hat])
        .filter((v) => typeof v === "number" && Number.isFinite(v));
      const top = Math.max(...finite);
      const ticks = texts(svg)
        .map(Number)
        .filter((v) => Number.isFinite(v));
      assert.ok(top > 2 && Math.max(...ticks) >= top / 2, `largest tick ${Math.max(...ticks)} for values up to ${top}`);
    });
  }

  it("rho's terminal table has a header naming the bracket's columns and units", async () => {
    const { stdout } = await robustcOk([
      "rho",
      M,
      "--data",
      "mnist:test",
      "--index",
      "0",
      "--mode",
      "walk",
      "--time-limit",
      "20",
    ]);
    const [head, line] = stdout.trim().split("\n");
    assert.match(head, /index\s+label\s+predicted\s+status\s+lower\s+upper\s+label\s+rho_hat\s+seconds\s+\(pixels;/);
    assert.equal(line.trim().split(/\s+/)[0], "0");
  });

  it("the bracket's band counts upper and lower at every value of either", () => {
    // upper (checked examples) at 1 and 3; lower (certified) at 0.5 and 2: the band runs from count(upper <= x) to
    // count(lower <= x).
    assert.deepEqual(
      bandPoints({ name: "b", upper: [3, 1, Infinity], lower: [2, 0.5, 0] }, 4).map((p) => [p.eps, p.count, p.count2]),
      [
        [0, 0, 1],
        [0.5, 0, 2],
        [1, 1, 2],
        [2, 1, 3],
        [3, 2, 3],
        [4, 2, 3],
      ],
    );
  });

  it("Wilson intervals: 0 of n has the closed form [0, z²/(n + z²)]; k = n mirrors it; they contain k/n", () => {
    const z2 = 1.959964 ** 2;
    const [lo, hi] = wilson(0, 98)!;
    assert.equal(lo, 0);
    assert.ok(Math.abs(hi - z2 / (98 + z2)) < 1e-12, `${hi}`);
    const [lo2, hi2] = wilson(98, 98)!;
    assert.ok(Math.abs(lo2 - 98 / (98 + z2)) < 1e-12 && Math.abs(hi2 - 1) < 1e-12, `[${lo2}, ${hi2}]`);
    for (const [k, n] of [
      [17, 98],
      [1, 3],
      [50, 100],
    ]) {
      const [a, b] = wilson(k, n)!;
      assert.ok(a < k / n && k / n < b, `${k}/${n}: [${a}, ${b}]`);
    }
    assert.equal(wilson(0, 0), null);
  });

  it("cdf.svg's legend shows every label whole (issue 22, item 5)", async () => {
    // The bracket's three names (runtime/report/write.ts): vega's default labelLimit cut two of them to
    // "upper (checked exa…" and "rho_hat (paper's L…".
    const names = ["upper (checked example)", "rho_hat (paper's LP; exact up to eps)", "lower (certified)"];
    const svg = await cdfSvg(
      names.map((name, k) => ({ name, rhos: [k + 1, 10 + k, 30] })),
      { title: "t", xMax: 40, eps: 20, legend: "estimate" },
    );
    const shown = texts(svg).map((t) => t.replace(/&#x27;|&apos;/g, "'"));
    for (const name of names) assert.ok(shown.includes(name), `"${name}" not whole among: ${shown.join(" | ")}`);
    assert.deepEqual(
      shown.filter((t) => t.includes("…")),
      [],
      "no text cut with an ellipsis",
    );
  });

  it("cdf.svg counts in whole numbers", async () => {
    const svg = await cdfSvg([{ name: "a", rhos: [10, 30] }], { title: "t", xMax: 40, eps: 20 });
    const labels = texts(svg).filter((t) => /^-?[\d.]+$/.test(t));
    assert.ok(labels.length > 3, labels.join(" "));
    assert.deepEqual(
      labels.filter((t) => t.includes(".")),
      [],
      `fractional tick labels: ${labels.join(" ")}`,
    );
  });
});
