// L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995; subspace step projected as in Morales & Nocedal 2011): consumes fg and a
// box [lower, upper] (±Infinity allowed), produces a local minimizer in the box. Invariant: every x given to fg is in
// the box.

import { moreThuente, type PhiValue } from "./lbfgsb-linesearch.js";

export interface LbfgsbOptions {
  readonly memory?: number; // m, default 10
  readonly maxIterations?: number; // default 500
  readonly pgtol?: number; // stop when ‖proj grad‖∞ ≤ pgtol, default 1e-5
  readonly factr?: number; // stop when (f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ factr·epsmch, default 1e7
  readonly maxEvaluations?: number; // default 15000
}

export interface LbfgsbResult {
  readonly x: Float64Array;
  readonly f: number;
  readonly g: Float64Array;
  readonly iterations: number;
  readonly evaluations: number;
  readonly status:
    "converged-pgtol" | "converged-factr" | "max-iterations" | "max-evaluations" | "line-search-failed" | "abnormal";
}

const EPSMCH = 2.220446049250313e-16;

const clamp = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Dense LU with partial pivoting of a row-major n×n matrix (n = 2k ≤ 2m, so O(m³) is nothing); null if singular. */
function luFactor(a: Float64Array, n: number): { lu: Float64Array; piv: Int32Array } | null {
  const lu = Float64Array.from(a),
    piv = new Int32Array(n);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(lu[r * n + c]) > Math.abs(lu[p * n + c])) p = r;
    piv[c] = p;
    if (!(Math.abs(lu[p * n + c]) > 0) || !Number.isFinite(lu[p * n + c])) return null;
    if (p !== c)
      for (let j = 0; j < n; j++) {
        const t = lu[c * n + j];
        lu[c * n + j] = lu[p * n + j];
        lu[p * n + j] = t;
      }
    for (let r = c + 1; r < n; r++) {
      const l = (lu[r * n + c] /= lu[c * n + c]);
      for (let j = c + 1; j < n; j++) lu[r * n + j] -= l * lu[c * n + j];
    }
  }
  return { lu, piv };
}

function luSolve(
  { lu, piv }: { lu: Float64Array; piv: Int32Array },
  b: Float64Array,
  x: Float64Array = new Float64Array(b.length),
): Float64Array {
  const n = piv.length;
  x.set(b);
  for (let c = 0; c < n; c++) {
    const t = x[c];
    x[c] = x[piv[c]];
    x[piv[c]] = t;
  }
  for (let r = 0; r < n; r++) for (let j = 0; j < r; j++) x[r] -= lu[r * n + j] * x[j];
  for (let r = n - 1; r >= 0; r--) {
    for (let j = r + 1; j < n; j++) x[r] -= lu[r * n + j] * x[j];
    x[r] /= lu[r * n + r];
  }
  return x;
}

/**
 * The compact L-BFGS matrix B = θI − W M Wᵀ with W = [Y, θS] (n × 2k) and M⁻¹ = [[−D, Lᵀ], [L, θSᵀS]],
 * D = diag(s_i·y_i), L_ij = s_i·y_j (i > j). Pairs are kept oldest first; SᵀY and SᵀS are updated by one new
 * row/column per pair (O(m·n)).
 */
class Memory {
  readonly s: Float64Array[] = [];
  readonly y: Float64Array[] = [];
  private sy: number[][] = []; // sy[i][j] = s_i·y_j
  private ss: number[][] = []; // ss[i][j] = s_i·s_j
  theta = 1;
  minv = new Float64Array(0);
  private lu: ReturnType<typeof luFactor> = null; // non-null whenever k > 0: a failed factorization resets
  constructor(readonly m: number) {}

  get k(): number {
    return this.s.length;
  }

  reset(): void {
    this.s.length = 0;
    this.y.length = 0;
    this.sy = [];
    this.ss = [];
    this.theta = 1;
    this.minv = new Float64Array(0);
    this.lu = null;
  }

