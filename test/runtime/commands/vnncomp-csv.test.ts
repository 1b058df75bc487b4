// vnncomp's results.csv: a fresh file starts with the header row `onnx,vnnlib,result,seconds,note`; --resume and
// bench/vnncomp-table.ts read it and the header-less files of earlier versions alike, and --resume appends to
// either as it is. test/fixtures/vnncomp-results/test_2021.no-header.csv: rows robustc vnncomp wrote for
// test_2021 (nano, tiny, sat) in the earlier, header-less format.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RESULTS_HEADER, readResults } from "../../../runtime/commands/vnncomp.js";
import { lines, refusedOneLine, robustc, robustcOk } from "../../helpers/cli.js";

const CSV = "test/fixtures/vnncomp/test_2021/instances.csv";
const OLD = "test/fixtures/vnncomp-results/test_2021.no-header.csv";
const run = (cmd: string, args: string[]) => promisify(execFile)(cmd, args, { maxBuffer: 1 << 24, timeout: 60_000 });
const vnncomp = (out: string, filter: string, ...extra: string[]) =>
  robustcOk(["vnncomp", CSV, "--filter", filter, "--out", out, ...extra], { timeout: 60_000 });
const rowsOf = (path: string) => {
  const r = readResults(path);
  assert.ok(r.ok, r.ok ? "" : r.diagnostics[0].message);
  return r.value;
};

describe("robustc vnncomp: results.csv's header", function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-vnncomp-csv-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a fresh results.csv starts with the header row, then a row per instance", async () => {
    const out = join(dir, "fresh.csv");
    await vnncomp(out, "test_nano");
    const [header, ...rows] = lines(readFileSync(out, "utf8"));
    assert.equal(header, "onnx,vnnlib,result,seconds,note");
    assert.equal(header, RESULTS_HEADER);
    assert.equal(rows.length, 1);
    assert.match(rows[0], /^test_nano\.onnx,test_nano\.vnnlib,unsat,\d+\.\d{3},/);
    assert.deepEqual(
      rowsOf(out).map((x) => `${x.onnx},${x.vnnlib},${x.result}`),
      ["test_nano.onnx,test_nano.vnnlib,unsat"],
    );
  });

  it("--out in a folder that is missing makes the folder; --out naming a folder is refused in one line, exit 2", async () => {
    const out = join(dir, "new", "deeper", "results.csv");
    await vnncomp(out, "test_nano");
    assert.equal(rowsOf(out).length, 1);
    const r = await robustc(["vnncomp", CSV, "--filter", "test_nano", "--out", dir], { timeout: 60_000 });
    refusedOneLine(r, /--out .* is a directory: it names the results file/);
  });

  it("readResults reads a header-less file of an earlier version and the same rows under a header alike", () => {
    const old = rowsOf(OLD);
    assert.equal(old.length, lines(readFileSync(OLD, "utf8")).length);
    const withHeader = join(dir, "with-header.csv");
    writeFileSync(withHeader, `${RESULTS_HEADER}\n${readFileSync(OLD, "utf8")}`);
    assert.deepEqual(rowsOf(withHeader), old);
    // Only a first line is a header: the same text further down is not a results row.
    writeFileSync(withHeader, `${readFileSync(OLD, "utf8")}${RESULTS_HEADER}\n`);
    const r = readResults(withHeader);
    assert.ok(!r.ok && /with-header\.csv:4: not a results row/.test(r.diagnostics[0].message));
  });

  it("--resume on a header-less file runs only the missing instance and appends its row; the old rows stay byte for byte", async () => {
    const out = join(dir, "old.csv"),
      before = readFileSync(OLD, "utf8");
    copyFileSync(OLD, out);
    const { stdout } = await vnncomp(out, "test_(nano|tiny|sat|small)\\.", "--resume");
    assert.match(stdout, /^resuming: 3 of 4 instances already in /);
    const after = readFileSync(out, "utf8");
    assert.ok(after.startsWith(before), "the rows already there are not rewritten");
    assert.deepEqual(
      lines(after.slice(before.length)).map((l) => l.split(",").slice(0, 2).join(",")),
      ["test_small.onnx,test_small.vnnlib"],
    );
    assert.match(stdout, /4 instances: 1 sat, 3 unsat, 0 timeout/);
  });

  it("--resume keeps a header-led file's header once, and the rows of instances it does not run", async () => {
    const out = join(dir, "header.csv");
    await vnncomp(out, "test_nano");
    const before = readFileSync(out, "utf8");
    await vnncomp(out, "test_tiny", "--resume");
    const after = readFileSync(out, "utf8");
    assert.ok(after.startsWith(before), `${before}\nbecame\n${after}`);
    assert.equal(lines(after).filter((l) => l === RESULTS_HEADER).length, 1);
    assert.deepEqual(
      rowsOf(out).map((x) => x.onnx),
      ["test_nano.onnx", "test_tiny.onnx"],
    );
  });

  it("bench/vnncomp-table.ts counts the rows of header-less and header-led files alike", async () => {
    const outDir = join(dir, "bench");
    mkdirSync(outDir);
    copyFileSync(OLD, join(outDir, "test_2021.a.csv"));
    await vnncomp(join(outDir, "test_2021.b.csv"), "test_(small|unsat)\\.");
    const { stdout } = await run("npx", [
      "tsx",
      "bench/vnncomp-table.ts",
      "test/fixtures/vnncomp",
      outDir,
      "test_2021",
    ]);
    const table = new Map(
      lines(stdout)
        .slice(2)
        .map((l) => l.split("|").map((c) => c.trim()))
        .map((c) => [c[2], c]),
    );
    const ran = (net: string) => table.get(net)?.[3];
    for (const net of ["test_nano.onnx", "test_tiny.onnx", "test_small.onnx", "test_sat.onnx", "test_unsat.onnx"])
      assert.equal(ran(net), "1 / 1", `${net}: ${stdout}`);
    // No row is "wrong": the header was not read as an instance, and every answer agrees with the ground truth.
    for (const c of table.values()) assert.equal(c[8], "0", stdout);
  });
});
