// Property: on random dense ReLU networks (mlpArb: Gemm in both layouts or MatMul + Add, up to three hidden
// layers) and random conv networks of every layer kind (convArb, layerZooArb), the engine's bounds (Engine.bounds: CROWN over B boxes with the ReLU lower slopes as inputs) are
//   sound       never above G·y at sampled points of each box (the corners' 2 extremes, the centre and random
//               points; y the float64 trace, whose own rounding is ~1e-16 relative: allowed 1e-12·(1 + |G·y|)),
//               on both backends, and every ReLU pre-activation lies inside the returned intermediate bounds
//   close       onnxruntime (the float64 bounds graph) within TOL of the reference (tightBounds + backsub, one
//               box at a time; except on a box where a max-pool window has a near tie for its best element: see
//               nearTie), for DeepPoly's slopes and for random slopes given to both (some outside [0, 1]:
//               DeepPoly's there); the difference is the pads — the reference widens every bound by
//               1e-7·(1 + magnitude), the graph by γ_N·magnitude (~1e-13) — carried through later layers
//   coefficients  the rows' coefficients on each ReLU's output (asked for with random slopes and clamps) agree
//   clamps      with split clamps (a ReLU's pre-activation ≥ 0 or ≤ 0 on some neurons, as branch and bound gives
//               them) consistent with a point of each box: sound at that point and wherever a sample satisfies
//               the splits, and close to the reference given the same clamps (tightBounds's `known`)
//   batched     a batch of boxes gives each box's bounds alone (reference: exactly; onnxruntime: within 1e-12
//               relative, a different batch may block its matrix products differently).

import assert from "node:assert/strict";
import fc from "fast-check";
import { networkMatrices } from "../../compiler/ir/matrices.js";
import { sizeOf, type Network } from "../../compiler/ir/network.js";
import { trace } from "../../compiler/analysis/trace.js";
import { tightBounds } from "../../compiler/analysis/bounds/backsub.js";
import { ENGINE_BACKSUB_WORK } from "../../compiler/engine/index.js";
import { layerWindows } from "../../compiler/ir/matrices.js";
import { openEngine } from "../../runtime/engine/index.js";
import { netFamilies, type RandomNet } from "../helpers/arbitraries.js";
import { inSubdomain, poolClamps, randomCase, samplePoints, splitClamps } from "../helpers/boxes.js";

/** ort and reference bounds differ by at most TOL·(1 + |reference|). */
const TOL = 1e-5;

/**
 * Whether a max-pool window of the box has a near tie for its largest lower bound (two elements within 1e-6; an
 * exact tie in one backend's bounds can be a near one in the other's, whose pads differ): the
 * relaxation's best element then depends on the last bits of the pads, which differ between the backends (both
 * choices are sound), so the two bounds may differ by more than TOL there. Soundness is checked all the same.
 */
function nearTie(
  net: Network,
  m: ReturnType<typeof networkMatrices>,
  lo: Float64Array,
  hi: Float64Array,
  known?: ReadonlyMap<number, { lower: Float64Array; upper: Float64Array }>,
): boolean {
  if (!net.layers.some((l) => l.kind === "maxpool")) return false;
  const b = tightBounds(net, m, lo, hi, ENGINE_BACKSUB_WORK, false, undefined, known);
  return net.layers.some((l) => {
    if (l.kind !== "maxpool") return false;
    const w = layerWindows(l),
      v = b[l.input].lower;
    for (let j = 0; j + 1 < w.indptr.length; j++) {
      const vals = Array.from(w.indices.subarray(w.indptr[j], w.indptr[j + 1]), (e) => v[e]).sort((x, y) => y - x);
      if (vals.length > 1 && vals[0] - vals[1] <= 1e-6 * (1 + Math.abs(vals[0]))) return true;
    }
    return false;
  });
}

/** Boxes whose closeness was not asserted (nearTie), of all boxes checked. */
const tally = { ties: 0, boxes: 0 };

type Mode = "DeepPoly's slopes" | "random slopes" | "split clamps" | "split and max-pool clamps";

