import type { ModelArtifact } from '../domain/model.js';
import { VigilError } from '../errors.js';
import type { ModelVersion, Registry } from '../ports/registry.js';

/** Registry artifact (in a version's run) describing its ONNX model: format, tensors, feature names. */
export const MODEL_SIGNATURE = 'model/signature.json';

/** A registered version as a loadable model artifact (its ONNX bytes and signature). */
export async function versionArtifact(
  registry: Registry,
  name: string,
  version: string,
  /** For versions registered before signatures were: tensors like this model's, over their own feature list. */
  like?: ModelArtifact,
): Promise<ModelArtifact> {
  const v = await registry.getModelVersion(name, version);
  const bytes = await registry.getArtifact(v.runId, v.source);
  const json = async (path: string) =>
    JSON.parse(new TextDecoder().decode(await registry.getArtifact(v.runId, path)));
  const signature = (await json(MODEL_SIGNATURE).catch(async (error: unknown) => {
    if (!like) throw error;
    const featureNames = (await json('model/features.json')) as string[];
    const inputs = like.inputs.map((t) => ({ ...t, shape: [-1, featureNames.length] }));
    return { format: like.format, inputs, outputs: like.outputs, featureNames };
  })) as Omit<ModelArtifact, 'bytes' | 'sha256'>;
  return { ...signature, bytes, sha256: v.tags.sha256 ?? 'unknown' };
}

/** Registry artifacts (in a version's run) of its backup model: ONNX bytes and signature. */
export const FALLBACK_MODEL = 'fallback/model.onnx';
export const FALLBACK_SIGNATURE = 'fallback/signature.json';

/**
 * Log a version's model in its run: `model/model.onnx`, `model/features.json`, and
 * `MODEL_SIGNATURE` (what a server needs to load the ONNX bytes without the run: tensors and
 * feature names). Register the version with `source: 'model/model.onnx'`.
 */
export async function logModel(registry: Registry, runId: string, model: ModelArtifact): Promise<void> {
  await registry.logArtifact(runId, 'model/model.onnx', model.bytes);
  await registry.logArtifact(
    runId,
    'model/features.json',
    new TextEncoder().encode(JSON.stringify(model.featureNames)),
  );
  await registry.logArtifact(
    runId,
    MODEL_SIGNATURE,
    new TextEncoder().encode(
      JSON.stringify({
        format: model.format,
        inputs: model.inputs,
        outputs: model.outputs,
        featureNames: model.featureNames,
      }),
    ),
  );
}

/** Log a version's backup model (a small tree a server answers from when the model fails) in its run. */
export async function logFallback(
  registry: Registry,
  runId: string,
  artifact: ModelArtifact,
  testAuroc: number | null,
): Promise<void> {
  const { bytes, sha256, ...signature } = artifact;
  await registry.logArtifact(runId, FALLBACK_MODEL, bytes);
  await registry.logArtifact(
    runId,
    FALLBACK_SIGNATURE,
    new TextEncoder().encode(JSON.stringify({ ...signature, sha256, testAuroc })),
  );
}

/** A registered version's backup model, or undefined when its run has none. */
export async function fallbackArtifact(
  registry: Registry,
  name: string,
  version: string,
): Promise<ModelArtifact | undefined> {
  const v = await registry.getModelVersion(name, version);
  const signature = await registry
    .getArtifact(v.runId, FALLBACK_SIGNATURE)
    .then((b) => JSON.parse(new TextDecoder().decode(b)) as Omit<ModelArtifact, 'bytes'>)
    .catch(() => undefined);
  if (!signature) return undefined;
  const bytes = await registry.getArtifact(v.runId, FALLBACK_MODEL);
  return { ...signature, bytes };
}

/** The alias the server follows. */
export const CHAMPION = 'champion';
/**
 * The alias of a version waiting for a canary: `vigil serve` (with the rollout plugin
 * configured) loads it beside the champion and runs the canary; the alias is removed when the
 * canary ends.
 */
