import { type ModelArtifact, VigilError } from '@vigil/core';
import { type CompiledModel, compileArtifact } from './compile-artifact.js';

/**
 * Decoded artifacts kept ready by sha256 (oldest dropped first; `size` 0 keeps none), and the
 * Trainer port's `predict` on top: checks the arguments, then scores with the artifact's own graph.
 */
export class ScorerCache {
  readonly #size: number;
  readonly #scorers = new Map<string, CompiledModel>();

  constructor(size: number) {
    this.#size = size;
  }

  compile(artifact: ModelArtifact): CompiledModel {
    const cached = this.#scorers.get(artifact.sha256);
    if (cached) return cached;
    const compiled = compileArtifact(artifact);
    if (this.#size > 0) {
      if (this.#scorers.size >= this.#size) {
        const oldest = this.#scorers.keys().next().value;
        if (oldest !== undefined) this.#scorers.delete(oldest);
      }
      this.#scorers.set(artifact.sha256, compiled);
    }
    return compiled;
  }

  /** P(adverse event) per row; `x` holds `rows` rows of the artifact's input width (d, or L·d). */
  predict(artifact: ModelArtifact, x: Float32Array, rows: number): Float32Array {
    if (!Number.isInteger(rows) || rows < 0) {
      throw new VigilError(
        'VIGIL_TRAINER_INVALID_DATASET',
        `rows must be a non-negative integer, got ${rows}`,
      );
    }
    if (!(x instanceof Float32Array))
      throw new VigilError('VIGIL_TRAINER_INVALID_DATASET', 'x must be a Float32Array');
    const compiled = this.compile(artifact);
    const width = compiled.featureCount;
    if (x.length !== rows * width) {
      throw new VigilError(
        'VIGIL_TRAINER_INVALID_DATASET',
        `x has ${x.length} values but rows × features = ${rows} × ${width} = ${rows * width}`,
      );
    }
    return compiled.score(x, rows);
  }

  clear(): void {
    this.#scorers.clear();
  }
}
