import {
  type Calibrator,
  convNames,
  createModelArtifact,
  encodeOnnxModel,
  FEATURE_NAMES_KEY,
  MODEL_INPUT_NAME,
  MODEL_KIND_KEY,
  modelTail,
  ONNX_OPSET,
  OnnxDataType,
  type OnnxNodeMessage,
  type OnnxTensorMessage,
  onnxModelType,
  TCN_ARCHITECTURE_KEY,
  type TcnArchitecture,
  tensorValueInfo,
} from '@vigil/adapter-node-trainer';
import { type ModelArtifact, VigilError } from '@vigil/core';

/** The graph output torch.onnx.export is asked to name (the worker's `output_names`). */
export const TORCH_LOGIT_NAME = 'logit';

interface RawTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
}
interface RawNode {
  input?: string[];
  output?: string[];
  name?: string;
  op_type?: string;
  domain?: string;
  attribute?: unknown[];
}
interface RawModel {
  opset_import?: { domain?: string; version?: number }[];
  graph?: {
    node?: RawNode[];
    initializer?: RawTensor[];
    input?: { name?: string }[];
    output?: { name?: string }[];
  };
}

function invalid(reason: string): VigilError {
  return new VigilError('VIGIL_TRAINER_WORKER_FAILED', `torch trainer: the worker's ONNX export ${reason}`);
}

/**
 * Vigil's initializer name for a torch state_dict name of the worker's model
 * (`blocks.{b}.{conv1|conv2|res}.{weight|bias}`, `head_w`, `head_b`, buffers `mean`, `scale`,
 * `zero`): the names the TS TCN's graph uses (`tcn_b{b}_conv1_w`, `tcn_head_w`, `tcn_mean`, …).
 */
export function vigilInitializerName(torchName: string): string | undefined {
  const conv = /^blocks\.(\d+)\.(conv1|conv2|res)\.(weight|bias)$/.exec(torchName);
  if (conv) {
    const names = convNames(Number(conv[1]), conv[2] as 'conv1' | 'conv2' | 'res');
    return conv[3] === 'weight' ? names.w : names.b;
  }
  const plain: Record<string, string> = {
    head_w: 'tcn_head_w',
    head_b: 'tcn_head_b',
    mean: 'tcn_mean',
    scale: 'tcn_scale',
    zero: 'tcn_zero',
  };
  return plain[torchName];
}

/** Initializers the TS TCN's graph has, with their dims (what Vigil's scorer reads). */
function expectedInitializers(arch: TcnArchitecture): Map<string, number[]> {
  const { features: d, hidden: H, kernelSize: K } = arch;
  const out = new Map<string, number[]>();
  for (let b = 0; b < arch.blocks; b++) {
    const cin = b === 0 ? d : H;
    const c1 = convNames(b, 'conv1');
    const c2 = convNames(b, 'conv2');
    out.set(c1.w, [H, cin, K]).set(c1.b, [H]).set(c2.w, [H, H, K]).set(c2.b, [H]);
    if (cin !== H) {
      const r = convNames(b, 'res');
      out.set(r.w, [H, cin, 1]).set(r.b, [H]);
    }
  }
  return out
    .set('tcn_head_w', [H, 1])
    .set('tcn_head_b', [1])
    .set('tcn_mean', [d])
    .set('tcn_scale', [d])
    .set('tcn_zero', []);
}

export interface TorchTcnArtifactOptions {
  /** What torch.onnx.export wrote: input `input` [N, L·d], output `logit` [N, 1]. */
  torchOnnx: Uint8Array;
  architecture: TcnArchitecture;
  featureNames: readonly string[];
  /** A calibrator of the logit, put inside the graph (see the node trainer's modelTail). */
  calibration?: Calibrator | undefined;
  /** Written as the model's doc_string (say which torch exported it). */
  docString: string;
}

/**
 * Turn the worker's torch.onnx.export output into a Vigil TCN artifact the server cannot tell from
 * the node trainer's: torch's graph body is kept as exported (Reshape, IsNaN/Sub/Mul/Where,
 * Transpose, Conv + Slice per causal convolution, Relu, Add, Gather of the last step, MatMul, Add);
 * its initializers are renamed to the TS TCN's names (`tcn_b{b}_{conv1|conv2|res}_{w|b}`,
 * `tcn_head_w`, `tcn_head_b`, `tcn_mean`, `tcn_scale`, `tcn_zero`); the shared probability head
 * (with the optional calibrator) is appended after `logit`; the input and outputs are declared
 * exactly as the TS TCN declares them; and the model is re-encoded by the node trainer's codec
 * (producer `vigil`, IR 8, opset 17, sorted `metadata_props`: `vigil.model` = `tcn`,
 * `vigil.feature_names`, `vigil.tcn`, and `vigil.calibration` when calibrated), so the same
 * export always gives the same bytes.
 */
