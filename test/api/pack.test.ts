// The package as a user gets it: `npm pack` (its prepack builds dist/ if a source changed), the tarball installed
// in a new project, and `import { … } from "robustc"` from plain JavaScript: a digit's LP (the same as `robustc
// compile` writes), a user's solver through solveTarget, rho's bracket, measure's reports, a one-line error; its
// types from TypeScript; docs/api.md's examples as written. 26 to 37 s on 2 shared cores; up to 60 s when
// prepack rebuilds dist/.
//
// The install is `npm ci --offline` with a package-lock.json made from this repository's (the tarball, then the
// non-dev entries as they are): every dependency at the version this checkout runs, from the npm cache that its
// own `npm ci` filled, with no network (10 s here; a plain `npm install` of the tarball needs the registry's
// package lists, which the cache does not hold). A cache without them (ENOTCACHED) falls back to
// --prefer-offline, which fetches what is missing. onnxruntime-node's install step is skipped as in make install.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  copyFileSync,
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
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MODEL = join(ROOT, "examples/models/mnist_mlp.onnx");
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process to its end; never rejects on a non-zero exit. */
function run(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((done, reject) =>
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 1 << 26, timeout: 150_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== "number") return reject(err);
        done({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    ),
  );
}

async function runOk(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const r = await run(cmd, args, cwd, env);
  assert.equal(r.code, 0, `${cmd} ${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const NPM_ENV = { ONNXRUNTIME_NODE_INSTALL: "skip", ONNXRUNTIME_NODE_INSTALL_CUDA: "skip" };

/** The package's lock for a project that depends on the tarball `tgz` only: this repository's non-dev entries. */
function lockFor(tgz: string): object {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const lock = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const spec = `file:../${tgz}`;
  const packages: Record<string, unknown> = {
    "": { name: "robustc-user", dependencies: { robustc: spec } },
    "node_modules/robustc": {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean; devOptional?: boolean }>))
    if (path !== "" && !entry.dev && !entry.devOptional) packages[path] = entry;
  return { name: "robustc-user", lockfileVersion: 3, requires: true, packages };
}

/** What the user's script does with the API; it prints one JSON object. */
const USER_SCRIPT = `
import { readFileSync, writeFileSync } from "node:fs";
import * as robustc from "robustc";
const { compilePoint, loadData, loadModel, measure, modelInput, numCols, numRows, rho } = robustc;
const { solveTarget, solverByName, toLp, toMps, UserError } = robustc;

const data = loadData("mnist_mlp.onnx", { data: "mnist:test" });
const point = compilePoint(data, modelInput(data, 0));
const { label, lp } = point.targets[0];
writeFileSync("digit0.lp", toLp(lp));
writeFileSync("digit0.mps", toMps(lp));

// A user's solver: the built-in HiGHS under another name, counting its calls.
const highs = solverByName("highs");
let calls = 0;
const mine = {
  name: "user-highs",
  available: async () => ({ ok: true, value: "user-highs 1" }),
  async solve(m, o) { calls++; return { ...(await highs.solve(m, o)), solver: "user-highs" }; },
};
const solved = await solveTarget(data, point.targets[0], mine);
const xStar = modelInput(data, 0);
let linf = 0, lo = Infinity, hi = -Infinity;
for (let i = 0; i < xStar.length; i++) {
  linf = Math.max(linf, Math.abs(solved.x[i] - xStar[i]));
  lo = Math.min(lo, solved.x[i]);
  hi = Math.max(hi, solved.x[i]);
}

const records = await rho("mnist_mlp.onnx", { data: "mnist:test", index: 0 });
const measured = await measure("mnist_mlp.onnx", { data: "mnist:test", limit: 2, out: "measured" });

let error = null;
try {
  loadModel("missing.onnx");
} catch (e) {
  error = { name: e.name, message: e.message, user: e instanceof UserError };
}

console.log(JSON.stringify({
  exports: Object.keys(robustc).sort(),
  pixelScale: data.pixelScale, predicted: point.predicted, label, rows: numRows(lp), cols: numCols(lp),
  solved: {
    status: solved.status, objective: solved.objective, solver: solved.solution.solver, label: solved.label,
    calls, linf, lo, hi,
  },
  records, error,
  measured: { report: measured.report, points: measured.points, summary: measured.summary },
}));
`;

/** What a TypeScript user writes: it must type-check, and the misuse under @ts-expect-error must not. */
const TYPED = `
import { compilePoint, loadData, modelInput, rho, toLp, type RhoRecord, type Solver } from "robustc";
const data = loadData("mnist_mlp.onnx", { data: "mnist:test" });
const text: string = toLp(compilePoint(data, modelInput(data, 0), { target: "all", margin: 0.1 }).targets[0].lp);
const solver: Solver = {
  name: "typed",
  available: async () => ({ ok: true, value: "1" }),
  solve: async () => ({ status: "error", objective: null, x: null, seconds: 0, solver: "typed", message: "none" }),
};
const records: RhoRecord[] = await rho("mnist_mlp.onnx", { data: "mnist:test", limit: 1, mode: "restrict" });
// @ts-expect-error rho needs data
await rho("mnist_mlp.onnx", { limit: 1 });
// @ts-expect-error a mode the compiler does not have
compilePoint(data, modelInput(data, 0), { mode: "fast" });
export const used = [text, solver, records];
`;

describe("api: the package packed, installed in a new project and used from plain JavaScript", function () {
  this.timeout(240_000);
  let dir: string, proj: string, files: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "robustc-pack-"));
    await runOk("npm", ["pack", "--pack-destination", dir], ROOT);
    const tgz = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
    assert.equal(tgz.length, 1, `npm pack wrote ${tgz.join(", ")}`);
    files = (await runOk("tar", ["tzf", join(dir, tgz[0])], dir)).stdout.split("\n").filter((l) => l !== "");
    proj = join(dir, "proj");
    mkdirSync(proj);
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({
        name: "robustc-user",
        private: true,
        type: "module",
        dependencies: { robustc: `file:../${tgz[0]}` },
      }),
    );
    writeFileSync(join(proj, "package-lock.json"), JSON.stringify(lockFor(tgz[0])));
    const ci = ["ci", "--no-audit", "--no-fund"];
    const offline = await run("npm", [...ci, "--offline"], proj, NPM_ENV);
    if (offline.code !== 0) {
      assert.match(offline.stderr, /ENOTCACHED/, offline.stderr);
      await runOk("npm", [...ci, "--prefer-offline"], proj, NPM_ENV);
    }
    copyFileSync(MODEL, join(proj, "mnist_mlp.onnx"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("ships the built JavaScript and types, the CLI, the docs and mnist_mlp.onnx; no sources, tests or maps", () => {
    for (const f of [
      "dist/api/index.js",
      "dist/api/index.d.ts",
      "dist/runtime/cli.js",
      "dist/runtime/run/worker.js",
      "bin/robustc.js",
      "README.md",
      "docs/api.md",
      "examples/models/mnist_mlp.onnx",
      "package.json",
    ])
      assert.ok(files.includes(`package/${f}`), `${f} is not in the tarball`);
    const unwanted = files.filter(
      (f) =>
        (/\.(ts|map)$/.test(f) && !f.endsWith(".d.ts")) ||
        /^package\/(test|bench|compiler|runtime|grammar|api)\//.test(f) ||
        (f.endsWith(".onnx") && !f.endsWith("/mnist_mlp.onnx")),
    );
    assert.deepEqual(unwanted, []);
    // Built from today's sources: no output of a moved or deleted module (the Makefile prunes them).
    const orphans = files
      .filter((f) => f.startsWith("package/dist/"))
      .map((f) => f.slice("package/dist/".length).replace(/\.(js|d\.ts)$/, ".ts"))
      .filter((src) => !/^(compiler|runtime|grammar|api)\//.test(src) || !existsSync(join(ROOT, src)));
    assert.deepEqual(orphans, []);
  });

  it("import from 'robustc': a digit's LP as the CLI writes it, a user's solver, rho, measure, an error", async () => {
    writeFileSync(join(proj, "use.mjs"), USER_SCRIPT);
    const out = JSON.parse((await runOk(process.execPath, ["use.mjs"], proj)).stdout);
    for (const name of [
      "loadModel",
      "loadData",
      "modelInput",
      "compilePoint",
      "toLp",
      "toMps",
      "solveTarget",
      "rho",
      "measure",
    ])
      assert.ok(out.exports.includes(name), `no export ${name}: ${out.exports.join(", ")}`);

    // mnist_mlp (784-100-100-10), the reduced restricted LP: columns x_0..x_783 and t; rows: one sign row per ReLU
    // (200), y_target - y_l >= 0 for the 9 other labels, and |x - x*| <= t (2 x 784).
    assert.equal(out.cols, 785);
    assert.equal(out.rows, 200 + 9 + 2 * 784);
    assert.notEqual(out.label, out.predicted);
    const lp = readFileSync(join(proj, "digit0.lp"), "utf8").split("\n");
    const at = (s: string) => lp.indexOf(s);
    assert.ok(at("Minimize") >= 0 && lp[at("Minimize") + 1] === " obj: t", "the objective is min t");
    const rows = lp.slice(at("Subject To") + 1, at("Bounds")).filter((l) => /^ [A-Za-z_][\w.]*:/.test(l));
    assert.equal(rows.length, out.rows);
    assert.deepEqual(lp.slice(-2), ["End", ""]);
    const mps = readFileSync(join(proj, "digit0.mps"), "utf8");
    assert.match(mps, /^NAME robustc FREE\n/);
    for (const section of ["ROWS", "COLUMNS", "RHS", "BOUNDS", "ENDATA"])
      assert.match(mps, new RegExp(`^${section}$`, "m"));

    // The installed CLI compiles the same LP (its header comments aside).
    await runOk(
      join(proj, "node_modules/.bin/robustc"),
      ["compile", "mnist_mlp.onnx", "--data", "mnist:test", "--index", "0", "-o", "cli.lp"],
      proj,
    );
    const body = (t: string[]) => t.filter((l) => !l.startsWith("\\"));
    assert.deepEqual(body(lp), body(readFileSync(join(proj, "cli.lp"), "utf8").split("\n")));

    // The user's solver solved it: an optimum t whose optimiser lies in the input box at distance t from x*.
    const s = out.solved;
    assert.equal(s.status, "optimal");
    assert.equal(s.solver, "user-highs");
    assert.equal(s.calls, 1);
    assert.ok(s.objective > 0 && Math.abs(s.linf - s.objective) < 1e-6, `t = ${s.objective}, |x - x*| = ${s.linf}`);
    assert.ok(s.lo >= -1e-9 && s.hi <= 1 + 1e-9, `x in [${s.lo}, ${s.hi}]`);

    // rho of digit 0: the bracket, lower <= rho = upper, in pixels; rho_hat (the LP above, an upper bound of rho)
    // is not below lower.
    assert.equal(out.records.length, 1);
    const p = out.records[0];
    assert.equal(p.index, 0);
    assert.equal(p.mode, "bracket");
    assert.equal(p.predicted, out.predicted);
    assert.ok(["exact", "bracketed"].includes(p.status), p.status);
    assert.equal(typeof p.lower, "number");
    assert.equal(typeof p.upper, "number");
    assert.ok(0 < p.lower && p.lower <= p.upper, `lower ${p.lower}, upper ${p.upper}`);
    assert.equal(p.rho, p.upper);
    assert.equal(p.upper_label, p.target);
    assert.ok(
      s.objective * out.pixelScale >= p.lower - 1e-6,
      `rho_hat ${s.objective * out.pixelScale} < lower ${p.lower}`,
    );

    // measure of digits 0 and 1: report.json, points.jsonl (digit 0 as rho answered it) and the CLI's summary.
    const m = out.measured;
    assert.equal(m.report.n, 2);
    assert.equal(m.report.eps, 20);
    assert.equal(m.report.mode, "bracket");
    assert.deepEqual(
      m.points.map((q: { index: number }) => q.index),
      [0, 1],
    );
    for (const k of ["status", "lower", "upper", "target"]) assert.equal(m.points[0][k], p[k], k);
    assert.ok(
      m.summary.some((l: string) => l.startsWith("reports in measured: report.json")),
      m.summary.join("\n"),
    );

    assert.deepEqual(out.error, {
      name: "UserError",
      message: "missing.onnx: cannot read the model file (ENOENT)",
      user: true,
    });
  });

  it("its types: a TypeScript user's file type-checks against dist/api/index.d.ts; misuses are errors", async () => {
    writeFileSync(join(proj, "typed.mts"), TYPED);
    writeFileSync(
      join(proj, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          typeRoots: [join(ROOT, "node_modules/@types")],
          types: ["node"],
        },
        files: ["typed.mts"],
      }),
    );
    await runOk(process.execPath, [TSC, "-p", "tsconfig.json"], proj);
  });

  it("docs/api.md: its JavaScript examples run as written", async () => {
    mkdirSync(join(proj, "examples/models"), { recursive: true });
    copyFileSync(MODEL, join(proj, "examples/models/mnist_mlp.onnx"));
    rmSync(join(proj, "digit0.lp"), { force: true });
    const blocks = [...readFileSync(join(ROOT, "docs/api.md"), "utf8").matchAll(/```js\n([\s\S]*?)```/g)].map(
      (m) => m[1],
    );
    assert.ok(blocks.length >= 2, "docs/api.md has its examples");
    const printed: string[] = [];
    for (const [k, code] of blocks.entries()) {
      writeFileSync(join(proj, `doc${k}.mjs`), code);
      printed.push((await runOk(process.execPath, [`doc${k}.mjs`], proj)).stdout);
    }
    // The first: digit 0's LP written, then rho's bracket of digits 0 and 1; the second: the solver's answer.
    assert.match(readFileSync(join(proj, "digit0.lp"), "utf8"), /^Minimize\n obj: t$/m);
    assert.match(printed[0], /^digit 0, predicted \d, target \d: 1777 rows, 785 columns$/m);
    for (const i of [0, 1])
      assert.match(printed[0], new RegExp(`^digit ${i}: \\w+, [\\d.]+ <= rho <= [\\d.]+, rho_hat `, "m"));
    assert.match(printed[1], /^optimal \d+\.\d+ \d$/m);
  });
});
