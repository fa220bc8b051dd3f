/**
 * The canonical string of an entity's join-key values, the online store's map key.
 * Values compare by their text, so `1001` (BIGINT in Parquet) and `'1001'` (a request)
 * address the same entity; dates by their ISO form.
 */
export function entityKey(values: readonly unknown[]): string {
  if (values.length === 1) return keyPart(values[0]);
  return JSON.stringify(values.map(keyPart));
}

function keyPart(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return String(value);
}
