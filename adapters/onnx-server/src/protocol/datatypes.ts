import type { OipDatatype } from '@vigil/core';
import type { OrtTensorType } from '../runtime/ort.js';

const ortToOip: Record<string, OipDatatype> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

/** The Open Inference Protocol datatype of an onnxruntime element type, or undefined. */
export function oipDatatypeOf(type: OrtTensorType): OipDatatype | undefined {
  return ortToOip[type];
}
