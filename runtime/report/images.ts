// The paper's Figure 2 as PNG files for a visual check: consumes finished points with their checked examples
// and the session's data; produces per reported example one PNG with x*, the example and the perturbation side
// by side (measure --images DIR), and the example as numbers in the data's units (rho --json --examples).
// Invariant: every panel shows data values as they are (no per-image contrast stretch) except the
// perturbation, whose stretch ±m is in the file name.

import { join } from "node:path";
import { PNG } from "pngjs";
import { diag, fail, ok, writeFileAtomic, type Result } from "../../compiler/index.js";
import { item } from "../data/index.js";
import { makeDir } from "../run/out-dir.js";
import { toDataLayout, type Session } from "../run/session.js";
import { linf } from "../point/check.js";
import { type PointResult } from "../rho/result.js";

/** How one model input is an image: channels (1 grey, 3 RGB), height, width, and where the channels are. */
export interface ImageLayout {
  readonly channels: 1 | 3;
  readonly height: number;
  readonly width: number;
  readonly channelsLast: boolean;
}

/**
 * The image layout of a model input shape (without the batch): [C,H,W] or [H,W,C] with C 1 or 3, [H,W], or a
 * flat [D] with D a square (an MLP on flattened grey digits). Null where the input is no image.
 */
export function imageLayout(shape: readonly number[]): ImageLayout | null {
  const rgbOrGrey = (c: number): c is 1 | 3 => c === 1 || c === 3;
  if (shape.length === 3 && rgbOrGrey(shape[0]))
    return { channels: shape[0], height: shape[1], width: shape[2], channelsLast: false };
  if (shape.length === 3 && rgbOrGrey(shape[2]))
    return { channels: shape[2], height: shape[0], width: shape[1], channelsLast: true };
  if (shape.length === 2) return { channels: 1, height: shape[0], width: shape[1], channelsLast: false };
  const side = Math.round(Math.sqrt(shape[0] ?? 0));
  if (shape.length === 1 && side > 1 && side * side === shape[0])
    return { channels: 1, height: side, width: side, channelsLast: false };
  return null;
}

/** --images on a model whose input is no image is refused before the run starts. */
export function checkImageInput(s: Session): Result<ImageLayout> {
  const shape = s.network.inputShape.slice(1);
  const l = imageLayout(shape);
  if (l === null)
    return fail(
      diag(
        "cli/images",
        `--images: the input '${s.network.inputName}' of ${s.modelPath} has shape [${s.network.inputShape}], not an image ([N,C,H,W] or [N,H,W,C] with 1 or 3 channels, [N,H,W], or [N,D] with D a square)`,
      ),
    );
  return ok(l);
}

/** Each panel is enlarged by a whole factor so that digits of 28 pixels are visible (about 112 pixels high). */
export const zoomOf = (l: ImageLayout): number => Math.max(1, Math.floor(112 / Math.max(l.height, l.width)));
/** White columns between the panels, in enlarged pixels. */
export const gapOf = (l: ImageLayout): number => 2 * zoomOf(l);

/**
 * One PNG: x*, the example (values in the data's units, shown as value / range · 255) and the perturbation
 * example − x* stretched so that ±m (m = max |perturbation|, its L∞ norm) spans 0..255, zero at mid grey.
 */
export function triptychPng(
  xStar: ArrayLike<number>,
  example: ArrayLike<number>,
  l: ImageLayout,
  range: number,
): { png: Buffer; m: number } {
  const z = zoomOf(l),
    gap = gapOf(l),
    pw = l.width * z;
  const m = linf(example, xStar);
  const png = new PNG({
    width: 3 * pw + 2 * gap,
    height: l.height * z,
    colorType: l.channels === 3 ? 2 : 0,
    inputHasAlpha: false,
  });
  png.data.fill(255);
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  const at = (c: number, y: number, x: number) =>
    l.channelsLast ? (y * l.width + x) * l.channels + c : (c * l.height + y) * l.width + x;
  const panels: ((k: number) => number)[] = [
    (k) => byte((xStar[k] / range) * 255),
    (k) => byte((example[k] / range) * 255),
    (k) => byte(127.5 + (m > 0 ? (127.5 * (example[k] - xStar[k])) / m : 0)),
  ];
  // pngjs takes RGBA rows in `data` whatever the colour type it writes.
  panels.forEach((value, p) => {
    for (let y = 0; y < l.height * z; y++) {
      for (let x = 0; x < pw; x++) {
        const o = (y * png.width + p * (pw + gap) + x) * 4;
        for (let c = 0; c < 3; c++)
          png.data[o + c] = value(at(l.channels === 3 ? c : 0, Math.floor(y / z), Math.floor(x / z)));
        png.data[o + 3] = 255;
      }
    }
  });
  return { png: PNG.sync.write(png, { colorType: l.channels === 3 ? 2 : 0, inputHasAlpha: true }), m };
}

/** A point's checked example in the data's units (model input · pixelScale), as the reports' .npy holds it. */
export function examplePixels(s: Session, example: Float32Array): number[] {
  return Array.from(example, (v) => v * s.pixelScale);
}

/** rho --json --examples: the example of a point (null without one), with x*'s index and the example's label. */
export function exampleRecord(s: Session, p: PointResult): Record<string, unknown> | null {
  if (!p.example) return null;
  // In the data's layout (channels last for --layout nhwc), as adversarial.npy holds it.
  const { shape, values } = toDataLayout(s, examplePixels(s, p.example), 1);
  return { index: p.index, target: p.target, shape: shape.slice(1), pixels: Array.from(values) };
}

/** The file of one example: index, label, the example's label and the perturbation's stretch ±m (data units). */
export const imageName = (p: PointResult, m: number): string =>
  `${String(p.index).padStart(5, "0")}-label${p.label ?? "none"}-to${p.target ?? "none"}-pert${m.toPrecision(4)}.png`;

/**
 * Writes one PNG per example into `dir` (created level by level) and images.csv beside them (index, label,
 * target, L∞ distance = the stretch m, file); returns how many.
 */
export function writeImages(dir: string, s: Session, examples: readonly PointResult[]): Result<number> {
  const l = checkImageInput(s);
  if (!l.ok) return l;
  const made = makeDir(dir, "--images");
  if (!made.ok) return made;
  const rows = ["index,label,target,linf_distance,file"];
  for (const p of examples) {
    const ex = examplePixels(s, p.example!);
    const { png, m } = triptychPng(item(s.dataset, p.index), ex, l.value, s.pixelScale);
    const name = imageName(p, m);
    const w = writeFileAtomic(join(dir, name), png);
    if (!w.ok) return w;
    rows.push(`${p.index},${p.label ?? ""},${p.target ?? ""},${m},${name}`);
  }
  const w = writeFileAtomic(join(dir, "images.csv"), rows.join("\n") + "\n");
  return w.ok ? ok(examples.length) : w;
}
