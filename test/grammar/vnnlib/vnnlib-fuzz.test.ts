// Fuzzing the VNN-LIB reader: random text and random edits of valid files never throw; the result is a
// property with consistent sizes or exactly one one-line error located inside the text.

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseVnnlib } from "../../../grammar/vnnlib/parse.js";

const VALID = `; small property with every construct
(declare-const X_0 Real)
(declare-const X_1 Real)
(declare-const Y_0 Real)
(declare-const Y_1 Real)
(declare-const Y_2 Real)
(assert (<= X_0 0.5)) (assert (>= X_0 -0.5))
(assert (and (<= X_1 1e0) (>= X_1 (- 1.0))))
(assert (<= (+ X_0 (* 2 X_1)) 1.5))
(assert (or
    (and (>= Y_0 Y_2) (< (- Y_1 Y_2) 0.25))
    (and (> Y_1 Y_2))
    (and (>= X_0 0) (<= X_0 0.25) (= (/ Y_0 2) Y_1))))
`;

/** Characters that make edits hit the grammar rather than only names. */
const ALPHABET = [..."()XY_0123456789.-+*/eE;<=> \n\tandorassertdeclare-constReal"];

type Edit = { at: number; kind: "del" | "ins" | "sub"; len: number; text: string };
const edit: fc.Arbitrary<Edit> = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("del", "ins", "sub"),
  len: fc.integer({ min: 1, max: 8 }),
  text: fc.oneof(
    fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 1, maxLength: 6 }),
    fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
  ),
});

function apply(src: string, edits: readonly Edit[]): string {
  let s = src;
  for (const e of edits) {
    const at = s.length === 0 ? 0 : e.at % (s.length + 1);
    if (e.kind === "del") s = s.slice(0, at) + s.slice(at + e.len);
    else if (e.kind === "ins") s = s.slice(0, at) + e.text + s.slice(at);
    else s = s.slice(0, at) + e.text + s.slice(at + e.text.length);
  }
  return s;
}

/** Either a consistent property, or one diagnostic `f.vnnlib:L:C: ...` on one line with L:C inside the text. */
function checkResult(text: string): void {
  const r = parseVnnlib(text, "f.vnnlib");
  if (r.ok) {
    const p = r.value;
    for (const c of [p, ...(p.cases ?? [])]) {
      assert.equal(c.inputLower.length, p.numInputs);
      assert.equal(c.inputUpper.length, p.numInputs);
      for (const a of c.unsafe.flat()) {
        for (const i of a.term.x.keys()) assert.ok(i < p.numInputs);
        for (const j of a.term.y.keys()) assert.ok(j < p.numOutputs);
        assert.ok(Number.isFinite(a.term.c));
      }
    }
    return;
  }
  assert.equal(r.diagnostics.length, 1);
  const msg = r.diagnostics[0].message;
  assert.doesNotMatch(msg, /[\r\n\u2028\u2029]/, msg);
  const m = /^f\.vnnlib:(\d+):(\d+): \S/.exec(msg);
  assert.ok(m, msg);
  const lines = text.split("\n");
  const line = Number(m[1]),
    col = Number(m[2]);
  assert.ok(line >= 1 && line <= lines.length, msg);
  assert.ok(col >= 1 && col <= lines[line - 1].length + 1, msg);
}

describe("VNN-LIB: fuzzing", function () {
  it("the seed file is valid", () => {
    const r = parseVnnlib(VALID, "f.vnnlib");
    assert.ok(r.ok);
    assert.equal(r.value.cases?.length, 2);
  });

  it("random strings never throw", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => checkResult(s)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...ALPHABET), maxLength: 400 }), (s) => checkResult(s)),
      { numRuns: 2000 },
    );
  });

  it("random bytes (decoded as UTF-8, as readVnnlibFile does) never throw", () => {
    const dec = new TextDecoder("utf-8");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => checkResult(dec.decode(b))),
      { numRuns: 2000 },
    );
  });

  it("random deletions, insertions and substitutions of a valid file never throw", () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 6 }), (es) => checkResult(apply(VALID, es))),
      { numRuns: 5000 },
    );
  });

  it("deep and wide random nesting of and/or never throws", () => {
    const head = VALID.split("(assert")[0];
    const formula = fc.letrec<{ f: string }>((tie) => ({
      f: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        fc.constantFrom("(>= Y_0 Y_1)", "(<= X_0 0.1)", "(>= X_1 -1)", "(< (+ Y_2 X_0) 3)", "true", "false"),
        fc
          .tuple(fc.constantFrom("and", "or"), fc.array(tie("f"), { maxLength: 4 }))
          .map(([op, xs]) => `(${op} ${xs.join(" ")})`),
      ),
    })).f;
    fc.assert(
      fc.property(fc.array(formula, { minLength: 1, maxLength: 4 }), (fs) =>
        checkResult(`${head}${fs.map((f) => `(assert ${f})`).join("\n")}`),
      ),
      { numRuns: 1000 },
    );
  });
});
