import { isVigilError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import { type InputSignature, parseInferenceRequest } from './parse-request.js';

const model: InputSignature = {
  name: 'ae',
  version: 'v1',
  inputName: 'input',
  width: 3,
  outputNames: ['label', 'probabilities'],
};

const req = (tensor: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  inputs: [{ name: 'input', datatype: 'FP32', shape: [2, 3], ...tensor }],
  ...extra,
});

function message(request: unknown): string {
  try {
    parseInferenceRequest(request, model);
  } catch (error) {
    expect(isVigilError(error, 'VIGIL_SERVER_INVALID_REQUEST')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected VIGIL_SERVER_INVALID_REQUEST');
}

describe('parseInferenceRequest', () => {
  it('reads flat and nested data into one FP32 batch; null is NaN', () => {
    const flat = parseInferenceRequest(req({ data: [1, 2, 3, 4, null, 6] }, { id: 'r1' }), model);
    expect(flat.rows).toBe(2);
    expect(Array.from(flat.data)).toEqual([1, 2, 3, 4, Number.NaN, 6]);
    expect(flat.id).toBe('r1');
    expect(flat.fetches).toEqual(['label', 'probabilities']);
    const nested = parseInferenceRequest(
      req({
        data: [
          [1, 2, 3],
          [4, null, 6],
        ],
        datatype: 'FP64',
      }),
      model,
    );
    expect(Array.from(nested.data)).toEqual(Array.from(flat.data));
    const empty = parseInferenceRequest(req({ shape: [0, 3], data: [] }), model);
    expect(empty.rows).toBe(0);
  });

  it('selects requested outputs in request order', () => {
    const parsed = parseInferenceRequest(
      req({ data: [1, 2, 3, 4, 5, 6] }, { outputs: [{ name: 'probabilities' }, { name: 'label' }] }),
      model,
    );
    expect(parsed.fetches).toEqual(['probabilities', 'label']);
    expect(message(req({ data: [1, 2, 3, 4, 5, 6] }, { outputs: [{ name: 'proba' }] }))).toMatch(
      /outputs\[0\]\.name: model ae has no output "proba"/,
    );
  });

  it('names the field and the reason of every problem', () => {
    expect(message(null)).toMatch(/request: expected a JSON object, got null/);
    expect(message([1])).toMatch(/request: expected a JSON object, got an array/);
    expect(message({})).toMatch(/inputs: expected a non-empty array/);
    expect(message({ inputs: [1] })).toMatch(/inputs\[0\]: expected a tensor object/);
    expect(message(req({ name: 'x', data: [] }))).toMatch(/inputs\[0\]\.name: .*"x".*'input'/);
    expect(message(req({ datatype: 'INT64', data: [] }))).toMatch(
      /inputs\[0\]\.datatype: expected FP32 or FP64, got "INT64"/,
    );
    expect(message(req({ shape: [6], data: [] }))).toMatch(/inputs\[0\]\.shape: expected \[rows, 3\]/);
    expect(message(req({ shape: [2, -3], data: [] }))).toMatch(/inputs\[0\]\.shape/);
    expect(message(req({ shape: [2, 4], data: [] }))).toMatch(/takes 3 features per row, got 4/);
    expect(message(req({ data: 'abc' }))).toMatch(/inputs\[0\]\.data: expected an array/);
    expect(message(req({ data: [1, 2, 3, 4, 5] }))).toMatch(
      /inputs\[0\]\.data: 5 values for shape \[2, 3\] \(6 expected\)/,
    );
    expect(message(req({ data: [1, 2, 3, 4, 5, 6, 7, 8] }))).toMatch(/more than 6 values/);
    expect(
      message(
        req({
          data: [
            [1, 2, 3],
            [4, '5', 6],
          ],
        }),
      ),
    ).toMatch(/inputs\[0\]\.data\[4\]: expected a number or null, got string "5"/);
    expect(message(req({ data: [1, 2, true, 4, 5, 6] }))).toMatch(/inputs\[0\]\.data\[2\]: .* got boolean/);
    expect(message(req({ data: [1, 2, 3] }, { id: 7 }))).toMatch(/id: expected a string/);
    expect(message({ inputs: [{}, {}] })).toMatch(/takes one input 'input', got 2 tensors/);
    expect(message(req({ shape: [100_000_000, 3], data: [] }))).toMatch(/too large a batch/);
  });
});
