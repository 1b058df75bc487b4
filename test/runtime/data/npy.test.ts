// Tests the .npy reader/writer: property round trips, byte compatibility with np.save (fixtures generated
// once by numpy 1.24 and embedded as base64; no Python at test time), and errors returned as values.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { type NpyDtype, decodeNpy, encodeNpy, readNpy, writeNpy } from "../../../runtime/data/npy.js";

/** np.save outputs (numpy 1.24.2). */
const NUMPY = {
  // np.arange(6, dtype=np.uint8).reshape(2, 3)
  u8: "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQIDBAU=",
  // np.array([[1.5, -2], [0, 3.25]], dtype='<f4').reshape(1, 2, 2)
  f4: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAMA/AAAAwAAAAAAAAFBA",
  // np.array([[0.1, -1e300, 2.5]], dtype='<f8')
  f8: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5P5x1AIg85Df+AAAAAAAABEA=",
  // np.array([3, 1, 4], dtype='<i8')
  i8: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoDAAAAAAAAAAEAAAAAAAAABAAAAAAAAAA=",
  // np.array([7, 0], dtype='<i4')
  i4: "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoHAAAAAAAAAA==",
  // np.float64(2.0) (0-d)
  scalar:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAQA==",
  // np.arange(24, dtype=np.uint8).reshape(2, 3, 2, 2)
  u8x4: "k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMsIDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhc=",
  // np.lib.format.write_array(f, np.arange(3, dtype='<f8').reshape(3, 1), version=(2, 0)) and (3, 0)
  v2: "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywgMSksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEA=",
  v3: "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjgnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywgMSksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAPA/AAAAAAAAAEA=",
  // np.save(f, np.asfortranarray(np.arange(6, dtype='<f8').reshape(2, 3)))
  fortran:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAhAAAAAAAAA8D8AAAAAAAAQQAAAAAAAAABAAAAAAAAAFEA=",
  // np.arange(2, dtype='>f4').reshape(1, 2)
  bigEndian:
    "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAP4AAAA==",
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** A v1.0 .npy with an arbitrary header text (padded as numpy does) followed by `data`. */
function withHeader(header: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hlen = header.length + 1;
  const pad = 64 - ((10 + hlen) % 64);
  const prefix = Buffer.from([0x93, ...Buffer.from("NUMPY"), 1, 0, (hlen + pad) & 0xff, (hlen + pad) >> 8]);
  return new Uint8Array(Buffer.concat([prefix, Buffer.from(header + " ".repeat(pad) + "\n", "latin1"), data]));
}

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

const valueArb: Record<NpyDtype, fc.Arbitrary<number>> = {
  uint8: fc.integer({ min: 0, max: 255 }),
  int8: fc.integer({ min: -128, max: 127 }),
  uint16: fc.integer({ min: 0, max: 0xffff }),
  int16: fc.integer({ min: -0x8000, max: 0x7fff }),
  uint32: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  int32: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  uint64: fc.maxSafeNat(),
  int64: fc.maxSafeInteger(),
  float32: fc.float(), // includes NaN, ±Infinity, -0
  float64: fc.double(),
};

const ITEMSIZE: Record<NpyDtype, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  uint64: 8,
  int64: 8,
  float32: 4,
  float64: 8,
};

const arrayArb = fc
  .record({
    shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
    dtype: fc.constantFrom(...(Object.keys(valueArb) as NpyDtype[])),
  })
  .chain(({ shape, dtype }) =>
    fc
      .array(valueArb[dtype], {
        minLength: shape.reduce((a, b) => a * b, 1),
        maxLength: shape.reduce((a, b) => a * b, 1),
      })
      .map((data) => ({ shape, dtype, data })),
  );

