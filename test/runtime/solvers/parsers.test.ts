// Tests the solution-file parsers on outputs captured from the real solvers (glpsol 5.0, Clp 1.17.6,
// CBC 2.10.8, HiGHS 1.15 raw style), and the in-process HiGHS status map and abort handling.

import assert from "node:assert/strict";
import { coinStatus, parseCoinBinary } from "../../../runtime/solvers/coin.js";
import { glpkColumnNames, parseGlpkRaw } from "../../../runtime/solvers/glpk.js";
import { parseHighsRaw } from "../../../runtime/solvers/highs-cli.js";
import { highsModule, isHighsAbort, mapHighsStatus } from "../../../runtime/solvers/highs.js";

describe("glpsol output parsers", () => {
  // glpsol --lp lm.lp -o lm.o (a MIP whose first column name is longer than 12 characters).
  const mipReport = [
    "Problem:    ",
    "Rows:       2",
    "Columns:    2 (2 integer, 0 binary)",
    "Non-zeros:  4",
    "Status:     INTEGER OPTIMAL",
    "Objective:  obj = 1100 (MAXimum)",
    "",
    "   No.   Row name        Activity     Lower bound   Upper bound",
    "------ ------------    ------------- ------------- -------------",
    "     1 carpentry                  40                        40.5 ",
    "     2 finishing                  50                          50 ",
    "",
    "   No. Column name       Activity     Lower bound   Upper bound",
    "------ ------------    ------------- ------------- -------------",
    "     1 chairs_with_a_long_name",
    "                    *             20             0               ",
    "     2 tables       *             10             0               ",
    "",
    "Integer feasibility conditions:",
  ].join("\n");
  const lpReport = [
    "   No. Column name  St   Activity     Lower bound   Upper bound    Marginal",
    "------ ------------ -- ------------- ------------- ------------- -------------",
    "     1 aff_conv1_Conv_3_very_long_name",
    "                    B      0.0588235             0               ",
    "     2 y            B       0.117647             0               ",
    "",
  ].join("\n");

  it("maps column indices to names, long names included", () => {
    assert.deepEqual(glpkColumnNames(mipReport), ["chairs_with_a_long_name", "tables"]);
    assert.deepEqual(glpkColumnNames(lpReport), ["aff_conv1_Conv_3_very_long_name", "y"]);
    assert.equal(typeof glpkColumnNames("no table here"), "string");
  });

  it("reads basic and MIP raw solutions at full precision", () => {
    const bas = parseGlpkRaw(
      "c Problem:\nc\ns bas 2 2 f f 0.176470588235294\ni 1 u 1 0.117647058823529\nj 1 b 0.0588235294117647 0\nj 2 b 0.117647058823529 0\ne o f\n",
    );
    assert.ok(typeof bas !== "string");
    assert.deepEqual([bas.kind, bas.primal, bas.dual, bas.objective], ["bas", "f", "f", 0.176470588235294]);
    assert.deepEqual(Array.from(bas.cols), [0.0588235294117647, 0.117647058823529]);
    const mip = parseGlpkRaw("s mip 2 2 o 1100\ni 1 40\ni 2 50\nj 1 20\nj 2 10\ne o f\n");
    assert.ok(typeof mip !== "string");
    assert.deepEqual([mip.kind, mip.primal, mip.objective, Array.from(mip.cols)], ["mip", "o", 1100, [20, 10]]);
    assert.equal(typeof parseGlpkRaw("s bas 1 1 f f 0\nj 5 b 1 0\n"), "string");
    assert.equal(typeof parseGlpkRaw(""), "string");
  });
});

describe("Clp/CBC output parsers", () => {
  it("maps the first line of a solution file to a status", () => {
    assert.equal(coinStatus("Optimal - objective value      0.17647059"), "optimal");
    assert.equal(coinStatus("Infeasible - objective value               2"), "infeasible");
    assert.equal(coinStatus("Integer infeasible - objective value 0.50000000"), "infeasible");
    assert.equal(coinStatus("Unbounded - objective value        6.25e+13"), "unbounded");
    assert.equal(coinStatus("Stopped on iterations or time - objective value 3"), "timeout");
    assert.equal(coinStatus("Stopped on iterations - objective value -405.31273490"), "timeout");
    assert.equal(coinStatus("Stopped on time - objective value 12"), "timeout");
    assert.equal(coinStatus("Stopped on difficulties - objective value 1"), null);
  });

  it("reads the -saveSolution binary (rows, columns, objective, values)", () => {
    const nr = 1,
      nc = 2;
    const buf = new ArrayBuffer(16 + 8 * (2 * nr + 2 * nc));
    const v = new DataView(buf);
    v.setInt32(0, nr, true);
    v.setInt32(4, nc, true);
    v.setFloat64(8, 1 / 3, true);
    [4, 0.5, 1 / 7, 2 / 7, 0, 0].forEach((x, i) => v.setFloat64(16 + 8 * i, x, true));
    const r = parseCoinBinary(new Uint8Array(buf));
    assert.ok(typeof r !== "string");
    assert.deepEqual([r.rows, r.objective, Array.from(r.cols)], [1, 1 / 3, [1 / 7, 2 / 7]]);
    assert.equal(typeof parseCoinBinary(new Uint8Array(buf, 0, 20)), "string");
  });
});

describe("HiGHS raw solution parser", () => {
  it("reads status, objective and columns; no primal values for an infeasible model", () => {
    const r = parseHighsRaw(
      "Model status\nOptimal\n\n# Primal solution values\nFeasible\nObjective 9\n# Columns 2\nx 2\ny 2\n# Rows 2\nc1 4\nc2 0\n\n# Dual solution values\nNone\n",
    );
    assert.ok(typeof r !== "string");
    assert.equal(r.status, "Optimal");
    assert.equal(r.objective, 9);
    assert.deepEqual(
      [...(r.values ?? [])],
      [
        ["x", 2],
        ["y", 2],
      ],
    );
    const inf = parseHighsRaw(
      "Model status\nInfeasible\n\n# Primal solution values\nNone\n\n# Dual solution values\nNone\n",
    );
    assert.ok(typeof inf !== "string");
    assert.deepEqual([inf.status, inf.objective, inf.values], ["Infeasible", null, null]);
    assert.equal(typeof parseHighsRaw("garbage"), "string");
  });
});

describe("in-process HiGHS: status map and aborts", () => {
  it("maps every model status code", () => {
    assert.equal(mapHighsStatus(7).status, "optimal");
    assert.equal(mapHighsStatus(8).status, "infeasible");
    assert.equal(mapHighsStatus(10).status, "unbounded");
    assert.equal(mapHighsStatus(13).status, "timeout");
    for (const code of [0, 1, 2, 3, 4, 5, 9, 11, 12, 14, 15, 16, 17]) {
      const s = mapHighsStatus(code);
      assert.equal(s.status, "error");
      assert.match(s.message ?? "", /HiGHS/);
    }
  });

  it("an abort drops the module so the next call loads a fresh one", async () => {
    const before = await highsModule();
    assert.equal(await highsModule(), before);
    assert.equal(isHighsAbort(new Error("not an abort")), false);
    assert.equal(await highsModule(), before);
    assert.equal(isHighsAbort(new WebAssembly.RuntimeError("Aborted(). Build with -sASSERTIONS for more info.")), true);
    const fresh = await highsModule();
    assert.notEqual(fresh, before);
    assert.match(fresh.version.string, /^\d+\.\d+/);
  });
});
