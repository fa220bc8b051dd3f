/**
 * Dense in-memory index of one segment: the file position of each record, by offset
 * relative to the segment's base. Four bytes a record; rebuilt by scanning on open.
 */
export class OffsetIndex {
  #positions = new Uint32Array(1024);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(position: number): void {
    if (this.#length === this.#positions.length) {
      const grown = new Uint32Array(this.#positions.length * 2);
      grown.set(this.#positions);
      this.#positions = grown;
    }
    this.#positions[this.#length++] = position;
  }

  /** File position of the record `relative` records after the segment's base. */
  position(relative: number): number {
    if (relative < 0 || relative >= this.#length)
      throw new RangeError(`index ${relative} of ${this.#length}`);
    return this.#positions[relative]!;
  }

  /** Forget entries from `length` on (after a failed append). */
  truncate(length: number): void {
    this.#length = Math.min(this.#length, length);
  }
}
