/**
 * The histogram loop as a small WebAssembly function with 128-bit SIMD, assembled here from
 * opcodes (no toolchain, no binary blob): per row, the (gradient, hessian) pair is one `f64x2`
 * added to the bin's pair with one load and one store, the count is an `f64` add, and memory
 * accesses carry no bounds checks. The arithmetic is the same IEEE double additions in the same
 * order as the TypeScript loop, so both give bit-identical histograms.
 *
 * Memory layout (byte offsets, 16-aligned): binned bins (features × rows, column-major) | rows
 * (u32) | gradient/hessian pairs (f64 × 2 per row) | one histogram (features × 256 × 3 f64) |
 * column offsets (i32 per feature) | histogram offsets (i32 per feature).
 */

import { Worker } from 'node:worker_threads';
import { VigilError } from '@vigil/core';

const PAGE = 65536;

/** The part of the WebAssembly JS API used here (the project's `lib` has no DOM/WebAssembly types). */
interface WasmModule {
  readonly kind?: 'module';
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }) => {
    buffer: ArrayBuffer | SharedArrayBuffer;
  };
}
const wasmApi = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

// Opcodes used (WebAssembly core 2.0 + fixed-width SIMD).
const BLOCK = 0x02;
const LOOP = 0x03;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const VOID = 0x40;
const LOCAL_GET = 0x20;
const LOCAL_SET = 0x21;
const LOCAL_TEE = 0x22;
const I32_CONST = 0x41;
const F64_CONST = 0x44;
const I32_LOAD = 0x28;
const I32_LOAD8_U = 0x2d;
const F64_LOAD = 0x2b;
const F64_STORE = 0x39;
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_MUL = 0x6c;
const I32_GE_U = 0x4f;
const I32_LT_S = 0x48;
const I32_STORE = 0x36;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const I32_XOR = 0x73;
const MEMORY_COPY = [0xfc, 0x0a, 0x00, 0x00];
const F64_ADD = 0xa0;
const SIMD = 0xfd;
const V128_LOAD = [SIMD, 0x00];
const V128_STORE = [SIMD, 0x0b];
const F64X2_ADD = [SIMD, 0xf0, 0x01];
const I32 = 0x7f;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
const get = (l: number) => [LOCAL_GET, ...uleb(l)];
const set = (l: number) => [LOCAL_SET, ...uleb(l)];
const tee = (l: number) => [LOCAL_TEE, ...uleb(l)];
const i32 = (v: number) => [I32_CONST, ...sleb(v)];
const ONE = [F64_CONST, ...new Uint8Array(new Float64Array([1]).buffer)];

// Parameters of `histogram(hist, binned, rows, count, gh, columns, offsets, features)`, then locals.
const P_HIST = 0;
const P_BINNED = 1;
const P_ROWS = 2;
const P_COUNT = 3;
const P_GH = 4;
const P_COLUMNS = 5;
const P_OFFSETS = 6;
const P_FEATURES = 7;
const L_K = 8; // feature index
const L_RP = 9; // pointer into rows
const L_REND = 10; // end of rows
const L_GP = 11; // pointer into gh
const L_R = 12; // row
const L_P = 13; // bin address
const L_B = 14; // first of GROUP column bases (binned + column offset)
const GROUP = 4;
const L_H = L_B + GROUP; // first of GROUP histogram bases (hist + histogram offset)
const L_GH = L_H + GROUP; // the row's (g, h) pair, v128
const I32_LOCALS = L_GH - L_K;

/** One feature's update for the row in L_R and pair in L_GH: column base local `b`, histogram base local `h`. */
function update(b: number, h: number): number[] {
  return [
    // p = h + binned[b + r] * 24
    ...get(h),
    ...get(b),
    ...get(L_R),
    I32_ADD,
    I32_LOAD8_U,
    0,
    0,
    ...i32(24),
    I32_MUL,
    I32_ADD,
    ...tee(L_P),
    // v128 [p] += (g, h)
    ...get(L_P),
    ...V128_LOAD,
    3,
    0,
    ...get(L_GH),
    ...F64X2_ADD,
    ...V128_STORE,
    3,
    0,
    // f64 [p + 16] += 1
    ...get(L_P),
    ...get(L_P),
    F64_LOAD,
    3,
    16,
    ...ONE,
    F64_ADD,
    F64_STORE,
    3,
    16,
  ];
}

