import { fstatSync } from 'node:fs';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An append-only NDJSON file. `readNew` returns the complete lines written since the
 * last read by any other writer (other processes, other instances) and, when it cannot tell
 * them apart, its own too, so several processes can share a journal.
 */
export class NdjsonJournal {
  readonly path: string;
  #offset = 0;
  /** Kept open in append mode (O_APPEND): every write lands whole at the end. */
  #appender: FileHandle | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Create the folder; end a line torn by a crash so the next append starts cleanly. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const handle = await open(this.path, 'a+');
    try {
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await handle.appendFile('\n');
      }
    } catch (error) {
      await handle.close();
      throw error;
    }
    this.#appender = handle;
  }

  /**
   * Append one line per value. When this journal had read everything before and no other
   * writer's bytes land before or between its own (the file grew by exactly these bytes),
   * `readNew` skips them: the caller has them already. Otherwise they are read back like
   * any other writer's lines.
   */
  async append(values: readonly unknown[]): Promise<void> {
    if (values.length === 0) return;
    const handle = this.#appender;
    if (!handle) throw new Error(`journal ${this.path} is not open`);
    const body = Buffer.from(values.map((v) => `${JSON.stringify(v)}\n`).join(''), 'utf8');
    const read = this.#offset;
    await handle.appendFile(body);
    // The file only grows: exactly these bytes more than what was read means no other writer's
    // bytes came before or between them. (fstat of an open file: no thread-pool round trip.)
    if (fstatSync(handle.fd).size === read + body.length) this.#offset = read + body.length;
  }

  async close(): Promise<void> {
    const handle = this.#appender;
    this.#appender = undefined;
    await handle?.close();
  }

  /** Lines completed since the last call, parsed; `corrupt` counts lines that are not JSON. */
  async readNew(): Promise<{ values: unknown[]; corrupt: number }> {
    const handle = await open(this.path, 'r');
    let bytes: Buffer;
    try {
      const { size } = await handle.stat();
      if (size <= this.#offset) return { values: [], corrupt: 0 };
      bytes = Buffer.alloc(size - this.#offset);
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, this.#offset);
      bytes = bytes.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
    const end = bytes.lastIndexOf(0x0a);
    if (end < 0) return { values: [], corrupt: 0 };
    this.#offset += end + 1;
    const values: unknown[] = [];
    let corrupt = 0;
    for (const line of bytes.subarray(0, end).toString('utf8').split('\n')) {
      if (line.length === 0) continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        corrupt++;
      }
    }
    return { values, corrupt };
  }
}