  /** Append (s, y), dropping the oldest pair when full; false when M⁻¹ is numerically singular. */
  push(s: Float64Array, y: Float64Array, sTy: number, yTy: number): boolean {
    let sNew: Float64Array, yNew: Float64Array;
    if (this.k === this.m) {
      sNew = this.s.shift()!;
      yNew = this.y.shift()!; // recycle the oldest pair's storage
      this.sy.shift();
      this.ss.shift();
      for (const r of this.sy) r.shift();
      for (const r of this.ss) r.shift();
    } else {
      sNew = new Float64Array(s.length);
      yNew = new Float64Array(y.length);
    }
    sNew.set(s);
    yNew.set(y);
    this.s.push(sNew);
    this.y.push(yNew);
    const k = this.k,
      syRow: number[] = [],
      ssRow: number[] = [];
    for (let j = 0; j < k - 1; j++) {
      syRow.push(dot(sNew, this.y[j]));
      ssRow.push(dot(sNew, this.s[j]));
      this.sy[j].push(dot(this.s[j], yNew));
      this.ss[j].push(ssRow[j]);
    }
    syRow.push(sTy);
    ssRow.push(dot(sNew, sNew));
    this.sy.push(syRow);
    this.ss.push(ssRow);
    this.theta = yTy / sTy;
    const n2 = 2 * k,
      mi = new Float64Array(n2 * n2);
    for (let i = 0; i < k; i++) {
      mi[i * n2 + i] = -this.sy[i][i];
      for (let j = 0; j < i; j++) {
        mi[(k + i) * n2 + j] = this.sy[i][j];
        mi[j * n2 + k + i] = this.sy[i][j];
      }
      for (let j = 0; j < k; j++) mi[(k + i) * n2 + k + j] = this.theta * this.ss[i][j];
    }
    this.minv = mi;
    this.lu = luFactor(mi, n2);
    return this.lu !== null;
  }

  /** M v (a solve with M⁻¹), into out; k > 0. */
  mul(v: Float64Array, out?: Float64Array): Float64Array {
    return luSolve(this.lu!, v, out);
  }

  /** Row i of W = [Y, θS], written into out. */
  row(i: number, out: Float64Array): Float64Array {
    const k = this.k;
    for (let j = 0; j < k; j++) {
      out[j] = this.y[j][i];
      out[k + j] = this.theta * this.s[j][i];
    }
    return out;
  }

  /** Column a of W (a < k: y_a, else θ·s_{a−k}) as (vector, scale). */
  col(a: number): [Float64Array, number] {
    return a < this.k ? [this.y[a], 1] : [this.s[a - this.k], this.theta];
  }
}

/**
 * Generalized Cauchy point (the paper's Algorithm CP): the first local minimizer of the quadratic model along the
 * projected steepest-descent path x(t) = P(x − t g), scanning breakpoints in order. Writes xc, active (1 = held at
 * a bound at xc, or fixed) and returns c = Wᵀ(xc − x); null when the model's curvature along −g is not positive.
 */
