// Long runs as a user meets them: the progress bar's counts (the report's own), progress lines without a TTY,
// Ctrl-C on measure (points saved, the resume command, exit 130) and rho's notice before a whole dataset.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bracketEstimate, estimate, progressBar, roughDuration, withinEps } from "../../../runtime/run/measure.js";
import { isBracket, type PointResult } from "../../../runtime/rho/result.js";
import { robustcOk } from "../../helpers/cli.js";
import { makePoint, type PointFields } from "../../helpers/points.js";

const M = "examples/models/mnist_mlp.onnx";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A finished point with only the fields the counts read. */
const pt = (index: number, fields: PointFields): PointResult =>
  makePoint({ index, label: 0, predicted: 0, target: 1, rho: null, status: "bracketed", seconds: 0.1, ...fields });

const bracketPoints = [
  pt(0, { mode: "bracket", upper: 30, lower: 10, rho: 30 }), // an example, but beyond eps 20: not adversarial at 20
  pt(1, { mode: "bracket", upper: 5, lower: 2, rho: 5 }),
  pt(2, { mode: "bracket", status: "not-found", upper: null, lower: 40 }),
  pt(3, { mode: "bracket", status: "misclassified", upper: null, lower: null, predicted: 3 }),
];
const restrictPoints = [
  pt(0, { status: "adversarial", rho: 12 }),
  pt(1, { status: "adversarial", rho: 25 }),
  pt(2, { status: "no-adversarial-in-region", rho: Infinity }),
];

/** A stream that records what is written (and says it is a terminal, for the bar). */
const recorder = () => {
  const chunks: string[] = [];
  const self = {
    isTTY: true,
    columns: 200,
    write: (s: string) => {
      chunks.push(s);
      return true;
    },
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
    clearScreenDown: () => true,
    on: () => self,
    removeListener: () => self,
    chunks,
  };
  return self;
};

describe("runtime/run/measure progress", () => {
  it("counts a point adversarial within eps exactly as the report's estimators do", () => {
    for (const eps of [4, 5, 20, 30, 100]) {
      assert.equal(
        bracketPoints.filter((p) => withinEps(p, eps)).length,
        bracketEstimate(bracketPoints.filter(isBracket), eps).within,
        `bracket, eps ${eps}`,
      );
      assert.equal(
        restrictPoints.filter((p) => withinEps(p, eps)).length,
        estimate(restrictPoints, eps).within,
        `restrict, eps ${eps}`,
      );
    }
    assert.equal(withinEps(bracketPoints[0], 20), false, "an upper beyond eps is not adversarial at eps");
  });

  it("without a TTY prints a line per interval: count, rate, ETA (n/a before the first point), adversarial within eps", async () => {
    const s = recorder();
    const p = await progressBar(4, false, { eps: 20, interval: 0.2, stream: s });
    await sleep(290);
    assert.equal(s.chunks.length, 1, s.chunks.join(""));
    assert.match(
      s.chunks[0],
      /^robustc: progress: 0\/4 points \(0%\), 0\.00 points\/s, ETA n\/a, adversarial within eps 20: 0\n$/,
    );
    p.tick(bracketPoints[0]);
    p.tick(bracketPoints[1]);
    await sleep(200);
    const last = s.chunks.at(-1)!;
    assert.match(
      last,
      /^robustc: progress: 2\/4 points \(50%\), \d+\.\d\d points\/s, ETA \d+ s, adversarial within eps 20: 1\n$/,
    );
    p.stop();
    const n = s.chunks.length;
    await sleep(300);
    assert.equal(s.chunks.length, n, "no line after stop");
  });

  it("the TTY bar shows no ETA before the first point and counts only examples within eps", async () => {
    const s = recorder();
    const p = await progressBar(3, true, { eps: 20, stream: s });
    const first = s.chunks.find((c) => c.includes("points |"))!;
    assert.match(first, /0\/3 points \| 0\.00 pts\/s \| ETA n\/a \| adversarial within eps 20: 0/);
    p.tick(bracketPoints[0]);
    p.tick(bracketPoints[1]);
    p.stop();
    const last = s.chunks.filter((c) => c.includes("points |")).at(-1)!;
    assert.match(last, /2\/3 points \| \d+\.\d\d pts\/s \| ETA \d+ s \| adversarial within eps 20: 1/);
  });

  it("rough durations read as people say them", () => {
    assert.equal(roughDuration(45), "45 s");
    assert.equal(roughDuration(600), "10 min");
    assert.equal(roughDuration(1996 * 60), "33.3 h");
    assert.equal(roughDuration(Infinity), "n/a");
  });
});

