// NumPy .npz (np.savez / np.savez_compressed: a zip of NAME.npy entries) -> Dataset, and its label arrays.
// Only the arrays used are inflated (fflate); each is decoded by npy.ts. Invariant: every choice made for the
// user (which array holds the images, which the labels) is stated in the dataset's notes.

import { unzipSync } from "fflate";
import { type Result, diag, fail, ok } from "../../compiler/index.js";
import { type Dataset } from "./dataset.js";
import { readInput } from "./file.js";
import { decodeNpy, npyImages, npyLabels, type NpyArray } from "./npy.js";

/** Image arrays by convention, in order of preference (Keras' mnist.npz holds x_train, x_test, ...). */
export const NPZ_IMAGE_NAMES = ["x_test", "images", "x", "X"] as const;
/** Label arrays by convention, in order of preference, when the images' name has no x_/y_ partner. */
export const NPZ_LABEL_NAMES = ["y", "labels", "y_test", "Y"] as const;

/** "file.npz" or "file.npz:NAME" (the array's name, without ".npy"). */
export function parseNpzSpec(spec: string): { path: string; name: string | null } | null {
  const m = /^(.*\.npz)(?::([^/\\]*))?$/i.exec(spec);
  if (!m) return null;
  return { path: m[1], name: m[2] === undefined || m[2] === "" ? null : m[2] };
}

export const isNpzSpec = (spec: string): boolean => parseNpzSpec(spec) !== null;

/** An opened archive: its array names (file order) and a reader that inflates and decodes one of them. */
interface Npz {
  readonly path: string;
  readonly names: readonly string[];
  read(name: string): Result<NpyArray>;
}

function openNpz(path: string): Result<Npz> {
  const bytes = readInput(path);
  if (!bytes.ok) return bytes;
  const entries: string[] = [];
  try {
    // The filter sees every entry of the central directory; returning false inflates nothing.
    unzipSync(bytes.value, {
      filter: (f) => {
        entries.push(f.name);
        return false;
      },
    });
  } catch (e) {
    return fail(
      diag("data/bad-npz", `${path}: not a .npz archive (zip: ${e instanceof Error ? e.message : String(e)})`),
    );
  }
  const names = entries.filter((n) => n.endsWith(".npy")).map((n) => n.slice(0, -4));
  if (names.length === 0) return fail(diag("data/bad-npz", `${path}: the archive holds no .npy arrays`));
  const read = (name: string): Result<NpyArray> => {
    let files: Record<string, Uint8Array>;
    try {
      files = unzipSync(bytes.value, { filter: (f) => f.name === `${name}.npy` });
    } catch (e) {
      return fail(
        diag(
          "data/bad-npz",
          `${path}: array '${name}' cannot be extracted (zip: ${e instanceof Error ? e.message : String(e)})`,
        ),
      );
    }
    return decodeNpy(files[`${name}.npy`], `${path}:${name}`);
  };
  return ok({ path, names, read });
}

const listed = (npz: Npz): string => npz.names.map((n) => `'${n}'`).join(", ");

const describe = (a: NpyArray): string => `(${a.shape.join(", ")}) ${a.dtype}`;

function pick(
  npz: Npz,
  name: string | null,
  conventions: readonly string[],
  what: string,
  option: string,
): Result<string> {
  if (name !== null) {
    if (npz.names.includes(name)) return ok(name);
    return fail(diag("data/npz-array", `${npz.path}: no array '${name}' (it holds ${listed(npz)})`));
  }
  if (npz.names.length === 1) return ok(npz.names[0]);
  const found = conventions.find((c) => npz.names.includes(c));
  if (found !== undefined) return ok(found);
  return fail(
    diag(
      "data/npz-array",
      `${npz.path}: which array holds the ${what}? It holds ${listed(npz)} and none is named ${conventions.join(", ")}: name one with ${option} ${npz.path}:NAME`,
    ),
  );
}

/** The labels array that goes with images named `images`: y_SUFFIX for x_SUFFIX, else the conventional names. */
function labelsBeside(npz: Npz, images: string): string | null {
  const partner = /^[xX]_(.+)$/.exec(images);
  if (partner) {
    const y = [`y_${partner[1]}`, `Y_${partner[1]}`].find((n) => npz.names.includes(n));
    return y ?? null; // x_train never takes y_test: a same-sized wrong split would label every item wrongly
  }
  return NPZ_LABEL_NAMES.find((n) => n !== images && npz.names.includes(n)) ?? null;
}

/**
 * The images of `spec` ("file.npz" or "file.npz:NAME"), with the labels array found beside them when
 * `autoLabels` (no --labels given). The notes name the arrays used.
 */
export function loadNpzDataset(spec: string, autoLabels: boolean): Result<Dataset> {
  const opened = openNamed(spec, NPZ_IMAGE_NAMES, "images", "--data");
  if (!opened.ok) return opened;
  const { s, npz, name, arr } = opened.value;
  const count = arr.value.shape[0] ?? 0;
  const note = `${s.path}: images from array '${name.value}' ${describe(arr.value)}`;
  const yName = autoLabels && npz.value.names.length > 1 ? labelsBeside(npz.value, name.value) : null;
  if (yName === null) {
    const ds = npyImages(arr.value, `${s.path}:${name.value}`, null, spec);
    const why = autoLabels
      ? `no labels array beside it (looked for ${/^[xX]_/.test(name.value) ? `y_${name.value.slice(2)}` : NPZ_LABEL_NAMES.join(", ")}; pass --labels ${s.path}:NAME)`
      : "labels from --labels";
    return ds.ok ? ok({ ...ds.value, notes: [`${note}; ${why}`] }) : ds;
  }
  const yArr = npz.value.read(yName);
  if (!yArr.ok) return yArr;
  const labels = npyLabels(yArr.value, `${s.path}:${yName}`);
  if (!labels.ok) return labels;
  if (labels.value.length !== count) {
    return fail(
      diag(
        "data/label-count",
        `${s.path}: array '${name.value}' has ${count} items but array '${yName}' beside it has ${labels.value.length} labels; name the labels with --labels ${s.path}:NAME`,
      ),
    );
  }
  const ds = npyImages(arr.value, `${s.path}:${name.value}`, labels.value, spec);
  return ds.ok ? ok({ ...ds.value, notes: [`${note}, labels from array '${yName}'`] }) : ds;
}

/** Labels from `spec` ("file.npz:NAME", or "file.npz" with one array or a conventionally named one). */
export function readNpzLabels(spec: string): Result<Int32Array> {
  const opened = openNamed(spec, NPZ_LABEL_NAMES, "labels", "--labels");
  return opened.ok ? npyLabels(opened.value.arr.value, `${opened.value.s.path}:${opened.value.name.value}`) : opened;
}

/** The archive of `spec`, the array it names (or the conventional one among `names`) and that array, read. */
function openNamed(spec: string, names: readonly string[], what: string, option: string) {
  const s = parseNpzSpec(spec);
  if (!s) throw new Error(`internal: ${spec} is not an .npz spec`);
  const npz = openNpz(s.path);
  if (!npz.ok) return npz;
  const name = pick(npz.value, s.name, names, what, option);
  if (!name.ok) return name;
  const arr = npz.value.read(name.value);
  if (!arr.ok) return arr;
  return ok({ s, npz, name, arr });
}