function cauchy(
  x: Float64Array,
  g: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  mem: Memory,
  xc: Float64Array,
  active: Uint8Array,
  d: Float64Array,
  t: Float64Array,
): Float64Array | null {
  const n = x.length,
    k = mem.k,
    theta = mem.theta;
  const c = new Float64Array(2 * k),
    p = new Float64Array(2 * k),
    wb = new Float64Array(2 * k),
    v = new Float64Array(2 * k);
  const breaks: number[] = [];
  let f1 = 0,
    nInfinite = 0; // nInfinite: moving variables that never reach a bound
  for (let i = 0; i < n; i++) {
    xc[i] = x[i];
    d[i] = 0;
    active[i] = 0;
    const gi = g[i];
    // At a bound with −g pointing out of the box (or g = 0 there), or fixed: held at the bound from the start.
    if (lo[i] === hi[i] || (x[i] <= lo[i] && gi >= 0) || (x[i] >= hi[i] && gi <= 0)) {
      active[i] = 1;
      continue;
    }
    if (gi === 0) continue; // free but does not move along the path
    d[i] = -gi;
    f1 -= gi * gi;
    t[i] = gi < 0 ? (x[i] - hi[i]) / gi : (x[i] - lo[i]) / gi;
    if (t[i] === Infinity) nInfinite++;
    else breaks.push(i);
  }
  if (f1 === 0) return c;
  for (let a = 0; a < 2 * k; a++) {
    const [col, sc] = mem.col(a);
    p[a] = sc * dot(col, d);
  }
  let f2 = -theta * f1 - (k > 0 ? dot(p, mem.mul(p, v)) : 0);
  if (!(f2 > 0)) return null; // B is positive definite in exact arithmetic; here it is not: refresh memory
  const f2org = f2;
  let dtm = -f1 / f2,
    tsum = 0,
    nLeft = breaks.length;
  breaks.sort((a, b) => t[a] - t[b]);
  for (const b of breaks) {
    const dt = t[b] - tsum;
    if (dtm < dt) break; // the model's minimizer lies before this breakpoint
    for (let a = 0; a < 2 * k; a++) c[a] += dt * p[a];
    tsum = t[b];
    const db = d[b]; // = −g_b
    const zb = (db > 0 ? hi[b] : lo[b]) - x[b];
    xc[b] = db > 0 ? hi[b] : lo[b];
    d[b] = 0;
    active[b] = 1;
    nLeft--;
    f1 += dt * f2 + db * db - theta * db * zb;
    f2 -= theta * db * db;
    if (k > 0) {
      mem.mul(mem.row(b, wb), v);
      f1 += db * dot(c, v);
      f2 += 2 * db * dot(p, v) - db * db * dot(wb, v);
      for (let a = 0; a < 2 * k; a++) p[a] -= db * wb[a];
    }
    // Rounding can drive f2 to ≤ 0 after many segments though B is positive definite (as in the Fortran code).
    f2 = Math.max(EPSMCH * f2org, f2);
    dtm = nLeft === 0 && nInfinite === 0 ? 0 : -f1 / f2; // every moving variable is at its bound: stop here
    if (dtm === 0) break;
  }
  dtm = Math.max(0, dtm);
  tsum += dtm;
  for (let i = 0; i < n; i++) if (d[i] !== 0) xc[i] = clamp(x[i] + tsum * d[i], lo[i], hi[i]);
  for (let a = 0; a < 2 * k; a++) c[a] += dtm * p[a];
  return c;
}

/**
 * Subspace minimization (direct primal method, §5.1): minimize the model over the variables free at xc,
 * d = −B_F⁻¹ r with r = Zᵀ(g + θ(xc − x) − W M c) and, by Sherman–Morrison–Woodbury,
 * B_F⁻¹ = I/θ + ZᵀW K⁻¹ WᵀZ / θ², K = M⁻¹ − WᵀZZᵀW/θ (2k × 2k). Then P(xc + d) if that is a descent
 * direction from x (Morales & Nocedal 2011), else xc + α*d truncated at the box. false when K is singular.
 */
function subspace(
  x: Float64Array,
  g: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  mem: Memory,
  xc: Float64Array,
  active: Uint8Array,
  c: Float64Array,
  xbar: Float64Array,
  du: Float64Array,
  wf: Float64Array,
): boolean {
  xbar.set(xc);
  const free: number[] = [];
  for (let i = 0; i < x.length; i++) if (!active[i]) free.push(i);
  const nf = free.length,
    k = mem.k,
    n2 = 2 * k,
    theta = mem.theta;
  if (nf === 0) return true;
  // ZᵀW gathered column by column into wf (n2 × nf), so the products below run over contiguous memory.
  for (let a = 0; a < n2; a++) {
    const [col, sc] = mem.col(a);
    for (let q = 0; q < nf; q++) wf[a * nf + q] = sc * col[free[q]];
  }
  const r = new Float64Array(nf);
  for (let q = 0; q < nf; q++) {
    const i = free[q];
    r[q] = g[i] + theta * (xc[i] - x[i]);
  }
  if (k > 0) {
    const mc = mem.mul(c);
    for (let a = 0; a < n2; a++) for (let q = 0; q < nf; q++) r[q] -= wf[a * nf + q] * mc[a];
    const u = new Float64Array(n2),
      kk = Float64Array.from(mem.minv);
    for (let a = 0; a < n2; a++) {
      let ua = 0;
      for (let q = 0; q < nf; q++) ua += wf[a * nf + q] * r[q];
      u[a] = ua;
      for (let b = 0; b <= a; b++) {
        // WᵀZZᵀW: O(m²·|free|), the dominant cost of an iteration
        let s = 0;
        for (let q = 0; q < nf; q++) s += wf[a * nf + q] * wf[b * nf + q];
        kk[a * n2 + b] -= s / theta;
        if (b !== a) kk[b * n2 + a] -= s / theta;
      }
    }
    const f = luFactor(kk, n2);
    if (f === null) return false;
    const v = luSolve(f, u);
    for (let a = 0; a < n2; a++) {
      const va = v[a] / theta;
      for (let q = 0; q < nf; q++) r[q] += wf[a * nf + q] * va;
    }
  }
  for (let q = 0; q < nf; q++) du[free[q]] = -r[q] / theta;
  let descent = 0;
  for (let i = 0; i < x.length; i++) {
    if (!active[i]) xbar[i] = clamp(xc[i] + du[i], lo[i], hi[i]);
    descent += (xbar[i] - x[i]) * g[i];
  }
  if (descent < 0) return true;
  // The projected point is not downhill from x: fall back to the 1995 paper's truncated step.
  let alpha = 1;
  for (const i of free) {
    if (du[i] > 0) alpha = Math.min(alpha, (hi[i] - xc[i]) / du[i]);
    else if (du[i] < 0) alpha = Math.min(alpha, (lo[i] - xc[i]) / du[i]);
  }
  for (const i of free) xbar[i] = clamp(xc[i] + alpha * du[i], lo[i], hi[i]);
  return true;
}