describe("runtime/commands measure and rho: interrupts and notices (CLI)", function () {
  this.timeout(120_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-progress-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("Ctrl-C on measure says how many points are saved and the command that resumes; that command finishes the run", async () => {
    const out = join(dir, "run");
    const args = ["measure", M, "--data", "mnist:test", "--limit", "4", "--time-limit", "1", "--out", out];
    const child = spawn("node", ["bin/robustc.js", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ROBUSTC_PROGRESS_SECONDS: "0.2" },
    });
    let stderr = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
    const jsonl = join(out, "points.jsonl");
    const lines = () =>
      existsSync(jsonl)
        ? readFileSync(jsonl, "utf8")
            .split("\n")
            .filter((l) => l !== "").length
        : 0;
    // Wait for the state the test is about — a point saved and a progress line printed — instead of racing it: a
    // first point can finish before the first 0.2 s tick.
    const progressLine =
      /robustc: progress: \d\/4 points \(\d+%\), [\d.]+ points\/s, ETA [^,]+, adversarial within eps 20: \d\n/;
    for (let k = 0; k < 600 && (lines() === 0 || !progressLine.test(stderr)); k++) await sleep(50);
    assert.ok(lines() > 0, "a first point was saved");
    child.kill("SIGINT");
    const code = await closed;
    assert.equal(code, 130, stderr);
    const m = /robustc: interrupted: (\d+) of 4 points saved in (\S+); resume with:\n {2}(.+)\n/.exec(stderr);
    assert.ok(m, stderr);
    assert.equal(Number(m[1]), lines(), "the count is the points in points.jsonl");
    assert.equal(m[2], jsonl);
    assert.equal(m[3], `robustc ${args.join(" ")} --resume`);
    assert.match(stderr, progressLine, "progress lines without a TTY");
    const resumed = await robustcOk(m[3].split(" ").slice(1));
    assert.match(resumed.stderr, new RegExp(`resuming: ${m[1]} points finished, ${4 - Number(m[1])} to run`));
    const idx = readFileSync(jsonl, "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l).index)
      .sort();
    assert.deepEqual(idx, [0, 1, 2, 3]);
  });

  it("rho without --index or --limit says it runs the whole dataset, with a rough time, before the first point", async () => {
    const child = spawn(
      "node",
      ["bin/robustc.js", "rho", M, "--data", "mnist:test", "--time-limit", "30", "--jobs", "1"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "",
      stdout = "";
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    const closed = new Promise((resolve) => child.on("close", resolve));
    for (let k = 0; k < 400 && !/whole dataset.*\n/.test(stderr); k++) await sleep(50);
    child.kill("SIGTERM");
    await closed;
    assert.match(
      stderr,
      new RegExp(
        `^robustc: rho runs the whole dataset: 1996 points of mnist:test, up to about ${roughDuration(1996 * 30).replace(".", "\\.")} \\(--time-limit 30 s per point, --jobs 1\\); --limit N or --index I runs fewer$`,
        "m",
      ),
    );
    assert.doesNotMatch(stdout, /^\s+0\s/m, "said before any point's line");
  });

  it("rho over a few points says nothing of the whole dataset, and without a TTY prints progress lines", async () => {
    const r = await robustcOk(["rho", M, "--data", "mnist:test", "--limit", "2", "--time-limit", "1", "--json"], {
      env: { ROBUSTC_PROGRESS_SECONDS: "0.2" },
    });
    assert.doesNotMatch(r.stderr, /whole dataset/);
    assert.match(r.stderr, /robustc: progress: \d\/2 points/);
    assert.equal(r.stdout.trim().split("\n").length, 2, "stdout holds the JSON records only");
  });
});
