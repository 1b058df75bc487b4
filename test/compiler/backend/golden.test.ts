// Golden files: the paper's Figure 1 style network (2 inputs, 8 hidden ReLUs, 2 outputs; weights below)
// compiled at a fixed seed point into committed LP/MPS/IR baselines. A change in any output shows up as a
// diff; after review, `make baseline-accept` (UPDATE_BASELINES=1) promotes the new output.

import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { OnnxBuilder } from "../../../compiler/frontend/onnx/write.js";
import { writeCplexLp } from "../../../compiler/backend/cplex-lp.js";
import { writeMps } from "../../../compiler/backend/mps.js";
import { compileOptions } from "../../../compiler/passes/options.js";
import { compilePoint } from "../../../compiler/passes/pipeline.js";
import { printProblem } from "../../../grammar/constraint/print.js";

const W1 = [
  [1, -1],
  [-1, 1],
  [0.5, 0.5],
  [2, -0.5],
  [-0.25, 1.5],
  [1, 1],
  [-1, -1],
  [0.75, -2],
];
const B1 = [0, 0.1, -0.5, 0.25, -0.1, -1, 0.5, 0.2];
const W2 = [
  [1, -1, 0.5, 0.25, -0.5, 1, 0, -1],
  [-1, 1, -0.5, 0.5, 1, -0.25, 0.5, 1],
];
const B2 = [0.1, -0.1];

export function figure1Bytes(): Uint8Array {
  const b = new OnnxBuilder(13);
  b.input("x", [1, 2]);
  b.initializer({ name: "W1", dims: [8, 2], data: W1.flat() });
  b.initializer({ name: "B1", dims: [8], data: B1 });
  b.initializer({ name: "W2", dims: [2, 8], data: W2.flat() });
  b.initializer({ name: "B2", dims: [2], data: B2 });
  b.node("Gemm", ["x", "W1", "B1"], ["h"], { transB: 1 }, "fc1");
  b.node("Relu", ["h"], ["r"], {}, "relu1");
  b.node("Gemm", ["r", "W2", "B2"], ["y"], { transB: 1 }, "fc2");
  b.output("y", [1, 2]);
  return b.toBytes();
}

const update = process.env.UPDATE_BASELINES === "1";

function golden(name: string, text: string): void {
  const path = `test/golden/${name}`;
  if (update || !existsSync(path)) {
    if (!update) assert.fail(`${path} is missing: run make baseline-accept to create it`);
    writeFileSync(path, text);
    return;
  }
  assert.equal(text, readFileSync(path, "utf8"), `${path} differs: review the diff, then make baseline-accept`);
}

describe("golden: the Figure 1 network compiled at x* = (0.6, 0.3)", () => {
  const r = loadNetworkFromBytes(figure1Bytes(), "figure1.onnx");
  assert.ok(r.ok);
  const net = r.value.network;
  const xStar = Float64Array.from([0.6, 0.3].map(Math.fround));
  const compile = (form: "layered" | "reduced") => {
    const o = compileOptions({ form, pixelScale: 1, pixelMin: 0, pixelMax: 1 });
    assert.ok(o.ok);
    const c = compilePoint(net, xStar, o.value, {
      name: "figure1",
      header: (l, p) => [`figure 1 network; x* = (0.6, 0.3); predicted ${p}; target ${l}`],
    });
    return c.targets[0];
  };
  it("layered form as CPLEX LP", () => golden("figure1.layered.lp", writeCplexLp(compile("layered").lp)));
  it("reduced form as free MPS", () => golden("figure1.reduced.mps", writeMps(compile("reduced").lp)));
  it("reduced form as constraint IR text", () => {
    const t = compile("reduced");
    golden("figure1.reduced.ir", printProblem(t.problem, t.lp.comments));
  });
});
