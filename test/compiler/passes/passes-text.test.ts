// The passes as text in → text out: a problem in the constraint IR's syntax (grammar/constraint/syntax.md),
// one pass, the printed result. Expected texts were checked by hand (the comments say what each shows).

import assert from "node:assert/strict";
import { parseProblem } from "../../../grammar/constraint/parse.js";
import { printProblem } from "../../../grammar/constraint/print.js";
import type { Problem } from "../../../compiler/ir/constraint.js";
import { selectDisjuncts } from "../../../compiler/passes/select-disjuncts.js";
import { linearizeLinf } from "../../../compiler/passes/linearize-linf.js";
import { eliminate } from "../../../compiler/passes/eliminate.js";

const parse = (text: string): Problem => {
  const p = parseProblem(text);
  assert.ok(p.ok, p.ok ? "" : p.diagnostics[0].message);
  return p.value;
};
const lines = (s: string) =>
  s
    .trim()
    .split("\n")
    .map((l) => l.trimEnd());
const same = (got: Problem, want: string) => assert.deepEqual(lines(printProblem(got)), lines(want));

// u = affine(x); v = relu(u), the ReLU layer as encode writes it (item 0 inactive, item 1 active).
const RELU = `
var x[2] in [0, 1]
var u[2] free
var v[2] free
and {
  linear aff_h {
    -x[0] + 2 x[1] + u[0] = 0.5
    1.5 x[0] + u[1] = 0
  }
  or relu_h [2] layer 2 {
    and {
      linear relu_h_phase {
        u[0] <= 0
        u[1] <= 0
      }
      linear relu_h_def {
        v[0] = 0
        v[1] = 0
      }
    }
    and {
      linear relu_h_phase {
        u[0] >= 0
        u[1] >= 0
      }
      linear relu_h_def {
        v[0] - u[0] = 0
        v[1] - u[1] = 0
      }
    }
  }
}`;

// Neuron 0 active, neuron 1 inactive: per lane the chosen item's rows, merged by block, in lane order.
const RELU_SELECTED = `
var x[2] in [0, 1]
var u[2] free
var v[2] free
and {
  linear aff_h {
    -x[0] + 2 x[1] + u[0] = 0.5
    1.5 x[0] + u[1] = 0
  }
  and {
    linear relu_h_phase {
      u[0] >= 0
      u[1] <= 0
    }
    linear relu_h_def {
      v[0] - u[0] = 0
      v[1] = 0
    }
  }
}`;

describe("compiler/passes as IR text in → text out", () => {
  it("select-disjuncts keeps, per lane, the chosen item's rows", () => {
    same(
      selectDisjuncts(parse(RELU), () => Int32Array.of(1, 0)),
      RELU_SELECTED,
    );
  });

  it("select-disjuncts on a max-pool window (one lane, three items): the second element is the max", () => {
    const pool = parse(`
var u[3] free
var v free
or pool_p [1] layer 1 {
  and {
    linear pool_p_def {
      @0: v - u[0] = 0
    }
    linear pool_p_max {
      @0: u[0] - u[1] >= 0
      @0: u[0] - u[2] >= 0
    }
  }
  and {
    linear pool_p_def {
      @0: v - u[1] = 0
    }
    linear pool_p_max {
      @0: u[1] - u[0] >= 0
      @0: u[1] - u[2] >= 0
    }
  }
  and {
    linear pool_p_def {
      @0: v - u[2] = 0
    }
    linear pool_p_max {
      @0: u[2] - u[0] >= 0
      @0: u[2] - u[1] >= 0
    }
  }
}`);
    same(
      selectDisjuncts(pool, () => Int32Array.of(1)),
      `
var u[3] free
var v free
and {
  linear pool_p_def {
    v - u[1] = 0
  }
  linear pool_p_max {
    u[1] - u[0] >= 0
    u[1] - u[2] >= 0
  }
}`,
    );
  });

  it("linearize-linf appends t ≥ 0, the rows x* − t ≤ x ≤ x* + t and min t", () => {
    same(
      linearizeLinf(parse(RELU_SELECTED), Float64Array.of(0.25, 0.5)),
      `
var x[2] in [0, 1]
var u[2] free
var v[2] free
var t in [0, inf]
minimize t
and {
  and {
    linear aff_h {
      -x[0] + 2 x[1] + u[0] = 0.5
      1.5 x[0] + u[1] = 0
    }
    and {
      linear relu_h_phase {
        u[0] >= 0
        u[1] <= 0
      }
      linear relu_h_def {
        v[0] - u[0] = 0
        v[1] = 0
      }
    }
  }
  linear linf_lo {
    x[0] + t >= 0.25
    x[1] + t >= 0.5
  }
  linear linf_hi {
    x[0] - t <= 0.25
    x[1] - t <= 0.5
  }
}`,
    );
  });

  it("eliminate substitutes the layer variables away: u0 = 0.5 + x0 − 2 x1 ≥ 0 and u1 = −1.5 x0 ≤ 0 remain, in x and t", () => {
    same(
      eliminate(linearizeLinf(parse(RELU_SELECTED), Float64Array.of(0.25, 0.5)), ["x", "t"]).problem,
      `
var x[2] in [0, 1]
var t in [0, inf]
minimize t
and {
  linear relu_h_phase {
    x[0] - 2 x[1] >= -0.5
    -1.5 x[0] <= 0
  }
  linear linf_lo {
    x[0] + t >= 0.25
    x[1] + t >= 0.5
  }
  linear linf_hi {
    x[0] - t <= 0.25
    x[1] - t <= 0.5
  }
}`,
    );
  });

  it("the `layer` of an `or` reads back as printed", () => {
    assert.deepEqual(lines(printProblem(parse(RELU))), lines(RELU));
  });
});
