// Tests the CPLEX-LP and free-MPS readers: random LpModels through our writers and back (compared by
// column name), hand-written files with the syntax our writers never emit, and errors as values.

import assert from "node:assert/strict";
import fc from "fast-check";
import { writeCplexLp } from "../../../compiler/backend/cplex-lp.js";
import { writeMps } from "../../../compiler/backend/mps.js";
import type { LpModel } from "../../../compiler/backend/lp-model.js";
import type { Result } from "../../../compiler/diagnostics.js";
import { readCplexLp } from "../../../grammar/lp/read.js";
import { readMps } from "../../../grammar/mps/read.js";
import { createHighs, highsModule } from "../../../runtime/solvers/highs.js";
import { FIXTURES } from "../../helpers/lp-fixtures.js";
import { canonical, modelArb, type Canonical } from "../../helpers/lp-arbitrary.js";

function value<T>(r: Result<T>): T {
  if (!r.ok) assert.fail(r.diagnostics.map((d) => d.message).join("; "));
  return r.value;
}

/** What the LP writer makes of a model: ranged rows become `<name>_lo` and `<name>_hi`. */
function expectedFromLp(m: LpModel): Canonical {
  const c = canonical(m);
  const rows: Canonical["rows"] = [];
  for (const r of c.rows) {
    if (r.lower !== r.upper && Number.isFinite(r.lower) && Number.isFinite(r.upper)) {
      rows.push({ ...r, name: `${r.name}_lo`, upper: Infinity }, { ...r, name: `${r.name}_hi`, lower: -Infinity });
    } else rows.push(r);
  }
  return { ...c, rows };
}

/** What the MPS writer makes of a model: a ranged row is G with RANGES R = hi − lo, read as lo + R. */
function expectedFromMps(m: LpModel): Canonical {
  const c = canonical(m);
  return {
    ...c,
    rows: c.rows.map((r) =>
      r.lower !== r.upper && Number.isFinite(r.lower) && Number.isFinite(r.upper)
        ? { ...r, upper: r.lower + (r.upper - r.lower) }
        : r,
    ),
  };
}

describe("LP and MPS readers: round trip through our writers", () => {
  it("writeCplexLp → readCplexLp gives the same model (by column name)", () => {
    fc.assert(
      fc.property(modelArb, (m) => {
        const back = value(readCplexLp(writeCplexLp(m), "rt.lp"));
        assert.deepEqual(canonical(back), expectedFromLp(m));
        assert.equal(back.name, m.name);
      }),
      { numRuns: 300 },
    );
  });

  it("writeMps → readMps gives the same model, columns and rows in the same order", () => {
    fc.assert(
      fc.property(modelArb, (m) => {
        const back = value(readMps(writeMps(m), "rt.mps"));
        assert.deepEqual(canonical(back), expectedFromMps(m));
        assert.deepEqual(back.colNames, m.colNames);
        assert.equal(back.name, m.name);
      }),
      { numRuns: 300 },
    );
  });
});

