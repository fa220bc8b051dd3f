/**
 * Every server scripts/services installs is pinned to a version, and to a checksum where the
 * registry gives one (Go module h1: sums, Maven Central's SHA-1/SHA-512, pip == pins). A static
 * check of the service scripts: no `@latest`, no unpinned pip requirement, and the Kafka jar
 * manifest covers the pinned version.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../scripts/services.d/', import.meta.url));

async function script(name: string): Promise<string> {
  const file = (await readdir(dir)).find((f) => f.endsWith(`-${name}.sh`));
  if (!file) throw new Error(`no scripts/services.d/*-${name}.sh`);
  return readFile(join(dir, file), 'utf8');
}

describe('scripts/services pins every server', () => {
  it('installs Python services with == pins and a constraints file for everything they pull in', async () => {
    const main = await readFile(join(dir, '..', 'services'), 'utf8');
    const helper = main.slice(main.indexOf('pinned_venv_install() {'));
    expect(helper).toContain('--constraint "$constraints"');
    expect(helper).toContain('"$package==$version"');
  });

  it('builds nothing from @latest', async () => {
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.sh'))) {
      expect(await readFile(join(dir, file), 'utf8'), file).not.toMatch(/@latest|:-latest/);
    }
  });

  it('pins the Go-built servers to a version and a module checksum', async () => {
    const minio = await script('minio');
    expect(minio).toMatch(/MINIO_VERSION="\$\{VIGIL_MINIO_VERSION:-v0\.0\.0-\d{14}-[0-9a-f]{12}\}"/);
    expect(minio).toMatch(/MINIO_SUM="\$\{VIGIL_MINIO_SUM:-h1:[A-Za-z0-9+/]{43}=\}"/);
    const lakefs = await script('lakefs');
    expect(lakefs).toMatch(/VIGIL_LAKEFS_VERSION=v\d+\.\d+\.\d+\n/);
    expect(lakefs).toMatch(/VIGIL_LAKEFS_SUM="\$\{VIGIL_LAKEFS_SUM:-h1:[A-Za-z0-9+/]{43}=\}"/);
  });

  it('pins the Maven-built servers to a version and their published checksums', async () => {
    const kafka = await script('kafka');
    const version = /KAFKA_VERSION="\$\{VIGIL_KAFKA_VERSION:-([0-9.]+)\}"/.exec(kafka)?.[1];
    expect(version).toBeDefined();
    expect(kafka).toContain('--strict-checksums');
    const manifest = await readFile(join(dir, `kafka-${version}.sha1`), 'utf8');
    const lines = manifest.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(line).toMatch(/^[0-9a-f]{40} {2}[\w.+-]+\.jar$/);
    expect(lines.some((l) => l.endsWith(`  kafka_2.13-${version}.jar`))).toBe(true);
    const artemis = await script('artemis');
    expect(artemis).toMatch(/ARTEMIS_VERSION=\d+\.\d+\.\d+\n/);
    expect(artemis).toMatch(/ARTEMIS_SHA512="\$\{VIGIL_ARTEMIS_SHA512:-[0-9a-f]{128}\}"/);
    expect(artemis).toContain('--strict-checksums');
  });

  it("pins Prometheus to Debian's 2.42 and checks the installed version", async () => {
    const prometheus = await script('prometheus');
    expect(prometheus).toMatch(/PROMETHEUS_VERSION="\$\{VIGIL_PROMETHEUS_VERSION:-\d+\.\d+\.\d+\}"/);
    expect(prometheus).toContain('apt_install "prometheus=$candidate"');
    expect(prometheus).toContain('[[ $have == "$PROMETHEUS_VERSION" ]]');
  });

  it('pins Redis and Feast', async () => {
    expect(await script('redis')).toMatch(/REDIS_VERSION="\$\{VIGIL_REDIS_VERSION:-\d+\.\d+\.\d+\}"/);
    const feast = await script('feast');
    expect(feast).toMatch(/VIGIL_FEAST_VERSION:-\d+\.\d+\.\d+/);
    expect(feast).toMatch(
      /pinned_venv_install feast 'feast\[redis\]' "\$\{VIGIL_FEAST_VERSION:-\d+\.\d+\.\d+\}"/,
    );
  });

  it("pins torch: Debian's python3-torch version, and pyarrow (with numpy < 2) in its venv", async () => {
    const torch = await script('torch');
    expect(torch).toMatch(/TORCH_DEB_VERSION="\$\{VIGIL_TORCH_DEB_VERSION:-\d+\.\d+\.\d+\+dfsg-\d+\}"/);
    expect(torch).toContain('apt_install "python3-torch=$TORCH_DEB_VERSION"');
    const version = /VIGIL_TORCH_PYARROW_VERSION:-(\d+\.\d+\.\d+)\}/.exec(torch)?.[1];
    expect(version).toBeDefined();
    expect(torch).toMatch(/pinned_venv_install torch pyarrow "\$\{VIGIL_TORCH_PYARROW_VERSION:-[\d.]+\}"/);
    const pins = (await readFile(join(dir, `torch-${version}-constraints.txt`), 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(pins).toEqual([`pyarrow==${version}`, 'numpy<2']);
  });

  it('pins MLflow and every package of its venv', async () => {
    const mlflow = await script('mlflow');
    const version = /VIGIL_MLFLOW_VERSION:-(\d+\.\d+\.\d+)\}/.exec(mlflow)?.[1];
    expect(version).toBeDefined();
    expect(mlflow).toMatch(/pinned_venv_install mlflow mlflow "\$version"/);
    const pins = (await readFile(join(dir, `mlflow-${version}-constraints.txt`), 'utf8'))
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    expect(pins.length).toBeGreaterThan(10);
    for (const pin of pins) expect(pin).toMatch(/^[A-Za-z0-9_.-]+==[^\s=]+$/);
    expect(pins).toContain(`mlflow==${version}`);
  });
});
