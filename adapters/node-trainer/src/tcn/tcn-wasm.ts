/**
 * The TCN's two GEMM kernels as WebAssembly with 128-bit SIMD, assembled here from opcodes (no
 * toolchain, no binary blob). An `f64x2` holds two adjacent output channels; every lane does the
 * same IEEE double multiply then add, in the same order, as the TypeScript kernels in
 * tcn-model.ts (WebAssembly SIMD has no fused multiply-add), so both give bit-identical results
 * and the trained bytes do not depend on which one ran (tested).
 *
 * - `gather(out, n, steps, width, tap, taps, depth, inp, inStride, w, bias, accumulate)`: the
 *   four-channel blocks of gatherGemm (channels below `width & ~3`).
 * - `reduce(grad, wAt, steps, tap, taps, depth, inp, inStride, dOut, width, from, to, bAt)`: the
 *   bias sums (outputs below `width & ~3`) and the four-output × two-input blocks of reduceGemm's
 *   weight gradient for sequences `from..to`.
 * - `mask(…)`: dropout masks (dropoutHash on i32x4 lanes).
 * - `elements(mode, a, b, m, count)`: the ReLU / dropout / residual element passes, branch-free.
 *
 * Pointers are byte offsets into the workspace's memory; `wAt`, strides and tap offsets count
 * float64 elements, as in the TypeScript kernels.
 */

/** The part of the WebAssembly JS API used here (the project's `lib` has no WebAssembly types). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

export const WASM_PAGE = 65536;

// Opcodes (WebAssembly core + fixed-width SIMD).
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const SELECT = 0x1b;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const I32_CONST = 0x41;
const I32_LOAD = 0x28;
const F64_LOAD = 0x2b;
const F64_STORE = 0x39;
const I32_EQZ = 0x45;
const I32_EQ = 0x46;
const I32_LT_S = 0x48;
const I32_LT_U = 0x49;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_AND = 0x71;
const I32_SHL = 0x74;
const F64_ADD = 0xa0;
const SIMD = 0xfd;
const I32 = 0x7f;
const V128 = 0x7b;
const F64 = 0x7c;

type Code = number[];

function uleb(value: number): Code {
  const out: Code = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function sleb(value: number): Code {
  const out: Code = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vector = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: Code): Code => [id, ...uleb(body.length), ...body];
const name = (s: string): Code => vector([...s].map((c) => [c.charCodeAt(0)]));

// Expression helpers: each returns code that leaves its value on the stack.
const get = (local: number): Code => [LOCAL_GET, ...uleb(local)];
const set = (local: number, value: Code): Code => [...value, LOCAL_SET, ...uleb(local)];
const int = (value: number): Code => [I32_CONST, ...sleb(value)];
const add = (a: Code, b: Code): Code => [...a, ...b, I32_ADD];
const sub = (a: Code, b: Code): Code => [...a, ...b, I32_SUB];
const mul = (a: Code, b: Code): Code => [...a, ...b, I32_MUL];
const shl = (a: Code, bits: number): Code => [...a, ...int(bits), I32_SHL];
const lt = (a: Code, b: Code): Code => [...a, ...b, I32_LT_S];
/** Bytes of `elements` float64 values. */
const bytes = (elements: Code): Code => shl(elements, 3);
const loadI32 = (address: Code): Code => [...address, I32_LOAD, 2, 0];
const loadF64 = (address: Code): Code => [...address, F64_LOAD, 3, 0];
const storeF64 = (address: Code, value: Code): Code => [...address, ...value, F64_STORE, 3, 0];
const loadV = (address: Code, offset = 0): Code => [...address, SIMD, 0x00, 3, ...uleb(offset)];
const splatV = (address: Code, offset = 0): Code => [...address, SIMD, 0x0a, 3, ...uleb(offset)];
const storeV = (address: Code, value: Code, offset = 0): Code => [
  ...address,
  ...value,
  SIMD,
  0x0b,
  3,
  ...uleb(offset),
];
const gtV = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0x4a];
const andV = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0x4e];
const zeroV: Code = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
const addV = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0xf0, 0x01];
const mulV = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0xf2, 0x01];
const lane = (v: Code, index: number): Code => [...v, SIMD, 0x21, index];
/** `acc = acc + a · b` on two lanes (multiply, then add: no fusion). */
const madd = (acc: number, a: number, b: number): Code => set(acc, addV(get(acc), mulV(get(a), get(b))));