export function torchTcnArtifact(options: TorchTcnArtifactOptions): ModelArtifact {
  const { architecture: arch, featureNames } = options;
  const type = onnxModelType();
  let raw: RawModel;
  try {
    raw = type.toObject(type.decode(options.torchOnnx), { longs: Number, arrays: true }) as RawModel;
  } catch (error) {
    throw new VigilError(
      'VIGIL_TRAINER_WORKER_FAILED',
      "torch trainer: the worker's ONNX file does not decode",
      {
        cause: error,
      },
    );
  }
  const graph = raw.graph;
  if (!graph) throw invalid('has no graph');
  const opset = (raw.opset_import ?? []).find((o) => (o.domain ?? '') === '')?.version;
  if (opset !== ONNX_OPSET) throw invalid(`uses default-domain opset ${opset}, expected ${ONNX_OPSET}`);
  const inputs = (graph.input ?? []).map((i) => i.name);
  const outputs = (graph.output ?? []).map((o) => o.name);
  if (inputs.join() !== MODEL_INPUT_NAME || outputs.join() !== TORCH_LOGIT_NAME) {
    throw invalid(
      `has inputs [${inputs.join(', ')}] and outputs [${outputs.join(', ')}], expected [${MODEL_INPUT_NAME}] and [${TORCH_LOGIT_NAME}]`,
    );
  }

  const rename = new Map<string, string>();
  for (const t of graph.initializer ?? []) {
    const to = vigilInitializerName(t.name ?? '');
    if (to) rename.set(t.name!, to);
  }
  const initializers = (graph.initializer ?? []).map(
    (t) => ({ ...t, name: rename.get(t.name ?? '') ?? t.name }) as OnnxTensorMessage,
  );
  const expected = expectedInitializers(arch);
  const byName = new Map(initializers.map((t) => [t.name, t]));
  for (const [name, dims] of expected) {
    const t = byName.get(name);
    if (!t) throw invalid(`lacks the initializer ${name}`);
    if (t.data_type !== OnnxDataType.FLOAT || (t.dims ?? []).join() !== dims.join()) {
      throw invalid(`has ${name} of type ${t.data_type} and dims [${t.dims}], expected FLOAT [${dims}]`);
    }
  }
  const renamed = (names: string[] | undefined) => (names ?? []).map((n) => rename.get(n) ?? n);
  const body: OnnxNodeMessage[] = (graph.node ?? []).map((n) => ({
    input: renamed(n.input),
    output: renamed(n.output),
    name: n.name ?? '',
    op_type: n.op_type ?? '',
    domain: n.domain ?? '',
    attribute: (n.attribute ?? []) as OnnxNodeMessage['attribute'],
  }));

  const tail = modelTail(TORCH_LOGIT_NAME, 'logit', options.calibration);
  const used = new Set<string>([
    ...initializers.map((t) => t.name),
    ...body.flatMap((n) => [...n.input, ...n.output]),
  ]);
  for (const name of [...tail.initializers.map((t) => t.name), ...tail.nodes.flatMap((n) => n.output)]) {
    if (used.has(name)) throw invalid(`already has a value named ${name}, which the probability head adds`);
  }
  const width = arch.sequenceLength * arch.features;
  const bytes = encodeOnnxModel({
    graph: {
      name: 'vigil_tcn',
      node: [...body, ...tail.nodes],
      initializer: [...initializers, ...tail.initializers],
      input: [tensorValueInfo(MODEL_INPUT_NAME, OnnxDataType.FLOAT, [-1, width])],
      output: tail.outputs,
    },
    opsets: [{ domain: '', version: ONNX_OPSET }],
    metadata: {
      ...tail.metadata,
      [MODEL_KIND_KEY]: 'tcn',
      [FEATURE_NAMES_KEY]: JSON.stringify(featureNames),
      [TCN_ARCHITECTURE_KEY]: JSON.stringify(arch),
    },
    docString: options.docString,
  });
  const artifact = createModelArtifact(bytes, featureNames);
  artifact.inputs = [{ name: MODEL_INPUT_NAME, datatype: 'FP32', shape: [-1, width] }];
  return artifact;
}
