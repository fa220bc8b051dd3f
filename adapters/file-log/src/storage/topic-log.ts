/**
 * A topic on disk: `<root>/topics/<topic>/meta.json` (written last, atomically: a topic
 * without it does not exist) and one directory of segments per partition.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilError, writeFileAtomic } from '@vigil/core';
import { Partitioner } from '../partitioner/partitioner.js';
import type { PartitionLogOptions } from './partition-log.js';
import { PartitionLog } from './partition-log.js';

interface TopicMeta {
  version: 1;
  partitions: number;
}

/** Kafka's rule for topic names; it also keeps them safe as directory names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateTopicName(topic: unknown, field = 'topic'): string {
  if (typeof topic !== 'string' || !TOPIC_NAME.test(topic) || topic === '.' || topic === '..') {
    throw new VigilError(
      'VIGIL_SOURCE_INVALID_REQUEST',
      `${field} ${JSON.stringify(topic)} is not a valid topic name (1–249 of a-z A-Z 0-9 . _ -, not '.' or '..')`,
    );
  }
  return topic;
}

export class TopicLog {
  readonly name: string;
  readonly partitions: readonly PartitionLog[];
  readonly partitioner: Partitioner;

  private constructor(name: string, partitions: PartitionLog[]) {
    this.name = name;
    this.partitions = partitions;
    this.partitioner = new Partitioner(partitions.length);
  }

  /** Open an existing topic; null when it does not exist. */
  static async open(root: string, name: string, options: PartitionLogOptions): Promise<TopicLog | null> {
    const dir = join(root, 'topics', name);
    let meta: TopicMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as TopicMeta;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    if (!Number.isInteger(meta.partitions) || meta.partitions < 1) {
      throw new Error(`${join(dir, 'meta.json')}: partitions must be a positive integer`);
    }
    return new TopicLog(name, await TopicLog.#openPartitions(dir, meta.partitions, options));
  }

  /** Create a topic (its partition directories first, meta.json last). */
  static async create(
    root: string,
    name: string,
    partitions: number,
    options: PartitionLogOptions,
  ): Promise<TopicLog> {
    const dir = join(root, 'topics', name);
    await mkdir(dir, { recursive: true });
    const logs = await TopicLog.#openPartitions(dir, partitions, options);
    const meta: TopicMeta = { version: 1, partitions };
    try {
      await writeFileAtomic(join(dir, 'meta.json'), `${JSON.stringify(meta)}\n`);
    } catch (error) {
      await Promise.all(logs.map((l) => l.close()));
      throw error;
    }
    return new TopicLog(name, logs);
  }

  static async #openPartitions(
    dir: string,
    count: number,
    options: PartitionLogOptions,
  ): Promise<PartitionLog[]> {
    const logs: PartitionLog[] = [];
    try {
      for (let p = 0; p < count; p++) logs.push(await PartitionLog.open(join(dir, String(p)), options));
    } catch (error) {
      await Promise.all(logs.map((l) => l.close()));
      throw error;
    }
    return logs;
  }

  endOffsets(): number[] {
    return this.partitions.map((p) => p.endOffset);
  }

  async close(): Promise<void> {
    await Promise.all(this.partitions.map((p) => p.close()));
  }
}