/** Loop over the rows, updating the features whose bases are in locals L_B‥ and L_H‥ (`width` of them). */
function rowLoop(width: number): number[] {
  const body: number[] = [];
  for (let j = 0; j < width; j++) body.push(...update(L_B + j, L_H + j));
  return [
    ...get(P_ROWS),
    ...set(L_RP),
    ...get(P_GH),
    ...set(L_GP),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(L_RP),
    ...get(L_REND),
    I32_GE_U,
    BR_IF,
    1,
    ...get(L_RP),
    I32_LOAD,
    2,
    0,
    ...set(L_R),
    ...get(L_GP),
    ...V128_LOAD,
    3,
    0,
    ...set(L_GH),
    ...body,
    ...get(L_RP),
    ...i32(4),
    I32_ADD,
    ...set(L_RP),
    ...get(L_GP),
    ...i32(16),
    I32_ADD,
    ...set(L_GP),
    BR,
    0,
    END,
    END,
  ];
}

/** Load the bases of features k‥k+width−1 into L_B‥ and L_H‥. */
function loadBases(width: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < width; j++) {
    // L_B+j = binned + columns[k + j]
    out.push(...get(P_BINNED), ...get(P_COLUMNS), ...get(L_K), ...i32(4), I32_MUL, I32_ADD);
    out.push(I32_LOAD, 2, 4 * j, I32_ADD, ...set(L_B + j));
    out.push(...get(P_HIST), ...get(P_OFFSETS), ...get(L_K), ...i32(4), I32_MUL, I32_ADD);
    out.push(I32_LOAD, 2, 4 * j, I32_ADD, ...set(L_H + j));
  }
  return out;
}

/** Loop over features in steps of `width` while at least `width` remain. */
function featureLoop(width: number): number[] {
  return [
    BLOCK,
    VOID,
    LOOP,
    VOID,
    // exit when features − k < width
    ...get(P_FEATURES),
    ...get(L_K),
    I32_SUB,
    ...i32(width),
    I32_LT_S,
    BR_IF,
    1,
    ...loadBases(width),
    ...rowLoop(width),
    ...get(L_K),
    ...i32(width),
    I32_ADD,
    ...set(L_K),
    BR,
    0,
    END,
    END,
  ];
}

function histogramBody(): number[] {
  return [
    // locals: I32_LOCALS × i32, 1 × v128
    ...vector([
      [...uleb(I32_LOCALS), I32],
      [1, V128],
    ]),
    ...i32(0),
    ...set(L_K),
    // rows end = rows + 4 · count
    ...get(P_ROWS),
    ...get(P_COUNT),
    ...i32(4),
    I32_MUL,
    I32_ADD,
    ...set(L_REND),
    ...featureLoop(GROUP),
    ...featureLoop(1),
    END,
  ];
}

/**
 * `partition(rows, count, column, goLeft, scratch) → left count`: stable partition of `count`
 * u32 rows at `rows` by `goLeft[column[row]]` (bytes), left rows first. Each row is stored on
 * both sides and only its own side's pointer advances (no data-dependent branch); the right
 * side, gathered in `scratch`, is copied back after the left.
 */
function partitionBody(): number[] {
  const [ROWS, COUNT, COLUMN, LUT, SCRATCH] = [0, 1, 2, 3, 4];
  const [I, END_, W, S, R, LEFT] = [5, 6, 7, 8, 9, 10];
  return [
    ...vector([[6, I32]]),
    ...get(ROWS),
    ...set(I),
    ...get(ROWS),
    ...set(W),
    ...get(SCRATCH),
    ...set(S),
    ...get(ROWS),
    ...get(COUNT),
    ...i32(4),
    I32_MUL,
    I32_ADD,
    ...set(END_),
    BLOCK,
    VOID,
    LOOP,
    VOID,
    ...get(I),
    ...get(END_),
    I32_GE_U,
    BR_IF,
    1,
    ...get(I),
    I32_LOAD,
    2,
    0,
    ...set(R),
    ...get(LUT),
    ...get(COLUMN),
    ...get(R),
    I32_ADD,
    I32_LOAD8_U,
    0,
    0,
    I32_ADD,
    I32_LOAD8_U,
    0,
    0,
    ...set(LEFT),
    ...get(W),
    ...get(R),
    I32_STORE,
    2,
    0,
    ...get(S),
    ...get(R),
    I32_STORE,
    2,
    0,
    ...get(W),
    ...get(LEFT),
    ...i32(2),
    I32_SHL,
    I32_ADD,
    ...set(W),
    ...get(S),
    ...get(LEFT),
    ...i32(1),
    I32_XOR,
    ...i32(2),
    I32_SHL,
    I32_ADD,
    ...set(S),
    ...get(I),
    ...i32(4),
    I32_ADD,
    ...set(I),
    BR,
    0,
    END,
    END,
    // memory.copy(w, scratch, s − scratch)
    ...get(W),
    ...get(SCRATCH),
    ...get(S),
    ...get(SCRATCH),
    I32_SUB,
    ...MEMORY_COPY,
    // (w − rows) / 4
    ...get(W),
    ...get(ROWS),
    I32_SUB,
    ...i32(2),
    I32_SHR_U,
    END,
  ];
}

