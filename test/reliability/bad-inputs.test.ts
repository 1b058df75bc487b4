// A catalogue of bad inputs, one test each, through the real CLI (`node bin/robustc.js`, built by
// `make build`): every one must exit with code 2, print exactly one line per problem on stderr naming the
// file / node / op or option at fault, no stack trace, and leave nothing half-written where an output was
// asked for (`compile -o FILE`, `measure --out DIR`). The README's "Reliability: bad inputs" table lists them.

import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OnnxBuilder, tensorProto } from "../../compiler/frontend/onnx/write.js";
import { onnx, type ModelProto } from "../../compiler/frontend/onnx/load.js";
import { encodeNpy } from "../../runtime/data/npy.js";
import { lines, robustc } from "../helpers/cli.js";

const MLP = "examples/models/mnist_mlp.onnx";

const mlpModel = (): ModelProto => onnx.ModelProto.decode(readFileSync(MLP));
const encode = (m: ModelProto): Uint8Array => onnx.ModelProto.encode(m).finish();

/** One bad input: what it is, how to make it, the command, and the line(s) expected on stderr. */
interface Case {
  readonly what: string;
  /** Writes whatever files the case needs into `dir` and returns the CLI arguments. */
  readonly args: (dir: string) => string[];
  /** One regex per expected stderr line, in order. */
  readonly expect: readonly RegExp[];
  /** Outputs that must not exist afterwards (relative to dir). */
  readonly noOutput?: readonly string[];
  /** Runs only when this returns null; else the reason to skip. */
  readonly skipUnless?: (dir: string) => string | null;
}

const compileTo = (model: string, data: string, extra: string[] = []) => [
  "compile",
  model,
  "--data",
  data,
  "--index",
  "0",
  ...extra,
];

