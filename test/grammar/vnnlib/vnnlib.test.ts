// The VNN-LIB reader: every VNN-COMP property in test/fixtures/vnncomp parses and matches its ONNX model's
// sizes; small hand-written files give known boxes and DNFs; malformed files give one exact located error.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { readModelFile, toNumber } from "../../../compiler/frontend/onnx/load.js";
import { parseVnnlib, readVnnlibFile, type Atom, type VnnlibProperty } from "../../../grammar/vnnlib/parse.js";

// A subset of four VNN-COMP 2021 benchmark folders (test, mnistfc, verivital, oval21), copied with their
// layout and their instances.csv / ground_truth.csv rows (see its README); tests run from the project root.
const BENCH = resolve("test/fixtures/vnncomp");

/** An atom as plain data: `{ x: {0: 1}, y: {}, c: -0.5, op: "<=" }`. */
const plain = (a: Atom) => ({
  x: Object.fromEntries(a.term.x),
  y: Object.fromEntries(a.term.y),
  c: a.term.c,
  op: a.op,
});
const dnf = (u: readonly (readonly Atom[])[]) => u.map((d) => d.map(plain));

function parsed(text: string): VnnlibProperty {
  const r = parseVnnlib(text, "t.vnnlib");
  if (!r.ok) assert.fail(r.diagnostics.map((d) => d.message).join("; "));
  return r.value;
}

function error(text: string): string {
  const r = parseVnnlib(text, "bad.vnnlib");
  assert.equal(r.ok, false, "expected an error");
  assert.ok(!r.ok);
  assert.equal(r.diagnostics.length, 1);
  return r.diagnostics[0].message;
}

const decls = (nx: number, ny: number) =>
  [
    ...Array.from({ length: nx }, (_, i) => `(declare-const X_${i} Real)`),
    ...Array.from({ length: ny }, (_, j) => `(declare-const Y_${j} Real)`),
  ].join("\n") + "\n";

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith(".vnnlib") || name.endsWith(".vnnlib.gz")) out.push(p);
  }
  return out;
}

/** Element counts of an ONNX model's (non-initializer) input and its output; symbolic dims count as 1. */
function modelSizes(path: string): { inputs: number; outputs: number } {
  const r = readModelFile(path);
  if (!r.ok) assert.fail(r.diagnostics[0].message);
  const g = r.value.graph!;
  const inits = new Set((g.initializer ?? []).map((t) => t.name));
  const size = (v: NonNullable<typeof g.input>[number]): number =>
    (v.type?.tensorType?.shape?.dim ?? []).reduce(
      (n: number, d) => n * (d.dimValue != null && toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : 1),
      1,
    );
  const ins = (g.input ?? []).filter((v) => !inits.has(v.name ?? ""));
  assert.equal(ins.length, 1, `${path}: one graph input`);
  return { inputs: size(ins[0]), outputs: size(g.output![0]) };
}

