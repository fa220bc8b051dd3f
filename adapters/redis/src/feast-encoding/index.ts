export {
  ENTITY_DTYPES,
  type EntityKeyPart,
  entityKeyEncoder,
  entityKeyLength,
  isEntityDtype,
  redisKey,
  serializeEntityKey,
} from './entity-key.js';
export { featureField, timestampField } from './field-name.js';
export { decodeTimestamp, encodeTimestamp } from './timestamp-proto.js';
export { decodeValue, encodeValue } from './value-proto.js';