function projectedGradientNorm(x: Float64Array, g: Float64Array, lo: Float64Array, hi: Float64Array): number {
  let norm = 0;
  for (let i = 0; i < x.length; i++) {
    const v = g[i] < 0 ? Math.max(x[i] - hi[i], g[i]) : Math.min(x[i] - lo[i], g[i]);
    norm = Math.max(norm, Math.abs(v));
  }
  return norm;
}

/**
 * fg(x, g) returns f(x) (or a promise of it: the attack's engine answers asynchronously) and writes ∇f(x) into g.
 * lower/upper may hold ±Infinity. x0 is projected into the box first.
 */
export async function minimizeLbfgsb(
  fg: (x: Float64Array, g: Float64Array) => number | Promise<number>,
  x0: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  options: LbfgsbOptions = {},
): Promise<LbfgsbResult> {
  const n = x0.length;
  const m = options.memory ?? 10,
    maxIterations = options.maxIterations ?? 500,
    pgtol = options.pgtol ?? 1e-5;
  const factr = options.factr ?? 1e7,
    maxEvaluations = options.maxEvaluations ?? 15000;
  if (lower.length !== n || upper.length !== n)
    throw new RangeError(`lbfgsb: bounds have lengths ${lower.length}, ${upper.length}; x0 has ${n}`);
  if (!Number.isInteger(m) || m < 1) throw new RangeError(`lbfgsb: memory must be a positive integer, got ${m}`);
  if (!(maxEvaluations >= 1)) throw new RangeError(`lbfgsb: maxEvaluations must be at least 1, got ${maxEvaluations}`);
  for (let i = 0; i < n; i++) {
    if (!(lower[i] <= upper[i]) || lower[i] === Infinity || upper[i] === -Infinity) {
      throw new RangeError(`lbfgsb: empty or invalid bounds [${lower[i]}, ${upper[i]}] at ${i}`);
    }
  }
  let x = new Float64Array(n),
    g = new Float64Array(n),
    xt = new Float64Array(n),
    gt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = clamp(x0[i], lower[i], upper[i]);
    if (!Number.isFinite(x[i])) throw new RangeError(`lbfgsb: x0[${i}] = ${x0[i]} is not finite after projection`);
  }
  let f = await fg(x, g);
  let evaluations = 1,
    iterations = 0;
  const done = (status: LbfgsbResult["status"]): LbfgsbResult => ({ x, f, g, iterations, evaluations, status });
  if (!Number.isFinite(f) || !g.every(Number.isFinite)) return done("abnormal");

  let constrained = false,
    boxed = true;
  for (let i = 0; i < n; i++) {
    const fl = Number.isFinite(lower[i]),
      fu = Number.isFinite(upper[i]);
    constrained ||= fl || fu;
    boxed &&= fl && fu;
  }
  const mem = new Memory(m);
  const xc = new Float64Array(n),
    xbar = new Float64Array(n),
    d = new Float64Array(n),
    t = new Float64Array(n);
  const active = new Uint8Array(n),
    s = new Float64Array(n),
    y = new Float64Array(n),
    wf = new Float64Array(2 * m * n);
  let fold = f;

  for (;;) {
    if (projectedGradientNorm(x, g, lower, upper) <= pgtol) return done("converged-pgtol");
    if (iterations > 0 && fold - f <= factr * EPSMCH * Math.max(Math.abs(fold), Math.abs(f), 1))
      return done("converged-factr");
    if (iterations >= maxIterations) return done("max-iterations");
    if (evaluations >= maxEvaluations) return done("max-evaluations");

    // Search direction d = x̄ − x from the Cauchy point and the subspace step; on numerical trouble with a
    // nonempty memory, drop the memory (θ = 1) and try again, as the Fortran code does.
    const c = cauchy(x, g, lower, upper, mem, xc, active, d, t);
    const ok = c !== null && subspace(x, g, lower, upper, mem, xc, active, c, xbar, d, wf);
    let gd = 0,
      dnorm2 = 0;
    if (ok)
      for (let i = 0; i < n; i++) {
        d[i] = xbar[i] - x[i];
        gd += g[i] * d[i];
        dnorm2 += d[i] * d[i];
      }
    if (!ok || !(gd < 0)) {
      if (mem.k > 0) {
        mem.reset();
        continue;
      }
      return done("abnormal");
    }

    // Largest step keeping x + stp·d in the box; ≥ 1 because x̄ is in the box. On the first iteration the
    // Fortran code caps at 1 (x̄ itself), and if the box is not bounded on all sides it starts at 1/‖d‖.
    let stpmax = 1e10;
    if (constrained) {
      if (iterations === 0) stpmax = 1;
      else
        for (let i = 0; i < n; i++) {
          if (d[i] < 0 && lower[i] > -Infinity) stpmax = Math.min(stpmax, (lower[i] - x[i]) / d[i]);
          else if (d[i] > 0 && upper[i] < Infinity) stpmax = Math.min(stpmax, (upper[i] - x[i]) / d[i]);
        }
    }
    const stp0 = iterations === 0 && !boxed ? Math.min(1 / Math.sqrt(dnorm2), stpmax) : Math.min(1, stpmax);
    const phi = async (stp: number): Promise<PhiValue | null> => {
      if (evaluations >= maxEvaluations) return null;
      // stp = 1 is x̄ exactly, so variables the Cauchy step put on a bound stay exactly on it. The clamp
      // only absorbs rounding in x + stp·d near stpmax.
      if (stp === 1) xt.set(xbar);
      else for (let i = 0; i < n; i++) xt[i] = clamp(x[i] + stp * d[i], lower[i], upper[i]);
      const ft = await fg(xt, gt);
      evaluations++;
      return { f: ft, dg: dot(gt, d) };
    };
    const ls = await moreThuente(phi, f, gd, stp0, stpmax);
    // A warning or a spent budget still ends at an evaluated point (in xt); take it only if it lowers f
    // (MINPACK takes any warning point; an unchanged f would then end the run as converged-factr).
    const accept = ls.status !== "failed" && ls.stp > 0 && ls.f < f;
    if (!accept) {
      if (ls.status === "budget") return done("max-evaluations");
      if (mem.k > 0) {
        mem.reset();
        continue;
      }
      return done("line-search-failed");
    }
    let sy = 0,
      yy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xt[i] - x[i];
      y[i] = gt[i] - g[i];
      sy += s[i] * y[i];
      yy += y[i] * y[i];
    }
    [x, xt] = [xt, x];
    [g, gt] = [gt, g];
    fold = f;
    f = ls.f;
    iterations++;
    if (ls.status === "budget") return done("max-evaluations");
    // Curvature condition: skip pairs that would make B indefinite or be dominated by rounding.
    if (sy > EPSMCH * yy && !mem.push(s, y, sy, yy)) mem.reset();
  }
}
