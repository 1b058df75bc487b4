// report.json names the HiGHS it ran: HiGHS' own version as the WebAssembly module reports it (not "unknown",
// and not the npm wrapper's version, which is beside it as highs-npm), also in a run whose process solved no LP.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { highsModule, highsVersion, loadedHighsVersion } from "../../../runtime/solvers/highs.js";
import { robustcOk } from "../../helpers/cli.js";

const VERSION = /^\d+\.\d+\.\d+ \(git [0-9a-f]{6,40}\)$/;

describe("runtime/solvers/highs: the HiGHS version", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-highs-version-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is the loaded module's own version and git hash", async () => {
    const v = await highsVersion();
    assert.match(v, VERSION);
    const h = await highsModule();
    assert.equal(v, `${h.version.string} (git ${h.version.gitHash})`);
    assert.equal(loadedHighsVersion(), v);
  });

  for (const [what, args] of [
    ["an lp run (HiGHS solved in this process)", ["--time-limit", "5"]],
    ["an fgsm run (no LP solved: the report loads the module for its version)", ["--algorithm", "fgsm"]],
  ] as const) {
    it(`report.json of ${what} names it, never "unknown"`, async () => {
      const out = join(dir, args[1]);
      await robustcOk([
        "measure",
        "examples/models/mnist_mlp.onnx",
        "--data",
        "mnist:test",
        "--limit",
        "1",
        ...args,
        "--out",
        out,
      ]);
      const r = JSON.parse(readFileSync(join(out, "report.json"), "utf8")) as {
        solver: string;
        versions: Record<string, string>;
      };
      assert.equal(r.versions.highs, await highsVersion());
      assert.match(r.versions["highs-npm"], /^\d+\.\d+\.\d+/);
      for (const [k, v] of Object.entries(r.versions)) assert.notEqual(v, "unknown", k);
      assert.ok(!r.solver.includes("HiGHS unknown"), r.solver);
      if (args[1] !== "fgsm") assert.ok(r.solver.includes(`HiGHS ${r.versions.highs} `), r.solver);
    });
  }
});