/** `for (i = from; i < to; i += step) body`; the body may `continue` with `BR_IF 0` inside its own BLOCK. */
function range(i: number, from: Code, to: Code, step: number, body: Code): Code {
  return [
    ...set(i, from),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...lt(get(i), to),
    I32_EQZ,
    BR_IF,
    1,
    ...body,
    ...set(i, add(get(i), int(step))),
    BR,
    0,
    END,
    END,
  ];
}

/** `block { if (condition) skip; body }` — `continue` for the enclosing range. */
const unless = (skip: Code, body: Code): Code => [BLOCK, VOID, ...skip, BR_IF, 0, ...body, END];

function gatherBody(): Code {
  const OUT = 0;
  const N = 1;
  const STEPS = 2;
  const WIDTH = 3;
  const TAP = 4;
  const TAPS = 5;
  const DEPTH = 6;
  const INP = 7;
  const IN_STRIDE = 8;
  const W = 9;
  const BIAS = 10;
  const ACC = 11;
  let next = 12;
  const i32 = () => next++;
  const P = i32();
  const S = i32();
  const O = i32();
  const J = i32();
  const T = i32();
  const TP = i32();
  const DA = i32();
  const DB = i32();
  const BASE = i32();
  const SA = i32();
  const SB = i32();
  const WP = i32();
  const TWO = i32();
  const WIDTH4 = i32();
  const WIDTH_B = i32();
  const W_STRIDE_B = i32();
  const OUT_STRIDE_B = i32();
  const SA_END = i32();
  const A01 = i32();
  const A23 = i32();
  const B01 = i32();
  const B23 = i32();
  const XA = i32();
  const XB = i32();
  const W01 = i32();
  const W23 = i32();
  const o8 = bytes(get(O));
  const inner: Code = [
    // do { … } while (sa < saEnd): depth ≥ 1.
    ...set(SA_END, add(get(SA), bytes(get(DEPTH)))),
    LOOP,
    VOID,
    ...set(XA, splatV(get(SA))),
    ...set(XB, splatV(get(SB))),
    ...set(W01, loadV(get(WP))),
    ...set(W23, loadV(get(WP), 16)),
    ...madd(A01, XA, W01),
    ...madd(A23, XA, W23),
    ...madd(B01, XB, W01),
    ...madd(B23, XB, W23),
    ...set(SA, add(get(SA), int(8))),
    ...set(SB, add(get(SB), int(8))),
    ...set(WP, add(get(WP), get(WIDTH_B))),
    ...get(SA),
    ...get(SA_END),
    I32_LT_U,
    BR_IF,
    0,
    END,
  ];
  const tapLoop = range(
    J,
    int(0),
    get(TAPS),
    1,
    unless(
      [...set(T, loadI32(add(get(TP), shl(get(J), 2)))), ...lt(get(T), int(0))],
      [
        ...set(SA, add(get(INP), bytes(add(get(T), get(BASE))))),
        // The second sequence of an odd tail reads the zero row.
        ...set(SB, [...add(get(SA), bytes(get(IN_STRIDE))), ...get(INP), ...get(TWO), SELECT]),
        ...set(WP, add(add(get(W), mul(get(J), get(W_STRIDE_B))), o8)),
        ...inner,
      ],
    ),
  );
  const channelLoop = range(O, int(0), get(WIDTH4), 4, [
    ...get(ACC),
    IF,
    VOID,
    ...set(A01, zeroV),
    ...set(A23, zeroV),
    ELSE,
    ...set(A01, loadV(add(get(BIAS), o8))),
    ...set(A23, loadV(add(get(BIAS), o8), 16)),
    END,
    ...set(B01, get(A01)),
    ...set(B23, get(A23)),
    ...tapLoop,
    ...get(ACC),
    IF,
    VOID,
    ...set(A01, addV(get(A01), loadV(add(get(DA), o8)))),
    ...set(A23, addV(get(A23), loadV(add(get(DA), o8), 16))),
    END,
    ...storeV(add(get(DA), o8), get(A01)),
    ...storeV(add(get(DA), o8), get(A23), 16),
    ...get(TWO),
    IF,
    VOID,
    ...get(ACC),
    IF,
    VOID,
    ...set(B01, addV(get(B01), loadV(add(get(DB), o8)))),
    ...set(B23, addV(get(B23), loadV(add(get(DB), o8), 16))),
    END,
    ...storeV(add(get(DB), o8), get(B01)),
    ...storeV(add(get(DB), o8), get(B23), 16),
    END,
  ]);
  const sequenceLoop = range(S, int(0), get(N), 2, [
    ...set(TWO, lt(add(get(S), int(1)), get(N))),
    ...set(DA, add(get(OUT), mul(add(int(1), add(mul(get(S), get(STEPS)), get(P))), get(WIDTH_B)))),
    ...set(DB, add(get(DA), get(OUT_STRIDE_B))),
    ...set(BASE, mul(get(S), get(IN_STRIDE))),
    ...channelLoop,
  ]);
  const stepLoop = range(P, int(0), get(STEPS), 1, [
    ...set(TP, add(get(TAP), shl(mul(get(P), get(TAPS)), 2))),
    ...sequenceLoop,
  ]);
  return [
    ...vector([
      [...uleb(18), I32],
      [...uleb(8), V128],
    ]),
    ...set(WIDTH_B, bytes(get(WIDTH))),
    ...set(WIDTH4, [...get(WIDTH), ...int(-4), I32_AND]),
    ...set(W_STRIDE_B, mul(get(DEPTH), get(WIDTH_B))),
    ...set(OUT_STRIDE_B, mul(get(STEPS), get(WIDTH_B))),
    ...stepLoop,
    END,
  ];
}

