/**
 * onnxruntime's own Python package as the independent reference for the int8 quantiser: its
 * `quantize_dynamic` rewrites the same float model, its runtime scores it. Pinned to the
 * version of onnxruntime-node the adapters run (1.30.0), with the onnx and numpy it needs.
 */
import { pinnedVenv } from '@vigil/core/testing';

export const ONNXRUNTIME_PYTHON_VERSION = '1.30.0';
const venv = pinnedVenv({
  name: 'onnxruntime',
  pins: [`onnxruntime==${ONNXRUNTIME_PYTHON_VERSION}`, 'onnx==1.23.2', 'numpy==2.4.6'],
  check: `import onnxruntime, onnx, numpy; assert onnxruntime.__version__ == '${ONNXRUNTIME_PYTHON_VERSION}'`,
  installTimeoutMs: 540_000,
  runTimeoutMs: 120_000,
});
export const ensureOnnxruntimePython = () => venv.ensure();

export interface PythonQuantized {
  /** Per original weight initializer: Python's int8 values and scale. */
  weights: Record<string, { q: number[]; scale: number; zeroPoint: number }>;
  /** Operator types of Python's quantised graph. */
  ops: string[];
  /** P(positive) of every row, from Python's quantised model run by Python's onnxruntime. */
  scores: number[];
}

const SCRIPT = `
import base64, json, sys, tempfile, os
import numpy as np, onnx, onnxruntime as ort
from onnx import numpy_helper
from onnxruntime.quantization import quantize_dynamic, QuantType
payload = json.load(open(sys.argv[1]))
d = tempfile.mkdtemp()
src, dst = os.path.join(d, 'float.onnx'), os.path.join(d, 'int8.onnx')
open(src, 'wb').write(base64.b64decode(payload['model']))
quantize_dynamic(src, dst, per_channel=False, reduce_range=False, weight_type=QuantType.QInt8)
m = onnx.load(dst)
inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
weights = {}
for name, arr in inits.items():
    if name.endswith('_quantized'):
        base = name[: -len('_quantized')]
        weights[base] = {'q': arr.astype(int).ravel().tolist(), 'scale': float(inits[base + '_scale']),
                         'zeroPoint': int(inits[base + '_zero_point'])}
so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(dst, so, providers=['CPUExecutionProvider'])
x = np.array(payload['rows'], dtype=np.float32).reshape(-1, payload['width'])
p = s.run(['probabilities'], {'input': x})[0][:, 1]
print(json.dumps({'weights': weights, 'ops': [n.op_type for n in m.graph.node], 'scores': p.astype(float).tolist()}))
`;

/** Quantise `model` with onnxruntime's `quantize_dynamic` (per tensor, QInt8 weights) and score `rows` with it. */
export function pythonQuantizeDynamic(
  model: Uint8Array,
  rows: ArrayLike<number>,
  width: number,
): Promise<PythonQuantized> {
  return venv.run<PythonQuantized>(SCRIPT, {
    model: Buffer.from(model).toString('base64'),
    rows: Array.from(rows, (v) => (Number.isNaN(v) ? null : v)),
    width,
  });
}
