// The constraint IR's text syntax: problems stated as short text parse to the AST, print back to the same
// text, and malformed text gives one error with line and column.

import assert from "node:assert/strict";
import { parseProblem } from "../../../grammar/constraint/parse.js";
import { printProblem } from "../../../grammar/constraint/print.js";
import { satisfies } from "../../../compiler/ir/constraint.js";

const RELU = `var x[2] in [-1, 1]
var u[2] free
var v[2] free
var t in [0, inf]
minimize t
and {
  linear aff {
    u[0] - x[0] + 2 x[1] = 0.5
    u[1] + 1.5 x[0] = 0
  }
  or relu [2] {
    and {
      linear relu_phase {
        u[0] <= 0
        u[1] <= 0
      }
      linear relu_def {
        v[0] = 0
        v[1] = 0
      }
    }
    and {
      linear relu_phase {
        u[0] >= 0
        u[1] >= 0
      }
      linear relu_def {
        v[0] - u[0] = 0
        v[1] - u[1] = 0
      }
    }
  }
}
`;

describe("grammar/constraint: text syntax", () => {
  it("parses a ReLU layer and prints it back to the same text", () => {
    const p = parseProblem(RELU);
    assert.ok(p.ok, p.ok ? "" : p.diagnostics[0].message);
    assert.equal(printProblem(p.value), RELU);
  });

  it("gives the formula the meaning of the paper's ReLU encoding", () => {
    const p = parseProblem(RELU);
    assert.ok(p.ok);
    // columns: x0 x1 u0 u1 v0 v1 t
    const at = (x0: number, x1: number, vOf = (u: number) => Math.max(0, u)) => {
      const u0 = x0 - 2 * x1 + 0.5,
        u1 = -1.5 * x0;
      return [x0, x1, u0, u1, vOf(u0), vOf(u1), 0];
    };
    assert.equal(satisfies(p.value.constraint, at(0.2, 0.7), 1e-12), true);
    assert.equal(satisfies(p.value.constraint, at(-0.4, 0.1), 1e-12), true);
    assert.equal(
      satisfies(
        p.value.constraint,
        at(0.2, 0.7, (u) => u),
        1e-12,
      ),
      false,
    ); // v = u on an inactive unit
    assert.equal(
      satisfies(
        p.value.constraint,
        at(0.9, -0.3, () => 0),
        1e-12,
      ),
      false,
    ); // v = 0 on an active unit
  });

  it("reads lanes and per-variable bounds", () => {
    const text = `var a[3] bounds { 0 1  -inf 2  3 3 }
var y int in [0, 1]
maximize 2 a[0] - y + 4
or pool [1] {
  linear first {
    @0: y - a[0] = 0
  }
  linear second {
    @0: y - a[1] = 0
  }
}
`;
    const p = parseProblem(text);
    assert.ok(p.ok, p.ok ? "" : p.diagnostics[0].message);
    assert.equal(printProblem(p.value), text);
    assert.equal(p.value.vars[0].upper[1], 2);
    assert.equal(p.value.vars[1].integer, true);
    assert.equal(p.value.objective!.constant, 4);
  });

  const bad: [string, string, RegExp][] = [
    ["an unknown variable", "var x[2] free\nlinear r {\n  x[0] + y >= 1\n}\n", /^<text>:3:10: unknown variable 'y'$/],
    [
      "an index out of range",
      "var x[2] free\nlinear r {\n  x[2] >= 1\n}\n",
      /^<text>:3:3: index 2 out of range for 'x' \(size 2\)$/,
    ],
    ["a missing relation", "var x free\nlinear r {\n  x 1\n}\n", /^<text>:3:5: expected '=', '>=' or '<=', found '1'$/],
    [
      "a constant on the left",
      "var x free\nlinear r {\n  x + 3 >= 1\n}\n",
      /^<text>:3:7: a constant belongs on the right-hand side of a row$/,
    ],
    [
      "a lane outside an or",
      "var x free\nlinear r {\n  @0: x >= 1\n}\n",
      /^<text>:3:3: a lane prefix is only allowed inside an `or`$/,
    ],
    ["a stray character", "var x free\nlinear r {\n  x >= 1 ;\n}\n", /^<text>:3:10: unexpected character ';'$/],
  ];
  for (const [what, text, re] of bad) {
    it(`reports ${what} with line and column`, () => {
      const p = parseProblem(text);
      assert.ok(!p.ok);
      assert.equal(p.diagnostics.length, 1);
      assert.match(p.diagnostics[0].message, re);
    });
  }
});