function reduceBody(): Code {
  const GRAD = 0;
  const W_AT = 1;
  const STEPS = 2;
  const TAP = 3;
  const TAPS = 4;
  const DEPTH = 5;
  const INP = 6;
  const IN_STRIDE = 7;
  const D_OUT = 8;
  const WIDTH = 9;
  const FROM = 10;
  const TO = 11;
  const B_AT = 12;
  let next = 13;
  const i32 = () => next++;
  const O = i32();
  const J = i32();
  const I = i32();
  const P = i32();
  const T = i32();
  const X = i32();
  const D = i32();
  const COUNT = i32();
  const G0 = i32();
  const GI = i32();
  const G_STRIDE_B = i32();
  const WIDTH4 = i32();
  const DEPTH2 = i32();
  const OUT_STRIDE_B = i32();
  const IN_STRIDE_B = i32();
  const A01 = i32();
  const A23 = i32();
  const B01 = i32();
  const B23 = i32();
  const XA = i32();
  const XB = i32();
  const D01 = i32();
  const D23 = i32();
  const sequences: Code = [
    ...set(COUNT, sub(get(TO), get(FROM))),
    LOOP,
    VOID,
    ...set(XA, splatV(get(X))),
    ...set(XB, splatV(get(X), 8)),
    ...set(D01, loadV(get(D))),
    ...set(D23, loadV(get(D), 16)),
    ...madd(A01, D01, XA),
    ...madd(A23, D23, XA),
    ...madd(B01, D01, XB),
    ...madd(B23, D23, XB),
    ...set(X, add(get(X), get(IN_STRIDE_B))),
    ...set(D, add(get(D), get(OUT_STRIDE_B))),
    ...set(COUNT, sub(get(COUNT), int(1))),
    ...get(COUNT),
    BR_IF,
    0,
    END,
  ];
  const stepLoop = range(
    P,
    int(0),
    get(STEPS),
    1,
    unless(
      [...set(T, loadI32(add(get(TAP), shl(add(mul(get(P), get(TAPS)), get(J)), 2)))), ...lt(get(T), int(0))],
      [
        ...set(X, add(get(INP), bytes(add(add(get(T), mul(get(FROM), get(IN_STRIDE))), get(I))))),
        ...set(
          D,
          add(
            get(D_OUT),
            bytes(add(mul(add(int(1), add(mul(get(FROM), get(STEPS)), get(P))), get(WIDTH)), get(O))),
          ),
        ),
        ...sequences,
      ],
    ),
  );
  // grad[g] = grad[g] + lane, at g0 + i (a: input i) and g0 + i + 1 (b), for outputs o .. o + 3.
  const addTo = (address: Code, value: Code): Code =>
    storeF64(address, [...loadF64(address), ...value, F64_ADD]);
  const stride = (k: number): Code => add(get(GI), mul(int(k), get(G_STRIDE_B)));
  const inputLoop = range(I, int(0), get(DEPTH2), 2, [
    ...set(A01, zeroV),
    ...set(A23, zeroV),
    ...set(B01, zeroV),
    ...set(B23, zeroV),
    ...stepLoop,
    ...set(GI, add(get(G0), bytes(get(I)))),
    ...addTo(stride(0), lane(get(A01), 0)),
    ...addTo(stride(1), lane(get(A01), 1)),
    ...addTo(stride(2), lane(get(A23), 0)),
    ...addTo(stride(3), lane(get(A23), 1)),
    ...set(GI, add(get(GI), int(8))),
    ...addTo(stride(0), lane(get(B01), 0)),
    ...addTo(stride(1), lane(get(B01), 1)),
    ...addTo(stride(2), lane(get(B23), 0)),
    ...addTo(stride(3), lane(get(B23), 1)),
  ]);
  const tapLoop = range(J, int(0), get(TAPS), 1, [
    ...set(G0, add(get(GRAD), bytes(add(get(W_AT), mul(add(mul(get(O), get(TAPS)), get(J)), get(DEPTH)))))),
    ...inputLoop,
  ]);
  // Bias: grad[bAt + o] += Σ_s Σ_p dOut[(s, p), o], two outputs per f64x2, s outer, p inner.
  const biasLoop = range(O, int(0), get(WIDTH4), 2, [
    ...set(A01, zeroV),
    ...set(D, add(get(D_OUT), bytes(add(mul(add(int(1), mul(get(FROM), get(STEPS))), get(WIDTH)), get(O))))),
    ...set(COUNT, mul(sub(get(TO), get(FROM)), get(STEPS))),
    LOOP,
    VOID,
    ...set(A01, addV(get(A01), loadV(get(D)))),
    ...set(D, add(get(D), bytes(get(WIDTH)))),
    ...set(COUNT, sub(get(COUNT), int(1))),
    ...get(COUNT),
    BR_IF,
    0,
    END,
    ...set(GI, add(get(GRAD), bytes(add(get(B_AT), get(O))))),
    ...addTo(get(GI), lane(get(A01), 0)),
    ...addTo(add(get(GI), int(8)), lane(get(A01), 1)),
  ]);
  return [
    ...vector([
      [...uleb(15), I32],
      [...uleb(8), V128],
    ]),
    ...set(WIDTH4, [...get(WIDTH), ...int(-4), I32_AND]),
    ...set(DEPTH2, [...get(DEPTH), ...int(-2), I32_AND]),
    ...set(OUT_STRIDE_B, bytes(mul(get(STEPS), get(WIDTH)))),
    ...set(IN_STRIDE_B, bytes(get(IN_STRIDE))),
    ...set(G_STRIDE_B, bytes(mul(get(TAPS), get(DEPTH)))),
    ...biasLoop,
    ...range(O, int(0), get(WIDTH4), 4, tapLoop),
    END,
  ];
}

