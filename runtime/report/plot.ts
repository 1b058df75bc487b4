// The paper's Figure 3: the cumulative curve "number of points with rho_hat ≤ eps", one line per series (a
// bracket run draws upper, rho_hat and lower: rho lies in the band between upper and lower),
// rendered to SVG in Node by vega-lite + vega (no browser, no canvas).

import type { TopLevelSpec } from "vega-lite";

export interface CdfSeries {
  readonly name: string;
  readonly rhos: readonly number[];
}

/**
 * A bracket's band: between the cumulative count of `upper` (points with a checked example within eps: phi_lower)
 * and of `lower` (points not certified beyond eps: phi_upper); the true cumulative curve of rho lies inside it.
 */
export interface CdfBand {
  readonly name: string;
  readonly upper: readonly number[];
  readonly lower: readonly number[];
}

/** The band's step points on the union of both series' values: count(upper ≤ eps) and count(lower ≤ eps). */
export function bandPoints(b: CdfBand, xMax: number): { eps: number; count: number; count2: number }[] {
  const fin = (v: readonly number[]) => v.filter((r) => Number.isFinite(r) && r <= xMax).sort((a, c) => a - c);
  const up = fin(b.upper),
    lo = fin(b.lower);
  const xs = [...new Set([0, ...up, ...lo, xMax])].sort((a, c) => a - c);
  const count = (s: number[], x: number) => {
    let k = 0;
    while (k < s.length && s[k] <= x) k++;
    return k;
  };
  return xs.map((x) => ({ eps: x, count: count(up, x), count2: count(lo, x) }));
}

/** The x axis's end: every finite value of every series (2% beyond the largest), and at least 1.1·eps. */
export function cdfXMax(series: readonly CdfSeries[], eps: number): number {
  return series.flatMap((x) => x.rhos).reduce((m, v) => (Number.isFinite(v) ? Math.max(m, v * 1.02) : m), eps * 1.1);
}

/** Step points of a cumulative count: (0, 0), then (rho_k, k) for the sorted finite rhos ≤ xMax, then (xMax, K). */
export function cdfPoints(rhos: readonly number[], xMax: number): { eps: number; count: number }[] {
  const finite = rhos.filter((r) => Number.isFinite(r) && r <= xMax).sort((a, b) => a - b);
  const pts = [{ eps: 0, count: 0 }];
  finite.forEach((r, k) => pts.push({ eps: r, count: k + 1 }));
  pts.push({ eps: xMax, count: finite.length });
  return pts;
}

/** `legend` titles the series (default "algorithm"; Figure 3 of the paper has one curve per net). */
export async function cdfSvg(
  series: readonly CdfSeries[],
  opts: {
    title: string;
    xMax: number;
    eps?: number;
    legend?: string;
    yTitle?: string;
    xTitle?: string;
    bands?: readonly CdfBand[];
  },
): Promise<string> {
  const values = series.flatMap((s) => cdfPoints(s.rhos, opts.xMax).map((p) => ({ ...p, algorithm: s.name })));
  const bandValues = (opts.bands ?? []).flatMap((b) =>
    bandPoints(b, opts.xMax).map((p) => ({ ...p, algorithm: b.name })),
  );
  const names = [...series.map((x) => x.name), ...(opts.bands ?? []).map((b) => b.name)];
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.title,
    width: 480,
    height: 300,
    layer: [
      ...(bandValues.length > 0
        ? [
            {
              data: { values: bandValues },
              mark: { type: "area", interpolate: "step-after", opacity: 0.25 },
              encoding: {
                x: { field: "eps", type: "quantitative" },
                y: { field: "count", type: "quantitative" },
                y2: { field: "count2" },
                color: { field: "algorithm", type: "nominal", sort: names },
              },
            },
          ]
        : []),
      {
        data: { values },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
        encoding: {
          x: {
            field: "eps",
            type: "quantitative",
            title: opts.xTitle ?? "eps (L∞ distance)",
            scale: { domain: [0, opts.xMax] },
          },
          y: {
            field: "count",
            type: "quantitative",
            title: opts.yTitle ?? "number of points with rho_hat ≤ eps",
            axis: { tickMinStep: 1, format: "d" },
          },
          color: {
            field: "algorithm",
            type: "nominal",
            title: opts.legend ?? "algorithm",
            // Beside the plot, not over it, and never cut: vega's default labelLimit (160 px) cut the bracket's
            // labels to "upper (checked exa…" and "rho_hat (paper's L…"; 0 lifts the limit.
            legend: { orient: "right", labelLimit: 0 },
            sort: names,
          },
        },
      },
      ...(opts.eps !== undefined
        ? [
            {
              data: { values: [{ eps: opts.eps }] },
              mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
              encoding: { x: { field: "eps", type: "quantitative" } },
            },
          ]
        : []),
    ],
  } as unknown as TopLevelSpec;
  // Loaded here, not at the top: vega costs ~0.3 s of start-up that commands drawing no chart need not pay.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