/** The module; `shared` imports a shared memory (for worker threads), whose type declares a maximum. */
function assemble(shared: boolean): Uint8Array {
  const params = (n: number) => vector(Array.from({ length: n }, () => [I32]));
  const histogram = histogramBody();
  const partition = partitionBody();
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    // types: 0 = (i32 × 8) → (), 1 = (i32 × 5) → i32
    ...section(
      1,
      vector([
        [0x60, ...params(8), 0],
        [0x60, ...params(5), 1, I32],
      ]),
    ),
    // import env.memory: min 1 page (shared: max 65536 pages)
    ...section(
      2,
      vector([
        [...name('env'), ...name('memory'), 0x02, ...(shared ? [0x03, 1, ...uleb(65536)] : [0x00, 1])],
      ]),
    ),
    ...section(3, vector([[0], [1]])),
    ...section(
      7,
      vector([
        [...name('histogram'), 0x00, 0],
        [...name('partition'), 0x00, 1],
      ]),
    ),
    ...section(
      10,
      vector([
        [...uleb(histogram.length), ...histogram],
        [...uleb(partition.length), ...partition],
      ]),
    ),
  ];
  return Uint8Array.from(bytes);
}

const compiled = new Map<boolean, WasmModule | null>();

/** The compiled module, or null where this runtime has no WebAssembly SIMD (or shared memory). */
function histogramModule(shared: boolean): WasmModule | null {
  if (!compiled.has(shared)) {
    const bytes = assemble(shared);
    compiled.set(shared, wasmApi?.validate(bytes) ? new wasmApi.Module(bytes) : null);
  }
  return compiled.get(shared)!;
}

const align = (n: number) => Math.ceil(n / 16) * 16;

/** Worker threads are started only for at least this many (row, feature) bins … */
const MIN_CELLS_FOR_THREADS = 1 << 20;
/** … and a histogram is split over them only when it adds at least this many rows × features. */
const MIN_UPDATES_FOR_THREADS = 1 << 16;
/** Control block (i32 slots in the shared memory). */
const CTL_GENERATION = 0;
const CTL_PENDING = 1;
const CTL_STOP = 2;
const CTL_ERROR = 3;
const CTL_ROWS = 4;
const CTL_COUNT = 5;
/** Slots 8 + 2w, 9 + 2w: first feature (index into the features in use) and feature count of thread w. */
const CTL_PARTS = 8;
const MAX_THREADS = 64;
const CTL_INTS = CTL_PARTS + 2 * MAX_THREADS;
/** How long the calling thread waits for a worker's share before giving up. */
const WORKER_TIMEOUT_MS = 120_000;

/**
 * A worker: instantiates the module on the shared memory, then for every new generation adds
 * its share of features (ctl[8 + 2·slot] onwards, ctl[9 + 2·slot] of them) for the rows the
 * calling thread published, and counts itself done. Plain JavaScript (run with `eval`), so it
 * needs no TypeScript loader; `import()` works whether Node treats it as a script or a module.
 */
const WORKER_SOURCE = `import('node:worker_threads').then(({ workerData: w }) => {
  const { histogram } = new WebAssembly.Instance(w.module, { env: { memory: w.memory } }).exports;
  const ctl = new Int32Array(w.memory.buffer, w.ctl, ${CTL_INTS});
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, ${CTL_GENERATION}, seen);
    seen = Atomics.load(ctl, ${CTL_GENERATION});
    if (Atomics.load(ctl, ${CTL_STOP}) === 1) return;
    try {
      const first = ctl[${CTL_PARTS} + 2 * w.slot];
      const count = ctl[${CTL_PARTS + 1} + 2 * w.slot];
      if (count > 0) {
        histogram(w.hist, w.binned, ctl[${CTL_ROWS}], ctl[${CTL_COUNT}], w.gh, w.columns + 4 * first, w.offsets + 4 * first, count);
      }
    } catch {
      Atomics.store(ctl, ${CTL_ERROR}, 1);
    }
    if (Atomics.sub(ctl, ${CTL_PENDING}, 1) === 1) Atomics.notify(ctl, ${CTL_PENDING});
  }
});`;