/**
 * Element passes over `count` float64 values (count even; the caller does an odd last one), each
 * `x > 0 ? … : 0` written branch-free as `(…) & (x > 0)` (+0 where the comparison fails, NaN
 * included, exactly like the TypeScript ternaries):
 * - mode 0 `relu(a)`: a = a > 0 ? a : 0
 * - mode 1 `relu(a) · mask`: a = a > 0 ? a · m : 0
 * - mode 2 `backward, no mask`: a = b > 0 ? a : 0
 * - mode 3 `backward with mask`: a = b > 0 ? a · m : 0
 * - mode 4 `residual sum`: a = (a + b) > 0 ? a + b : 0
 * `elements(mode, a, b, m, count)`.
 */
function elementsBody(): Code {
  const MODE = 0;
  const A = 1;
  const B = 2;
  const M = 3;
  const COUNT = 4;
  const END_A = 5;
  const V = 6;
  const G = 7;
  const step: Code = [
    ...set(A, add(get(A), int(16))),
    ...set(B, add(get(B), int(16))),
    ...set(M, add(get(M), int(16))),
  ];
  /** `do { a[i] = value; a += 16; b += 16; m += 16 } while (a < end)`, in its own mode branch. */
  const loop = (value: Code): Code => [
    LOOP,
    VOID,
    ...storeV(get(A), value),
    ...step,
    ...get(A),
    ...get(END_A),
    I32_LT_U,
    BR_IF,
    0,
    END,
  ];
  const ifMode = (mode: number, body: Code): Code => [
    ...get(MODE),
    ...int(mode),
    I32_EQ,
    IF,
    VOID,
    ...body,
    END,
  ];
  return [
    ...vector([
      [1, I32],
      [2, V128],
    ]),
    BLOCK,
    VOID,
    ...get(COUNT),
    I32_EQZ,
    BR_IF,
    0,
    ...set(END_A, add(get(A), bytes(get(COUNT)))),
    ...ifMode(0, loop([...set(V, loadV(get(A))), ...andV(get(V), gtV(get(V), zeroV))])),
    ...ifMode(1, loop([...set(V, loadV(get(A))), ...andV(mulV(get(V), loadV(get(M))), gtV(get(V), zeroV))])),
    ...ifMode(2, loop(andV(loadV(get(A)), gtV(loadV(get(B)), zeroV)))),
    ...ifMode(3, loop(andV(mulV(loadV(get(A)), loadV(get(M))), gtV(loadV(get(B)), zeroV)))),
    ...ifMode(4, loop([...set(G, addV(loadV(get(A)), loadV(get(B)))), ...andV(get(G), gtV(get(G), zeroV))])),
    END,
    END,
  ];
}

