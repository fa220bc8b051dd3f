/**
 * The same implementation with some members replaced, to inject one bug into a real
 * adapter and show that a contract case catches it. `overrides` gets the real object and
 * returns the replacements; every other member delegates to it (methods stay bound).
 *
 * ```ts
 * withOverrides(registry, (real) => ({ getArtifact: async (run, path) => lossy(await real.getArtifact(run, path)) }))
 * ```
 */
export function withOverrides<T extends object>(impl: T, overrides: (real: T) => Partial<T>): T {
  const replaced = overrides(impl) as Record<PropertyKey, unknown>;
  return new Proxy(impl, {
    get(target, key) {
      if (Object.hasOwn(replaced, key)) return replaced[key];
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
