// L-BFGS-B on problems with known optima: bounded Rosenbrock (optimum proved by hand for n = 2, Newton-refined
// KKT point for n = 10, iteration/evaluation counts equal to SciPy 1.17's L-BFGS-B), bounded SPD quadratics with a
// planted active set, a linear objective (vertex optimum), infinite bounds, x0 outside the box. Every fg call
// asserts that x lies in the box.

import assert from "node:assert/strict";
import fc from "fast-check";
import { minimizeLbfgsb, type LbfgsbOptions, type LbfgsbResult } from "../../../runtime/attacks/lbfgsb-optimizer.js";
import { prng } from "../../helpers/arbitraries.js";

type Fg = (x: Float64Array, g: Float64Array) => number;

/** fg wrapped to assert the box invariant on every call and to count calls. */
function boxed(fg: Fg, lo: Float64Array, hi: Float64Array): { fg: Fg; calls: Float64Array[] } {
  const calls: Float64Array[] = [];
  return {
    calls,
    fg: (x, g) => {
      for (let i = 0; i < x.length; i++)
        assert.ok(
          x[i] >= lo[i] && x[i] <= hi[i],
          `fg called outside the box: x[${i}] = ${x[i]} not in [${lo[i]}, ${hi[i]}]`,
        );
      calls.push(Float64Array.from(x));
      return fg(x, g);
    },
  };
}

async function run(
  fg: Fg,
  x0: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  options?: LbfgsbOptions,
): Promise<LbfgsbResult & { calls: Float64Array[] }> {
  const b = boxed(fg, lo, hi);
  const r = await minimizeLbfgsb(b.fg, x0, lo, hi, options);
  assert.equal(r.evaluations, b.calls.length, "evaluations counts fg calls");
  // The result's f and g belong to the result's x.
  const g = new Float64Array(x0.length);
  assert.equal(fg(r.x, g), r.f);
  assert.deepEqual(Array.from(r.g), Array.from(g));
  return { ...r, calls: b.calls };
}

const fill = (n: number, v: number): Float64Array => new Float64Array(n).fill(v);

function projectedGradientNorm(x: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Math.min(Math.max(x[i] - g[i], lo[i]), hi[i]) - x[i]));
  return m;
}

/** Chained Rosenbrock: sum_i 100 (x_{i+1} − x_i²)² + (1 − x_i)². */
const rosenbrock: Fg = (x, g) => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i + 1] - x[i] * x[i],
      b = 1 - x[i];
    f += 100 * a * a + b * b;
    g[i] += -400 * x[i] * a - 2 * b;
    g[i + 1] += 200 * a;
  }
  return f;
};
const rosenStart = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));

