// Moré–Thuente line search (MINPACK-2 dcsrch/dcstep, the one L-BFGS-B uses): consumes phi(stp) = (f, f') along a
// descent direction and returns the last step it evaluated, which meets the strong Wolfe conditions on "converged".

export interface PhiValue {
  readonly f: number;
  readonly dg: number;
}
/** null: the caller's evaluation budget ran out before phi(stp) could be computed. */
export type Phi = (stp: number) => PhiValue | null | Promise<PhiValue | null>;

/**
 * converged: strong Wolfe holds at stp. warning: no further progress possible (bracket below xtol, rounding,
 * stp = stpmax with sufficient decrease); stp is still the last evaluated point. failed: maxEvaluations trials
 * without an acceptable step. budget: phi returned null.
 */
export type LineSearchStatus = "converged" | "warning" | "failed" | "budget";
export interface LineSearchResult {
  readonly status: LineSearchStatus;
  readonly stp: number;
  readonly f: number;
  readonly dg: number;
}

export interface LineSearchParams {
  readonly ftol: number;
  readonly gtol: number;
  readonly xtol: number;
  readonly maxEvaluations: number;
}
/** L-BFGS-B's constants (lnsrlb): ftol 1e-3, gtol 0.9, xtol 0.1, and at most 20 trials per search. */
export const LBFGSB_LINE_SEARCH: LineSearchParams = { ftol: 1e-3, gtol: 0.9, xtol: 0.1, maxEvaluations: 20 };

const XTRAPL = 1.1,
  XTRAPU = 4.0;

/** The interval of uncertainty: stx is the best step so far, sty the other end. */
interface Bracket {
  stx: number;
  fx: number;
  dx: number;
  sty: number;
  fy: number;
  dy: number;
  brackt: boolean;
}

/** Minimize phi over [0, stpmax] from stp0; finit = phi(0), ginit = phi'(0) < 0. */
export async function moreThuente(
  phi: Phi,
  finit: number,
  ginit: number,
  stp0: number,
  stpmax: number,
  params: LineSearchParams = LBFGSB_LINE_SEARCH,
): Promise<LineSearchResult> {
  const { ftol, gtol, xtol } = params;
  let stpmin = 0;
  let stp = Math.min(stp0, stpmax);
  const b: Bracket = { stx: 0, fx: finit, dx: ginit, sty: 0, fy: finit, dy: ginit, brackt: false };
  let stage = 1;
  const gtest = ftol * ginit;
  let width = stpmax - stpmin,
    width1 = 2 * width;
  let stmin = 0,
    stmax = stp + XTRAPU * stp;
  let last: LineSearchResult = { status: "failed", stp: 0, f: finit, dg: ginit };
  for (let trial = 0; trial < params.maxEvaluations; trial++) {
    const v = await phi(stp);
    if (v === null) return { ...last, status: "budget" };
    const f = v.f,
      g = v.dg;
    last = { status: "failed", stp, f, dg: g };
    if (!Number.isFinite(f) || !Number.isFinite(g)) {
      // Not in MINPACK: f overflowed or is undefined here. Treat the step as a wall: never go that far
      // again, and bisect back toward the best step (dcstep's interpolation would produce NaN from it).
      const mid = b.stx + 0.5 * (stp - b.stx);
      if (stp > b.stx) stpmax = mid;
      else stpmin = mid;
      stp = mid;
      continue;
    }
    const ftest = finit + stp * gtest;
    // Stage 2 once psi(stp) = f - finit - stp*ftol*ginit <= 0 and f' >= 0 at some step.
    if (stage === 1 && f <= ftest && g >= 0) stage = 2;
    if (f <= ftest && Math.abs(g) <= gtol * -ginit) return { ...last, status: "converged" };
    if (
      (b.brackt && (stp <= stmin || stp >= stmax)) ||
      (b.brackt && stmax - stmin <= xtol * stmax) ||
      (stp === stpmax && f <= ftest && g <= gtest) ||
      (stp === stpmin && (f > ftest || g >= gtest))
    ) {
      return { ...last, status: "warning" };
    }
    if (stage === 1 && f <= b.fx && f > ftest) {
      // Lower f but not a sufficient decrease: interpolate the modified function psi, whose minimizers
      // satisfy sufficient decrease, so the step is not dragged toward a point that fails it.
      b.fx -= b.stx * gtest;
      b.fy -= b.sty * gtest;
      b.dx -= gtest;
      b.dy -= gtest;
      stp = dcstep(b, stp, f - stp * gtest, g - gtest, stmin, stmax);
      b.fx += b.stx * gtest;
      b.fy += b.sty * gtest;
      b.dx += gtest;
      b.dy += gtest;
    } else {
      stp = dcstep(b, stp, f, g, stmin, stmax);
    }
    if (b.brackt) {
      // Bisect when the interval has not shrunk by a third over two steps (guarantees linear shrinking).
      if (Math.abs(b.sty - b.stx) >= 0.66 * width1) stp = b.stx + 0.5 * (b.sty - b.stx);
      width1 = width;
      width = Math.abs(b.sty - b.stx);
      stmin = Math.min(b.stx, b.sty);
      stmax = Math.max(b.stx, b.sty);
    } else {
      stmin = stp + XTRAPL * (stp - b.stx);
      stmax = stp + XTRAPU * (stp - b.stx);
    }
    stp = Math.min(Math.max(stp, stpmin), stpmax);
    // No progress possible: go back to the best step (the next trial then ends in a warning there).
    if (b.brackt && (stp <= stmin || stp >= stmax || stmax - stmin <= xtol * stmax)) stp = b.stx;
  }
  return last;
}