/**
 * `mask(out, n, count, first, perSequence, seed, cut, keep)`: dropout mask values for n
 * sequences of `count` values (count a multiple of 4) from `out`, contiguous: value e of sequence s
 * is `hash(first + s·perSequence + e) < cut ? 0 : keep` (unsigned), the SplitMix32 hash of
 * dropoutHash in tcn-model.ts on four i32 lanes, widened to two f64x2 masks.
 */
function maskBody(): Code {
  const OUT = 0;
  const N = 1;
  const COUNT = 2;
  const FIRST = 3;
  const PER = 4;
  const SEED = 5;
  const CUT = 6;
  const KEEP = 7;
  const S = 8;
  const E = 9;
  const Z = 10;
  const IDX = 11;
  const DROP = 12;
  const I32X4 = (op: number[]): Code => [SIMD, ...op];
  const splat32 = (v: Code): Code => [...v, SIMD, 0x11];
  const addI = (a: Code, b: Code): Code => [...a, ...b, ...I32X4([0xae, 0x01])];
  const mulI = (a: Code, b: Code): Code => [...a, ...b, ...I32X4([0xb5, 0x01])];
  const shrU = (a: Code, bits: number): Code => [...a, ...int(bits), ...I32X4([0xad, 0x01])];
  const xorV = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0x51];
  const ltU = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0x3a];
  const extendLow = (a: Code): Code => [...a, SIMD, 0xc7, 0x01];
  const extendHigh = (a: Code): Code => [...a, SIMD, 0xc8, 0x01];
  const andNot = (a: Code, b: Code): Code => [...a, ...b, SIMD, 0x4f];
  const lanes: Code = [SIMD, 0x0c, ...[0, 1, 2, 3].flatMap((v) => [v, 0, 0, 0])];
  const mix = (z: Code, bits: number, factor: number): Code =>
    mulI(xorV(z, shrU(z, bits)), splat32(int(factor)));
  const keepV: Code = [...get(KEEP), SIMD, 0x14];
  return [
    ...vector([
      [2, I32],
      [3, V128],
    ]),
    ...range(S, int(0), get(N), 1, [
      // idx = first + s · perSequence + e + [0, 1, 2, 3] + 1
      ...set(IDX, addI(splat32(add(add(get(FIRST), mul(get(S), get(PER))), int(1))), lanes)),
      ...range(E, int(0), get(COUNT), 4, [
        ...set(Z, addI(splat32(get(SEED)), mulI(get(IDX), splat32(int(0x9e3779b9 | 0))))),
        ...set(Z, mix(get(Z), 16, 0x85ebca6b | 0)),
        ...set(Z, mix(get(Z), 13, 0xc2b2ae35 | 0)),
        ...set(Z, xorV(get(Z), shrU(get(Z), 16))),
        ...set(DROP, ltU(get(Z), splat32(get(CUT)))),
        ...storeV(get(OUT), andNot(keepV, extendLow(get(DROP)))),
        ...storeV(get(OUT), andNot(keepV, extendHigh(get(DROP))), 16),
        ...set(OUT, add(get(OUT), int(32))),
        ...set(IDX, addI(get(IDX), splat32(int(4)))),
      ]),
    ]),
    END,
  ];
}

