export { onnxServer, onnxServerConfig } from './adapter.js';
export { ROUTE_HEADER, ROUTE_KEY_HEADER } from './http/http-server.js';
export type { ModelMetadata } from './http/http-target.js';
export { OnnxServer, type OnnxServerOptions, type VersionStats } from './onnx-server.js';
