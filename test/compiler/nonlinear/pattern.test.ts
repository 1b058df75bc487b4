// ActivationPattern and the table of nonlinear kinds against the constraint AST they must agree with: at a
// point x, the pattern of the float64 trace picks, in every lane of every disjunction of C_f, the first item
// that holds (the restriction's conventions); the rows select-disjuncts keeps for that pattern hold at the
// trace; flip / samePattern / patternKey behave as values.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadNetworkFromBytes } from "../../../compiler/frontend/onnx/lower.js";
import { trace, patternAt } from "../../../compiler/analysis/trace.js";
import { firstHolding, satisfies, type Formula, type Or } from "../../../compiler/ir/constraint.js";
import { choicesOf, flip, patternKey, samePattern } from "../../../compiler/ir/pattern.js";
import { encode } from "../../../compiler/passes/encode.js";
import { evaluate } from "../../../compiler/passes/evaluate.js";
import { selectDisjuncts } from "../../../compiler/passes/select-disjuncts.js";
import { isNonlinear, patternItems, windowsOf } from "../../../compiler/nonlinear/index.js";
import { networkArb, randomInputs } from "../../helpers/arbitraries.js";

const ors = (f: Formula): Or[] => (f.kind === "or" ? [f] : f.kind === "and" ? f.items.flatMap(ors) : []);

describe("compiler/nonlinear + compiler/ir/pattern", function () {
  this.timeout(120_000);

  it("the trace's pattern is the first holding disjunct of every lane (ReLU phase; max-pool window position)", () => {
    fc.assert(
      fc.property(networkArb, fc.integer(), (r, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network,
          enc = encode(net, { inputLower: -Infinity, inputUpper: Infinity });
        for (const x of randomInputs(net.inputShape, 2, seed)) {
          const ev = evaluate(net, enc, x),
            p = patternAt(ev.trace);
          for (const o of ors(enc.problem.constraint)) {
            const layer = net.layers[o.layer!];
            assert.ok(isNonlinear(layer), `${o.name} names a nonlinear layer`);
            const first = firstHolding(o, ev.assignment, 0),
              c = choicesOf(p, layer.id),
              w = windowsOf(layer);
            for (let j = 0; j < o.width; j++) {
              // ReLU: item = phase; max-pool: item = the chosen element's position in its window.
              const item = w ? Array.from(w.indices.subarray(w.indptr[j], w.indptr[j + 1])).indexOf(c[j]) : c[j];
              assert.equal(first[j], item, `${o.name} lane ${j}`);
            }
          }
          // The restriction to the trace's own pattern holds at the trace.
          assert.ok(
            satisfies(
              selectDisjuncts(enc.problem, (o) => patternItems(net.layers, p, o)).constraint,
              ev.assignment,
              1e-9,
            ),
          );
        }
      }),
      { numRuns: 60 },
    );
  });

  it("flip copies only what it changes; samePattern and patternKey agree", () => {
    fc.assert(
      fc.property(networkArb, fc.integer(), (r, seed) => {
        const l = loadNetworkFromBytes(r.bytes);
        assert.ok(l.ok);
        const net = l.value.network;
        const [x, y] = randomInputs(net.inputShape, 2, seed);
        const p = trace(net, x).pattern,
          q = trace(net, y).pattern;
        assert.equal(samePattern(p, q), patternKey(p) === patternKey(q));
        const relu = net.layers.find((n) => n.kind === "relu");
        if (!relu) return;
        const before = Int32Array.from(choicesOf(p, relu.id));
        const f = flip(p, [{ layer: relu.id, j: 0, to: 1 - before[0] }]);
        assert.deepEqual(Array.from(choicesOf(p, relu.id)), Array.from(before), "the original is unchanged");
        assert.equal(choicesOf(f, relu.id)[0], 1 - before[0]);
        assert.equal(samePattern(p, f), false);
        assert.notEqual(patternKey(p), patternKey(f));
        for (const [id, c] of p.layers)
          if (id !== relu.id) assert.equal(f.layers.get(id), c, "other layers are shared");
        // Following a fixed pattern: at x itself, x's own pattern gives x's values.
        const fixed = trace(net, x, { pattern: p });
        assert.deepEqual(Array.from(fixed.logits), Array.from(trace(net, x).logits));
      }),
      { numRuns: 60 },
    );
  });
});