/**
 * Histogram building in WebAssembly memory for one binned data set. `rows` and `gh` are views the
 * caller fills (a node's rows and their gathered gradient/hessian pairs); `build` adds them to
 * the in-memory histogram, which `hist` views. With `threads` > 1 (and enough data) the memory is
 * shared with `threads − 1` worker threads and each build is split by feature: every feature's
 * bins are still summed by one thread in row order, so the histogram, and the model, are the
 * same for any thread count. `close()` stops the workers.
 */
export class WasmHistogram {
  readonly rows: Uint32Array;
  readonly gh: Float64Array;
  readonly hist: Float64Array;
  readonly binned: Uint8Array;
  readonly #columns: Int32Array;
  readonly #offsets: Int32Array;
  readonly #ptr: {
    rows: number;
    gh: number;
    hist: number;
    columns: number;
    offsets: number;
    scratch: number;
    lut: number;
    ctl: number;
  };
  readonly #lut: Uint8Array;
  readonly #ctl: Int32Array;
  readonly #workers: Worker[] = [];
  readonly #histogram: (...args: number[]) => void;
  readonly #partition: (...args: number[]) => number;
  #featureCount = 0;

  private constructor(
    api: WasmApi,
    module: WasmModule,
    binned: Uint8Array,
    rows: number,
    features: number,
    threads: number,
  ) {
    const sizes = {
      binned: align(binned.length),
      rows: align(4 * rows),
      gh: align(16 * rows),
      hist: align(8 * features * 256 * 3),
      columns: align(4 * features),
      lut: 256,
      ctl: align(4 * CTL_INTS),
    };
    const total =
      sizes.binned + 2 * sizes.rows + sizes.gh + sizes.hist + 2 * sizes.columns + sizes.lut + sizes.ctl;
    const pages = Math.ceil(total / PAGE);
    const shared = threads > 1;
    const memory = new api.Memory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages });
    const instance = new api.Instance(module, { env: { memory } });
    this.#histogram = instance.exports.histogram as (...args: number[]) => void;
    this.#partition = instance.exports.partition as (...args: number[]) => number;
    const buffer = memory.buffer;
    let at = 0;
    const take = (size: number) => {
      const start = at;
      at += size;
      return start;
    };
    const binnedAt = take(sizes.binned);
    this.#ptr = {
      rows: take(sizes.rows),
      gh: take(sizes.gh),
      hist: take(sizes.hist),
      columns: take(sizes.columns),
      offsets: take(sizes.columns),
      scratch: take(sizes.rows),
      lut: take(sizes.lut),
      ctl: take(sizes.ctl),
    };
    this.#lut = new Uint8Array(buffer, this.#ptr.lut, 256);
    this.#ctl = new Int32Array(buffer, this.#ptr.ctl, CTL_INTS);
    this.binned = new Uint8Array(buffer, binnedAt, binned.length);
    this.binned.set(binned);
    this.rows = new Uint32Array(buffer, this.#ptr.rows, rows);
    this.gh = new Float64Array(buffer, this.#ptr.gh, 2 * rows);
    this.hist = new Float64Array(buffer, this.#ptr.hist, features * 256 * 3);
    this.#columns = new Int32Array(buffer, this.#ptr.columns, features);
    this.#offsets = new Int32Array(buffer, this.#ptr.offsets, features);
    if (shared) {
      try {
        for (let slot = 1; slot < threads; slot++) {
          const worker = new Worker(WORKER_SOURCE, {
            eval: true,
            workerData: {
              module,
              memory,
              slot,
              ctl: this.#ptr.ctl,
              hist: this.#ptr.hist,
              binned: binnedAt,
              gh: this.#ptr.gh,
              columns: this.#ptr.columns,
              offsets: this.#ptr.offsets,
            },
          });
          worker.unref();
          // A worker that fails to start or dies is noticed by the build that waits for it.
          worker.on('error', () => Atomics.store(this.#ctl, CTL_ERROR, 1));
          this.#workers.push(worker);
        }
      } catch {
        this.close();
      }
    }
  }

  /** Threads a large build is split over, the calling thread included (1 after `close()`). */
  get threads(): number {
    return this.#workers.length + 1;
  }

  /**
   * Null where WebAssembly SIMD is unavailable or the data does not fit one 32-bit memory. With
   * `threads` > 1, worker threads start only for data of at least 2^20 cells and where shared
   * WebAssembly memory works; otherwise the builds run on the calling thread.
   */
  static create(binned: Uint8Array, rows: number, features: number, threads = 1): WasmHistogram | null {
    if (!wasmApi) return null;
    const wanted = Math.min(MAX_THREADS, Math.max(1, Math.floor(threads)));
    const threaded = wanted > 1 && rows * features >= MIN_CELLS_FOR_THREADS ? histogramModule(true) : null;
    if (threaded) {
      try {
        return new WasmHistogram(wasmApi, threaded, binned, rows, features, wanted);
      } catch {
        // No shared memory here: one thread.
      }
    }
    const module = histogramModule(false);
    if (!module) return null;
    try {
      return new WasmHistogram(wasmApi, module, binned, rows, features, 1);
    } catch {
      return null;
    }
  }

  /** Set the features the next builds use: column byte offsets and histogram slot offsets. */
  useFeatures(columns: ArrayLike<number>, slots: ArrayLike<number>, count: number): void {
    for (let k = 0; k < count; k++) {
      this.#columns[k] = columns[k]!;
      this.#offsets[k] = slots[k]! * 8;
    }
    this.#featureCount = count;
  }

  /** Add `rows[start, start + count)` (pairs in `gh[0, 2·count)`) to `hist` for the features in use. */
  build(start: number, count: number): void {
    const nf = this.#featureCount;
    const rowsAt = this.#ptr.rows + 4 * start;
    const threads = this.#workers.length + 1;
    if (threads === 1 || count * nf < MIN_UPDATES_FOR_THREADS) {
      this.#run(rowsAt, count, 0, nf);
      return;
    }
    // Contiguous shares of the features, in whole groups of four (the loop's group width).
    const share = Math.ceil(Math.ceil(nf / 4) / threads) * 4;
    const ctl = this.#ctl;
    ctl[CTL_ROWS] = rowsAt;
    ctl[CTL_COUNT] = count;
    for (let w = 1; w < threads; w++) {
      const first = Math.min(nf, w * share);
      ctl[CTL_PARTS + 2 * w] = first;
      ctl[CTL_PARTS + 2 * w + 1] = Math.min(nf, first + share) - first;
    }
    Atomics.store(ctl, CTL_PENDING, threads - 1);
    Atomics.add(ctl, CTL_GENERATION, 1);
    Atomics.notify(ctl, CTL_GENERATION);
    this.#run(rowsAt, count, 0, Math.min(nf, share));
    for (;;) {
      const pending = Atomics.load(ctl, CTL_PENDING);
      if (pending === 0) break;
      if (Atomics.wait(ctl, CTL_PENDING, pending, WORKER_TIMEOUT_MS) === 'timed-out') {
        Atomics.store(ctl, CTL_ERROR, 1);
        break;
      }
    }
    if (Atomics.load(ctl, CTL_ERROR) === 1) {
      this.close();
      throw new VigilError(
        'VIGIL_TRAINER_WORKER_FAILED',
        'gbt: a histogram worker thread failed or stopped answering',
      );
    }
  }

  #run(rowsAt: number, count: number, first: number, features: number): void {
    this.#histogram(
      this.#ptr.hist,
      this.binned.byteOffset,
      rowsAt,
      count,
      this.#ptr.gh,
      this.#ptr.columns + 4 * first,
      this.#ptr.offsets + 4 * first,
      features,
    );
  }

  /**
   * Stable partition of `rows[start, start + count)` by `goLeft[bin]` of the column at byte
   * offset `column` of the bins; returns how many rows went left.
   */
  partition(start: number, count: number, column: number, goLeft: Uint8Array): number {
    this.#lut.set(goLeft);
    return this.#partition(
      this.#ptr.rows + 4 * start,
      count,
      this.binned.byteOffset + column,
      this.#ptr.lut,
      this.#ptr.scratch,
    );
  }

  /** Stop the worker threads (idempotent); later builds run on the calling thread. */
  close(): void {
    if (this.#workers.length === 0) return;
    Atomics.store(this.#ctl, CTL_STOP, 1);
    Atomics.add(this.#ctl, CTL_GENERATION, 1);
    Atomics.notify(this.#ctl, CTL_GENERATION);
    for (const worker of this.#workers.splice(0)) void worker.terminate().catch(() => undefined);
  }
}
