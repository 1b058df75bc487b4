// A final Softmax/LogSoftmax is left out of the Network IR (same argmax): the IR and onnxruntime then both see
// the logits before it, `inspect` says so; a Softmax elsewhere, or over other than the classes, stays refused.
// `inspect` of a model with unsupported ops prints the layer table with those nodes marked.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../../../compiler/frontend/onnx/lower.js";
import { onnx } from "../../../../compiler/frontend/onnx/load.js";
import { OnnxBuilder } from "../../../../compiler/frontend/onnx/write.js";
import { OnnxRuntimeEvaluator } from "../../../../runtime/evaluator/onnxruntime.js";
import { referenceLogits } from "../../../../runtime/evaluator/reference.js";
import { strictWinner } from "../../../../runtime/point/check.js";
import { convArb, mlpArb, randomInputs, type RandomNet } from "../../../helpers/arbitraries.js";
import { robustc } from "../../../helpers/cli.js";

/** The model with `op` appended to its graph output, which becomes the op's result "probs". */
function withHead(bytes: Uint8Array, op: string, axis?: number): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const out = g.output![0];
  const attribute =
    axis === undefined
      ? []
      : [new onnx.AttributeProto({ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: axis })];
  g.node!.push(new onnx.NodeProto({ opType: op, input: [out.name!], output: ["probs"], name: "head", attribute }));
  g.output = [new onnx.ValueInfoProto({ name: "probs", type: out.type })];
  return onnx.ModelProto.encode(m).finish();
}

const messages = (r: ReturnType<typeof loadNetworkFromBytes>): string[] =>
  r.ok ? [] : r.diagnostics.map((d) => d.message);

/** x -> Gemm(4->3) -> [Softmax mid] -> Gemm(3->3): opset 13, fixed batch. */
function twoLayer(midSoftmax: boolean): Uint8Array {
  const b = new OnnxBuilder(13).input("x", [1, 4]);
  b.initializer({ name: "W1", dims: [3, 4], data: [1, -2, 0.5, 3, -1, 1, 2, 0, 0.25, 0.5, -1, 1] });
  b.initializer({ name: "W2", dims: [3, 3], data: [1, 0, 2, -1, 1, 0, 0.5, 0.5, 1] });
  b.node("Gemm", ["x", "W1"], ["h"], { transB: 1 }, "fc1");
  if (midSoftmax) b.node("Softmax", ["h"], ["p"], {}, "mid");
  b.node("Gemm", [midSoftmax ? "p" : "h", "W2"], ["y"], { transB: 1 }, "fc2");
  return b.output("y", [1, 3]).toBytes();
}

