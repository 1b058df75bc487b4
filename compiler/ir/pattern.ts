// ActivationPattern: which piece of every nonlinear layer is selected — per ReLU layer its phases (1 active,
// 0 inactive), per max-pool layer the flat input index of each window's chosen element, for every output.
// The restriction, the lazy loop, region walking and verify's restricted model speak it. Patterns are
// values: `flip` copies what it changes.

export interface ActivationPattern {
  /** Layer id → one entry per output of that nonlinear layer (meaning per kind: compiler/nonlinear/). */
  readonly layers: ReadonlyMap<number, Int32Array>;
}

export interface Flip {
  readonly layer: number;
  readonly j: number;
  readonly to: number;
}

export const patternOf = (layers: ReadonlyMap<number, Int32Array>): ActivationPattern => ({ layers });

/** The entries of one layer (throws on a layer the pattern does not cover: a bug, not bad input). */
export function choicesOf(p: ActivationPattern, layer: number): Int32Array {
  const c = p.layers.get(layer);
  if (!c) throw new Error(`internal: the activation pattern has no entry for layer ${layer}`);
  return c;
}

/** A new pattern with the given entries changed; layers not flipped are shared, not copied. */
export function flip(p: ActivationPattern, flips: readonly Flip[]): ActivationPattern {
  const layers = new Map(p.layers);
  const copied = new Set<number>();
  for (const f of flips) {
    if (!copied.has(f.layer)) {
      layers.set(f.layer, Int32Array.from(choicesOf(p, f.layer)));
      copied.add(f.layer);
    }
    layers.get(f.layer)![f.j] = f.to;
  }
  return { layers };
}

export function samePattern(a: ActivationPattern, b: ActivationPattern): boolean {
  if (a.layers.size !== b.layers.size) return false;
  for (const [id, x] of a.layers) {
    const y = b.layers.get(id);
    if (!y || y.length !== x.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/**
 * A compact exact key (no hashing, so equal keys mean equal patterns): per layer in id order, its id and its
 * entries, two bits each when every entry is -1, 0 or 1 (ReLU phases), else as 32-bit integers; base64.
 */
export function patternKey(p: ActivationPattern): string {
  const parts: string[] = [];
  for (const id of [...p.layers.keys()].sort((a, b) => a - b)) {
    const c = p.layers.get(id)!;
    if (c.every((v) => v >= -1 && v <= 1)) {
      const bytes = new Uint8Array(Math.ceil(c.length / 4));
      for (let j = 0; j < c.length; j++) bytes[j >> 2] |= (c[j] + 1) << ((j & 3) * 2);
      parts.push(`${id}b${c.length}:${Buffer.from(bytes).toString("base64")}`);
    } else {
      parts.push(`${id}i:${Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString("base64")}`);
    }
  }
  return parts.join(";");
}
