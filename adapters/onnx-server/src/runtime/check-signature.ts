import type { TensorSpec } from '@vigil/core';
import type { OrtTensorType, OrtValueMetadata } from './ort.js';

const specToOrt: Record<TensorSpec['datatype'], OrtTensorType> = {
  FP32: 'float32',
  FP64: 'float64',
  INT64: 'int64',
  INT32: 'int32',
  BOOL: 'bool',
  BYTES: 'string',
};

/**
 * Compare the tensors a session declares with the artifact's specs. Returns one
 * message per mismatch (empty when they agree). `side` is `inputs` or `outputs`.
 */
export function checkSignature(
  side: 'inputs' | 'outputs',
  specs: readonly TensorSpec[],
  actual: readonly OrtValueMetadata[],
): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((m) => [m.name, m]));
  specs.forEach((spec, i) => {
    const meta = byName.get(spec.name);
    const field = `artifact.${side}[${i}]`;
    if (!meta) {
      problems.push(
        `${field}: the model has no ${side.slice(0, -1)} '${spec.name}' (it has ${[...byName.keys()].join(', ') || 'none'})`,
      );
      return;
    }
    if (!meta.isTensor) {
      problems.push(`${field}: '${spec.name}' is not a tensor in the model`);
      return;
    }
    if (meta.type !== specToOrt[spec.datatype]) {
      problems.push(
        `${field}: '${spec.name}' is ${meta.type} in the model, the artifact says ${spec.datatype}`,
      );
    }
    // An empty shape means onnxruntime does not know it; nothing to compare.
    if (meta.shape.length === 0) return;
    if (meta.shape.length !== spec.shape.length) {
      problems.push(
        `${field}: '${spec.name}' has rank ${meta.shape.length} in the model, the artifact says ${spec.shape.length}`,
      );
      return;
    }
    spec.shape.forEach((dim, d) => {
      const modelDim = meta.shape[d];
      if (dim >= 0 && typeof modelDim === 'number' && modelDim >= 0 && modelDim !== dim) {
        problems.push(
          `${field}: '${spec.name}' dimension ${d} is ${modelDim} in the model, the artifact says ${dim}`,
        );
      }
    });
  });
  if (side === 'inputs') {
    const declared = new Set(specs.map((s) => s.name));
    for (const name of byName.keys()) {
      if (!declared.has(name)) problems.push(`artifact.inputs: the model's input '${name}' is not declared`);
    }
  }
  return problems;
}