describe("runtime/data/npy", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "robustc-npy-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("round-trips random shapes and dtypes through encode/decode (values and bytes)", () => {
    fc.assert(
      fc.property(arrayArb, ({ shape, dtype, data }) => {
        const bytes = encodeNpy(shape, dtype, data);
        assert.equal((bytes.length - data.length * ITEMSIZE[dtype]) % 64, 0); // data starts 64-aligned
        const r = decodeNpy(bytes, "x.npy");
        assert.ok(r.ok);
        assert.deepEqual(r.value.shape, shape);
        assert.equal(r.value.dtype, dtype);
        assert.ok(sameValues(r.value.data, data));
        assert.deepEqual(encodeNpy(r.value.shape, r.value.dtype, r.value.data), bytes);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips uint8/float32/float64 through files", () => {
    let n = 0;
    fc.assert(
      fc.property(
        arrayArb.filter((a) => ["uint8", "float32", "float64"].includes(a.dtype)),
        ({ shape, dtype, data }) => {
          const path = join(dir, `rt${n++}.npy`);
          assert.ok(writeNpy(path, shape, dtype, data).ok);
          const r = readNpy(path);
          assert.ok(r.ok);
          assert.deepEqual(r.value.shape, shape);
          assert.equal(r.value.dtype, dtype);
          assert.ok(sameValues(r.value.data, data));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("aligns the header to 64 bytes, ending in a newline", () => {
    for (const shape of [[], [5], [3, 784], [0, 2, 2, 2], new Array<number>(40).fill(1)]) {
      const bytes = encodeNpy(shape, "uint8", new Uint8Array(shape.reduce((a, b) => a * b, 1)));
      const hlen = bytes.readUInt16LE(8);
      assert.equal((10 + hlen) % 64, 0);
      assert.equal(bytes[10 + hlen - 1], 0x0a);
    }
  });

  it("writes exactly np.save's bytes", () => {
    assert.deepEqual(new Uint8Array(encodeNpy([2, 3], "uint8", [0, 1, 2, 3, 4, 5])), b64(NUMPY.u8));
    assert.deepEqual(new Uint8Array(encodeNpy([1, 2, 2], "float32", [1.5, -2, 0, 3.25])), b64(NUMPY.f4));
    assert.deepEqual(new Uint8Array(encodeNpy([1, 3], "float64", [0.1, -1e300, 2.5])), b64(NUMPY.f8));
    assert.deepEqual(new Uint8Array(encodeNpy([3], "int64", [3, 1, 4])), b64(NUMPY.i8));
    assert.deepEqual(new Uint8Array(encodeNpy([2], "int32", [7, 0])), b64(NUMPY.i4));
    assert.deepEqual(new Uint8Array(encodeNpy([], "float64", [2])), b64(NUMPY.scalar));
    assert.deepEqual(
      new Uint8Array(
        encodeNpy(
          [2, 3, 2, 2],
          "uint8",
          Array.from({ length: 24 }, (_, i) => i),
        ),
      ),
      b64(NUMPY.u8x4),
    );
  });

  it("matches a hand-written v1.0 header byte for byte", () => {
    const dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
    const header = dict + " ".repeat(21 - 1); // numpy's growth room for shape[0]
    const pad = 64 - ((10 + header.length + 1) % 64);
    const expected = Buffer.concat([
      Buffer.from("\x93NUMPY\x01\x00", "latin1"),
      Buffer.from([118, 0]), // header length, little-endian uint16: 128 - 10
      Buffer.from(header + " ".repeat(pad) + "\n", "latin1"),
      Buffer.from([9, 8, 7, 6, 5, 4]),
    ]);
    assert.equal(expected.length, 128 + 6);
    assert.deepEqual(encodeNpy([2, 3], "uint8", [9, 8, 7, 6, 5, 4]), expected);
  });

  it("reads numpy's files, versions 1.0, 2.0 and 3.0", () => {
    const cases: [string, number[], string, number[]][] = [
      [NUMPY.u8, [2, 3], "uint8", [0, 1, 2, 3, 4, 5]],
      [NUMPY.f4, [1, 2, 2], "float32", [1.5, -2, 0, 3.25]],
      [NUMPY.f8, [1, 3], "float64", [0.1, -1e300, 2.5]],
      [NUMPY.i8, [3], "int64", [3, 1, 4]],
      [NUMPY.scalar, [], "float64", [2]],
      [NUMPY.v2, [3, 1], "float64", [0, 1, 2]],
      [NUMPY.v3, [3, 1], "float64", [0, 1, 2]],
    ];
    for (const [b, shape, dtype, data] of cases) {
      const r = decodeNpy(b64(b), "f.npy");
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.value, { shape, dtype, data: Float64Array.from(data) });
    }
  });

  it("reads a Python 2 style header with long-integer shapes and double quotes", () => {
    const r = decodeNpy(
      withHeader(`{"descr": "<u1", "shape": (2L, 1L), "fortran_order": False}`, new Uint8Array([7, 9])),
      "py2.npy",
    );
    assert.ok(r.ok);
    assert.deepEqual(r.value.shape, [2, 1]);
    assert.deepEqual(Array.from(r.value.data), [7, 9]);
  });

  it("returns errors (never throws) for corrupt, truncated, unsupported and Fortran-order files", () => {
    const u8 = b64(NUMPY.u8);
    const bad: [Uint8Array, string, RegExp][] = [
      [new Uint8Array(0), "data/bad-npy", /bad\.npy: not a \.npy file/],
      [new Uint8Array(Buffer.from("hello world, this is not numpy")), "data/bad-npy", /magic/],
      [new Uint8Array([...u8.subarray(0, 6), 9, 0, ...u8.subarray(8)]), "data/bad-npy", /version 9\.0/],
      [u8.subarray(0, 60), "data/truncated", /expected 128 bytes, file has 60/],
      [u8.subarray(0, 131), "data/truncated", /expected 6 bytes after the header, found 3/],
      [b64(NUMPY.fortran), "data/fortran-order", /Fortran-order/],
      [b64(NUMPY.bigEndian), "data/bad-dtype", /big-endian dtype '>f4'/],
      [withHeader("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }"), "data/bad-dtype", /'<c16'/],
      [withHeader("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }"), "data/bad-dtype", /'<U5'/],
      [
        withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }"),
        "data/bad-dtype",
        /structured/,
      ],
      [withHeader("{'descr': '<f4', 'shape': (1,), }"), "data/bad-npy", /lacks/],
      [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -2), }"), "data/bad-npy", /'shape'/],
      [withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), "), "data/bad-npy", /malformed header/],
      [withHeader("[1, 2]"), "data/bad-npy", /not a dict/],
      [withHeader("(".repeat(5000)), "data/bad-npy", /too deep/],
      [
        withHeader("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8).fill(0x7f)),
        "data/bad-npy",
        /too large/,
      ],
    ];
    for (const [bytes, code, re] of bad) {
      const r = decodeNpy(bytes, "bad.npy");
      assert.ok(!r.ok, `expected an error matching ${re}`);
      assert.equal(r.diagnostics.length, 1);
      assert.equal(r.diagnostics[0].code, code, r.diagnostics[0].message);
      assert.match(r.diagnostics[0].message, re);
      assert.match(r.diagnostics[0].message, /^(bad\.npy: )/);
      assert.doesNotMatch(r.diagnostics[0].message, /\n/);
    }
  });

  it("never throws on arbitrary or mutated bytes", () => {
    const u8 = b64(NUMPY.f8);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        decodeNpy(bytes, "r.npy");
      }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: u8.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat({ max: u8.length }),
        (edits, cut) => {
          const b = u8.slice(0, cut);
          for (const [at, v] of edits) if (at < b.length) b[at] = v;
          decodeNpy(b, "m.npy");
        },
      ),
    );
  });

  it("reports a missing file as an error value", () => {
    const r = readNpy(join(dir, "nope.npy"));
    assert.ok(!r.ok);
    assert.equal(r.diagnostics[0].code, "data/missing-file");
    assert.match(r.diagnostics[0].message, /nope\.npy/);
  });
});