describe("VNN-LIB: the VNN-COMP benchmark properties", function () {
  const have = existsSync(BENCH);
  const files = have ? walk(BENCH, []).sort() : [];
  const props = new Map<string, VnnlibProperty>();

  before(() => assert.ok(have, `${BENCH} is missing`));
  /** Parsed by the first test, or now (when a test runs alone under --grep). */
  const get = (f: string): VnnlibProperty => {
    const got = props.get(f);
    if (got) return got;
    const r = readVnnlibFile(f);
    if (!r.ok) assert.fail(r.diagnostics[0].message);
    props.set(f, r.value);
    return r.value;
  };

  it("parses every .vnnlib / .vnnlib.gz file, with a finite box and indices in range", function () {
    const failed: string[] = [];
    for (const f of files) {
      const r = readVnnlibFile(f);
      if (!r.ok) {
        failed.push(r.diagnostics[0].message);
        continue;
      }
      props.set(f, r.value);
      const p = r.value;
      for (const c of p.cases ?? [p]) {
        assert.equal(c.inputLower.length, p.numInputs);
        for (let i = 0; i < p.numInputs; i++) {
          assert.ok(Number.isFinite(c.inputLower[i]) && Number.isFinite(c.inputUpper[i]), `${f}: X_${i} unbounded`);
          assert.ok(c.inputLower[i] <= c.inputUpper[i], `${f}: X_${i} empty`);
        }
        assert.ok(c.unsafe.length > 0, `${f}: no disjunct`);
        for (const a of c.unsafe.flat()) {
          for (const i of a.term.x.keys()) assert.ok(i < p.numInputs);
          for (const j of a.term.y.keys()) assert.ok(j < p.numOutputs);
        }
      }
    }
    console.log(`      parsed ${props.size} of ${files.length} benchmark properties`);
    assert.deepEqual(failed, []);
    assert.equal(files.length, 10, `found ${files.length} files`);
  });

  it("matches the input and output sizes of the ONNX model named in the same instances.csv row", function () {
    const sizes = new Map<string, { inputs: number; outputs: number }>();
    let rows = 0;
    for (const bench of readdirSync(BENCH)) {
      const csv = join(BENCH, bench, "instances.csv");
      if (!existsSync(csv)) continue;
      for (const line of readFileSync(csv, "utf8").split("\n")) {
        if (line.trim() === "") continue;
        const [onnx, vnnlib] = line.split(",").map((s) => s.trim());
        const m = join(BENCH, bench, onnx),
          v = join(BENCH, bench, vnnlib);
        const prop = get(v);
        if (!sizes.has(m)) sizes.set(m, modelSizes(m));
        assert.deepEqual({ inputs: prop.numInputs, outputs: prop.numOutputs }, sizes.get(m), `${v} vs ${m}`);
        rows++;
      }
    }
    console.log(`      ${rows} instances checked against ${sizes.size} models`);
    assert.deepEqual([rows, sizes.size], [11, 9]);
  });

  it("reads known files as documented (mnistfc prop_0 label 8, the ACAS Xu-style test_prop)", function () {
    const p = get(join(BENCH, "mnistfc_2021/prop_0_0.03.vnnlib"));
    assert.equal(p.numInputs, 784);
    assert.equal(p.cases, undefined);
    assert.deepEqual(
      dnf(p.unsafe),
      [0, 1, 2, 3, 4, 5, 6, 7, 9].map((j) => [{ x: {}, y: { [j]: 1, 8: -1 }, c: 0, op: ">=" }]),
    );
    assert.equal(p.inputUpper[0], 0.029999999329447746);
    assert.equal(p.inputLower[0], 0);
    const t = get(join(BENCH, "test_2021/test_prop.vnnlib"));
    assert.deepEqual([...t.inputLower], [-0.30353115613746867, -0.009549296585513092, 0.4933803235848431, 0.3, 0.3]);
    assert.deepEqual([...t.inputUpper], [-0.29855281193475053, 0.009549296585513092, 0.49999999998567607, 0.5, 0.5]);
    assert.deepEqual(dnf(t.unsafe), [[1, 2, 3, 4].map((j) => ({ x: {}, y: { 0: 1, [j]: -1 }, c: 0, op: "<=" }))]);
    // Bounds inside the single disjunct fold into the box.
    const s = get(join(BENCH, "test_2021/test_small.vnnlib"));
    assert.deepEqual([[...s.inputLower], [...s.inputUpper]], [[-1], [1]]);
    assert.deepEqual(dnf(s.unsafe), [[{ x: {}, y: { 0: 1 }, c: -100, op: ">=" }]]);
  });
});

