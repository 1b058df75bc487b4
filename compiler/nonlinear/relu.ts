// The ReLU v = max(0, u), elementwise. Pattern entry: 1 active (u > 0), 0 inactive (u ≤ 0: a pre-activation
// of exactly 0 is inactive). Disjunction item 0 is the inactive piece, so "first holding item" = the convention.

import type { LayerBounds } from "../ir/bounds.js";
import { and, EQ, GE, LE, or, RowBuilder } from "../ir/constraint.js";
import { sizeOf, type Layer } from "../ir/network.js";
import type { NonlinearSemantics } from "./types.js";

type Relu = Extract<Layer, { kind: "relu" }>;

export const relu: NonlinearSemantics<Relu> = {
  forward(_l, _w, u, fixed) {
    const y = new Float64Array(u.length);
    const choice = fixed ?? new Int32Array(u.length);
    if (fixed) {
      for (let j = 0; j < u.length; j++) if (fixed[j]) y[j] = u[j];
    } else
      for (let j = 0; j < u.length; j++)
        if (u[j] > 0) {
          y[j] = u[j];
          choice[j] = 1;
        }
    return { y, choice };
  },

  backward(_l, choice, j, g, add) {
    if (choice[j]) add(j, g);
  },

  disjunction(l, _w, { u, v }, base) {
    const n = choiceCount(l);
    const offPhase = new RowBuilder(`relu_${base}_phase`),
      offDef = new RowBuilder(`relu_${base}_def`);
    const onPhase = new RowBuilder(`relu_${base}_phase`),
      onDef = new RowBuilder(`relu_${base}_def`);
    for (let j = 0; j < n; j++) {
      offPhase.term(u + j, 1).end(LE);
      offDef.term(v + j, 1).end(EQ);
      onPhase.term(u + j, 1).end(GE);
      onDef
        .term(v + j, 1)
        .term(u + j, -1)
        .end(EQ);
    }
    return or(`relu_${base}`, n, [and(offPhase.build(), offDef.build()), and(onPhase.build(), onDef.build())], l.id);
  },

  // Item 0 is the inactive piece, item 1 the active one: the phase is the item.
  laneItems: (_l, _w, choice) => choice,

  bigMRows(_l, _w, b, { u, v }, base, binary, stats) {
    // v ≥ 0, v ≥ u, v ≤ u − l·(1 − a), v ≤ h·a for l < 0 < h; a stable ReLU is fixed (no binary).
    const rb = new RowBuilder(`relu_${base}_milp`);
    for (let j = 0; j < b.lower.length; j++) {
      const lo = b.lower[j],
        hi = b.upper[j];
      if (hi <= 0) {
        rb.term(v + j, 1).end(EQ);
        stats.stableInactive++;
        continue;
      }
      if (lo >= 0) {
        rb.term(v + j, 1)
          .term(u + j, -1)
          .end(EQ);
        stats.stableActive++;
        continue;
      }
      const a = binary();
      stats.binaries++;
      rb.term(v + j, 1).end(GE);
      rb.term(v + j, 1)
        .term(u + j, -1)
        .end(GE);
      rb.term(v + j, 1)
        .term(u + j, -1)
        .term(a, -lo)
        .end(LE, lo);
      rb.term(v + j, 1)
        .term(a, -hi)
        .end(LE);
    }
    return rb.build();
  },

  triangleRows(_l, _w, b, { u, v }, base, stats) {
    const rb = new RowBuilder(`relu_${base}_relax`);
    for (let j = 0; j < b.lower.length; j++) {
      const lo = b.lower[j],
        hi = b.upper[j];
      if (hi <= 0) {
        rb.term(v + j, 1).end(EQ);
        stats.stableInactive++;
        continue;
      }
      if (lo >= 0) {
        rb.term(v + j, 1)
          .term(u + j, -1)
          .end(EQ);
        stats.stableActive++;
        continue;
      }
      stats.unstable++;
      rb.term(v + j, 1).end(GE);
      rb.term(v + j, 1)
        .term(u + j, -1)
        .end(GE);
      // (h − l)·v − h·u + h·l ≤ 0: the chord from (l, 0) to (h, h).
      rb.term(v + j, hi - lo)
        .term(u + j, -hi)
        .end(LE, hi * lo);
    }
    return rb.build();
  },

  interval(_l, _w, b): LayerBounds {
    return { lower: b.lower.map((x) => Math.max(0, x)), upper: b.upper.map((x) => Math.max(0, x)) };
  },

  violated(l, _w, u, choice, tol, out) {
    for (let j = 0; j < u.length; j++) {
      if (choice[j] && u[j] < -tol)
        out.push({ layer: l.input, js: [j], ws: [1], lower: 0, upper: Infinity, amount: -u[j] });
      else if (!choice[j] && u[j] > tol)
        out.push({ layer: l.input, js: [j], ws: [1], lower: -Infinity, upper: 0, amount: u[j] });
    }
  },

  binding(l, _w, u, choice, tol, out) {
    for (let j = 0; j < u.length; j++)
      if (Math.abs(u[j]) <= tol) out.push({ layer: l.id, j, to: choice[j] ? 0 : 1, gap: Math.abs(u[j]) });
  },

  linearRelaxable: true,

  linearRelaxation(_l, _w, b) {
    const n = b.lower.length;
    const own = Int32Array.from({ length: n }, (_, i) => i);
    const lowerSlope = new Float64Array(n),
      upperSlope = new Float64Array(n),
      upperIntercept = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const lo = b.lower[i],
        hi = b.upper[i];
      if (hi <= 0) continue;
      if (lo >= 0) {
        lowerSlope[i] = 1;
        upperSlope[i] = 1;
        continue;
      }
      // Upper: the chord; lower: v ≥ u or v ≥ 0, whichever leaves the smaller area (DeepPoly's choice).
      upperSlope[i] = hi / (hi - lo);
      upperIntercept[i] = -upperSlope[i] * lo;
      lowerSlope[i] = hi >= -lo ? 1 : 0;
    }
    return { lowerSlope, upperSlope, upperIntercept, lowerIndex: own, upperIndex: own };
  },
};

const choiceCount = (l: Relu): number => sizeOf(l.shape);