function moduleBytes(): Uint8Array {
  const params = (...types: number[]): Code => [0x60, ...vector(types.map((t) => [t])), ...vector([])];
  const i32s = (count: number) => new Array<number>(count).fill(I32);
  const body = (code: Code) => [...uleb(code.length), ...code];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(
      1,
      vector([params(...i32s(12)), params(...i32s(13)), params(...i32s(5)), params(...i32s(7), F64)]),
    ),
    // import env.memory (min 1 page)
    ...section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vector([[0], [1], [2], [3]])),
    ...section(
      7,
      vector([
        [...name('gather'), 0x00, 0],
        [...name('reduce'), 0x00, 1],
        [...name('elements'), 0x00, 2],
        [...name('mask'), 0x00, 3],
      ]),
    ),
    ...section(10, vector([body(gatherBody()), body(reduceBody()), body(elementsBody()), body(maskBody())])),
  ]);
}

export type GatherFn = (
  out: number,
  n: number,
  steps: number,
  width: number,
  tap: number,
  taps: number,
  depth: number,
  inp: number,
  inStride: number,
  w: number,
  bias: number,
  accumulate: number,
) => void;

export type ReduceFn = (
  grad: number,
  wAt: number,
  steps: number,
  tap: number,
  taps: number,
  depth: number,
  inp: number,
  inStride: number,
  dOut: number,
  width: number,
  from: number,
  to: number,
  bAt: number,
) => void;

/** `mask(out, n, count, first, perSequence, seed, cut, keep)`: see maskBody (byte pointer; count a multiple of 4). */
export type MaskFn = (
  out: number,
  n: number,
  count: number,
  first: number,
  perSequence: number,
  seed: number,
  cut: number,
  keep: number,
) => void;

/** `elements(mode, a, b, m, count)`: see elementsBody (byte pointers; count even). */
export type ElementsFn = (mode: number, a: number, b: number, m: number, count: number) => void;

export interface WasmKernels {
  memory: ArrayBuffer;
  gather: GatherFn;
  reduce: ReduceFn;
  elements: ElementsFn;
  mask: MaskFn;
}

let compiled: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable. */
function compiledModule(): object | null {
  if (compiled !== undefined) return compiled;
  compiled = null;
  if (!wasmApi) return compiled;
  const code = moduleBytes();
  if (wasmApi.validate(code)) compiled = new wasmApi.Module(code);
  return compiled;
}

/** Kernels over a fresh memory of at least `byteLength` bytes, or null without WebAssembly SIMD. */
export function wasmKernels(byteLength: number): WasmKernels | null {
  const module = compiledModule();
  if (!module || !wasmApi) return null;
  const memory = new wasmApi.Memory({ initial: Math.max(1, Math.ceil(byteLength / WASM_PAGE)) });
  const { exports } = new wasmApi.Instance(module, { env: { memory } });
  return {
    memory: memory.buffer,
    gather: exports.gather as GatherFn,
    reduce: exports.reduce as ReduceFn,
    elements: exports.elements as ElementsFn,
    mask: exports.mask as MaskFn,
  };
}
