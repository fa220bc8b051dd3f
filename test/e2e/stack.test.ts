import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { adminClient } from '@vigil/adapter-s3/testing';
import { describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './cli.js';

/** The local test credentials, exactly as a user gets them: eval "$(bash scripts/services env)". */
function serviceEnv(): Record<string, string> {
  const text = execFileSync('bash', [join(repoRoot, 'scripts/services'), 'env'], { encoding: 'utf8' });
  return Object.fromEntries([...text.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

describe('vigil run --preset stack (Kafka, lakeFS on MinIO, Redis, MLflow on this machine)', () => {
  it('runs the main job on the real servers and reconciles every layer', async () => {
    const id = Math.random().toString(36).slice(2, 8);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-stack-'));
    const config = join(dir, 'vigil.yaml');
    await writeFile(
      config,
      [
        'version: 1',
        'preset: stack',
        'seed: 7',
        'ports:',
        `  lake-store: { config: { repository: e2e-${id}, storageNamespace: 's3://vigil-lakefs/e2e-${id}' } }`,
        `  feature-store: { config: { online: { type: redis, url: 'redis://127.0.0.1:6379', project: e2e${id} } } }`,
        'job:',
        `  topicPrefix: e2e-${id}.`,
        '  trial: { patients: 80, days: 40, sites: 3 }',
        '  serve: { requests: 100 }',
      ].join('\n'),
    );
    const result = await runCli(['run', '--config', config, '--workdir', join(dir, 'work'), '--json'], {
      env: serviceEnv(),
    });
    expect(
      result.code,
      `${result.stderr}\n(start the servers with: bash scripts/services up kafka lakefs redis minio mlflow)`,
    ).toBe(0);
    const s = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as {
      preset: string;
      events: number;
      reconciliation: {
        in: number;
        bronze: number;
        silver: number;
        duplicates: number;
        quarantined: number;
        balanced: boolean;
      };
      model: { auroc: number };
      online: { patients: number; scored: number };
    };
    expect(s.preset).toBe('stack');
    expect(s.reconciliation).toMatchObject({ in: s.events, bronze: s.events, balanced: true });
    expect(s.reconciliation.silver + s.reconciliation.duplicates + s.reconciliation.quarantined).toBe(
      s.events,
    );
    expect(s.online.scored).toBe(s.online.patients);
    // Nothing went to the embedded stores: the source, lake, online store and registry were the servers.
    expect(existsSync(join(dir, 'work', 'log'))).toBe(false);
    expect(existsSync(join(dir, 'work', 'lake'))).toBe(false);
    expect(existsSync(join(dir, 'work', 'registry'))).toBe(false);
    // lakeFS kept the medallion's objects in MinIO (S3) under the repository's namespace.
    const s3 = adminClient();
    try {
      const listed = await s3.send(
        new ListObjectsV2Command({ Bucket: 'vigil-lakefs', Prefix: `e2e-${id}/` }),
      );
      expect(listed.KeyCount ?? 0).toBeGreaterThan(0);
    } finally {
      s3.destroy();
    }
  }, 300_000);
});
