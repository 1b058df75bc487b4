// Output directories that cannot be created: one line and exit 2, within seconds (Node 20's recursive
// mkdirSync spins forever under /proc, so a regression must fail by the child's timeout, not hang the suite).

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeDir } from "../../../runtime/run/out-dir.js";
import { lines, robustc } from "../../helpers/cli.js";

const M = "examples/models/mnist_mlp.onnx";

describe("runtime/run/out-dir makeDir", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-outdir-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("creates missing parents level by level", () => {
    const d = join(dir, "a", "b", "c");
    assert.deepEqual(makeDir(d, "--out"), { ok: true, value: undefined });
    assert.ok(statSync(d).isDirectory());
    assert.equal(makeDir(d, "--out").ok, true, "an existing directory is fine");
  });

  it("a file in the way is named", () => {
    const f = join(dir, "file");
    writeFileSync(f, "x");
    const r = makeDir(join(f, "sub"), "--out");
    assert.equal(r.ok, false);
    assert.match(
      !r.ok ? r.diagnostics[0].message : "",
      /^--out .*file\/sub: cannot create the directory \(ENOTDIR\): .*file is not a directory$/,
    );
    const same = makeDir(f, "--images");
    assert.match(!same.ok ? same.diagnostics[0].message : "", /^--images .*file exists and is not a directory$/);
  });

  for (const [what, args] of [
    [
      "measure --out",
      ["measure", M, "--data", "mnist:test", "--limit", "1", "--time-limit", "1", "--out", "/proc/robustc-out/run"],
    ],
    [
      "measure --images",
      [
        "measure",
        M,
        "--data",
        "mnist:test",
        "--limit",
        "1",
        "--time-limit",
        "1",
        "--out",
        "OUT",
        "--images",
        "/proc/robustc-img/x",
      ],
    ],
    [
      "augment --out",
      ["augment", M, "--data", "mnist:test", "--limit", "1", "--time-limit", "1", "--out", "/proc/robustc-aug/x"],
    ],
  ] as [string, string[]][]) {
    it(`${what} under /proc: one line naming the level that cannot be created, exit 2, no hang`, async function () {
      if (!existsSync("/proc/self")) this.skip();
      const out = join(dir, `out-${what.replace(/\W/g, "")}`);
      // A hard limit: a child still running after 30 s is killed and reported as such.
      const r = await robustc(
        args.map((a) => (a === "OUT" ? out : a)),
        { timeout: 30_000 },
      );
      assert.equal(r.timedOut, false, "it returned (no endless mkdir)");
      assert.equal(r.code, 2, r.stderr);
      assert.equal(lines(r.stderr).length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^robustc: --(out|images) \/proc\/robustc-\w+\/(run|x)(\.partial)?: cannot create the directory \(ENOENT\) at \/proc\/robustc-\w+: \/proc does not take new directories\n$/,
      );
      assert.equal(existsSync(out), false, "nothing written");
    });
  }
});