describe("frontend: a final Softmax/LogSoftmax is left out", function () {
  this.timeout(120_000);

  // Random MLPs and conv nets (opsets 11, 13, 17; fixed and symbolic batch) with Softmax or LogSoftmax appended.
  const cases = fc.sample(fc.tuple(fc.oneof(mlpArb, convArb), fc.constantFrom("Softmax", "LogSoftmax"), fc.integer()), {
    numRuns: 12,
    seed: 1515,
  });
  for (const [k, [net, op, seed]] of cases.entries()) {
    it(`#${k} ${op} on ${net.description.slice(0, 60)}: IR and onnxruntime agree on the logits before it`, async () => {
      await agreeOnLogits(net, op, seed);
    });
  }

  it("inspect (CLI) prints the note; the output is the logits; exit 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "robustc-softmax-"));
    try {
      const p = join(dir, "sm.onnx");
      writeFileSync(p, withHead(twoLayer(false), "Softmax"));
      const r = await robustc(["inspect", p]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^note {8}final Softmax removed: robustness is measured on the logits before it \(same argmax\)$/m,
      );
      assert.match(r.stdout, /^output {6}y \[1,3\]$/m);
      assert.match(r.stderr, /^robustc: warning: final Softmax node 'head' removed: .*logits 'y'/);
      const j = JSON.parse((await robustc(["inspect", p, "--json"])).stdout);
      assert.deepEqual(j.removedSoftmax, { op: "Softmax", node: "head", output: "probs" });
      // Without a head there is no note.
      writeFileSync(p, twoLayer(false));
      assert.doesNotMatch((await robustc(["inspect", p])).stdout, /final Softmax/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a Softmax mid-graph is refused with one line (CLI exit 2), the layer table marks it", async () => {
    const r0 = loadNetworkFromBytes(twoLayer(true), "mid.onnx");
    assert.deepEqual(messages(r0), [
      "mid.onnx: unsupported op Softmax at node 'mid': only a final Softmax (the graph's output, read by no other node) is handled, by leaving it out",
    ]);
    const dir = mkdtempSync(join(tmpdir(), "robustc-softmax-"));
    try {
      const p = join(dir, "mid.onnx");
      writeFileSync(p, twoLayer(true));
      const r = await robustc(["inspect", p]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.split("\n").filter((l) => l).length, 1, r.stderr);
      assert.match(r.stderr, /^robustc: .*mid\.onnx: unsupported op Softmax at node 'mid'/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
      assert.match(r.stdout, /^supported {3}no: 1 node with unsupported ops \(Softmax\), marked UNSUPPORTED below$/m);
      assert.match(r.stdout, /^1 +fc1 +affine +Gemm +\[1,3\]/m);
      assert.match(r.stdout, /^! +mid +UNSUPPORTED +Softmax +\?/m);
      assert.match(r.stdout, /^! +fc2 +not lowered +Gemm +\?/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("inspect --json of a model with unsupported ops lists them and the layers (exit 2)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "robustc-softmax-"));
    try {
      const p = join(dir, "sig.onnx");
      const b = new OnnxBuilder(13).input("x", [1, 4]);
      b.initializer({ name: "W", dims: [2, 4], data: [1, 2, 3, 4, 5, 6, 7, 8] });
      b.node("Gemm", ["x", "W"], ["h"], { transB: 1 }, "fc").node("Sigmoid", ["h"], ["y"], {}, "squash");
      writeFileSync(p, b.output("y", [1, 2]).toBytes());
      const r = await robustc(["inspect", p, "--json"]);
      assert.equal(r.code, 2);
      const j = JSON.parse(r.stdout);
      assert.deepEqual(j.unsupported, [{ node: "squash", op: "Sigmoid" }]);
      assert.deepEqual(
        j.layers.map((l: { name: string; kind: string }) => `${l.name}:${l.kind}`),
        ["x:input", "fc:affine", "squash:UNSUPPORTED"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a Softmax whose output another node also reads is mid-graph: refused", () => {
    const b = new OnnxBuilder(13).input("x", [1, 3]);
    b.node("Softmax", ["x"], ["p"], {}, "sm")
      .node("Relu", ["p"], ["q"], {}, "r")
      .output("p", [1, 3])
      .output("q", [1, 3]);
    assert.match(
      messages(loadNetworkFromBytes(b.toBytes(), "two.onnx"))[0],
      /^two\.onnx: unsupported op Softmax at node 'sm'/,
    );
  });

  it("a final Softmax over the batch axis or over part of the classes is refused with the reason", () => {
    // [1,3] over axis 0: the batch.
    assert.deepEqual(messages(loadNetworkFromBytes(withHead(twoLayer(false), "Softmax", 0), "batch.onnx")), [
      "batch.onnx: unsupported op Softmax at node 'head': axis 0 normalises over the batch, not over the classes; robustc leaves out a final Softmax only when it runs over the class dimension",
    ]);
    // [1,2,3] (a Reshape before the head) over the last axis (opset 13 default): two groups of 3.
    const b = new OnnxBuilder(13).input("x", [1, 6]);
    b.initializer({ name: "shape", dims: [3], data: [1, 2, 3], dtype: "int64" });
    b.node("Reshape", ["x", "shape"], ["r"], {}, "reshape")
      .node("LogSoftmax", ["r"], ["y"], {}, "ls")
      .output("y", [1, 2, 3]);
    assert.match(
      messages(loadNetworkFromBytes(b.toBytes(), "groups.onnx"))[0],
      /^groups\.onnx: unsupported op LogSoftmax at node 'ls': over axis -1 of \[1,2,3\] it normalises groups of classes/,
    );
    // The same graph at opset 11 (flatten from axis 1): one group of 6, left out.
    const c = new OnnxBuilder(11).input("x", [1, 6]);
    c.initializer({ name: "shape", dims: [3], data: [1, 2, 3], dtype: "int64" });
    c.node("Reshape", ["x", "shape"], ["r"], {}, "reshape")
      .node("LogSoftmax", ["r"], ["y"], {}, "ls")
      .output("y", [1, 2, 3]);
    const r = loadNetworkFromBytes(c.toBytes(), "flat.onnx");
    assert.ok(r.ok, messages(r).join("; "));
    assert.equal(r.value.network.outputName, "r");
  });
});

async function agreeOnLogits(net: RandomNet, op: string, seed: number): Promise<void> {
  const bytes = withHead(net.bytes, op);
  const r = loadNetworkFromBytes(bytes, net.description);
  assert.ok(r.ok, messages(r).join("; "));
  const n = r.value.network;
  assert.deepEqual(n.removedSoftmax, { op, node: "head", output: "probs" });
  assert.equal(n.outputName, "logits");
  assert.ok(
    r.value.warnings.some((w) => w.startsWith(`final ${op} node 'head' removed`)),
    r.value.warnings.join("; "),
  );
  const xs = randomInputs(n.inputShape, 4, seed);
  // onnxruntime on the model with the head, and on the model as it was before the head was appended.
  const [withSm, plain] = await Promise.all([
    OnnxRuntimeEvaluator.create(bytes, n, { provider: "cpu" }),
    OnnxRuntimeEvaluator.create(net.bytes, loadOk(net.bytes), { provider: "cpu" }),
  ]);
  try {
    const got = await withSm.logits(xs);
    const want = await plain.logits(xs);
    xs.forEach((x, i) => {
      // Bit for bit the logits, not the probabilities (which would sum to 1 / have log-sum-exp 0).
      assert.deepEqual(Array.from(got[i]), Array.from(want[i]), net.description);
      const ref = referenceLogits(n, x);
      const w32 = strictWinner(got[i]),
        w64 = strictWinner(ref);
      assert.ok(w32 && w64, `${net.description}: a tie for the maximum`);
      const scale = 1 + Math.max(...Array.from(ref, Math.abs));
      if (w64.margin > 2e-4 * scale) assert.equal(w32.label, w64.label, net.description);
      assert.ok(
        Math.abs(w32.margin - w64.margin) <= 2e-4 * scale,
        `${net.description}: margins ${w32.margin} vs ${w64.margin}`,
      );
    });
  } finally {
    await Promise.all([withSm.dispose(), plain.dispose()]);
  }
}

function loadOk(bytes: Uint8Array) {
  const r = loadNetworkFromBytes(bytes);
  assert.ok(r.ok);
  assert.equal(r.value.network.removedSoftmax, undefined);
  return r.value.network;
}
