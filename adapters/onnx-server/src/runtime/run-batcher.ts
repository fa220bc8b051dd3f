import type { OrtTensor } from './ort.js';

/** One session run: `rows` row-major rows of `data`, the outputs named in `fetches`. */
export type RunFn = (
  data: Float32Array,
  rows: number,
  fetches: readonly string[],
) => Promise<Record<string, OrtTensor>>;

interface Queued {
  data: Float32Array;
  rows: number;
  fetches: readonly string[];
  resolve: (value: Record<string, OrtTensor>) => void;
  reject: (error: unknown) => void;
}

/**
 * Dynamic batching without waiting: the runs asked for within one event-loop turn (under load,
 * the requests whose features arrived in the same read) go to the session as one run of all
 * their rows, and each caller gets its own rows of every output back. A run never waits for
 * company: the batch is flushed at the end of the turn in which its first run was queued.
 *
 * Only runs with the same `fetches` share a batch, and at most `maxRows` rows go into one. A
 * batch that fails is run again request by request, so one request's failure is never
 * another's. Outputs whose first dimension is not the batch's rows (a model that does not
 * score rows independently) make the batch be run again request by request too.
 */
export class RunBatcher {
  readonly #run: RunFn;
  readonly #width: number;
  readonly #maxRows: number;
  #queue: Queued[] = [];
  /** Batched runs and the rows in them, for stats. */
  runs = 0;
  rows = 0;

  constructor(run: RunFn, width: number, maxRows: number) {
    this.#run = run;
    this.#width = width;
    this.#maxRows = maxRows;
  }

  run(data: Float32Array, rows: number, fetches: readonly string[]): Promise<Record<string, OrtTensor>> {
    if (rows >= this.#maxRows) return this.#run(data, rows, fetches);
    return new Promise((resolve, reject) => {
      this.#queue.push({ data, rows, fetches, resolve, reject });
      if (this.#queue.length === 1) setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    const queue = this.#queue;
    this.#queue = [];
    while (queue.length > 0) {
      const first = queue.shift()!;
      const group = [first];
      let rows = first.rows;
      for (let i = 0; i < queue.length && rows < this.#maxRows; ) {
        const q = queue[i]!;
        if (rows + q.rows <= this.#maxRows && sameFetches(q.fetches, first.fetches)) {
          group.push(q);
          rows += q.rows;
          queue.splice(i, 1);
        } else {
          i++;
        }
      }
      if (group.length === 1) this.#single(first);
      else void this.#batch(group, rows);
    }
  }

  #single(q: Queued): void {
    this.#run(q.data, q.rows, q.fetches).then(q.resolve, q.reject);
  }

  async #batch(group: Queued[], rows: number): Promise<void> {
    const width = this.#width;
    const data = new Float32Array(rows * width);
    let at = 0;
    for (const q of group) {
      data.set(q.data.subarray(0, q.rows * width), at * width);
      at += q.rows;
    }
    let results: Record<string, OrtTensor>;
    try {
      results = await this.#run(data, rows, group[0]!.fetches);
    } catch {
      for (const q of group) this.#single(q);
      return;
    }
    const parts = split(results, group, rows);
    if (!parts) {
      for (const q of group) this.#single(q);
      return;
    }
    this.runs++;
    this.rows += rows;
    group.forEach((q, i) => {
      q.resolve(parts[i]!);
    });
  }
}

function sameFetches(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Each caller's rows of every output, as views (no copies); undefined when an output is not row-major over the batch. */
function split(
  results: Record<string, OrtTensor>,
  group: readonly Queued[],
  rows: number,
): Record<string, OrtTensor>[] | undefined {
  const parts: Record<string, OrtTensor>[] = group.map(() => ({}));
  for (const [name, tensor] of Object.entries(results)) {
    const data = tensor.data;
    if (tensor.dims[0] !== rows || !ArrayBuffer.isView(data) || data instanceof DataView) return undefined;
    const typed = data as unknown as { length: number; subarray(start: number, end: number): unknown };
    if (typed.length % rows !== 0) return undefined;
    const perRow = typed.length / rows;
    let at = 0;
    group.forEach((q, i) => {
      parts[i]![name] = {
        type: tensor.type,
        dims: [q.rows, ...tensor.dims.slice(1)],
        data: typed.subarray(at * perRow, (at + q.rows) * perRow),
      };
      at += q.rows;
    });
  }
  return parts;
}
