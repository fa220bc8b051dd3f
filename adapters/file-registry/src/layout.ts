import { join } from 'node:path';
import { VigilError } from '@vigil/core';

/**
 * Where the file registry keeps things, in the spirit of MLflow's `mlruns` folder:
 *
 * ```
 * experiments/<experiment>/meta.json
 * experiments/<experiment>/runs/<runId>/{meta.json, params.json, tags.json}
 * experiments/<experiment>/runs/<runId>/metrics/<key>.ndjson
 * experiments/<experiment>/runs/<runId>/artifacts/<path>
 * models/<model>/{meta.json, aliases.json}
 * models/<model>/versions/<n>.json
 * ```
 *
 * Names become one path segment each, percent-encoded (`encodeURIComponent`, with dots
 * encoded when the name is all dots), so any name is safe and still readable.
 */
export class RegistryLayout {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  get experimentsDir(): string {
    return join(this.root, 'experiments');
  }

  experimentDir(experiment: string): string {
    return join(this.experimentsDir, nameSegment('experiment', experiment));
  }

  runsDir(experiment: string): string {
    return join(this.experimentDir(experiment), 'runs');
  }

  runDir(experiment: string, runId: string): string {
    return join(this.runsDir(experiment), runId);
  }

  metricFile(runDir: string, key: string): string {
    return join(runDir, 'metrics', `${nameSegment('metric key', key)}.ndjson`);
  }

  artifactFile(runDir: string, path: string): string {
    return join(runDir, 'artifacts', ...artifactSegments(path));
  }

  get modelsDir(): string {
    return join(this.root, 'models');
  }

  modelDir(model: string): string {
    return join(this.modelsDir, nameSegment('registered model name', model));
  }

  versionsDir(model: string): string {
    return join(this.modelDir(model), 'versions');
  }

  versionFile(model: string, version: number): string {
    return join(this.versionsDir(model), `${version}.json`);
  }
}

/** One path segment for a user-chosen name; throws naming `field` when the name is unusable. */
export function nameSegment(field: string, name: string): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `${field} must be a non-empty string`);
  }
  if (name.length > 250) {
    throw new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `${field} must be at most 250 characters`);
  }
  const encoded = encodeURIComponent(name);
  return /^\.+$/.test(encoded) ? encoded.replaceAll('.', '%2E') : encoded;
}

/** Decode a segment made by {@link nameSegment}. */
export function segmentName(segment: string): string {
  return decodeURIComponent(segment);
}

/**
 * Split an artifact path (`model/model.onnx`) into segments, refusing absolute paths,
 * `..`, `.`, empty segments, backslashes and NUL.
 */
export function artifactSegments(path: string): string[] {
  const invalid = (reason: string) =>
    new VigilError('VIGIL_REGISTRY_INVALID_REQUEST', `artifact path ${JSON.stringify(path)} ${reason}`);
  if (typeof path !== 'string' || path.length === 0) throw invalid('must be a non-empty string');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw invalid('must be relative, not absolute');
  if (path.includes('\\') || path.includes('\0')) throw invalid('must not contain backslashes or NUL');
  const segments = path.split('/');
  for (const segment of segments) {
    if (segment === '..') throw invalid("must not contain '..'");
    if (segment === '' || segment === '.') throw invalid("must not contain empty or '.' segments");
  }
  return segments;
}