describe("VNN-LIB: hand-written properties", () => {
  it("an mnist-style file: 784 box bounds and an or of ands over Y", () => {
    const lo = (i: number) => (i % 7) / 10,
      hi = (i: number) => (i % 7) / 10 + 0.03;
    const bounds = Array.from(
      { length: 784 },
      (_, i) => `(assert (<= X_${i} ${hi(i)}))\n(assert (>= X_${i} ${lo(i)}))`,
    ).join("\n");
    const p = parsed(
      `; Mnist property with label: 3.\n${decls(784, 10)}${bounds}\n(assert (or (and (>= Y_0 Y_3)) (and (>= Y_1 Y_3))))\n`,
    );
    assert.equal(p.numInputs, 784);
    assert.equal(p.numOutputs, 10);
    assert.deepEqual(
      [...p.inputLower],
      Array.from({ length: 784 }, (_, i) => lo(i)),
    );
    assert.deepEqual(
      [...p.inputUpper],
      Array.from({ length: 784 }, (_, i) => hi(i)),
    );
    assert.deepEqual(p.inputConstraints, []);
    assert.deepEqual(dnf(p.unsafe), [
      [{ x: {}, y: { 0: 1, 3: -1 }, c: 0, op: ">=" }],
      [{ x: {}, y: { 1: 1, 3: -1 }, c: 0, op: ">=" }],
    ]);
  });

  it("numbers: decimals, exponents, signs, (- c), and bounds written either way round", () => {
    const p = parsed(`${decls(5, 1)}(assert (>= X_0 -0.5)) (assert (<= X_0 2.5e-1))
      (assert (>= X_1 (- 0.5))) (assert (<= X_1 +1E2)) (assert (<= -3 X_2)) (assert (>= .5 X_2))
      (assert (and (<= X_3 1.) (>= X_3 -1) (<= X_3 0.75))) (assert (<= (- X_4) 0)) (assert (<= (- X_4 0.25) 0))
      (assert (<= Y_0 0))`);
    assert.deepEqual([...p.inputLower], [-0.5, -0.5, -3, -1, 0]);
    assert.deepEqual([...p.inputUpper], [0.25, 100, 0.5, 0.75, 0.25]);
    assert.ok(!Object.is(p.inputLower[4], -0), "no negative zero");
  });

  it("linear terms: +, -, *, / and constants fold; zero coefficients vanish", () => {
    const p = parsed(`${decls(2, 3)}(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1)) (assert (>= X_1 0))
      (assert (<= (+ X_0 X_1) 1.5))
      (assert (>= (* 2.0 X_0) (/ X_1 4)))
      (assert (or (and (>= (- Y_0 Y_1) (* 0.5 (+ Y_2 1)))) (and (<= (+ Y_1 Y_1 (- Y_0 Y_0)) (- 3)))))`);
    assert.deepEqual(
      p.inputConstraints.map((f) => (f.kind === "atom" ? plain(f.atom) : f.kind)),
      [
        { x: { 0: 1, 1: 1 }, y: {}, c: -1.5, op: "<=" },
        { x: { 0: 2, 1: -0.25 }, y: {}, c: 0, op: ">=" },
      ],
    );
    assert.deepEqual(dnf(p.unsafe), [
      [{ x: {}, y: { 0: 1, 1: -1, 2: -0.5 }, c: -0.5, op: ">=" }],
      [{ x: {}, y: { 1: 2 }, c: 3, op: "<=" }],
    ]);
  });

  it("strict comparisons read as non-strict; = as both; chains as neighbouring pairs", () => {
    const p = parsed(`${decls(1, 2)}(assert (> X_0 -1)) (assert (< X_0 1))
      (assert (or (and (> Y_0 Y_1) (< Y_1 2)) (and (= Y_0 1)) (and (<= 0 Y_0 Y_1))))`);
    assert.deepEqual([[...p.inputLower], [...p.inputUpper]], [[-1], [1]]);
    assert.deepEqual(dnf(p.unsafe), [
      [
        { x: {}, y: { 0: 1, 1: -1 }, c: 0, op: ">=" },
        { x: {}, y: { 1: 1 }, c: -2, op: "<=" },
      ],
      [
        { x: {}, y: { 0: 1 }, c: -1, op: "<=" },
        { x: {}, y: { 0: 1 }, c: -1, op: ">=" },
      ],
      [
        { x: {}, y: { 0: -1 }, c: 0, op: "<=" },
        { x: {}, y: { 0: 1, 1: -1 }, c: 0, op: "<=" },
      ],
    ]);
  });

  it("several output asserts conjoin; nested and/or expand to a DNF; no output assert is [[]]", () => {
    const p = parsed(`${decls(1, 3)}(assert (<= X_0 1)) (assert (>= X_0 0))
      (assert (or (>= Y_0 1) (>= Y_1 1))) (assert (or (<= Y_2 0) (and (<= Y_2 5) (>= Y_0 Y_2))))`);
    const a = (y: Record<number, number>, c: number, op: "<=" | ">=") => ({ x: {}, y, c, op });
    assert.deepEqual(dnf(p.unsafe), [
      [a({ 0: 1 }, -1, ">="), a({ 2: 1 }, 0, "<=")],
      [a({ 0: 1 }, -1, ">="), a({ 2: 1 }, -5, "<="), a({ 0: 1, 2: -1 }, 0, ">=")],
      [a({ 1: 1 }, -1, ">="), a({ 2: 1 }, 0, "<=")],
      [a({ 1: 1 }, -1, ">="), a({ 2: 1 }, -5, "<="), a({ 0: 1, 2: -1 }, 0, ">=")],
    ]);
    assert.deepEqual(parsed(`${decls(1, 1)}(assert (<= X_0 1))`).unsafe, [[]]);
    assert.deepEqual(parsed(`${decls(1, 1)}(assert (or (and (>= Y_0 0) (or))))`).unsafe, []); // false
    const f = parsed(`${decls(1, 1)}(assert (or))`); // Y-free false: an input constraint
    assert.deepEqual([f.unsafe, f.inputConstraints], [[[]], [{ kind: "or", items: [] }]]);
  });

  it("input boxes inside the disjunction: one case per distinct box, top level = the first case", () => {
    const p = parsed(`; comment\n${decls(2, 2)}(assert (<= X_1 9))
      (assert (or
        (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (>= Y_0 Y_1))
        (and (>= X_0 2) (<= X_0 3) (>= X_1 0) (>= Y_1 Y_0))
        (and (>= X_0 0) (<= X_0 1) (>= X_1 0) (<= Y_0 -1))))`);
    assert.ok(p.cases);
    assert.equal(p.cases.length, 2);
    assert.deepEqual(
      p.cases.map((c) => [[...c.inputLower], [...c.inputUpper], dnf(c.unsafe)]),
      [
        [
          [0, 0],
          [1, 9],
          [[{ x: {}, y: { 0: 1, 1: -1 }, c: 0, op: ">=" }], [{ x: {}, y: { 0: 1 }, c: 1, op: "<=" }]],
        ],
        [[2, 0], [3, 9], [[{ x: {}, y: { 0: -1, 1: 1 }, c: 0, op: ">=" }]]],
      ],
    );
    assert.deepEqual([...p.inputLower], [0, 0]);
    assert.deepEqual([...p.inputUpper], [1, 9]);
    assert.deepEqual(p.unsafe, p.cases[0].unsafe);
    // A Y-free `or` of boxes (ACAS Xu property 6 style) with output asserts outside it.
    const q = parsed(
      `${decls(1, 1)}(assert (or (and (>= X_0 0) (<= X_0 1)) (and (>= X_0 5) (<= X_0 6)))) (assert (>= Y_0 0))`,
    );
    assert.deepEqual(
      q.cases?.map((c) => [c.inputLower[0], c.inputUpper[0], c.unsafe.length]),
      [
        [0, 1, 1],
        [5, 6, 1],
      ],
    );
  });

  it("a Y-free or without bounds, and non-unit single-variable atoms, are inputConstraints", () => {
    const p = parsed(`${decls(2, 1)}(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= (* 2 X_1) 1))
      (assert (or (<= (+ X_0 X_1) 0) (>= (- X_0 X_1) 1))) (assert (>= Y_0 0))`);
    assert.deepEqual([...p.inputUpper], [1, Infinity]);
    assert.deepEqual(
      p.inputConstraints.map((f) => f.kind),
      ["atom", "or"],
    );
    assert.equal(p.cases, undefined);
  });

  it("ignores check-sat / get-model / set-logic, comments anywhere, CRLF and a BOM", () => {
    const p = parsed(
      `\ufeff(set-logic QF_LRA) ; logic\r\n${decls(1, 1).replace(/\n/g, "\r\n")}(assert ; c\r\n (<= X_0 1)) (check-sat)(get-model) ; end`,
    );
    assert.equal(p.inputUpper[0], 1);
  });

  it("readVnnlibFile gunzips .gz and reports a missing file as a diagnostic", () => {
    const dir = mkdtempSync(join(tmpdir(), "vnnlib-"));
    try {
      const text = `${decls(1, 1)}(assert (<= X_0 1)) (assert (>= X_0 -1)) (assert (>= Y_0 3))`;
      writeFileSync(join(dir, "p.vnnlib.gz"), gzipSync(Buffer.from(text)));
      const r = readVnnlibFile(join(dir, "p.vnnlib.gz"));
      assert.ok(r.ok);
      assert.deepEqual([r.value.inputLower[0], r.value.inputUpper[0]], [-1, 1]);
      const missing = readVnnlibFile(join(dir, "nope.vnnlib"));
      assert.ok(!missing.ok);
      assert.equal(
        missing.diagnostics[0].message,
        `${join(dir, "nope.vnnlib")}: cannot read the property file (ENOENT)`,
      );
      writeFileSync(join(dir, "bad.vnnlib.gz"), "not gzip");
      const bad = readVnnlibFile(join(dir, "bad.vnnlib.gz"));
      assert.ok(!bad.ok && bad.diagnostics[0].code === "vnnlib/read");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("VNN-LIB: malformed input gives one located error", () => {
  const H = decls(2, 2); // lines 1-4, so asserts start on line 5
  const cases: [string, string, string][] = [
    [
      "unclosed assert",
      `${H}(assert (<= X_0 1)\n`,
      "bad.vnnlib:6:1: unexpected end of file: '(assert' opened at 5:1 is never closed",
    ],
    [
      "unclosed or",
      `${H}(assert (or (and (>= Y_0 Y_1))\n`,
      "bad.vnnlib:6:1: unexpected end of file: '(or' opened at 5:9 is never closed",
    ],
    ["extra ')'", `${H}(assert (<= X_0 1)))\n`, "bad.vnnlib:5:20: unexpected ')' with no matching '('"],
    [
      "unknown variable",
      `${H}(assert (<= Z_0 1))\n`,
      "bad.vnnlib:5:13: unknown variable 'Z_0': expected a number or a declared X_<i> / Y_<j>",
    ],
    [
      "undeclared Y_12",
      `${H}(assert (or (and (>= Y_12 Y_0))))\n`,
      "bad.vnnlib:5:22: undeclared variable Y_12 (expected (declare-const Y_12 Real) before its use)",
    ],
    ["bad number", `${H}(assert (<= X_0 0.0.1))\n`, "bad.vnnlib:5:17: bad number '0.0.1'"],
    ["bad exponent", `${H}(assert (>= X_0 1e))\n`, "bad.vnnlib:5:17: bad number '1e'"],
    ["out of range", `${H}(assert (>= X_0 1e999))\n`, "bad.vnnlib:5:17: number '1e999' is out of range"],
    ["missing assert body", `${H}(assert)\n`, "bad.vnnlib:5:8: expected a formula after 'assert', found ')'"],
    [
      "trailing junk",
      `${H}(assert (<= X_0 1)) junk\n`,
      "bad.vnnlib:5:21: expected '(' to start a command, found 'junk'",
    ],
    [
      "two formulas in one assert",
      `${H}(assert (<= X_0 1) (>= X_0 0))\n`,
      "bad.vnnlib:5:20: expected ')' to close '(assert' opened at 5:1, found '('",
    ],
    [
      "gap in declarations",
      "(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)\n",
      "bad.vnnlib:2:16: X_1 is not declared but X_2 is (declare X_0 .. X_2 without gaps)",
    ],
    ["declared twice", `${H}(declare-const X_1 Real)\n`, "bad.vnnlib:5:16: X_1 is declared twice (first at 2:16)"],
    ["wrong sort", "(declare-const X_0 Int)\n", "bad.vnnlib:1:20: expected sort 'Real' for X_0, found 'Int'"],
    [
      "nonlinear",
      `${H}(assert (<= (* X_0 X_1) 1))\n`,
      "bad.vnnlib:5:13: nonlinear term: at most one factor of '*' may contain variables",
    ],
    [
      "not",
      `${H}(assert (not (<= X_0 1)))\n`,
      "bad.vnnlib:5:10: unsupported operator 'not': only and, or, <=, >=, <, >, = are supported",
    ],
    [
      "one-term comparison",
      `${H}(assert (<= X_0))\n`,
      "bad.vnnlib:5:16: expected at least two terms in '(<=' at 5:9, found ')'",
    ],
    [
      "stray operator",
      `${H}(assert (<= X_0 -))\n`,
      "bad.vnnlib:5:17: expected a term (a number, a variable or '('), found '-'",
    ],
    [
      "control characters",
      `${H}(assert (<= X_0 a\u0001\u2028))`,
      "bad.vnnlib:5:17: unknown variable 'a\\u{1}\\u{2028}': expected a number or a declared X_<i> / Y_<j>",
    ],
    ["empty file", "", "bad.vnnlib:1:1: no input variables declared (expected (declare-const X_0 Real))"],
    [
      "no outputs",
      "(declare-const X_0 Real)\n(assert (<= X_0 1))",
      "bad.vnnlib:2:20: no output variables declared (expected (declare-const Y_0 Real))",
    ],
  ];
  for (const [name, text, message] of cases) it(name, () => assert.equal(error(text), message));

  it("too deep nesting is an error, not a stack overflow", () => {
    assert.match(
      error(`${H}(assert ${"(and ".repeat(100_000)}`),
      /^bad\.vnnlib:5:\d+: parentheses nested deeper than 500 levels$/,
    );
    assert.match(error("(".repeat(1_000_000)), /^bad\.vnnlib:1:2: expected a command/);
  });

  it("a DNF over the limit is an error naming the formula that overflows", () => {
    const or5 = " (or (>= Y_0 1) (>= Y_1 2) (<= Y_0 3) (<= Y_1 4) (>= Y_0 Y_1))"; // 5^8 > 100,000 > 5^7
    const text = `${H}(assert (and${or5.repeat(8)}))\n`;
    const col = "(assert (and".length + 7 * or5.length + 2;
    assert.equal(
      error(text),
      `bad.vnnlib:5:${col}: with this formula the unsafe set's disjunctive normal form exceeds 100000 disjuncts (a limit that bounds memory)`,
    );
    assert.ok(parseVnnlib(`${H}(assert (and${or5.repeat(7)}))\n`, "ok.vnnlib").ok);
    const r = parseVnnlib(`${H}(assert (and${or5.repeat(3)}))\n`, "small.vnnlib", { maxDisjuncts: 100 });
    assert.ok(!r.ok && r.diagnostics[0].code === "vnnlib/too-large");
  });
});
