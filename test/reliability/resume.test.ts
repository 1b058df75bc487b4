// A measurement survives kill -9: points.jsonl is appended and flushed per point, `--resume` keeps the
// finished points (dropping a line the kill cut in half) and runs the rest, and the final report equals
// an uninterrupted run's (timing fields aside). Real child processes, a real SIGKILL.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { robustcOk } from "../helpers/cli.js";

const ARGS = ["measure", "examples/models/mnist_mlp.onnx", "--data", "mnist:test", "--limit", "24", "--eps", "20"];
const lines = (p: string) =>
  existsSync(p)
    ? readFileSync(p, "utf8")
        .split("\n")
        .filter((l) => l !== "").length
    : 0;
const TIMING = ["seconds", "solver_seconds", "stages"];
const points = (dir: string) =>
  readFileSync(join(dir, "points.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .map((p) => {
      for (const k of TIMING) delete p[k];
      return p;
    })
    .sort((a, b) => a.index - b.index);
const report = (dir: string) => {
  const r = JSON.parse(readFileSync(join(dir, "report.json"), "utf8"));
  for (const k of ["total_seconds", "median_seconds", "p90_seconds", "median_stage_seconds", "p90_stage_seconds"])
    delete r[k];
  delete r.settings.resumed_points;
  return r;
};

describe("reliability: kill -9 and --resume", function () {
  this.timeout(600_000);
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-resume-"));
    await robustcOk([...ARGS, "--out", join(dir, "whole")]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("loses no finished point and reproduces the uninterrupted report", async () => {
    const out = join(dir, "killed");
    const child = spawn("node", ["bin/robustc.js", ...ARGS, "--out", out], { stdio: "ignore" });
    const jsonl = join(out, "points.jsonl");
    const t0 = Date.now();
    while (lines(jsonl) < 6) {
      assert.ok(Date.now() - t0 < 120_000, "the child wrote no points");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const before = lines(jsonl);
    assert.ok(before >= 6 && before < 24, `killed after ${before} points`);
    assert.equal(existsSync(join(out, "report.json")), false, "no report from a killed run");
    // A kill can also land mid-line: simulate the torn tail the resume must drop.
    appendFileSync(jsonl, '{"index":23,"label":3,"stat');
    const { stderr } = await robustcOk([...ARGS, "--out", out, "--resume"]);
    assert.match(stderr, new RegExp(`resuming: ${before} points finished, ${24 - before} to run`));
    assert.deepEqual(points(out), points(join(dir, "whole")));
    assert.deepEqual(report(out), report(join(dir, "whole")));
    assert.deepEqual(readFileSync(join(out, "adversarial.npy")), readFileSync(join(dir, "whole", "adversarial.npy")));
  });

  it("refuses to resume a different run, and to overwrite a measurement without --resume", async () => {
    const out = join(dir, "whole");
    await assert.rejects(
      robustcOk([...ARGS, "--out", out]),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /already holds a measurement \(points\.jsonl\); add --resume/.test(e.stderr),
    );
    await assert.rejects(
      robustcOk([...ARGS.map((a) => (a === "20" ? "10" : a)), "--out", out, "--resume"]),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /--resume: .*run\.json describes another run/.test(e.stderr),
    );
  });
});

describe("reliability: augment, kill -9 and --resume", function () {
  this.timeout(600_000);
  const AUG = ["augment", "examples/models/mnist_mlp.onnx", "--data", "mnist:train", "--limit", "16", "--margin", "1"];
  const FILES = ["images.npy", "index.npy", "labels.npy", "points.jsonl"];
  const manifest = (d: string) => {
    const m = JSON.parse(readFileSync(join(d, "manifest.json"), "utf8"));
    delete m.seconds;
    delete m.resumed_points;
    return m;
  };
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-augment-resume-"));
    await robustcOk([...AUG, "--out", join(dir, "whole")]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps the finished points in DIR.partial and writes the uninterrupted run's examples", async () => {
    const out = join(dir, "killed");
    const child = spawn("node", ["bin/robustc.js", ...AUG, "--out", out], { stdio: "ignore" });
    const jsonl = join(`${out}.partial`, "run", "points.jsonl");
    const t0 = Date.now();
    while (lines(jsonl) < 4) {
      assert.ok(Date.now() - t0 < 120_000, "the child wrote no points");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const before = lines(jsonl);
    assert.ok(before >= 4 && before < 16, `killed after ${before} points`);
    assert.equal(existsSync(out), false, "no --out from a killed run");
    // Without --resume the run starts again (its staging directory emptied): here it must resume.
    const { stderr } = await robustcOk([...AUG, "--out", out, "--resume"]);
    assert.match(stderr, new RegExp(`resuming: ${before} points finished, ${16 - before} to run`));
    assert.equal(existsSync(`${out}.partial`), false);
    for (const f of FILES) assert.deepEqual(readFileSync(join(out, f)), readFileSync(join(dir, "whole", f)), f);
    assert.deepEqual(manifest(out), manifest(join(dir, "whole")));
    assert.equal(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8")).resumed_points, before);
  });

  it("refuses --resume with --queue, and to resume a different run", async () => {
    await assert.rejects(
      robustcOk([...AUG, "--out", join(dir, "q"), "--resume", "--queue", "redis://127.0.0.1:1/x"]),
      (e: { code: number; stderr: string }) => e.code === 2 && /--resume is for local runs/.test(e.stderr),
    );
    const out = join(dir, "other");
    const child = spawn("node", ["bin/robustc.js", ...AUG, "--out", out], { stdio: "ignore" });
    const jsonl = join(`${out}.partial`, "run", "points.jsonl");
    const t0 = Date.now();
    while (lines(jsonl) < 1) {
      assert.ok(Date.now() - t0 < 120_000, "the child wrote no points");
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    await assert.rejects(
      robustcOk([...AUG.map((a) => (a === "1" ? "2" : a)), "--out", out, "--resume"]),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /--resume: .*run\.json describes another run: --margin was 1/.test(e.stderr),
    );
  });
});
