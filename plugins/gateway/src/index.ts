/**
 * @vigil/plugin-gateway — the blue-green front door: a reverse proxy on 127.0.0.1 that owns
 * the public port and forwards every request to one of two serving versions ("blue",
 * "green"), with a control API to stage, check, switch atomically and roll back.
 */

export { gatewayOptionsFromYaml } from './config-file.js';
export { type CheckContext, requestFromMetadata, runCheck, signatureMismatch } from './control/check.js';
export { GatewayError, type GatewayErrorCode, GatewayErrorCodes, isGatewayError } from './errors.js';
export { CONTROL_PREFIX, Gateway, type GatewayEvent, type SwitchResult } from './gateway.js';
export {
  COLORS,
  type Color,
  type GatewayOptions,
  type GatewayOptionsInput,
  gatewayOptionsSchema,
  type InferRequest,
  type OutputSignature,
  parseGatewayOptions,
} from './options.js';
export { COLOR_HEADER, endToEndHeaders } from './proxy/forward.js';
export type { CheckReport, CheckStep } from './proxy/upstream.js';
export { type ApiKeyConfig, parseKeyList, ROLES, type Role } from './security/api-keys.js';
