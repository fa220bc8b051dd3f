import { CORE_VERSION, ComponentRegistry } from '@vigil/core';
import { localPreset } from '@vigil/preset-local';
import { stackMqPreset, stackPreset } from '@vigil/preset-stack';

/** The registry the CLI starts from: every preset shipped with Vigil and its components. */
export function createDefaultRegistry(): ComponentRegistry {
  return new ComponentRegistry(CORE_VERSION)
    .register(localPreset)
    .register(stackPreset)
    .register(stackMqPreset);
}