describe("minimizeLbfgsb", () => {
  describe("bounded Rosenbrock", () => {
    it("n = 2 on [−2, 0.5]²: the optimum (0.5, 0.25), f = 0.25, as SciPy (3 iterations, 4 evaluations)", async () => {
      // For x1 ≤ 0.5, f ≥ (1 − x1)² ≥ 0.25 with equality only at x1 = 0.5, x2 = x1² = 0.25.
      const lo = fill(2, -2),
        hi = fill(2, 0.5);
      const r = await run(rosenbrock, rosenStart(2), lo, hi);
      assert.equal(r.status, "converged-pgtol");
      assert.equal(r.x[0], 0.5); // on the bound exactly
      assert.ok(Math.abs(r.x[1] - 0.25) < 1e-8, `x2 = ${r.x[1]}`);
      assert.ok(Math.abs(r.f - 0.25) < 1e-12);
      assert.deepEqual([r.iterations, r.evaluations], [3, 4]);
    });

    it("n = 10 on [−2, 0.5]^10: x1 on its upper bound, the rest at the reduced stationary point (SciPy: 27 iterations, 33 evaluations)", async () => {
      // Newton on ∂f/∂x_{2..10} = 0 with x1 = 0.5 (reduced Hessian PD, min eigenvalue 112; ∂f/∂x1 = −3.61 < 0,
      // so the upper bound is strictly active): a strict local minimizer, the one SciPy's L-BFGS-B finds.
      const xStar = [
        0.5, 0.26306598272517784, 0.08003111375648665, 0.01657423429055959, 0.010380676308272484, 0.010212005158611488,
        0.010208410849102706, 0.010204212096910574, 0.010004085093582908, 0.00010008171855964774,
      ];
      const fStar = 7.594812948946874;
      const lo = fill(10, -2),
        hi = fill(10, 0.5);
      const r = await run(rosenbrock, rosenStart(10), lo, hi);
      assert.equal(r.status, "converged-pgtol");
      assert.deepEqual([r.iterations, r.evaluations], [27, 33]);
      assert.ok(Math.abs(r.f - fStar) < 1e-10, `f = ${r.f}`);
      assert.equal(r.x[0], 0.5);
      xStar.forEach((v, i) => assert.ok(Math.abs(r.x[i] - v) < 1e-6, `x[${i}] = ${r.x[i]}, want ${v}`));
      // Tighter tolerances reach the KKT point to ~1e-9.
      const t = await run(rosenbrock, rosenStart(10), lo, hi, { pgtol: 1e-10, factr: 10 });
      xStar.forEach((v, i) => assert.ok(Math.abs(t.x[i] - v) < 1e-8, `x[${i}] = ${t.x[i]}, want ${v}`));
      assert.ok(t.evaluations < 60);
    });

    it("optimum inside the box [−2, 2]^n: converges to all ones (n = 2: 33/46, n = 10: 62/76 as SciPy)", async () => {
      for (const [n, iters, evals] of [
        [2, 33, 46],
        [10, 62, 76],
      ]) {
        const lo = fill(n, -2),
          hi = fill(n, 2);
        const r = await run(rosenbrock, rosenStart(n), lo, hi);
        assert.ok(r.status === "converged-pgtol" || r.status === "converged-factr", r.status);
        assert.deepEqual([r.iterations, r.evaluations], [iters, evals]);
        r.x.forEach((v) => assert.ok(Math.abs(v - 1) < 2e-6, `x = ${Array.from(r.x)}`));
        const t = await run(rosenbrock, rosenStart(n), lo, hi, { pgtol: 1e-10, factr: 10 });
        t.x.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-8, `x = ${Array.from(t.x)}`));
      }
    });

    it("converges with small memories and without bounds", async () => {
      for (const memory of [1, 3, 5, 20]) {
        const r = await run(rosenbrock, rosenStart(10), fill(10, -Infinity), fill(10, Infinity), {
          memory,
          pgtol: 1e-9,
          factr: 10,
          maxIterations: 5000,
        });
        r.x.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-6, `m = ${memory}: x = ${Array.from(r.x)} (${r.status})`));
      }
    });
  });

  describe("bounded SPD quadratic ½xᵀAx − bᵀx with a planted active set", () => {
    /**
     * Plants x*: coordinates at a lower bound (gradient λ_i > 0), at an upper bound (λ_i < 0), strictly inside
     * finite bounds, and with one or both bounds infinite (λ_i = 0); b = A x* − λ, so ∇f(x*) = λ and x* is the
     * unique minimizer (A SPD, strict complementarity).
     */
    function plant(seed: number, n: number) {
      const rand = prng(seed);
      const r = Array.from({ length: n * n }, () => 2 * rand() - 1);
      const A = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += r[k * n + i] * r[k * n + j];
          A[i * n + j] = (10 * s) / n + (i === j ? 0.1 : 0); // eigenvalues about 0.1 … 13
        }
      const lo = new Float64Array(n),
        hi = new Float64Array(n),
        xStar = new Float64Array(n),
        lambda = new Float64Array(n);
      const kind: ("lower" | "upper" | "free")[] = [];
      for (let i = 0; i < n; i++) {
        const a = 4 * rand() - 2,
          w = 0.5 + 2 * rand(),
          u = rand();
        if (u < 0.3) {
          kind.push("lower");
          lo[i] = a;
          hi[i] = rand() < 0.2 ? Infinity : a + w;
          xStar[i] = a;
          lambda[i] = 0.1 + rand();
        } else if (u < 0.6) {
          kind.push("upper");
          lo[i] = rand() < 0.2 ? -Infinity : a - w;
          hi[i] = a;
          xStar[i] = a;
          lambda[i] = -(0.1 + rand());
        } else if (u < 0.85) {
          kind.push("free");
          lo[i] = a;
          hi[i] = a + w;
          xStar[i] = a + w * (0.2 + 0.6 * rand());
        } else {
          kind.push("free");
          lo[i] = rand() < 0.5 ? -Infinity : a - w;
          hi[i] = Infinity;
          xStar[i] = a;
        }
      }
      const b = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += A[i * n + j] * xStar[j];
        b[i] = s - lambda[i];
      }
      // ½xᵀAx − bᵀx − f(x*) = ½eᵀAe + λᵀe with e = x − x*, evaluated in the second form: its rounding error
      // scales with f − f*, not with |bᵀx|, else the 1e-6 check on x would sit at f's rounding floor
      // (about sqrt(eps·|bᵀx| / λmin(A)) ≈ 1e-6 here), where no line search can still decrease f.
      const fg: Fg = (x, g) => {
        let f = 0;
        for (let i = 0; i < n; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += A[i * n + j] * (x[j] - xStar[j]);
          g[i] = s + lambda[i];
          f += (x[i] - xStar[i]) * (0.5 * s + lambda[i]);
        }
        return f;
      };
      const direct = (x: Float64Array): number => {
        let f = 0;
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) f += 0.5 * x[i] * A[i * n + j] * x[j];
        return f - x.reduce((s, v, i) => s + v * b[i], 0);
      };
      // x0 partly outside the box: projected first.
      const x0 = Float64Array.from({ length: n }, () => 8 * rand() - 4);
      const probe = Float64Array.from({ length: n }, () => 2 * rand() - 1);
      assert.ok(
        Math.abs(fg(probe, new Float64Array(n)) - (direct(probe) - direct(xStar))) <
          1e-9 * (1 + Math.abs(direct(probe))),
      );
      return { fg, lo, hi, xStar, kind, x0 };
    }

    it("n = 50, random seeds: x* and the active set within 1e-6, under 200 evaluations", async () => {
      const stats: number[] = [];
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
          const p = plant(seed, 50);
          const r = await run(p.fg, p.x0, p.lo, p.hi, { pgtol: 1e-9, factr: 10 });
          assert.ok(r.status === "converged-pgtol" || r.status === "converged-factr", r.status);
          assert.ok(r.evaluations < 200, `${r.evaluations} evaluations`);
          stats.push(r.evaluations);
          p.kind.forEach((k, i) => {
            assert.ok(
              Math.abs(r.x[i] - p.xStar[i]) <= 1e-6,
              `seed ${seed}: x[${i}] = ${r.x[i]}, want ${p.xStar[i]} (${k})`,
            );
            if (k === "lower") assert.equal(r.x[i], p.lo[i], `seed ${seed}: x[${i}] not on its lower bound`);
            if (k === "upper") assert.equal(r.x[i], p.hi[i], `seed ${seed}: x[${i}] not on its upper bound`);
            if (k === "free") assert.ok(r.x[i] > p.lo[i] && r.x[i] < p.hi[i], `seed ${seed}: x[${i}] on a bound`);
          });
        }),
        { numRuns: 25 },
      );
      assert.ok(Math.max(...stats) < 200);
    });

    it("default tolerances: active set exact, x* within 1e-3, the same iterations/evaluations as SciPy", async () => {
      // factr = 1e7 stops at a relative decrease of f near 2e-9, i.e. |x − x*| up to about sqrt(2·Δf / λmin(A)).
      // SciPy 1.17 (scipy.optimize.minimize, method L-BFGS-B, defaults) on the same data: these counts, and
      // final x equal to ours within 3e-15. The counts pin down the Cauchy point's breakpoint updates, which
      // convergence alone does not (a wrong sign there still converges, on another path).
      const scipy: Record<number, [number, number]> = {
        1: [19, 20],
        2: [22, 23],
        3: [26, 27],
        4: [24, 25],
        5: [21, 22],
      };
      for (const seed of [1, 2, 3, 4, 5]) {
        const p = plant(seed, 50);
        const r = await run(p.fg, p.x0, p.lo, p.hi);
        assert.ok(r.status === "converged-pgtol" || r.status === "converged-factr", r.status);
        assert.deepEqual([r.iterations, r.evaluations], scipy[seed], `seed ${seed}`);
        p.kind.forEach((k, i) => {
          assert.ok(Math.abs(r.x[i] - p.xStar[i]) <= 1e-3, `x[${i}] = ${r.x[i]}, want ${p.xStar[i]}`);
          if (k !== "free") assert.equal(r.x[i], p.xStar[i]);
        });
      }
    });
  });

  it("linear objective, unbounded below but blocked by the box (some bounds infinite): the vertex", async () => {
    const c = Float64Array.from([3, -2, 0.5, -0.25, 1e-3, -7, 4, -1]);
    const lo = Float64Array.from([-1, -5, 0, -Infinity, 2, -Infinity, -3, 0]);
    const hi = Float64Array.from([1, 5, Infinity, 0.75, 3, 10, Infinity, 1]);
    const vertex = Array.from(c, (ci, i) => (ci > 0 ? lo[i] : hi[i]));
    const fg: Fg = (x, g) => {
      g.set(c);
      return x.reduce((s, v, i) => s + c[i] * v, 0);
    };
    for (const x0 of [new Float64Array(8), Float64Array.from([50, -50, -50, 50, 0, 0, 0, 0.5])]) {
      const r = await run(fg, x0, lo, hi);
      assert.equal(r.status, "converged-pgtol");
      assert.deepEqual(Array.from(r.x), vertex);
      assert.ok(r.evaluations <= 10, `${r.evaluations} evaluations`);
    }
  });

  it("x0 outside the box is projected before the first evaluation", async () => {
    const lo = Float64Array.from([0, -Infinity, -1]),
      hi = Float64Array.from([1, 2, Infinity]);
    const target = Float64Array.from([0.3, 1, 4]);
    const fg: Fg = (x, g) => {
      let f = 0;
      x.forEach((v, i) => {
        g[i] = v - target[i];
        f += 0.5 * (v - target[i]) ** 2;
      });
      return f;
    };
    const r = await run(fg, Float64Array.from([-5, 9, -9]), lo, hi);
    assert.deepEqual(Array.from(r.calls[0]), [0, 2, -1]);
    assert.equal(r.status, "converged-pgtol");
    r.x.forEach((v, i) => assert.ok(Math.abs(v - target[i]) < 1e-6));
  });

  it("fixed variables (lower = upper) stay fixed; a start at the optimum costs one evaluation", async () => {
    const lo = Float64Array.from([2, 0, -1]),
      hi = Float64Array.from([2, 1, 1]);
    const fg: Fg = (x, g) => {
      g[0] = 2 * (x[0] + 1);
      g[1] = 2 * (x[1] - 0.5);
      g[2] = 2 * (x[2] - 3);
      return (x[0] + 1) ** 2 + (x[1] - 0.5) ** 2 + (x[2] - 3) ** 2;
    };
    const r = await run(fg, Float64Array.from([0, 0, 0]), lo, hi);
    assert.equal(r.status, "converged-pgtol");
    assert.deepEqual(Array.from(r.x), [2, 0.5, 1]);
    const again = await run(fg, r.x, lo, hi);
    assert.deepEqual([again.status, again.iterations, again.evaluations], ["converged-pgtol", 0, 1]);
  });

  it("n = 784 in [0, 1] (the attack's shape): a softmax margin loss plus a distance term, as SciPy (8 iterations, 9 evaluations)", async () => {
    const n = 784,
      classes = 10,
      rand = prng(7);
    const W = Float64Array.from({ length: classes * n }, () => (rand() - 0.5) * 0.2);
    const seed = Float64Array.from({ length: n }, () => (rand() < 0.8 ? 0 : rand()));
    const target = 3,
      c = 0.05;
    const fg: Fg = (x, g) => {
      const z = new Float64Array(classes);
      for (let k = 0; k < classes; k++) for (let i = 0; i < n; i++) z[k] += W[k * n + i] * x[i];
      const zmax = Math.max(...z);
      const e = z.map((v) => Math.exp(v - zmax)),
        se = e.reduce((a, v) => a + v, 0);
      let f = Math.log(se) + zmax - z[target];
      for (let i = 0; i < n; i++) {
        const d = x[i] - seed[i];
        f += c * d * d;
        g[i] = 2 * c * d;
      }
      for (let k = 0; k < classes; k++) {
        const w = e[k] / se - (k === target ? 1 : 0);
        for (let i = 0; i < n; i++) g[i] += w * W[k * n + i];
      }
      return f;
    };
    const lo = fill(n, 0),
      hi = fill(n, 1);
    const r = await run(fg, seed, lo, hi);
    assert.ok(r.status === "converged-pgtol" || r.status === "converged-factr", r.status);
    assert.ok(projectedGradientNorm(r.x, r.g, lo, hi) < 1e-3);
    // SciPy 1.17 on the same data: 8 iterations, 9 evaluations, f = 0.5853383763155271.
    assert.deepEqual([r.iterations, r.evaluations], [8, 9]);
    assert.ok(Math.abs(r.f - 0.5853383763155271) < 1e-12, `f = ${r.f}`);
    assert.ok(r.f < fg(seed, new Float64Array(n)));
  });

  it("stops at maxIterations and maxEvaluations", async () => {
    const lo = fill(10, -2),
      hi = fill(10, 2);
    const a = await run(rosenbrock, rosenStart(10), lo, hi, { maxIterations: 5 });
    assert.deepEqual([a.status, a.iterations], ["max-iterations", 5]);
    const b = await run(rosenbrock, rosenStart(10), lo, hi, { maxEvaluations: 7 });
    assert.equal(b.status, "max-evaluations");
    assert.ok(b.evaluations <= 7);
    assert.ok(b.f < rosenbrock(rosenStart(10), new Float64Array(10)));
  });

  it("reports a non-finite objective at x0 as abnormal and rejects bad arguments", async () => {
    const r = await minimizeLbfgsb(
      (_x, g) => {
        g.fill(0);
        return NaN;
      },
      fill(2, 0),
      fill(2, -1),
      fill(2, 1),
    );
    assert.deepEqual([r.status, r.evaluations], ["abnormal", 1]);
    await assert.rejects(() => minimizeLbfgsb(rosenbrock, fill(2, 0), fill(2, 1), fill(2, 0)), RangeError);
    await assert.rejects(() => minimizeLbfgsb(rosenbrock, fill(2, 0), fill(3, 0), fill(2, 1)), RangeError);
    await assert.rejects(
      () => minimizeLbfgsb(rosenbrock, fill(2, 0), fill(2, 0), fill(2, 1), { memory: 0 }),
      RangeError,
    );
    await assert.rejects(() => minimizeLbfgsb(rosenbrock, fill(2, NaN), fill(2, 0), fill(2, 1)), RangeError);
  });

  it("steps back from a region where f is not finite", async () => {
    // f = +Infinity for x > 1 (outside its domain) while the box allows up to 10: the line search must retreat.
    const fg: Fg = (x, g) => {
      g[0] = x[0] > 1 ? NaN : -1 / (1.5 - x[0]) + 2 * (x[0] - 0.9);
      return x[0] > 1 ? Infinity : Math.log(1.5 - x[0]) + (x[0] - 0.9) ** 2;
    };
    const r = await run(fg, fill(1, 0), fill(1, 0), fill(1, 10));
    assert.ok(Number.isFinite(r.f) && r.x[0] <= 1, `${r.status} x = ${r.x[0]}`);
  });
});