export const CHALLENGER = 'challenger';
/** Version tag: when the version last became champion (ISO time). */
export const CHAMPION_SINCE = 'vigil.championSince';
/** How many past champions an operator can bring back. */
export const CHAMPION_HISTORY = 5;

/** A version with its run's metrics, as `vigil models list` shows it. */
export interface VersionSummary {
  version: string;
  aliases: string[];
  createdAt: string;
  championSince: string | null;
  gate: string | null;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

const byVersion = (a: ModelVersion, b: ModelVersion) =>
  Number(a.version) - Number(b.version) || a.version.localeCompare(b.version);

/** Every version of a model, oldest first, with aliases, gate decision and its run's metrics. */
export async function listVersions(registry: Registry, name: string): Promise<VersionSummary[]> {
  const versions = (await registry.searchModelVersions(name)).sort(byVersion);
  const out: VersionSummary[] = [];
  for (const v of versions) {
    const run = await registry.getRun(v.runId).catch(() => undefined);
    out.push({
      version: v.version,
      aliases: [...v.aliases].sort(),
      createdAt: new Date(v.createdAt).toISOString(),
      championSince: v.tags[CHAMPION_SINCE] ?? null,
      gate: v.tags['vigil.gate.decision'] ?? null,
      metrics: run?.metrics ?? {},
      tags: v.tags,
    });
  }
  return out;
}

/** Past and present champions, most recent first (at most `limit`). */
export async function championHistory(
  registry: Registry,
  name: string,
  limit = CHAMPION_HISTORY,
): Promise<ModelVersion[]> {
  const versions = await registry.searchModelVersions(name);
  return versions
    .filter((v) => v.tags[CHAMPION_SINCE] !== undefined)
    .sort((a, b) => (a.tags[CHAMPION_SINCE]! < b.tags[CHAMPION_SINCE]! ? 1 : -1))
    .slice(0, limit);
}

/** The current champion, or undefined when none was ever promoted. */
export async function currentChampion(registry: Registry, name: string): Promise<ModelVersion | undefined> {
  return registry.getVersionByAlias(name, CHAMPION).catch((error: unknown) => {
    if ((error as { code?: string }).code === 'VIGIL_REGISTRY_NOT_FOUND') return undefined;
    throw error;
  });
}

/**
 * Make `version` the champion: move the alias and stamp when, with the reason (and who, when
 * given) recorded on the version. The server follows the alias.
 */
export async function promote(
  registry: Registry,
  name: string,
  version: string,
  evidence: Record<string, string> = {},
): Promise<void> {
  await registry.getModelVersion(name, version);
  for (const [key, value] of Object.entries(evidence))
    await registry.setModelVersionTag(name, version, key, value);
  await registry.setModelVersionTag(name, version, CHAMPION_SINCE, new Date().toISOString());
  await registry.setAlias(name, CHAMPION, version);
}

/**
 * Bring back a past champion: `to` (one of the last 5 champions), or by default the one before
 * the current. Returns the version now champion.
 */
export async function rollback(
  registry: Registry,
  name: string,
  options: { to?: string; by?: string } = {},
): Promise<{ from: string | null; to: string }> {
  const current = await currentChampion(registry, name);
  const history = await championHistory(registry, name);
  let target: string | undefined;
  if (options.to !== undefined) {
    if (!history.some((v) => v.version === options.to)) {
      throw new VigilError(
        'VIGIL_REGISTRY_INVALID_REQUEST',
        `version ${options.to} of '${name}' is not one of its last ${CHAMPION_HISTORY} champions (${history.map((v) => v.version).join(', ') || 'none'})`,
      );
    }
    target = options.to;
  } else {
    target = history.find((v) => v.version !== current?.version)?.version;
    if (target === undefined) {
      throw new VigilError(
        'VIGIL_REGISTRY_INVALID_REQUEST',
        `'${name}' has no earlier champion to roll back to`,
      );
    }
  }
  await promote(registry, name, target, {
    'vigil.gate.decision': 'rollback',
    'vigil.rollback.from': current?.version ?? 'none',
    ...(options.by ? { 'vigil.rollback.by': options.by } : {}),
  });
  return { from: current?.version ?? null, to: target };
}