/** sqrt((t/s)^2 - (a/s)(b/s)) * s, clipped at 0: rounding can make the radicand slightly negative. */
function cubicGamma(theta: number, a: number, bb: number): number {
  const s = Math.max(Math.abs(theta), Math.abs(a), Math.abs(bb));
  return s === 0 ? 0 : s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (a / s) * (bb / s)));
}

/** One safeguarded cubic/quadratic step (Moré & Thuente 1994, cases 1–4); updates the bracket, returns the new step. */
function dcstep(b: Bracket, stp: number, fp: number, dp: number, stpmin: number, stpmax: number): number {
  const { stx, fx, dx, sty, fy, dy } = b;
  const sgnd = dp * Math.sign(dx);
  let stpf: number;
  if (fp > fx) {
    // Case 1: higher f. The minimum is bracketed; take the cubic step unless the quadratic is much closer to stx.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    let gamma = cubicGamma(theta, dx, dp);
    if (stp < stx) gamma = -gamma;
    const p = gamma - dx + theta,
      q = gamma - dx + gamma + dp;
    const stpc = stx + (p / q) * (stp - stx);
    const stpq = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
    stpf = Math.abs(stpc - stx) < Math.abs(stpq - stx) ? stpc : stpc + (stpq - stpc) / 2;
    b.brackt = true;
  } else if (sgnd < 0) {
    // Case 2: lower f, derivatives of opposite sign: bracketed; take the step farther from stp.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    let gamma = cubicGamma(theta, dx, dp);
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta,
      q = gamma - dp + gamma + dx;
    const stpc = stp + (p / q) * (stx - stp);
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
    b.brackt = true;
  } else if (Math.abs(dp) < Math.abs(dx)) {
    // Case 3: lower f, same-sign derivatives, |f'| decreasing. The cubic may not have a minimizer in the
    // direction of the step; then extrapolate to the end of the allowed interval.
    const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
    let gamma = cubicGamma(theta, dx, dp);
    if (stp > stx) gamma = -gamma;
    const p = gamma - dp + theta,
      q = gamma + (dx - dp) + gamma;
    const r = p / q;
    const stpc = r < 0 && gamma !== 0 ? stp + r * (stx - stp) : stp > stx ? stpmax : stpmin;
    const stpq = stp + (dp / (dp - dx)) * (stx - stp);
    if (b.brackt) {
      stpf = Math.abs(stpc - stp) < Math.abs(stpq - stp) ? stpc : stpq;
      stpf = stp > stx ? Math.min(stp + 0.66 * (sty - stp), stpf) : Math.max(stp + 0.66 * (sty - stp), stpf);
    } else {
      stpf = Math.abs(stpc - stp) > Math.abs(stpq - stp) ? stpc : stpq;
      stpf = Math.max(stpmin, Math.min(stpmax, stpf));
    }
  } else if (b.brackt) {
    // Case 4: lower f, same-sign derivatives, |f'| not decreasing: cubic between stp and sty.
    const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
    let gamma = cubicGamma(theta, dy, dp);
    if (stp > sty) gamma = -gamma;
    const p = gamma - dp + theta,
      q = gamma - dp + gamma + dy;
    stpf = stp + (p / q) * (sty - stp);
  } else {
    stpf = stp > stx ? stpmax : stpmin;
  }
  if (fp > fx) {
    b.sty = stp;
    b.fy = fp;
    b.dy = dp;
  } else {
    if (sgnd < 0) {
      b.sty = stx;
      b.fy = fx;
      b.dy = dx;
    }
    b.stx = stp;
    b.fx = fp;
    b.dx = dp;
  }
  return stpf;
}