describe("LP reader: hand-written files", () => {
  const text = [
    "\\ a hand-written LP with the syntax our writer never emits",
    "MAXIMISE",
    " profit: 3 x1 + 2x2 - x3 + 4.5",
    "   + 0 x4   \\ a zero coefficient still declares x4",
    "s.t.",
    " c1: x1 + x2 <= 4",
    " -x1 + 3 x2 >= -2.5",
    " c3: x1 +",
    "     x3 = 1",
    " r4: 2 x1 - x2 =< 8",
    " r5: x2 - x3 => -1e1",
    " r6: x1 < 10",
    " r7: x3 > -5",
    " r8: -3 <= x1 - x2 <= 3",
    " r9: x1 + 2 >= 1",
    " st: x2 + x1 + x2 - x2 >= 0",
    " r11: 7 >= x1",
    "Bounds",
    " x1 <= 40",
    " -inf <= x2 <= 1e3",
    " x3 free",
    " 2 <= x5 <= +infinity",
    " x6 = 7.5",
    " x7 >= -Inf",
    " -5 <= x8",
    "General",
    " x1",
    "Binaries",
    " b1 b2",
    "End",
  ].join("\n");

  it("reads every construct into the expected model", () => {
    const m = value(readCplexLp(text, "dir/hand.lp"));
    assert.equal(m.name, "hand");
    assert.equal(m.sense, "max");
    assert.equal(m.objectiveConstant, 4.5);
    assert.deepEqual(m.colNames, ["x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "b1", "b2"]);
    const c = canonical(m);
    assert.deepEqual(c.cols.x1, { lower: 0, upper: 40, integer: true, cost: 3 });
    assert.deepEqual(c.cols.x2, { lower: -Infinity, upper: 1000, integer: false, cost: 2 });
    assert.deepEqual(c.cols.x3, { lower: -Infinity, upper: Infinity, integer: false, cost: -1 });
    assert.deepEqual(c.cols.x4, { lower: 0, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x5, { lower: 2, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x6, { lower: 7.5, upper: 7.5, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x7, { lower: -Infinity, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x8, { lower: -5, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.b1, { lower: 0, upper: 1, integer: true, cost: 0 });
    assert.deepEqual(c.rows, [
      { name: "c1", lower: -Infinity, upper: 4, coefs: { x1: 1, x2: 1 } },
      { name: "c2", lower: -2.5, upper: Infinity, coefs: { x1: -1, x2: 3 } },
      { name: "c3", lower: 1, upper: 1, coefs: { x1: 1, x3: 1 } },
      { name: "r4", lower: -Infinity, upper: 8, coefs: { x1: 2, x2: -1 } },
      { name: "r5", lower: -10, upper: Infinity, coefs: { x2: 1, x3: -1 } },
      { name: "r6", lower: -Infinity, upper: 10, coefs: { x1: 1 } },
      { name: "r7", lower: -5, upper: Infinity, coefs: { x3: 1 } },
      { name: "r8", lower: -3, upper: 3, coefs: { x1: 1, x2: -1 } },
      { name: "r9", lower: -1, upper: Infinity, coefs: { x1: 1 } },
      // x2 + x2 − x2 sums to one x2; a row named `st` is not a section keyword before its colon.
      { name: "st", lower: 0, upper: Infinity, coefs: { x1: 1, x2: 1 } },
      { name: "r11", lower: -Infinity, upper: 7, coefs: { x1: 1 } },
    ]);
  });

  it("numbers unnamed rows c<k> without clashing with explicit names", () => {
    const m = value(readCplexLp("min\n obj: x\nst\n x >= 1\n c1: x <= 5\n x <= 9\nend\n", "u.lp"));
    assert.deepEqual(m.rowNames, ["c1_1", "c1", "c3"]);
  });

  it("accepts an empty objective, no constraints section and an empty semi-continuous section", () => {
    const m = value(readCplexLp("Minimize\n obj:\nBounds\n x <= 1\nsemi-continuous\nEnd", "e.lp"));
    assert.deepEqual(m.colNames, ["x"]);
    assert.equal(m.rowNames.length, 0);
  });
});

describe("MPS reader: hand-written files", () => {
  const text = [
    "* hand-written free MPS: every bound type, RANGES on L/G/E rows, markers, an objective constant",
    "NAME          demo",
    "OBJSENSE MAX",
    "ROWS",
    " N  profit",
    " L  lim1",
    " G  lim2",
    " E  myeqn",
    " E  eq2",
    " N  spare",
    " L  l3",
    "COLUMNS",
    "    x1  profit  1   lim1  1",
    "    x1  lim2  1",
    "    MARKER  'MARKER'  'INTORG'",
    "    x2  profit  2   lim1  1",
    "    x2  myeqn  -1",
    "    MARKER  'MARKER'  'INTEND'",
    "    x3  profit  -1  myeqn  1",
    "    x3  eq2  1  l3  2",
    "    x4  profit  0",
    "    x5  profit  0",
    "    x6  profit  0",
    "    x7  profit  0",
    "    x8  profit  0",
    "    x9  profit  0",
    "RHS",
    "    RHS  profit  -7   lim1  4",
    "    RHS  lim2  1   myeqn  7",
    "    RHS  eq2  3  l3  10",
    "RANGES",
    "    RNG  lim1  2.5   lim2  3",
    "    RNG  myeqn  -2   eq2  4",
    "    RNG  l3  -1",
    "BOUNDS",
    " UP BND x1 4",
    " LO BND x2 -1",
    " UP BND x2 1",
    " MI BND x3",
    " UP BND x3 5",
    " FX BND x4 2",
    " FR BND x5",
    " BV BND x6",
    " UP BND x7 -3",
    " PL BND x8",
    " LI BND x9 2",
    " UI BND x9 8",
    "ENDATA",
  ].join("\n");

  it("reads every construct into the expected model", () => {
    const m = value(readMps(text, "demo.mps"));
    assert.equal(m.name, "demo");
    assert.equal(m.sense, "max");
    assert.equal(m.objectiveConstant, 7);
    const c = canonical(m);
    assert.deepEqual(c.cols.x1, { lower: 0, upper: 4, integer: false, cost: 1 });
    assert.deepEqual(c.cols.x2, { lower: -1, upper: 1, integer: true, cost: 2 });
    assert.deepEqual(c.cols.x3, { lower: -Infinity, upper: 5, integer: false, cost: -1 });
    assert.deepEqual(c.cols.x4, { lower: 2, upper: 2, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x5, { lower: -Infinity, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x6, { lower: 0, upper: 1, integer: true, cost: 0 });
    // A negative UP on a column whose lower bound was never set makes that lower bound -inf.
    assert.deepEqual(c.cols.x7, { lower: -Infinity, upper: -3, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x8, { lower: 0, upper: Infinity, integer: false, cost: 0 });
    assert.deepEqual(c.cols.x9, { lower: 2, upper: 8, integer: true, cost: 0 });
    assert.deepEqual(c.rows, [
      { name: "lim1", lower: 1.5, upper: 4, coefs: { x1: 1, x2: 1 } },
      { name: "lim2", lower: 1, upper: 4, coefs: { x1: 1 } },
      { name: "myeqn", lower: 5, upper: 7, coefs: { x2: -1, x3: 1 } },
      { name: "eq2", lower: 3, upper: 7, coefs: { x3: 1 } },
      { name: "spare", lower: -Infinity, upper: Infinity, coefs: {} },
      { name: "l3", lower: 9, upper: 10, coefs: { x3: 2 } },
    ]);
  });

  it("takes set names as optional, OBJSENSE on its own line, and OBJNAME", () => {
    const m = value(
      readMps(
        [
          "NAME",
          "OBJSENSE",
          "    MAXIMIZE",
          "OBJNAME",
          "  second",
          "ROWS",
          " N first",
          " N second",
          " L r",
          "COLUMNS",
          " x first 5 second 1",
          " x r 1",
          "RHS",
          " r 3",
          " second 2",
          "BOUNDS",
          " UP x 10",
          " LO x 1",
          "ENDATA",
        ].join("\n"),
        "noset.mps",
      ),
    );
    assert.equal(m.name, "noset");
    assert.equal(m.sense, "max");
    assert.equal(m.objectiveConstant, -2);
    assert.deepEqual(Array.from(m.objective), [1]);
    assert.deepEqual(m.rowNames, ["first", "r"]);
    assert.deepEqual([m.rowLower[0], m.rowUpper[0], m.rowLower[1], m.rowUpper[1]], [-Infinity, Infinity, -Infinity, 3]);
    assert.deepEqual([m.colLower[0], m.colUpper[0]], [1, 10]);
  });
});

describe("LP and MPS readers: files written by HiGHS (another writer's conventions)", () => {
  for (const f of FIXTURES) {
    it(`${f.model.name}: HiGHS' LP and MPS exports read back to the same optimum`, async () => {
      const h = await highsModule();
      const model = h.createModel();
      let lp: string, mps: string;
      try {
        model.readModel({ format: "lp", data: writeCplexLp(f.model) });
        lp = model.exportModel("lp");
        mps = new TextDecoder().decode(model.exportModel("mps"));
      } finally {
        model.dispose();
      }
      for (const m of [value(readCplexLp(lp, "highs.lp")), value(readMps(mps, "highs.mps"))]) {
        const s = await createHighs().solve(m);
        assert.equal(s.status, f.expect.status, s.message);
        if (f.expect.status === "optimal")
          assert.ok(
            Math.abs((s.objective ?? NaN) - f.expect.objective) <= 1e-6 * Math.max(1, Math.abs(f.expect.objective)),
          );
      }
    });
  }
});

/** file:line (and for LP :col) at the start of the one diagnostic. */
function assertError(r: Result<LpModel>, file: string, line: number, pattern: RegExp): void {
  assert.equal(r.ok, false, "expected an error");
  if (r.ok) return;
  assert.equal(r.diagnostics.length, 1);
  const msg = r.diagnostics[0].message;
  assert.match(msg, new RegExp(`^${file}:${line}(:\\d+)?: `), msg);
  assert.match(msg, pattern, msg);
  assert.ok(!msg.includes("\n"), "one line");
}

describe("LP reader: malformed input is an error value with a line", () => {
  const cases: [string, string, number, RegExp][] = [
    ["no objective sense", "Subject To\n c: x >= 1\nEnd", 1, /expected 'Minimize' or 'Maximize'/],
    ["rhs missing", "Minimize\n obj: x\nSubject To\n c1: x + y <=\nEnd", 5, /expected a number/],
    ["missing End", "Minimize\n obj: x\nSubject To\n c: x >= 1\n", 5, /missing 'End'/],
    ["stray operator", "Minimize\n obj: x * y\nEnd", 2, /expected/],
    ["quadratic objective", "Minimize\n obj: [ x ^ 2 ]\nEnd", 2, /quadratic/],
    ["two terms without a sign", "Minimize\n obj: x\nSubject To\n c: x + y 3 >= 1\nEnd", 4, /expected '\+' or '-'/],
    ["no relation", "Minimize\n obj: x\nSubject To\n c: x + y\nBounds\nEnd", 5, /expected a relation/],
    ["bad bound value", "Minimize\n obj: x\nBounds\n x <= abc\nEnd", 4, /expected a number/],
    ["lower bound +inf", "Minimize\n obj: x\nBounds\n x >= inf\nEnd", 4, /lower bound \+inf/],
    ["duplicate row", "Minimize\n obj: x\nSubject To\n c: x >= 1\n c: x <= 2\nEnd", 5, /duplicate row name 'c'/],
    ["unsupported section", "Minimize\n obj: x\nSOS\n s1: S1:: x:1\nEnd", 3, /not supported/],
    ["number in Generals", "Minimize\n obj: x\nGenerals\n x 3\nEnd", 4, /expected a variable name/],
    ["ranged with mixed relations", "Minimize\n obj: x\nst\n r: 1 <= x >= 0\nEnd", 4, /two '<=' or two '>='/],
    ["equality with inf", "Minimize\n obj: x\nst\n r: x = inf\nEnd", 4, /infinite/],
    ["second objective", "Minimize\n obj: x\nMaximize\n obj2: x\nEnd", 3, /second objective/],
  ];
  for (const [what, text, line, pattern] of cases) {
    it(what, () => assertError(readCplexLp(text, "bad.lp"), "bad.lp", line, pattern));
  }
});

describe("MPS reader: malformed input is an error value with a line", () => {
  const head = "NAME t\nROWS\n N obj\n L c\nCOLUMNS\n x obj 1 c 1\n";
  const cases: [string, string, number, RegExp][] = [
    ["unknown row", "NAME t\nROWS\n N obj\nCOLUMNS\n x obj 1 c 1\nENDATA", 5, /unknown row 'c'/],
    ["bad number", "NAME t\nROWS\n N obj\nCOLUMNS\n x obj 1.2.3\nENDATA", 5, /expected a number/],
    ["missing ENDATA", head, 7, /missing ENDATA/],
    ["unknown bound type", `${head}BOUNDS\n XX BND x 1\nENDATA`, 8, /unknown bound type 'XX'/],
    ["bound on an unknown column", `${head}BOUNDS\n UP BND y 1\nENDATA`, 8, /unknown column 'y'/],
    ["data before any section", " x obj 1\nENDATA", 1, /outside a section/],
    [
      "column split in two",
      "NAME t\nROWS\n N obj\n L c\nCOLUMNS\n x obj 1\n y obj 1\n x c 1\nENDATA",
      8,
      /appears again/,
    ],
    [
      "RANGES on a free row",
      "NAME t\nROWS\n N obj\n N f\nCOLUMNS\n x obj 1 f 1\nRANGES\n R f 1\nENDATA",
      8,
      /free row/,
    ],
    ["quadratic section", `${head}QUADOBJ\n x x 1\nENDATA`, 7, /not supported/],
    ["ROWS line with three fields", "NAME t\nROWS\n N obj extra\nENDATA", 3, /expected 'type name'/],
    ["unknown row type", "NAME t\nROWS\n Q r\nENDATA", 3, /unknown row type/],
    ["two entries in one row", `${head} x c 2\nENDATA`, 7, /two entries/],
    ["second RHS set", `${head}RHS\n A c 1\n B c 2\nENDATA`, 9, /second RHS set/],
    ["infinite FX", `${head}BOUNDS\n FX BND x inf\nENDATA`, 8, /infinite FX/],
  ];
  for (const [what, text, line, pattern] of cases) {
    it(what, () => assertError(readMps(text, "bad.mps"), "bad.mps", line, pattern));
  }
});

describe("readers never throw", () => {
  const noThrow = (r: Result<LpModel>, file: string) => {
    if (!r.ok) for (const d of r.diagnostics) assert.match(d.message, new RegExp(`^${file}(:\\d+)+: `));
  };
  it("on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        noThrow(readCplexLp(s, "f.lp"), "f.lp");
        noThrow(readMps(s, "f.mps"), "f.mps");
      }),
      { numRuns: 500 },
    );
  });

  it("on written files with a line dropped or a character changed", () => {
    const edit = fc.record({
      line: fc.nat(),
      col: fc.nat(),
      ch: fc.constantFrom("", " ", "-", "<", ":", "x", "9", "\\", "*", "'"),
      drop: fc.boolean(),
    });
    fc.assert(
      fc.property(modelArb, edit, (m, e) => {
        for (const [text, read, file] of [
          [writeCplexLp(m), readCplexLp, "f.lp"],
          [writeMps(m), readMps, "f.mps"],
        ] as const) {
          const lines = text.split("\n");
          const i = e.line % lines.length;
          if (e.drop) lines.splice(i, 1);
          else {
            const l = lines[i],
              k = e.col % (l.length + 1);
            lines[i] = l.slice(0, k) + e.ch + l.slice(k + 1);
          }
          noThrow(read(lines.join("\n"), file), file);
        }
      }),
      { numRuns: 300 },
    );
  });
});
