// Numerical robustness: a badly scaled network computing the same function (first layer ×s, second layer
// ×1/s, s = 1e4 and 1e-4: ReLU is positively homogeneous) still gives checked examples with the same rho_hat,
// or a clear status; and a time limit too short for any LP gives `timeout` points without stopping the run.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeModel, onnx, tensorFromProto } from "../../compiler/frontend/onnx/load.js";
import { tensorProto } from "../../compiler/frontend/onnx/write.js";
import { robustcOk } from "../helpers/cli.js";

function scaled(s: number): Uint8Array {
  const m = decodeModel(readFileSync("examples/models/mnist_mlp.onnx"), "mnist_mlp.onnx");
  assert.ok(m.ok);
  const g = m.value.graph!;
  const factor: Record<string, number> = { "net.1.weight": s, "net.1.bias": s, "net.3.weight": 1 / s };
  g.initializer = g.initializer!.map((t) => {
    const f = factor[t.name ?? ""];
    if (f === undefined) return t;
    const v = tensorFromProto(t, "test");
    assert.ok(v.ok);
    return tensorProto({ name: t.name!, dims: v.value.shape, data: v.value.data.map((x) => x * f) });
  });
  return onnx.ModelProto.encode(m.value).finish();
}

const jsonl = (out: string) =>
  out
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("reliability: numerics and solver limits", function () {
  this.timeout(600_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-numerics-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const s of [1e4, 1e-4]) {
    it(`weights scaled by ${s} and ${1 / s}: the same rho_hat or a clear status, every example checked`, async () => {
      const path = join(dir, `mlp_${s}.onnx`);
      writeFileSync(path, scaled(s));
      const base = jsonl(
        (
          await robustcOk([
            "rho",
            "examples/models/mnist_mlp.onnx",
            "--data",
            "mnist:test",
            "--limit",
            "8",
            "--mode",
            "restrict",
            "--json",
          ])
        ).stdout,
      );
      const got = jsonl(
        (await robustcOk(["rho", path, "--data", "mnist:test", "--limit", "8", "--mode", "restrict", "--json"])).stdout,
      );
      let same = 0;
      got.forEach((p, i) => {
        assert.ok(
          ["adversarial", "no-adversarial-in-region", "misclassified", "timeout", "error"].includes(p.status),
          p.status,
        );
        if (p.status === "error" || p.status === "timeout")
          assert.ok(typeof p.message === "string" && p.message.length > 0);
        if (p.status === "adversarial") {
          assert.ok(p.check_margin >= 0, `point ${i}: unchecked example`);
          assert.equal(typeof p.primal_infeasibility, "number");
          if (base[i].status === "adversarial" && Math.abs(p.rho - base[i].rho) <= 1e-3 * base[i].rho) same++;
        }
      });
      assert.ok(same >= 6, `only ${same} of 8 points kept their rho_hat`);
    });
  }

  it("a time limit too short for any LP: every point `timeout` with the reason, the run completes and counts them", async () => {
    const out = join(dir, "short");
    const { stdout } = await robustcOk([
      "measure",
      "examples/models/mnist_mlp.onnx",
      "--data",
      "mnist:test",
      "--limit",
      "4",
      "--time-limit",
      "0.000001",
      "--mode",
      "restrict",
      "--out",
      out,
    ]);
    assert.match(stdout, /timeout +[1-4]/);
    const report = JSON.parse(readFileSync(join(out, "report.json"), "utf8"));
    assert.equal(report.counts.timeout + report.counts.misclassified, 4);
    for (const p of jsonl(readFileSync(join(out, "points.jsonl"), "utf8")))
      if (p.status === "timeout") assert.match(p.message, /time limit/);
  });
});