async function check(rn: RandomNet, seed: number, mode: Mode): Promise<number> {
  const withSlopes = mode === "random slopes";
  const B = 3,
    R = 3;
  const { net, m, n, K, r, lower, upper, rows } = randomCase(rn, seed, B, R);
  const ref = openEngine(net, m, "reference");
  const ort = openEngine(net, m, "onnxruntime");
  assert.equal(ort.boundsBackend, "onnxruntime", `${rn.description}: ${ort.boundsFallback}`);
  assert.deepEqual(ort.slopeLayers, ref.slopeLayers);
  const slopes = withSlopes
    ? ort.slopeLayers.map((id) =>
        Float64Array.from({ length: B * sizeOf(net.layers[id].shape) }, () => (r() < 0.1 ? -1 : r())),
      )
    : undefined;
  // Split clamps consistent with a point of each box (its anchor: the bound must hold there).
  const split = mode.startsWith("split") ? splitClamps(net, m, ort.slopeLayers, lower, upper, B, r) : undefined;
  const clamps = split?.clamps;
  assert.deepEqual(ort.poolLayers, ref.poolLayers);
  // Clamps of the max-pools' inputs, consistent with the same anchors (branch and bound's max-pool splits).
  const pooled =
    mode === "split and max-pool clamps" && split ? poolClamps(net, m, ort.poolLayers, split.anchors, r) : undefined;
  /** Box b's clamps as tightBounds's `known` (keyed by each ReLU's and max-pool's input layer; intersected). */
  const knownOf = (b: number) => {
    if (!clamps) return undefined;
    const known = new Map<number, { lower: Float64Array; upper: Float64Array }>();
    const put = (ids: readonly number[], c: { lower: Float64Array; upper: Float64Array }[]) =>
      ids.forEach((id, li) => {
        const inp = (net.layers[id] as { input: number }).input,
          w = sizeOf(net.layers[inp].shape);
        const lo = c[li].lower.slice(b * w, (b + 1) * w),
          hi = c[li].upper.slice(b * w, (b + 1) * w);
        const e = known.get(inp);
        if (e)
          for (let j = 0; j < w; j++) {
            lo[j] = Math.max(lo[j], e.lower[j]);
            hi[j] = Math.min(hi[j], e.upper[j]);
          }
        known.set(inp, { lower: lo, upper: hi });
      });
    put(ort.slopeLayers, clamps);
    if (pooled) put(ort.poolLayers, pooled);
    return known;
  };
  let worst = 0;
  try {
    const ask = { coefficients: mode !== "DeepPoly's slopes", ...(pooled ? { poolClamps: pooled } : {}) };
    const a = await ref.bounds(lower, upper, rows, R, B, slopes, clamps, ask);
    const c = await ort.bounds(lower, upper, rows, R, B, slopes, clamps, ask);
    assert.equal(a.coefficients?.length, ask.coefficients ? ort.slopeLayers.length : undefined);
    assert.equal(c.poolCoefficients?.length, ask.coefficients ? ort.poolLayers.length : undefined);
    for (let i = 0; i < B * R; i++) {
      const b = Math.floor(i / R);
      if (i % R === 0) tally.boxes++;
      if (nearTie(net, m, lower.subarray(b * n, (b + 1) * n), upper.subarray(b * n, (b + 1) * n), knownOf(b))) {
        if (i % R === 0) tally.ties++;
        continue;
      }
      // The rows' coefficients on each ReLU's output (branch and bound's scores): the same on both backends, except
      // where a ReLU's pre-activation bound lies within 1e-6 of 0 (within the pads: stable or relaxed differently on each
      // backend, e.g. [−1e-9, 1e-9] against [−1e-290, 1e-290]:
      // the coefficients through it differ while the bounds barely do).
      const edge = a.preActivation.some((p) => {
        const w = p.lower.length / B;
        for (let j = b * w; j < (b + 1) * w; j++)
          if (Math.abs(p.lower[j]) <= 1e-6 || Math.abs(p.upper[j]) <= 1e-6) return true;
        return false;
      });
      if (!edge)
        [...(a.coefficients ?? []), ...(a.poolCoefficients ?? [])].forEach((ca, li) => {
          const w = ca.length / (B * R);
          for (let j = 0; j < w; j++) {
            const u = ca[i * w + j],
              v = [...c.coefficients!, ...c.poolCoefficients!][li][i * w + j];
            assert.ok(
              Math.abs(u - v) <= TOL * (1 + Math.abs(u)),
              `${rn.description}: coefficient ${li}/${j}: ${v} vs ${u}`,
            );
          }
        });
      const d = Math.abs(a.lower[i] - c.lower[i]) / (1 + Math.abs(a.lower[i]));
      worst = Math.max(worst, d);
      assert.ok(d <= TOL, `${rn.description}: row ${i}: onnxruntime ${c.lower[i]} vs reference ${a.lower[i]}`);
    }
    // Soundness at sampled points of each box.
    for (let b = 0; b < B; b++) {
      const lo = lower.subarray(b * n, (b + 1) * n),
        hi = upper.subarray(b * n, (b + 1) * n);
      const points = samplePoints(lo, hi, r);
      if (split) points.push(split.anchors[b]);
      for (const x of points) {
        const t = trace(net, x, { matrices: m });
        // With clamps the bounds hold on the subdomain only (the anchor is in it; other points where they fall in it).
        if (!inSubdomain(net, ort.slopeLayers, clamps, b, t, ort.poolLayers, pooled)) continue;
        for (let q = 0; q < R; q++) {
          let gy = 0;
          for (let k = 0; k < K; k++) gy += rows[(b * R + q) * K + k] * t.logits[k];
          const slack = 1e-12 * (1 + Math.abs(gy));
          for (const [name, e] of [
            ["reference", a],
            ["onnxruntime", c],
          ] as const)
            assert.ok(e.lower[b * R + q] <= gy + slack, `${rn.description}: ${name} bound above G·y at a point`);
        }
        ort.slopeLayers.forEach((id, li) => {
          const inp = (net.layers[id] as { input: number }).input;
          const u = t.values[inp],
            w = u.length;
          for (const e of [a, c])
            for (let j = 0; j < w; j++) {
              const s = 1e-12 * (1 + Math.abs(u[j]));
              assert.ok(e.preActivation[li].lower[b * w + j] <= u[j] + s, `${rn.description}: pre-activation lower`);
              assert.ok(e.preActivation[li].upper[b * w + j] >= u[j] - s, `${rn.description}: pre-activation upper`);
            }
        });
        ort.poolLayers.forEach((id, pi) => {
          const u = t.values[(net.layers[id] as { input: number }).input],
            w = u.length;
          for (const e of [a, c])
            for (let j = 0; j < w; j++) {
              const s = 1e-12 * (1 + Math.abs(u[j]));
              assert.ok(e.poolInput![pi].lower[b * w + j] <= u[j] + s, `${rn.description}: max-pool input lower`);
              assert.ok(e.poolInput![pi].upper[b * w + j] >= u[j] - s, `${rn.description}: max-pool input upper`);
            }
        });
      }
    }
    // A batch gives each box's bounds alone.
    for (let b = 0; b < B; b++) {
      const one = (d: Float64Array, w: number) => d.slice(b * w, (b + 1) * w);
      const w = (i: number) => sizeOf(net.layers[ort.slopeLayers[i]].shape);
      const s1 = slopes?.map((s, i) => one(s, w(i)));
      const k1 = clamps?.map((k, i) => ({ lower: one(k.lower, w(i)), upper: one(k.upper, w(i)) }));
      const p1 = pooled?.map((k) => ({
        lower: one(k.lower, k.lower.length / B),
        upper: one(k.upper, k.upper.length / B),
      }));
      const ask1 = p1 ? { poolClamps: p1 } : undefined;
      const a1 = await ref.bounds(one(lower, n), one(upper, n), one(rows, R * K), R, 1, s1, k1, ask1);
      const c1 = await ort.bounds(one(lower, n), one(upper, n), one(rows, R * K), R, 1, s1, k1, ask1);
      assert.deepEqual(a1.lower, one(a.lower, R), `${rn.description}: reference box ${b} alone`);
      for (let q = 0; q < R; q++) {
        const v = c.lower[b * R + q];
        assert.ok(Math.abs(c1.lower[q] - v) <= 1e-12 * (1 + Math.abs(v)), `${rn.description}: onnxruntime box ${b}`);
      }
    }
  } finally {
    await ort.dispose();
  }
  return worst;
}

const FAMILIES = netFamilies({ dense: 100, conv: 60, zoo: 60 });

for (const f of FAMILIES)
  describe(`property: engine bounds on random ${f.name} (onnxruntime vs reference)`, function () {
    this.timeout(300_000);
    for (const mode of ["DeepPoly's slopes", "random slopes", "split clamps", "split and max-pool clamps"] as const)
      it(`sound, within ${TOL} of the reference, batch = one at a time (${mode})`, async () => {
        let worst = 0;
        tally.ties = tally.boxes = 0;
        await fc.assert(
          fc.asyncProperty(f.arb, fc.integer(), async (rn, seed) => {
            worst = Math.max(worst, await check(rn, seed, mode));
          }),
          { numRuns: f.runs },
        );
        console.log(
          `      largest |onnxruntime − reference| / (1 + |reference|): ${worst.toExponential(2)}; ` +
            `${tally.ties} of ${tally.boxes} boxes with a max-pool near tie (closeness not asserted)`,
        );
        // Near ties are the exception, not the rule: the comparison covers most boxes (3–17% skipped when written).
        assert.ok(tally.ties <= tally.boxes / 3, `${tally.ties} of ${tally.boxes} boxes with a near tie`);
      });
  });
