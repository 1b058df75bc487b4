// robustc certify as a user runs it (bin/robustc.js, built by `make build`): mnist_mlp on 5 mnist:test points, report
// counts, the last stdout line, every falsified point's example re-checked within eps; a missing or negative --eps is
// one line, exit 2.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { unwrap } from "../../../compiler/index.js";
import { OnnxRuntimeEvaluator } from "../../../runtime/evaluator/onnxruntime.js";
import { modelInput, openSession } from "../../../runtime/run/session.js";
import { lines, robustc } from "../../helpers/cli.js";

const MODEL = "examples/models/mnist_mlp.onnx";

const argmax = (y: ArrayLike<number>) => Array.from(y).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);

interface Point {
  index: number;
  status: string;
  predicted: number;
  lower: number | null;
  upper: number | null;
  example?: string;
}

describe("robustc certify", function () {
  this.timeout(120_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-certify-"));
    await promisify(execFile)("make", ["-s", "build"]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** One run: exit 0, counts summing to 5 and matching points.jsonl, the last line; the points back. */
  async function certify(eps: number): Promise<{ counts: Record<string, number>; points: Point[] }> {
    const out = join(dir, `eps${eps}`);
    const r = await robustc([
      "certify",
      MODEL,
      "--data",
      "mnist:test",
      "--eps",
      String(eps),
      "--limit",
      "5",
      "--out",
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(lines(r.stdout).at(-1)!.startsWith(`verified robust accuracy at eps ${eps}`), lines(r.stdout).at(-1));
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
      counts: Record<string, number>;
      n: number;
    };
    const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
    assert.equal(total, 5, JSON.stringify(report.counts));
    const points = lines(readFileSync(join(out, "points.jsonl"), "utf8")).map((l) => JSON.parse(l) as Point);
    assert.deepEqual(points.map((p) => p.index).sort(), [0, 1, 2, 3, 4]);
    for (const [status, n] of Object.entries(report.counts))
      assert.equal(points.filter((p) => p.status === status).length, n, `${status} in points.jsonl`);
    for (const p of points) {
      if (p.status === "verified")
        assert.ok(p.lower !== null && p.lower >= eps - 1e-9, `point ${p.index}: verified with lower ${p.lower}`);
      if (p.status === "falsified")
        assert.ok(p.upper !== null && p.upper <= eps, `point ${p.index}: falsified with upper ${p.upper} > ${eps}`);
    }
    return { counts: report.counts, points };
  }

  it("--eps 2 --limit 5: exit 0, counts sum to 5, the last line, falsified points within eps (all 5 verified today)", async () => {
    const { counts } = await certify(2);
    assert.equal(counts.verified, 5, JSON.stringify(counts));
  });

  it("--eps 20 --limit 5: some points falsified, each example re-checked: another label in onnxruntime at distance upper ≤ 20 pixels", async () => {
    const { counts, points } = await certify(20);
    assert.ok((counts.falsified ?? 0) > 0, JSON.stringify(counts));
    const session = unwrap(openSession(MODEL, { data: "mnist:test", pixelScale: 255 }));
    const ev = await OnnxRuntimeEvaluator.create(MODEL, session.network, { provider: "cpu" });
    try {
      for (const p of points.filter((q) => q.status === "falsified")) {
        assert.ok(p.example, `point ${p.index}: falsified without an example`);
        const b = Buffer.from(p.example, "base64");
        const x = Float64Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
        const xStar = modelInput(session, p.index);
        let d = 0;
        x.forEach((v, i) => {
          d = Math.max(d, Math.abs(v - xStar[i]));
          assert.ok(v >= 0 && v <= 1, `point ${p.index}: pixel ${i} = ${v} outside [0, 1]`);
        });
        assert.ok(
          Math.abs(d * 255 - p.upper!) <= 1e-6 * (1 + p.upper!),
          `point ${p.index}: example at ${d * 255} pixels, upper ${p.upper}`,
        );
        const [y] = await ev.logits([x]);
        assert.notEqual(
          argmax(y),
          p.predicted,
          `point ${p.index}: the example keeps the predicted label ${p.predicted}`,
        );
      }
    } finally {
      await ev.dispose();
    }
  });

  for (const [name, eps] of [
    ["missing", []],
    ["negative", ["--eps", "-1"]],
  ] as const) {
    it(`--eps ${name}: one line on stderr, exit 2, no --out directory`, async () => {
      const out = join(dir, `bad-${name}`);
      const r = await robustc(["certify", MODEL, "--data", "mnist:test", ...eps, "--limit", "5", "--out", out]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(r.stderr, /--eps/);
      assert.equal(existsSync(out), false);
    });
  }
});
