// encode: Network IR → the constraint system C_f(x) of the paper's §3, without C_out (target-label adds it):
// the input block, affine layers as equalities, each nonlinear layer as its kind's disjunction (a ReLU as
// (u ≤ 0 ∧ v = 0) ∨ (u ≥ 0 ∧ v = u), a max-pool output as the disjunction over its window's elements).
// One variable block per layer ("layered").

import { match, P } from "ts-pattern";
import { affineBias, affineToCsr } from "../ir/affine.js";
import { and, EQ, freeBlock, GE, RowBuilder, type Formula, type Problem, type VarBlock } from "../ir/constraint.js";
import { sizeOf, type Layer, type Network } from "../ir/network.js";
import { semanticsOf, windowsOf } from "../nonlinear/index.js";
import { sanitizeName } from "../backend/names.js";

export interface Encoding {
  readonly problem: Problem;
  /** Variable block index of each layer (layer id → index in problem.vars). */
  readonly layerVar: readonly number[];
  /** Offset of the output layer's variables (the logits). */
  readonly outputOffset: number;
  readonly outputSize: number;
}

/** The input box in model units (pixel range / pixel scale). */
export interface EncodeOptions {
  readonly inputLower: number;
  readonly inputUpper: number;
}

export function encode(net: Network, opts: EncodeOptions): Encoding {
  const vars: VarBlock[] = [];
  const layerVar: number[] = [];
  let offset = 0;
  for (const l of net.layers) {
    const n = sizeOf(l.shape);
    const name = l.kind === "input" ? "x" : `v_${sanitizeName(l.name)}`;
    const block =
      l.kind === "input"
        ? {
            ...freeBlock(name, offset, n),
            lower: new Float64Array(n).fill(opts.inputLower),
            upper: new Float64Array(n).fill(opts.inputUpper),
          }
        : freeBlock(name, offset, n);
    layerVar.push(vars.length);
    vars.push(block);
    offset += n;
  }
  const at = (id: number) => vars[layerVar[id]].offset;
  const parts: Formula[] = [];
  for (const l of net.layers) {
    const f = encodeLayer(l, at);
    if (f) parts.push(f);
  }
  return {
    problem: { vars, constraint: and(...parts), objective: null },
    layerVar,
    outputOffset: at(net.output),
    outputSize: sizeOf(net.layers[net.output].shape),
  };
}

function encodeLayer(l: Layer, at: (id: number) => number): Formula | null {
  const base = sanitizeName(l.name);
  const v = at(l.id);
  const n = sizeOf(l.shape);
  return (
    match(l)
      .with({ kind: "input" }, () => null)
      .with({ kind: "affine" }, (a) => {
        // v_j − Σ W_jk u_k − b_j = 0
        const m = affineToCsr(a.op);
        const b = affineBias(a.op);
        const u = at(a.input);
        const rb = new RowBuilder(`aff_${base}`);
        for (let j = 0; j < m.rows; j++) {
          rb.term(v + j, 1);
          for (let k = m.indptr[j]; k < m.indptr[j + 1]; k++) rb.term(u + m.indices[k], -m.values[k]);
          rb.end(EQ, -b[j]);
        }
        return rb.build();
      })
      // Each nonlinear kind's disjunction (compiler/nonlinear/): a ReLU layer of n neurons is one `or` of width n.
      .with({ kind: P.union("relu", "maxpool") }, (nl) =>
        semanticsOf(nl).disjunction(nl, windowsOf(nl), { u: at(nl.input), v }, base),
      )
      .with({ kind: "add" }, (a) => {
        const p = at(a.inputs[0]),
          q = at(a.inputs[1]);
        const rb = new RowBuilder(`add_${base}`);
        for (let j = 0; j < n; j++) {
          if (p === q)
            rb.term(v + j, 1)
              .term(p + j, -2)
              .end(EQ);
          else
            rb.term(v + j, 1)
              .term(p + j, -1)
              .term(q + j, -1)
              .end(EQ);
        }
        return rb.build();
      })
      .with({ kind: "reshape" }, (r) => {
        const u = at(r.input);
        const rb = new RowBuilder(`move_${base}`);
        for (let j = 0; j < n; j++) {
          const s = r.source ? r.source[j] : j;
          rb.term(v + j, 1);
          if (s >= 0) rb.term(u + s, -1);
          rb.end(EQ);
        }
        return rb.build();
      })
      .exhaustive()
  );
}

/** C_out(l): y_l − y_l' − margin ≥ 0 for every l' ≠ l. */
export function outputConstraint(e: Encoding, label: number, margin: number): Formula {
  const rb = new RowBuilder(`out_y${label}`);
  for (let k = 0; k < e.outputSize; k++) {
    if (k === label) continue;
    rb.term(e.outputOffset + label, 1)
      .term(e.outputOffset + k, -1)
      .end(GE, -margin);
  }
  return rb.build();
}
