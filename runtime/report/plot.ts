// The paper's Figure 3: the cumulative curve "number of points with rho_hat ≤ eps", one line per series (a
// bracket run draws upper, rho_hat and lower: rho lies in the band between upper and lower),
// rendered to SVG in Node by vega-lite + vega (no browser, no canvas).

import type { TopLevelSpec } from "vega-lite";

export interface CdfSeries { readonly name: string; readonly rhos: readonly number[] }

/** Step points of a cumulative count: (0, 0), then (rho_k, k) for the sorted finite rhos ≤ xMax, then (xMax, K). */
export function cdfPoints(rhos: readonly number[], xMax: number): { eps: number; count: number }[] {
  const finite = rhos.filter((r) => Number.isFinite(r) && r <= xMax).sort((a, b) => a - b);
  const pts = [{ eps: 0, count: 0 }];
  finite.forEach((r, k) => pts.push({ eps: r, count: k + 1 }));
  pts.push({ eps: xMax, count: finite.length });
  return pts;
}

/** `legend` titles the series (default "algorithm"; Figure 3 of the paper has one curve per net). */
export async function cdfSvg(series: readonly CdfSeries[], opts: { title: string; xMax: number; eps?: number; legend?: string; yTitle?: string; xTitle?: string }): Promise<string> {
  const values = series.flatMap((s) => cdfPoints(s.rhos, opts.xMax).map((p) => ({ ...p, algorithm: s.name })));
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: opts.title,
    width: 480, height: 300,
    layer: [
      {
        data: { values },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 2 },
        encoding: {
          x: { field: "eps", type: "quantitative", title: opts.xTitle ?? "eps (L∞ distance, pixels 0–255)", scale: { domain: [0, opts.xMax] } },
          y: { field: "count", type: "quantitative", title: opts.yTitle ?? "number of points with rho_hat ≤ eps", axis: { tickMinStep: 1, format: "d" } },
          color: { field: "algorithm", type: "nominal", title: opts.legend ?? "algorithm", legend: { orient: "bottom-right" }, sort: series.map((x) => x.name) },
        },
      },
      ...(opts.eps !== undefined ? [{
        data: { values: [{ eps: opts.eps }] },
        mark: { type: "rule", strokeDash: [4, 4], color: "gray" },
        encoding: { x: { field: "eps", type: "quantitative" } },
      }] : []),
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
