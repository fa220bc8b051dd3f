import { VigilError } from '@vigil/core';

/** What the request parser needs to know of the model version it targets. */
export interface InputSignature {
  readonly name: string;
  readonly version: string;
  /** Name of the model's single FP32 input. */
  readonly inputName: string;
  /** Features per row. */
  readonly width: number;
  readonly outputNames: readonly string[];
}

/** A validated request, ready for one session run. */
export interface ParsedRequest {
  /** Row-major features; NaN marks a missing value. */
  readonly data: Float32Array;
  readonly rows: number;
  /** Output names to return, in order. */
  readonly fetches: readonly string[];
  readonly id: string | undefined;
}

/** A malformed-request error (400). */
export function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SERVER_INVALID_REQUEST', message);
}

/** A short description of a value for error messages (never the whole value). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `string ${JSON.stringify(value.slice(0, 20))}` : typeof value;
}

/**
 * Copy nested row-major data into `out` from `offset`; returns the next offset.
 * Numbers are stored as FP32, `null` as NaN (missing); anything else is rejected with
 * the flat index of the value.
 */
function fill(data: readonly unknown[], out: Float32Array, offset: number, field: string): number {
  let k = offset;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === 'number') {
      if (k >= out.length) return k + 1;
      out[k++] = v;
    } else if (v === null) {
      if (k >= out.length) return k + 1;
      out[k++] = Number.NaN;
    } else if (Array.isArray(v)) {
      k = fill(v, out, k, field);
      if (k > out.length) return k;
    } else {
      throw invalid(`${field}[${k}]: expected a number or null, got ${describe(v)}`);
    }
  }
  return k;
}

/**
 * Validate an Open Inference Protocol request against a model version and turn its
 * input into one FP32 batch. Errors are `VIGIL_SERVER_INVALID_REQUEST` naming the field.
 */
export function parseInferenceRequest(request: unknown, model: InputSignature): ParsedRequest {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) {
    throw invalid(`request: expected a JSON object, got ${describe(request)}`);
  }
  const { inputs, outputs, id } = request as Record<string, unknown>;
  if (id !== undefined && typeof id !== 'string') throw invalid(`id: expected a string, got ${describe(id)}`);
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw invalid(`inputs: expected a non-empty array of tensors, got ${describe(inputs)}`);
  }
  if (inputs.length > 1) {
    throw invalid(
      `inputs: model ${model.name} takes one input '${model.inputName}', got ${inputs.length} tensors`,
    );
  }
  const tensor = inputs[0] as unknown;
  if (tensor === null || typeof tensor !== 'object' || Array.isArray(tensor)) {
    throw invalid(`inputs[0]: expected a tensor object, got ${describe(tensor)}`);
  }
  const { name, shape, datatype, data } = tensor as Record<string, unknown>;
  if (name !== model.inputName) {
    throw invalid(
      `inputs[0].name: model ${model.name} has no input ${JSON.stringify(name)} (expected '${model.inputName}')`,
    );
  }
  if (datatype !== 'FP32' && datatype !== 'FP64') {
    throw invalid(`inputs[0].datatype: expected FP32 or FP64, got ${JSON.stringify(datatype)}`);
  }
  if (
    !Array.isArray(shape) ||
    shape.length !== 2 ||
    !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw invalid(
      `inputs[0].shape: expected [rows, ${model.width}] of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  const rows = shape[0] as number;
  if (shape[1] !== model.width) {
    throw invalid(
      `inputs[0].shape: model ${model.name} version ${model.version} takes ${model.width} features per row, got ${shape[1]}`,
    );
  }
  if (!Array.isArray(data)) throw invalid(`inputs[0].data: expected an array, got ${describe(data)}`);
  const expected = rows * model.width;
  if (expected > 16_777_216) throw invalid(`inputs[0].shape: ${rows} rows is too large a batch`);
  const out = new Float32Array(expected);
  const count = fill(data, out, 0, 'inputs[0].data');
  if (count !== expected) {
    const got = count > expected ? `more than ${expected}` : `${count}`;
    throw invalid(`inputs[0].data: ${got} values for shape [${rows}, ${model.width}] (${expected} expected)`);
  }
  return { data: out, rows, fetches: parseOutputs(outputs, model), id };
}

export function parseOutputs(outputs: unknown, model: InputSignature): readonly string[] {
  if (outputs === undefined) return model.outputNames;
  if (!Array.isArray(outputs)) throw invalid(`outputs: expected an array, got ${describe(outputs)}`);
  if (outputs.length === 0) return model.outputNames;
  return outputs.map((o: unknown, i) => {
    const name = o !== null && typeof o === 'object' ? (o as { name?: unknown }).name : undefined;
    if (typeof name !== 'string' || !model.outputNames.includes(name)) {
      throw invalid(
        `outputs[${i}].name: model ${model.name} has no output ${JSON.stringify(name)} (outputs: ${model.outputNames.join(', ')})`,
      );
    }
    return name;
  });
}
