import { VigilError } from '@vigil/core';

/** Header of the binary data extension: byte length of the JSON part that starts the body. */
export const HEADER_LENGTH_HEADER = 'inference-header-content-length';

/** Element sizes of the datatypes whose binary form is decoded (those parse-request accepts). */
const elementBytes: Readonly<Record<string, number>> = { FP32: 4, FP64: 8 };

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_SERVER_INVALID_REQUEST', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** One decoder for every request (a non-streaming `decode` keeps no state between calls). */
const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Turn a body of the Open Inference Protocol binary data extension into a plain JSON
 * request: the first `headerLength` bytes are the JSON header, the rest are the raw
 * little-endian row-major tensors of the inputs carrying `parameters.binary_data_size`,
 * in input order, without padding. Each such input gets `data` (a flat array of numbers)
 * and loses `binary_data_size`; everything else is left for `parseInferenceRequest`.
 * Without `headerLength` the whole body is JSON. Errors are `VIGIL_SERVER_INVALID_REQUEST`
 * naming the header or field.
 */
export function decodeBinaryRequest(
  body: Uint8Array,
  headerLength: string | undefined,
  parseJson: (text: string) => unknown,
): unknown {
  if (headerLength === undefined) return parseJson(utf8.decode(body));
  if (!/^\d{1,15}$/.test(headerLength.trim())) {
    throw invalid(
      `Inference-Header-Content-Length: expected a byte count, got ${JSON.stringify(headerLength.slice(0, 20))}`,
    );
  }
  const jsonBytes = Number(headerLength.trim());
  if (jsonBytes > body.length) {
    throw invalid(
      `Inference-Header-Content-Length: ${jsonBytes} bytes of JSON header, but the body has only ${body.length} bytes`,
    );
  }
  const request = parseJson(utf8.decode(body.subarray(0, jsonBytes)));
  const binary = body.subarray(jsonBytes);
  const view = new DataView(binary.buffer, binary.byteOffset, binary.byteLength);
  let offset = 0;
  const inputs = isObject(request) ? request.inputs : undefined;
  if (!Array.isArray(inputs)) {
    if (binary.length > 0) {
      throw invalid(`inputs: expected an array of tensors to own the ${binary.length} bytes of binary data`);
    }
    return request;
  }
  const decoded = inputs.map((input: unknown, i) => {
    if (!isObject(input) || !isObject(input.parameters) || input.parameters.binary_data_size === undefined) {
      return input;
    }
    const field = `inputs[${i}]`;
    const { binary_data_size: size, ...parameters } = input.parameters;
    if (!isCount(size)) {
      throw invalid(
        `${field}.parameters.binary_data_size: expected a byte count, got ${JSON.stringify(size)}`,
      );
    }
    if (input.data !== undefined) {
      throw invalid(`${field}.data: a tensor with parameters.binary_data_size must not also carry data`);
    }
    const element = typeof input.datatype === 'string' ? elementBytes[input.datatype] : undefined;
    if (element === undefined) {
      throw invalid(
        `${field}.datatype: binary data is accepted for ${Object.keys(elementBytes).join(', ')}, got ${JSON.stringify(input.datatype)}`,
      );
    }
    const shape = input.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      throw invalid(
        `${field}.shape: expected an array of non-negative integers, got ${JSON.stringify(shape)}`,
      );
    }
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (!Number.isSafeInteger(count * element) || count * element !== size) {
      throw invalid(
        `${field}.parameters.binary_data_size: ${size} bytes, but shape ${JSON.stringify(shape)} of ${String(input.datatype)} needs ${count * element}`,
      );
    }
    if (offset + size > binary.length) {
      throw invalid(
        `${field}.parameters.binary_data_size: ${size} bytes from offset ${offset}, but only ${binary.length} bytes of binary data follow the JSON header`,
      );
    }
    const data = new Array<number>(count);
    for (let k = 0; k < count; k++) {
      const at = offset + k * element;
      data[k] = element === 4 ? view.getFloat32(at, true) : view.getFloat64(at, true);
    }
    offset += size;
    return { ...input, parameters, data };
  });
  if (offset !== binary.length) {
    throw invalid(
      `Inference-Header-Content-Length: ${binary.length - offset} bytes of binary data after the JSON header are not claimed by any input's parameters.binary_data_size`,
    );
  }
  return { ...(request as Record<string, unknown>), inputs: decoded };
}
