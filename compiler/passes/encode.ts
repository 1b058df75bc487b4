// encode: Network IR → the constraint system C_f(x) of the paper's §3, without C_out (target-label adds it):
// the input block, affine layers as equalities, each ReLU as (u ≤ 0 ∧ v = 0) ∨ (u ≥ 0 ∧ v = u), each
// max-pool output as the disjunction over its window's elements. One variable block per layer ("layered").

import { match } from "ts-pattern";
import { affineBias, affineToCsr, poolWindows } from "../ir/affine.js";
import { and, EQ, freeBlock, GE, LE, or, RowBuilder, type Formula, type Problem, type VarBlock } from "../ir/constraint.js";
import { sizeOf, type Layer, type Network } from "../ir/network.js";
import { sanitizeName } from "../backend/names.js";

export interface Encoding {
  readonly problem: Problem;
  /** Variable block index of each layer (layer id → index in problem.vars). */
  readonly layerVar: readonly number[];
  /** Offset of the output layer's variables (the logits). */
  readonly outputOffset: number;
  readonly outputSize: number;
  /** Each max-pool layer's windows (output j → input indices, row-major), for passes that rewrite them. */
  readonly windows: ReadonlyMap<number, readonly (readonly number[])[]>;
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
    const block = l.kind === "input"
      ? { ...freeBlock(name, offset, n), lower: new Float64Array(n).fill(opts.inputLower), upper: new Float64Array(n).fill(opts.inputUpper) }
      : freeBlock(name, offset, n);
    layerVar.push(vars.length);
    vars.push(block);
    offset += n;
  }
  const at = (id: number) => vars[layerVar[id]].offset;
  // Max-pool windows, computed once: the encoding and later passes (big-M) read them.
  const windows = new Map<number, number[][]>();
  for (const l of net.layers) if (l.kind === "maxpool") windows.set(l.id, poolWindows(l.geometry));
  const parts: Formula[] = [];
  for (const l of net.layers) {
    const f = encodeLayer(l, at, windows);
    if (f) parts.push(f);
  }
  return {
    problem: { vars, constraint: and(...parts), objective: null },
    layerVar, outputOffset: at(net.output), outputSize: sizeOf(net.layers[net.output].shape), windows,
  };
}

function encodeLayer(l: Layer, at: (id: number) => number, allWindows: ReadonlyMap<number, number[][]>): Formula | null {
  const base = sanitizeName(l.name);
  const v = at(l.id);
  const n = sizeOf(l.shape);
  return match(l)
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
    .with({ kind: "relu" }, (r) => {
      const u = at(r.input);
      // Item 0 (inactive) comes first: a pre-activation of exactly 0 selects it (see firstHolding).
      const offPhase = new RowBuilder(`relu_${base}_phase`), offDef = new RowBuilder(`relu_${base}_def`);
      const onPhase = new RowBuilder(`relu_${base}_phase`), onDef = new RowBuilder(`relu_${base}_def`);
      for (let j = 0; j < n; j++) {
        offPhase.term(u + j, 1).end(LE);
        offDef.term(v + j, 1).end(EQ);
        onPhase.term(u + j, 1).end(GE);
        onDef.term(v + j, 1).term(u + j, -1).end(EQ);
      }
      return or(`relu_${base}`, n, [and(offPhase.build(), offDef.build()), and(onPhase.build(), onDef.build())]);
    })
    .with({ kind: "maxpool" }, (m) => {
      const u = at(m.input);
      const windows = allWindows.get(m.id)!;
      const K = Math.max(...windows.map((w) => w.length));
      // Item k: "the window's k-th element (row-major) is the max": v_j = u_wk ∧ u_wk ≥ u_wk' for k' ≠ k.
      const items: Formula[] = [];
      for (let k = 0; k < K; k++) {
        const def = new RowBuilder(`pool_${base}_def`), dom = new RowBuilder(`pool_${base}_max`);
        windows.forEach((w, j) => {
          if (k >= w.length) return;
          def.term(v + j, 1).term(u + w[k], -1).end(EQ, 0, j);
          for (let k2 = 0; k2 < w.length; k2++) if (k2 !== k) dom.term(u + w[k], 1).term(u + w[k2], -1).end(GE, 0, j);
        });
        items.push(and(def.build(), dom.build()));
      }
      return or(`pool_${base}`, n, items);
    })
    .with({ kind: "add" }, (a) => {
      const p = at(a.inputs[0]), q = at(a.inputs[1]);
      const rb = new RowBuilder(`add_${base}`);
      for (let j = 0; j < n; j++) {
        if (p === q) rb.term(v + j, 1).term(p + j, -2).end(EQ);
        else rb.term(v + j, 1).term(p + j, -1).term(q + j, -1).end(EQ);
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
    .exhaustive();
}

/** C_out(l): y_l − y_l' − margin ≥ 0 for every l' ≠ l. */
export function outputConstraint(e: Encoding, label: number, margin: number): Formula {
  const rb = new RowBuilder(`out_y${label}`);
  for (let k = 0; k < e.outputSize; k++) {
    if (k === label) continue;
    rb.term(e.outputOffset + label, 1).term(e.outputOffset + k, -1).end(GE, -margin);
  }
  return rb.build();
}