const cases: Case[] = [
  // ---- the model file ----
  {
    what: "a truncated ONNX file (mnist_mlp cut in half)",
    args: (d) => {
      const b = readFileSync(MLP);
      writeFileSync(join(d, "cut.onnx"), b.subarray(0, b.length >> 1));
      return [...compileTo(join(d, "cut.onnx"), "mnist:test"), "-o", join(d, "cut.lp")];
    },
    expect: [/cut\.onnx: not an ONNX model or corrupt\/truncated \(protobuf decode failed: index out of range/],
    noOutput: ["cut.lp"],
  },
  {
    what: "a corrupt ONNX file (8 bytes of the node list flipped)",
    args: (d) => {
      const b = Buffer.from(readFileSync(MLP));
      const at = b.indexOf("Gemm") + 8;
      for (let i = 0; i < 8; i++) b[at + i] ^= 0xff;
      writeFileSync(join(d, "flipped.onnx"), b);
      return [...compileTo(join(d, "flipped.onnx"), "mnist:test"), "-o", join(d, "flipped.lp")];
    },
    expect: [/flipped\.onnx: not an ONNX model or corrupt\/truncated \(protobuf decode failed: invalid wire type/],
    noOutput: ["flipped.lp"],
  },
  {
    what: "a corrupt ONNX file (4 bytes in the middle set to 0xff: a weight becomes NaN)",
    args: (d) => {
      const b = Buffer.from(readFileSync(MLP));
      b.fill(0xff, b.length >> 1, (b.length >> 1) + 4);
      writeFileSync(join(d, "middle.onnx"), b);
      return [...compileTo(join(d, "middle.onnx"), "mnist:test"), "-o", join(d, "middle.lp")];
    },
    expect: [
      /middle\.onnx: initializer: tensor 'net\.1\.weight' contains NaN at flat index \d+ \(weights must be finite\)/,
    ],
    noOutput: ["middle.lp"],
  },
  {
    what: "a PNG file named .onnx",
    args: (d) => {
      writeFileSync(
        join(d, "image.onnx"),
        Buffer.from("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489", "hex"),
      );
      return ["inspect", join(d, "image.onnx")];
    },
    expect: [/image\.onnx: not an ONNX model/],
  },
  {
    what: "a text file named .onnx",
    args: (d) => {
      writeFileSync(join(d, "notes.onnx"), "this is not a model\n");
      return ["inspect", join(d, "notes.onnx")];
    },
    expect: [/notes\.onnx: not an ONNX model/],
  },
  {
    what: "a JSON file named .onnx",
    args: (d) => {
      writeFileSync(join(d, "model.json.onnx"), JSON.stringify({ graph: { node: [{ op_type: "Relu" }] } }));
      return ["inspect", join(d, "model.json.onnx")];
    },
    expect: [/model\.json\.onnx: not an ONNX model/],
  },
  {
    what: "an empty file",
    args: (d) => {
      writeFileSync(join(d, "empty.onnx"), "");
      return [...compileTo(join(d, "empty.onnx"), "mnist:test"), "-o", join(d, "empty.lp")];
    },
    expect: [/empty\.onnx: empty file, not an ONNX model/],
    noOutput: ["empty.lp"],
  },
  {
    what: "an initializer stored as external data",
    args: (d) => {
      const m = mlpModel();
      const t = m.graph!.initializer![0];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [new onnx.StringStringEntryProto({ key: "location", value: "weights.bin" })];
      t.rawData = new Uint8Array(0);
      writeFileSync(join(d, "external.onnx"), encode(m));
      return ["inspect", join(d, "external.onnx")];
    },
    expect: [/external\.onnx: initializer: tensor 'net\.1\.weight' uses external data, which is not supported/],
  },
  {
    what: "a symbolic input dimension other than the batch",
    args: (d) => {
      const m = mlpModel();
      m.graph!.input![0].type!.tensorType!.shape!.dim![2] = new onnx.TensorShapeProto.Dimension({ dimParam: "height" });
      writeFileSync(join(d, "dynamic.onnx"), encode(m));
      return ["inspect", join(d, "dynamic.onnx")];
    },
    expect: [/dynamic\.onnx: input 'input' dimension 2 \('height'\) is dynamic and cannot be fixed/],
  },
  {
    what: "two unsupported ops (one line each)",
    args: (d) => {
      const b = new OnnxBuilder(13)
        .input("x", [1, 784])
        .node("Sigmoid", ["x"], ["s"], {}, "squash")
        .node("Softsign", ["s"], ["y"], {}, "soft")
        .output("y", [1, 784]);
      writeFileSync(join(d, "ops.onnx"), b.toBytes());
      return [...compileTo(join(d, "ops.onnx"), "mnist:test"), "-o", join(d, "ops.lp")];
    },
    expect: [/ops\.onnx: unsupported op Sigmoid at node 'squash'/, /ops\.onnx: unsupported op Softsign at node 'soft'/],
    noOutput: ["ops.lp"],
  },
  {
    what: "a NaN in a weight (initializer)",
    args: (d) => {
      const m = mlpModel();
      const t = m.graph!.initializer!.find((x) => x.name === "net.3.bias")!;
      const raw = Buffer.from(t.rawData!);
      raw.writeFloatLE(NaN, 4 * 7);
      t.rawData = raw;
      writeFileSync(join(d, "nan-weight.onnx"), encode(m));
      return [...compileTo(join(d, "nan-weight.onnx"), "mnist:test"), "-o", join(d, "nan-weight.lp")];
    },
    expect: [
      /nan-weight\.onnx: initializer: tensor 'net\.3\.bias' contains NaN at flat index 7 \(weights must be finite\)/,
    ],
    noOutput: ["nan-weight.lp"],
  },
  {
    what: "an Inf in a Constant node's value",
    args: (d) => {
      const m = mlpModel();
      const g = m.graph!;
      // Replace the last bias initializer by a Constant node computing it, with one entry +Inf.
      const t = g.initializer!.find((x) => x.name === "net.5.bias")!;
      const values = Array.from(new Float32Array(Uint8Array.from(t.rawData!).buffer));
      values[3] = Infinity;
      g.initializer = g.initializer!.filter((x) => x !== t);
      g.node!.unshift(
        new onnx.NodeProto({
          opType: "Constant",
          name: "bias_const",
          output: ["net.5.bias"],
          attribute: [
            new onnx.AttributeProto({
              name: "value",
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: tensorProto({ name: "net.5.bias", dims: [10], data: values }),
            }),
          ],
        }),
      );
      writeFileSync(join(d, "inf-const.onnx"), encode(m));
      return ["inspect", join(d, "inf-const.onnx")];
    },
    expect: [
      /inf-const\.onnx: node 'bias_const' \(Constant\): tensor 'net\.5\.bias' contains Infinity at flat index 3 \(weights must be finite\)/,
    ],
  },
  {
    what: "a missing model file",
    args: (d) => [...compileTo(join(d, "nope.onnx"), "mnist:test"), "-o", join(d, "nope.lp")],
    expect: [/nope\.onnx: cannot read the model file \(ENOENT\)/],
    noOutput: ["nope.lp"],
  },
  {
    what: "a directory given as the model",
    args: (d) => {
      mkdirSync(join(d, "models.onnx"), { recursive: true });
      return ["inspect", join(d, "models.onnx")];
    },
    expect: [/models\.onnx: is a directory, not an ONNX model file \(EISDIR\)/],
  },

  // ---- the data ----
  {
    what: "data whose items do not fit the model's input",
    args: (d) => {
      writeFileSync(join(d, "small.npy"), encodeNpy([3, 10, 10], "uint8", new Uint8Array(300)));
      return [...compileTo(MLP, join(d, "small.npy")), "-o", join(d, "small.lp")];
    },
    expect: [
      /small\.npy: items of shape \[1,10,10\] \(100 values\) do not fit the input 'input' of examples\/models\/mnist_mlp\.onnx, shape \[1,1,28,28\] \(784 values\)/,
    ],
    noOutput: ["small.lp"],
  },
  {
    what: "a NaN in the data (.npy float32)",
    args: (d) => {
      const x = new Float32Array(3 * 784);
      x[5] = NaN;
      writeFileSync(join(d, "nan.npy"), encodeNpy([3, 784], "float32", x));
      return ["measure", MLP, "--data", join(d, "nan.npy"), "--out", join(d, "nan-out")];
    },
    expect: [/nan\.npy: non-finite value NaN at flat index 5 \(item 0, element 5\)/],
    noOutput: ["nan-out"],
  },
  {
    what: "an Inf in the data (.npy float32)",
    args: (d) => {
      const x = new Float32Array(3 * 784);
      x[784 + 9] = -Infinity;
      writeFileSync(join(d, "inf.npy"), encodeNpy([3, 784], "float32", x));
      return ["measure", MLP, "--data", join(d, "inf.npy"), "--out", join(d, "inf-out")];
    },
    expect: [/inf\.npy: non-finite value -Infinity at flat index 793 \(item 1, element 9\)/],
    noOutput: ["inf-out"],
  },
  {
    what: "an empty dataset (.npy of shape [0,784])",
    args: (d) => {
      writeFileSync(join(d, "none.npy"), encodeNpy([0, 784], "float32", new Float32Array(0)));
      return ["measure", MLP, "--data", join(d, "none.npy"), "--out", join(d, "none-out")];
    },
    expect: [/none\.npy: the dataset contains no items/],
    noOutput: ["none-out"],
  },
  {
    what: "a .npy of dtype complex64",
    args: (d) => {
      const b = Buffer.from(
        encodeNpy([2, 784], "float32", new Float32Array(2 * 784))
          .toString("latin1")
          .replace("'<f4'", "'<c8'"),
        "latin1",
      );
      writeFileSync(join(d, "complex.npy"), b);
      return [...compileTo(MLP, join(d, "complex.npy")), "-o", join(d, "complex.lp")];
    },
    expect: [/complex\.npy: unsupported dtype '<c8'/],
    noOutput: ["complex.lp"],
  },
  {
    what: "a .npy of dtype '<U1' (strings)",
    args: (d) => {
      const b = Buffer.from(
        encodeNpy([2, 784], "float32", new Float32Array(2 * 784))
          .toString("latin1")
          .replace("'<f4'", "'<U1'"),
        "latin1",
      );
      writeFileSync(join(d, "strings.npy"), b);
      return [...compileTo(MLP, join(d, "strings.npy")), "-o", join(d, "strings.lp")];
    },
    expect: [/strings\.npy: unsupported dtype '<U1'/],
    noOutput: ["strings.lp"],
  },
  {
    what: "a .npy of the wrong rank (1-D)",
    args: (d) => {
      writeFileSync(join(d, "flat.npy"), encodeNpy([784], "float32", new Float32Array(784)));
      return [...compileTo(MLP, join(d, "flat.npy")), "-o", join(d, "flat.lp")];
    },
    expect: [/flat\.npy: array shape \(784\) is not N×D, N×H×W or N×C×H×W/],
    noOutput: ["flat.lp"],
  },
  {
    what: "a .npy of the wrong rank (5-D)",
    args: (d) => {
      writeFileSync(join(d, "deep.npy"), encodeNpy([1, 1, 1, 28, 28], "uint8", new Uint8Array(784)));
      return ["measure", MLP, "--data", join(d, "deep.npy"), "--out", join(d, "deep-out")];
    },
    expect: [/deep\.npy: array shape \(1, 1, 1, 28, 28\) is not N×D, N×H×W or N×C×H×W/],
    noOutput: ["deep-out"],
  },
  {
    what: "a truncated IDX images file",
    args: (d) => {
      const b = Buffer.alloc(16 + 5 * 784);
      b.writeUInt32BE(0x803, 0);
      b.writeUInt32BE(5, 4);
      b.writeUInt32BE(28, 8);
      b.writeUInt32BE(28, 12);
      writeFileSync(join(d, "t10k-images-idx3-ubyte"), b.subarray(0, 16 + 2 * 784 + 100));
      return ["measure", MLP, "--data", join(d, "t10k-images-idx3-ubyte"), "--out", join(d, "idx-out")];
    },
    expect: [/t10k-images-idx3-ubyte: IDX file truncated \(dims 5×28×28: expected 3936 bytes, got 1684\)/],
    noOutput: ["idx-out"],
  },
  {
    what: "an unknown --data split",
    args: (d) => ["measure", MLP, "--data", "mnist:valid", "--out", join(d, "split-out")],
    expect: [/mnist:valid: unknown MNIST split 'valid' \(valid: mnist:test, mnist:train\)/],
    noOutput: ["split-out"],
  },

  // ---- options ----
  {
    what: "--index out of range",
    args: (d) => ["compile", MLP, "--data", "mnist:test", "--index", "1996", "-o", join(d, "index.lp")],
    expect: [/--index 1996 is out of range for mnist:test \(0\.\.1995\)/],
    noOutput: ["index.lp"],
  },
  {
    what: "--eps 0",
    args: (d) => ["measure", MLP, "--data", "mnist:test", "--limit", "2", "--eps", "0", "--out", join(d, "eps0-out")],
    expect: [/--eps must be positive, got 0/],
    noOutput: ["eps0-out"],
  },
  {
    what: "--eps -3",
    args: (d) => [
      "measure",
      MLP,
      "--data",
      "mnist:test",
      "--limit",
      "2",
      "--eps",
      "-3",
      "--out",
      join(d, "epsneg-out"),
    ],
    expect: [/--eps must be positive, got -3/],
    noOutput: ["epsneg-out"],
  },
  {
    what: "--limit 0",
    args: (d) => ["measure", MLP, "--data", "mnist:test", "--limit", "0", "--out", join(d, "limit0-out")],
    expect: [/--limit must be a positive integer, got 0/],
    noOutput: ["limit0-out"],
  },
  {
    what: "an unknown --target",
    args: (d) => [
      "compile",
      MLP,
      "--data",
      "mnist:test",
      "--index",
      "0",
      "--target",
      "third",
      "-o",
      join(d, "target.lp"),
    ],
    expect: [/--target must be second, all or a label number, got 'third'/],
    noOutput: ["target.lp"],
  },
  {
    what: "measure --out under a regular file",
    args: (d) => {
      writeFileSync(join(d, "file.txt"), "keep me\n");
      return ["measure", MLP, "--data", "mnist:test", "--limit", "1", "--out", join(d, "file.txt", "out")];
    },
    expect: [/--out .*file\.txt\/out: cannot create the directory \(ENOTDIR\)/],
  },
  {
    what: "compile -o under a regular file",
    args: (d) => {
      writeFileSync(join(d, "plain.txt"), "keep me\n");
      return ["compile", MLP, "--data", "mnist:test", "--index", "0", "-o", join(d, "plain.txt", "p0.lp")];
    },
    expect: [/plain\.txt\/p0\.lp: cannot write \(ENOTDIR\)/],
  },
  {
    what: "measure --out in a directory without write permission",
    skipUnless: (d) => {
      const ro = join(d, "readonly");
      mkdirSync(ro, { recursive: true });
      chmodSync(ro, 0o555);
      try {
        writeFileSync(join(ro, ".probe"), "");
        rmSync(join(ro, ".probe"), { force: true });
        return "this process can write into a mode-555 directory (running as root): the regular-file cases cover --out";
      } catch {
        return null;
      }
    },
    args: (d) => ["measure", MLP, "--data", "mnist:test", "--limit", "1", "--out", join(d, "readonly", "out")],
    expect: [/--out .*readonly\/out: cannot create the directory \(EACCES\)/],
    noOutput: ["readonly/out"],
  },
];

describe("reliability: bad inputs through the CLI", function () {
  this.timeout(120_000);
  let dir: string;
  let tried = 0,
    expected = 0,
    crashes = 0;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-bad-"));
  });
  after(() => {
    if (existsSync(join(dir, "readonly"))) chmodSync(join(dir, "readonly"), 0o755);
    rmSync(dir, { recursive: true, force: true });
    console.log(`bad inputs tried: ${tried}, errors as expected: ${expected}, crashes: ${crashes}`);
  });

  for (const c of cases) {
    it(`${c.what}: exit 2, ${c.expect.length === 1 ? "one line" : `${c.expect.length} lines`}, nothing written`, async function () {
      const why = c.skipUnless?.(dir) ?? null;
      if (why !== null) {
        console.log(`      (skipped: ${why})`);
        this.skip();
      }
      const args = c.args(dir);
      const before = readdirSync(dir).sort();
      tried++;
      const r = await robustc(args, { timeout: 60_000 });
      // A crash: killed, an exit code other than 0 (success) and 2 (user error), or an internal error / stack trace.
      if (r.signal !== null || (r.code !== 0 && r.code !== 2) || /internal error|\n\s+at /.test(r.stderr)) crashes++;
      const show = `exit ${r.code}${r.signal ? ` (${r.signal})` : ""}; stderr:\n${r.stderr}`;
      assert.equal(r.code, 2, show);
      assert.equal(r.stdout, "", `stdout: ${r.stdout}`);
      const got = lines(r.stderr);
      assert.equal(got.length, c.expect.length, show);
      c.expect.forEach((re, i) => assert.match(got[i], re));
      for (const l of got) assert.match(l, /^robustc: /);
      assert.doesNotMatch(r.stderr, /\n\s+at |internal error|Error:/);
      for (const o of c.noOutput ?? []) assert.equal(existsSync(join(dir, o)), false, `${o} was written`);
      // Nothing else appeared either (files the case itself wrote before running are in `before`).
      assert.deepEqual(readdirSync(dir).sort(), before);
      expected++;
    });
  }

  it("left the regular files that --out / -o pointed under untouched", () => {
    assert.equal(readFileSync(join(dir, "file.txt"), "utf8"), "keep me\n");
    assert.equal(readFileSync(join(dir, "plain.txt"), "utf8"), "keep me\n");
  });
});
